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
//! - one module per page group: `sign_in.rs`, `invitations.rs`, `dashboard.rs`, `invoices.rs`,
//!   `documents.rs`, `tickets.rs`, `tasks.rs`.
//!
//! A new page goes in a module here, takes `Page` and the same extractor as the
//! API route it mirrors (`AccountAccess`), and gets a row in
//! `tests/api/pages_matrix.txt`.

mod assets;
mod dashboard;
mod documents;
pub mod errors;
pub mod format;
mod headers;
pub mod i18n;
mod invitations;
mod invoices;
mod page;
mod records;
mod sign_in;
mod tasks;
mod tickets;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};

use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::home))
        .route("/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/invitations/accept", get(invitations::form).post(invitations::accept))
        .route("/accounts/{account_id}", get(dashboard::page))
        .route("/accounts/{account_id}/invoices", get(invoices::list))
        .route("/accounts/{account_id}/invoices/{record_id}", get(invoices::detail))
        .route("/accounts/{account_id}/documents", get(documents::list).post(documents::upload))
        .route("/accounts/{account_id}/tickets", get(tickets::list).post(tickets::create))
        .route("/accounts/{account_id}/tickets/new", get(tickets::new_form))
        .route("/accounts/{account_id}/tickets/{record_id}", get(tickets::detail))
        .route("/accounts/{account_id}/tickets/{record_id}/comments", post(tickets::comment))
        .route("/accounts/{account_id}/tickets/{record_id}/close", post(tickets::close))
        .route("/accounts/{account_id}/tasks", get(tasks::list))
        .route("/accounts/{account_id}/tasks/{record_id}/complete", post(tasks::complete))
        .route("/assets/{name}", get(assets::serve))
        .layer(middleware::from_fn(errors::html_errors))
        .layer(middleware::from_fn(headers::security_headers))
}
