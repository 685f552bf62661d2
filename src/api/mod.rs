//! The JSON API, grouped by whom it serves:
//!
//! - `identity/`: signing in and out, one's own profile, credentials, second
//!   factors, recovery and single sign-on;
//! - `portal/`: an account's data as its members see it (records, invoices,
//!   documents, tickets, tasks, the dashboard, live events, exports) and its team
//!   (members, roles, invitations, audit log);
//! - `admin/`: staff work (accounts, staff, connectors, outbox, webhook endpoints,
//!   erasure);
//! - `webhooks`: the ingress external systems post to;
//! - `ops/`: health, metrics and the OpenAPI document.
//!
//! A new endpoint goes in the group of whom it serves, as a handler taking the
//! same extractors (`Caller`, `AccountAccess`, `StaffCaller`) and store handles
//! (`AccountData`, `StaffData`) as its neighbours, and gets rows in
//! `tests/api/authorization_matrix.txt` and `tests/api/scope_matrix.txt`.

pub mod admin;
pub mod identity;
pub mod ops;
pub mod portal;
pub mod webhooks;

use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::server::AppState;

/// The routes with their OpenAPI descriptions, before middleware: the API, and
/// the webhook ingress (kept apart: it applies each endpoint's own body limit).
pub fn api_routes() -> (Router<AppState>, Router<AppState>, utoipa::openapi::OpenApi) {
    let (ingress, ingress_document) = webhooks::ingress_router().split_for_parts();
    let (routes, mut document) = OpenApiRouter::with_openapi(ops::openapi::ApiDoc::openapi())
        .merge(ops::health::router())
        .merge(identity::auth::router())
        .merge(identity::me::router())
        .merge(identity::profile::router())
        .merge(portal::notifications::router())
        .merge(identity::credentials::router())
        .merge(identity::mfa::router())
        .merge(identity::recovery::router())
        .merge(identity::email_codes::router())
        .merge(admin::staff::router())
        .merge(admin::erasure::router())
        .merge(identity::sso::router())
        .merge(admin::accounts::router())
        .merge(portal::members::router())
        .merge(portal::roles::router())
        .merge(portal::invitations::router())
        .merge(portal::audit::router())
        .merge(admin::connectors::router())
        .merge(portal::records::router())
        .merge(portal::dashboard::router())
        .merge(portal::invoices::router())
        .merge(admin::outbox::router())
        .merge(portal::tickets::router())
        .merge(portal::tasks::router())
        .merge(portal::documents::router())
        .merge(admin::webhook_endpoints::router())
        .merge(portal::events::router())
        .merge(portal::exports::router())
        .merge(ops::metrics::router())
        .merge(ops::openapi::router())
        .split_for_parts();
    document.merge(ingress_document);
    ops::openapi::document_shared_answers(&mut document);
    (routes, ingress, document)
}
