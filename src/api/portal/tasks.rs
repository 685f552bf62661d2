//! Customers complete their tasks from the portal; the task's own system (a REST
//! source whose manifest declares `complete_task`) is told through the outbox, and
//! the task shows completed once that system confirms.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::portal::record_writes::{WriteQueued, queue_record_write, writable_record};
use crate::audit;
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(complete_task))
}

/// Marks a task complete (`tasks.complete`) in the system it lives in, through the
/// outbox; the task shows `completed` once that system confirms (seconds).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/tasks/{record_id}/complete", extensions(("x-permission" = json!("tasks.complete"))), tag = "records",
    params(("account_id" = Uuid, Path), ("record_id" = Uuid, Path)),
    responses(
        (status = 202, description = "Queued; the upstream system completes it", body = WriteQueued),
        (status = 403, description = "Missing tasks.complete", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such task in this account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The task is not open, or its system cannot complete it from here", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn complete_task(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((_account_id, task_id)): Path<(Uuid, Uuid)>,
) -> Result<(StatusCode, Json<WriteQueued>), ApiError> {
    let scope = access.require(Permission::TasksComplete, &state).await?;
    let account_id = scope.account_id();
    let task = writable_record(&state, &scope, "task", task_id, "complete_task").await?;
    if task.record.status.as_deref() != Some("open") {
        return Err(ApiError::new(ErrorCode::Conflict, "Only an open task can be completed."));
    }
    let payload = json!({"external_id": task.record.external_id});
    let queued = queue_record_write(&state, &task, account_id, "complete_task", &payload).await?;
    let event = access.caller.audit_event("task.completed").account(account_id).target("record", task_id);
    audit::record(&state.store, event).await?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}
