//! Customers open tickets from the portal. The ticket exists locally at once
//! (pending) and reaches the CRM through the outbox: both are written in one
//! transaction, so an acknowledged ticket is never lost, and the push carries an
//! idempotency key, so it is never created twice.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use portico_connectors::Record;
use portico_connectors::model::{CommonRecord, Ticket};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::json::Json;
use super::problem::{ApiError, ErrorCode, FieldError};
use crate::audit;
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::store::NewPendingRecord;
use crate::sync::PushJob;
use crate::sync::prepare::prepare;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_ticket))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicketRequest {
    /// 1 to 200 characters.
    pub subject: String,
    /// Up to 10,000 characters.
    pub description: Option<String>,
    /// `low`, `medium`, `high` or `urgent`.
    pub priority: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketCreated {
    pub record_id: Uuid,
    /// The write-back carrying it to the CRM.
    pub outbox_id: Uuid,
    /// `pending` until the CRM has it.
    pub sync_status: &'static str,
}

/// Opens a ticket for the account (`tickets.create`); it reaches the CRM in the background.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/tickets", extensions(("x-permission" = json!("tickets.create"))), tag = "records",
    params(("account_id" = Uuid, Path)), request_body = NewTicketRequest,
    responses(
        (status = 202, description = "Recorded; delivery to the CRM is pending", body = TicketCreated),
        (status = 403, description = "Missing tickets.create", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "No connected CRM takes tickets for this account", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid subject, description or priority", body = super::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_ticket(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(_account_id): Path<Uuid>,
    Json(request): Json<NewTicketRequest>,
) -> Result<(StatusCode, Json<TicketCreated>), ApiError> {
    let scope = access.require(Permission::TicketsCreate, &state).await?;
    let account_id = scope.account_id();
    let subject = request.subject.trim().to_owned();
    let mut errors = Vec::new();
    if subject.is_empty() || subject.chars().count() > 200 {
        errors.push(FieldError { field: "subject".into(), message: "must be 1 to 200 characters".into() });
    }
    if request.description.as_ref().is_some_and(|text| text.chars().count() > 10_000) {
        errors.push(FieldError { field: "description".into(), message: "must be at most 10000 characters".into() });
    }
    let priority = request.priority.map(|priority| priority.to_lowercase());
    if priority.as_deref().is_some_and(|priority| !matches!(priority, "low" | "medium" | "high" | "urgent")) {
        errors.push(FieldError { field: "priority".into(), message: "must be low, medium, high or urgent".into() });
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }

    let kinds = state.connectors.kinds_accepting("create_ticket");
    let Some((instance_id, company_id)) = state.store.write_target(account_id, &kinds).await? else {
        return Err(ApiError::new(ErrorCode::Conflict, "No connected system takes tickets for this account yet."));
    };
    let now = Utc::now();
    let record = prepare(Record {
        external_id: String::new(),
        account_ref: Some(company_id.clone()),
        parent_external_id: None,
        source_updated_at: None,
        body: CommonRecord::Ticket(Ticket {
            subject: subject.clone(),
            status: "pending".into(),
            priority: priority.clone(),
            description: request.description.clone(),
            opened_at: Some(now),
            closed_at: None,
        }),
        raw: json!({}),
    });
    let pending = NewPendingRecord {
        instance_id,
        stream: "tickets".into(),
        account_id,
        record,
        operation: "create_ticket".into(),
        payload: json!({"subject": subject, "content": request.description, "priority": priority, "company_id": company_id}),
        now,
    };
    let (record_id, outbox_id) = state.store.create_pending_record(&pending).await?;
    state.queue.enqueue(PushJob { outbox_id }, &state.settings.jobs).await.map_err(ApiError::internal)?;
    let event = access.caller.audit_event("ticket.created").account(account_id).target("record", record_id);
    audit::record(&state.store, event).await?;
    Ok((StatusCode::ACCEPTED, Json(TicketCreated { record_id, outbox_id, sync_status: "pending" })))
}
