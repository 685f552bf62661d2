//! Reading the audit log: an account's own events for its owners and admins, and
//! every event for staff.

use axum::extract::{Query, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::json::Json;
use super::pagination::page_size;
use super::problem::ApiError;
use crate::audit::StoredAuditEvent;
use crate::auth::permissions::{Permission, StaffPermission};
use crate::auth::{AccountAccess, StaffCaller};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(account_audit_events)).routes(routes!(all_audit_events))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditPage {
    /// Events older than this id (the last id of the previous page).
    pub before: Option<i64>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

/// The account's audit events, newest first (`audit.view`).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/audit-events", tag = "audit",
    params(("account_id" = Uuid, Path), AuditPage),
    responses(
        (status = 200, description = "Events", body = Vec<StoredAuditEvent>),
        (status = 403, description = "Missing audit.view", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account, or none of yours", body = super::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn account_audit_events(
    State(state): State<AppState>,
    access: AccountAccess,
    Query(page): Query<AuditPage>,
) -> Result<Json<Vec<StoredAuditEvent>>, ApiError> {
    let scope = access.require(Permission::AuditView, &state).await?;
    Ok(Json(state.store.list_audit_events(Some(scope.account_id()), page.before, page_size(page.limit)?).await?))
}

/// Every audit event, newest first (staff with `audit.view_all`).
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit", params(AuditPage),
    responses(
        (status = 200, description = "Events", body = Vec<StoredAuditEvent>),
        (status = 403, description = "Missing audit.view_all", body = super::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn all_audit_events(
    State(state): State<AppState>,
    staff: StaffCaller,
    Query(page): Query<AuditPage>,
) -> Result<Json<Vec<StoredAuditEvent>>, ApiError> {
    staff.require(StaffPermission::AuditViewAll, &state).await?;
    Ok(Json(state.store.list_audit_events(None, page.before, page_size(page.limit)?).await?))
}
