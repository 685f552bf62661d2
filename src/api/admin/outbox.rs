//! Write-backs waiting, delivered or dead-lettered, and the admin's retry
//! (staff with `connectors.manage`).

use axum::extract::{Path, Query, State};
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit;
use crate::auth::StaffCaller;
use crate::auth::permissions::StaffPermission;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::pagination::page_size;
use crate::server::problem::{ApiError, ErrorCode, FieldError};
use crate::store::{OutboxRow, StaffData, StoreError};
use crate::sync::PushJob;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_outbox)).routes(routes!(retry_outbox))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Only `dead` (the dead letters), `pending`, `delivering` or `delivered`; every
    /// status when absent.
    pub status: Option<String>,
    /// Items older than this id.
    pub before: Option<Uuid>,
    pub limit: Option<i64>,
}

/// Write-backs, newest first: all of them, or those of one status.
#[utoipa::path(get, path = "/api/v1/admin/outbox", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    params(OutboxQuery),
    responses(
        (status = 200, description = "Outbox items", body = Vec<OutboxRow>),
        (status = 422, description = "Unknown status", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_outbox(
    State(state): State<AppState>,
    staff: StaffCaller,
    Query(query): Query<OutboxQuery>,
) -> Result<Json<Vec<OutboxRow>>, ApiError> {
    let scope = staff.require(StaffPermission::ConnectorsManage, &state).await?;
    let status = query.status.as_deref();
    if status.is_some_and(|status| !matches!(status, "dead" | "pending" | "delivering" | "delivered")) {
        return Err(ApiError::validation(vec![FieldError {
            field: "status".into(),
            message: "must be dead, pending, delivering or delivered".into(),
        }]));
    }
    Ok(Json(StaffData::of(&state.store, &scope).outbox_items(status, query.before, page_size(query.limit)?).await?))
}

/// Retries a dead-lettered write-back (with the same idempotency key, so it applies once).
#[utoipa::path(post, path = "/api/v1/admin/outbox/{outbox_id}/retry", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    params(("outbox_id" = Uuid, Path)),
    responses(
        (status = 202, description = "Queued again", body = OutboxRow),
        (status = 404, description = "No such item", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not dead-lettered", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn retry_outbox(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(outbox_id): Path<Uuid>,
) -> Result<(axum::http::StatusCode, Json<OutboxRow>), ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    state.store.outbox_item(outbox_id).await?.ok_or(StoreError::NotFound)?;
    if !state.store.revive_outbox(outbox_id, Utc::now()).await? {
        return Err(ApiError::new(ErrorCode::Conflict, "Only dead-lettered write-backs can be retried."));
    }
    state.queue.enqueue(PushJob { outbox_id }, &state.settings.jobs).await.map_err(ApiError::internal)?;
    audit::record(&state.store, staff.caller.audit_event("outbox.retried").target("outbox", outbox_id)).await?;
    let item = state.store.outbox_item(outbox_id).await?.ok_or(StoreError::NotFound)?;
    Ok((axum::http::StatusCode::ACCEPTED, Json(item)))
}
