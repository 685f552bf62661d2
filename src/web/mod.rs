//! The pages people open: the customer portal, rendered on the server from the
//! same extractors, access rules and store handles as the JSON API (one rule,
//! two renderings). Every page works without JavaScript; with it, htmx swaps the
//! live part of a page when the change feed says its records changed.
//!
//! - `page.rs`: what every page's layout needs (brand, language, the person, the
//!   account and its sections), and rendering a template into a response;
//! - `errors.rs`: the API's problem answers turned into HTML pages (401 becomes
//!   the sign-in page), so a URL a person may not open answers the same status;
//! - `headers.rs`: the security headers of every page (a CSP with no inline
//!   script or style);
//! - `assets.rs`: CSS and scripts embedded in the binary under content-hashed names;
//! - `i18n.rs` and `format.rs`: interface strings from `locales/*.ftl`, and amounts
//!   and dates in the reader's language and time zone;
//! - `records.rs`: a record as a list line, and a refused form's messages;
//! - one module per page group: `sign_in.rs`, `email_code.rs` (signing in with
//!   a mailed code), `recovery.rs` (the mailed links:
//!   reset, verify, email change), `invitations.rs`, `dashboard.rs`, `invoices.rs`,
//!   `subscriptions.rs`, `orders.rs` (orders and projects with their stages),
//!   `documents.rs`, `tickets.rs`, `tasks.rs`, `profile.rs` (the person's own
//!   details, password, authenticator app, sessions and API tokens),
//!   `notifications.rs` (the bell and the list), `team.rs` (members
//!   and invitations), `settings.rs` (the account's sign-in rules and single
//!   sign-on), `exports.rs` (the
//!   account's data archive: ask, follow, download), `audit.rs`
//!   (the account's activity log, filtered and exported).
//!
//! - `console/`: the staff console (connectors and their runs, account
//!   mappings, accounts, the whole audit log), behind the staff permissions of
//!   the admin API it calls.
//!
//! A new page goes in a module here, takes `Page` and the same extractor as the
//! API route it mirrors (`AccountAccess`), and gets a row in
//! `tests/api/pages_matrix.txt`.

mod assets;
mod audit;
mod console;
mod dashboard;
mod documents;
mod email_code;
pub mod errors;
mod exports;
pub mod format;
mod headers;
pub mod i18n;
mod invitations;
mod invoices;
mod notifications;
mod orders;
mod page;
mod profile;
mod records;
mod recovery;
mod settings;
mod sign_in;
mod sso_form;
mod subscriptions;
mod tasks;
mod team;
mod tickets;
mod unsubscribe;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};

use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::home))
        .route("/welcome", post(dashboard::dismiss_greeting))
        .route("/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/sign-in/code", get(email_code::form).post(email_code::send))
        .route("/sign-in/code/check", post(email_code::sign_in))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/forgot-password", get(recovery::forgot_form).post(recovery::forgot))
        .route("/unsubscribe", get(unsubscribe::show).post(unsubscribe::confirm))
        .route("/reset-password", get(recovery::reset_form).post(recovery::reset))
        .route("/verify-email", get(recovery::verify_form).post(recovery::verify))
        .route("/confirm-email-change", get(recovery::email_change_form).post(recovery::email_change))
        .route("/invitations/accept", get(invitations::form).post(invitations::accept))
        .route("/invitations/join", post(invitations::join))
        .route("/accounts/{account_id}", get(dashboard::page))
        .route("/accounts/{account_id}/invoices", get(invoices::list))
        .route("/accounts/{account_id}/invoices/{record_id}", get(invoices::detail))
        .route("/accounts/{account_id}/invoices/{record_id}/pay", get(invoices::pay))
        .route("/accounts/{account_id}/subscriptions", get(subscriptions::list))
        .route("/accounts/{account_id}/orders", get(orders::list))
        .route("/accounts/{account_id}/orders/{record_id}", get(orders::detail))
        .route("/accounts/{account_id}/documents", get(documents::list).post(documents::upload))
        .route("/accounts/{account_id}/documents/{record_id}", get(documents::detail))
        .route("/accounts/{account_id}/documents/{record_id}/preview", get(documents::preview))
        .route("/accounts/{account_id}/tickets", get(tickets::list).post(tickets::create))
        .route("/accounts/{account_id}/tickets/new", get(tickets::new_form))
        .route("/accounts/{account_id}/tickets/{record_id}", get(tickets::detail))
        .route("/accounts/{account_id}/tickets/{record_id}/comments", post(tickets::comment))
        .route("/accounts/{account_id}/tickets/{record_id}/attachments", post(tickets::attach))
        .route("/accounts/{account_id}/tickets/{record_id}/close", post(tickets::close))
        .route("/accounts/{account_id}/settings", get(settings::show).post(settings::save))
        .route("/accounts/{account_id}/settings/sso", post(settings::save_sso))
        .route("/accounts/{account_id}/settings/sso/remove", post(settings::remove_sso))
        .route("/accounts/{account_id}/exports", get(exports::show).post(exports::ask))
        .route("/accounts/{account_id}/team", get(team::show))
        .route("/accounts/{account_id}/team/invitations", post(team::invite))
        .route("/accounts/{account_id}/team/invitations/{invitation_id}/resend", post(team::resend))
        .route("/accounts/{account_id}/team/invitations/{invitation_id}/revoke", post(team::revoke))
        .route("/accounts/{account_id}/team/members/{user_id}/role", post(team::change_role))
        .route("/accounts/{account_id}/team/members/{user_id}/remove", post(team::remove))
        .route("/accounts/{account_id}/audit", get(audit::list))
        .route("/accounts/{account_id}/tasks", get(tasks::list))
        .route("/accounts/{account_id}/tasks/{record_id}/complete", post(tasks::complete))
        .route("/accounts/{account_id}/tasks/{record_id}/decision", post(tasks::decide))
        .route("/notifications", get(notifications::list))
        .route("/notifications/bell", get(notifications::bell))
        .route("/notifications/read", post(notifications::mark_all_read))
        .route("/notifications/{notification_id}/read", post(notifications::mark_read))
        .route("/profile", get(profile::show).post(profile::save_details))
        .route("/profile/confirm", post(profile::confirm))
        .route("/profile/password", post(profile::change_password))
        .route("/profile/mfa", post(profile::start_mfa))
        .route("/profile/mfa/confirm", post(profile::confirm_mfa))
        .route("/profile/mfa/disable", post(profile::disable_mfa))
        .route("/profile/sessions/{session_id}/revoke", post(profile::revoke_session))
        .route("/profile/tokens", post(profile::create_token))
        .route("/profile/tokens/{token_id}/revoke", post(profile::revoke_token))
        .route("/console", get(console::home))
        .route("/console/connectors", get(console::connectors::list).post(console::connectors::create))
        .route("/console/connectors/new", get(console::connectors::choose_kind))
        .route("/console/connectors/new/{kind}", get(console::connectors::new_form))
        .route("/console/connectors/{connector_id}", get(console::connectors::show).post(console::connectors::update))
        .route("/console/connectors/{connector_id}/edit", get(console::connectors::edit_form))
        .route("/console/connectors/{connector_id}/test", post(console::connectors::test))
        .route("/console/connectors/{connector_id}/sync", post(console::connectors::sync))
        .route("/console/connectors/{connector_id}/runs/{run_id}", get(console::runs::show))
        .route("/console/connectors/{connector_id}/runs/{run_id}/cancel", post(console::runs::cancel))
        .route("/console/connectors/{connector_id}/runs/{run_id}/confirm-deletions", post(console::runs::confirm))
        .route("/console/connectors/{connector_id}/runs/{run_id}/discard-deletions", post(console::runs::discard))
        .route("/console/connectors/{connector_id}/mapping", get(console::mapping::show).post(console::mapping::map))
        .route("/console/connectors/{connector_id}/records", get(console::records::list))
        .route("/console/connectors/{connector_id}/records/{record_id}", get(console::records::detail))
        .route("/console/outbox", get(console::outbox::list))
        .route("/console/health", get(console::health::show))
        .route("/console/outbox/{outbox_id}/retry", post(console::outbox::retry))
        .route("/console/connectors/{connector_id}/webhooks", post(console::webhooks::create))
        .route("/console/webhooks/{endpoint_id}", get(console::webhooks::show).post(console::endpoint_settings::update))
        .route("/console/webhooks/{endpoint_id}/secrets", post(console::webhooks::rotate))
        .route("/console/webhooks/{endpoint_id}/secrets/{secret_id}/revoke", post(console::webhooks::revoke))
        .route("/console/webhooks/{endpoint_id}/replay", post(console::webhooks::replay_range))
        .route("/console/webhooks/{endpoint_id}/deliveries/{delivery_id}", get(console::webhooks::delivery))
        .route("/console/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay", post(console::webhooks::replay))
        .route("/console/confirm", post(console::webhooks::confirm))
        .route("/console/accounts", get(console::accounts::list).post(console::accounts::create))
        .route("/console/accounts/{account_id}", get(console::accounts::show))
        .route("/console/accounts/{account_id}/view-as", post(console::accounts::view_as))
        .route("/console/view-as/stop", post(console::accounts::stop_viewing))
        .route("/console/reports", get(console::reports::show))
        .route("/console/reports/export", get(console::reports::export))
        .route("/console/staff", get(console::staff::show))
        .route("/console/staff/invitations", post(console::staff::invite))
        .route("/console/staff/{user_id}/role", post(console::staff::change_role))
        .route("/console/staff/{user_id}/remove", post(console::staff::remove))
        .route("/console/staff/sso", post(console::staff::save_sso))
        .route("/console/staff/sso/remove", post(console::staff::remove_sso))
        .route("/console/audit", get(console::audit::list))
        .route("/assets/{name}", get(assets::serve))
        .layer(middleware::from_fn(errors::html_errors))
        .layer(middleware::from_fn(headers::security_headers))
}
