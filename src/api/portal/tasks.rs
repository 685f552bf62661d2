//! Customers complete their tasks from the portal, and decide on the ones that
//! ask for a decision (approve a quote, sign off a deliverable); the task's own
//! system (a REST source whose manifest declares `complete_task`, `approve_task`,
//! `decline_task`) is told through the outbox, and the task shows completed,
//! approved or declined once that system confirms.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::portal::record_writes::{WriteQueued, queue_record_write, writable_record};
use crate::audit;
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode, FieldError};
use crate::store::AccountRecordRow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(complete_task)).routes(routes!(decide_on_task))
}

/// Whether a task asks for a decision rather than for something to be done.
fn asks_for_decision(task: &AccountRecordRow) -> bool {
    task.record.data.0["kind"] == "approval"
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
    if asks_for_decision(&task) {
        return Err(ApiError::new(ErrorCode::Conflict, "This task asks for a decision: approve or decline it."));
    }
    let payload = json!({"external_id": task.record.external_id});
    let queued = queue_record_write(&state, &task, account_id, "complete_task", &payload).await?;
    let event = access.caller.audit_event("task.completed").account(account_id).target("record", task_id);
    audit::record(&state.store, event).await?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Decline,
}

/// The longest comment a decision carries upstream.
pub const MAX_DECISION_COMMENT_CHARS: usize = 2_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub decision: Decision,
    /// Why, in the person's words (at most 2,000 characters); goes upstream with
    /// the decision where the source takes it.
    #[serde(default)]
    pub comment: String,
}

/// Approves or declines a task that asks for a decision (`tasks.complete`), in
/// the system it lives in, through the outbox; the task shows `approved` or
/// `declined` once that system confirms, and its history and the account's
/// audit log keep who decided and why.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/tasks/{record_id}/decision", extensions(("x-permission" = json!("tasks.complete"))), tag = "records",
    params(("account_id" = Uuid, Path), ("record_id" = Uuid, Path)),
    request_body = DecisionRequest,
    responses(
        (status = 202, description = "Queued; the upstream system records the decision", body = WriteQueued),
        (status = 403, description = "Missing tasks.complete", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such task in this account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The task asks for no decision, is decided already, or its system takes no decision from here", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A comment too long", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn decide_on_task(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((_account_id, task_id)): Path<(Uuid, Uuid)>,
    Json(request): Json<DecisionRequest>,
) -> Result<(StatusCode, Json<WriteQueued>), ApiError> {
    let scope = access.require(Permission::TasksComplete, &state).await?;
    let comment = request.comment.trim();
    if comment.chars().count() > MAX_DECISION_COMMENT_CHARS {
        let message = format!("at most {MAX_DECISION_COMMENT_CHARS} characters");
        return Err(ApiError::validation(vec![FieldError { field: "comment".into(), message }]));
    }
    let account_id = scope.account_id();
    let (operation, action) = match request.decision {
        Decision::Approve => ("approve_task", "task.approved"),
        Decision::Decline => ("decline_task", "task.declined"),
    };
    let task = writable_record(&state, &scope, "task", task_id, operation).await?;
    if !asks_for_decision(&task) {
        return Err(ApiError::new(ErrorCode::Conflict, "This task asks for no decision: complete it instead."));
    }
    if task.record.status.as_deref() != Some("open") {
        return Err(ApiError::new(ErrorCode::Conflict, "This has been decided already."));
    }
    let payload = json!({"external_id": task.record.external_id, "comment": comment});
    let queued = queue_record_write(&state, &task, account_id, operation, &payload).await?;
    let event = access
        .caller
        .audit_event(action)
        .account(account_id)
        .target("record", task_id)
        .details(json!({"title": task.record.title, "comment": comment}));
    audit::record(&state.store, event).await?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}
