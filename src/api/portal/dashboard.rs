//! `GET /api/v1/accounts/{account_id}/dashboard`: what a customer wants to know at
//! a glance. Each section is there only for callers holding its collection's view
//! permission (a viewer sees no invoice totals), each computed in the query.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::portal::records::{PortalRecord, with_etag};
use crate::auth::AccountAccess;
use crate::auth::permissions::{PORTAL_RECORD_TYPES, Permission};
use crate::server::AppState;
use crate::server::problem::ApiError;
use crate::store::{AccountData, CurrencyTotals};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(dashboard))
}

/// Recent changes shown.
const RECENT: i64 = 10;
/// New documents and due tasks listed (all are counted).
const LISTED: i64 = 5;
/// Tasks due within this many days count as due.
const TASKS_DUE_DAYS: i64 = 7;
/// On a first visit, documents of the last this many days are new.
const FIRST_VISIT_DAYS: i64 = 30;

#[derive(Debug, Serialize, ToSchema)]
pub struct Dashboard {
    /// Open invoices per currency, with the overdue ones (`invoices.view`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoices: Option<Vec<CurrencyTotals>>,
    /// Tickets not yet closed (`tickets.view`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_tickets: Option<i64>,
    /// Documents new since the caller's last visit (`documents.view`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_documents: Option<NewDocuments>,
    /// Open tasks due within a week, overdue ones included (`tasks.view`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks_due: Option<TasksDue>,
    /// The latest changes among the records the caller may see.
    pub recent_changes: Vec<PortalRecord>,
    /// When the caller's previous visit was (absent on a first visit).
    pub last_visit_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewDocuments {
    pub count: i64,
    /// The newest few.
    pub latest: Vec<PortalRecord>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TasksDue {
    pub count: i64,
    pub overdue: i64,
    /// The soonest due few.
    pub next: Vec<PortalRecord>,
}

/// The account at a glance (any member: each section needs its view permission).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/dashboard",
    extensions(("x-permission" = json!("any account access (each section: its collection's view permission)"))), tag = "records",
    params(("account_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The dashboard (with an ETag)", body = Dashboard),
        (status = 404, description = "No such account (for this caller)", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn dashboard(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(_account_id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    with_etag(&build(&state, &access).await?, &headers)
}

/// The dashboard for this caller (the API's answer and the page's content): any
/// access opens it; each section asks for its own permission. Records this visit.
pub(crate) async fn build(state: &AppState, access: &AccountAccess) -> Result<Dashboard, ApiError> {
    let account = AccountData::of(&state.store, &access.any_access());
    let holds = |permission: Permission| access.holds(permission);
    let now = Utc::now();
    let last_visit_at = account.visit(access.caller.user_id, now).await?;

    let invoices = match holds(Permission::InvoicesView) {
        true => Some(account.open_invoice_totals(now).await?),
        false => None,
    };
    let open_tickets = match holds(Permission::TicketsView) {
        true => Some(account.count_open_tickets().await?),
        false => None,
    };
    let new_documents = match holds(Permission::DocumentsView) {
        true => {
            let since = last_visit_at.unwrap_or(now - Duration::days(FIRST_VISIT_DAYS));
            let (count, rows) = account.records_new_since("document", since, LISTED).await?;
            Some(NewDocuments { count, latest: rows.into_iter().map(PortalRecord::from).collect() })
        }
        false => None,
    };
    let tasks_due = match holds(Permission::TasksView) {
        true => {
            let before = now + Duration::days(TASKS_DUE_DAYS);
            let (count, overdue, rows) = account.open_tasks_due(now, before, LISTED).await?;
            Some(TasksDue { count, overdue, next: rows.into_iter().map(PortalRecord::from).collect() })
        }
        false => None,
    };
    // Every type the caller may see, and only those, in the query.
    let visible: Vec<&str> = PORTAL_RECORD_TYPES
        .iter()
        .filter(|portal| portal.top_level && holds(portal.view))
        .map(|portal| portal.record_type)
        .collect();
    let recent_changes =
        account.recently_changed_records(&visible, RECENT).await?.into_iter().map(PortalRecord::from).collect();

    Ok(Dashboard { invoices, open_tickets, new_documents, tasks_due, recent_changes, last_visit_at })
}
