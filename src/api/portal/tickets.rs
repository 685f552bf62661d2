//! Customers open, comment on and close tickets from the portal. The ticket exists locally at once
//! (pending) and reaches the CRM through the outbox: both are written in one
//! transaction, so an acknowledged ticket is never lost, and the push carries an
//! idempotency key, so it is never created twice.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::Utc;
use portico_connectors::Record;
use portico_connectors::model::{CommonRecord, Ticket, TicketMessage};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::portal::documents::{DocumentUploaded, UploadQuery, accept_upload};
use crate::api::portal::record_writes::{WriteQueued, queue_record_write, writable_record};
use crate::audit;
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode, FieldError};
use crate::store::{AccountData, AccountRecordRow, NewPendingRecord, StoreError};
use crate::sync::PushJob;
use crate::sync::prepare::prepare;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_ticket))
        .routes(routes!(comment_on_ticket))
        .routes(routes!(close_ticket))
        .routes(routes!(attach_to_ticket))
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
        (status = 403, description = "Missing tickets.create", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "No connected CRM takes tickets for this account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid subject, description or priority", body = crate::server::problem::Problem, content_type = "application/problem+json"),
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
    let Some((instance_id, company_id)) = AccountData::of(&state.store, &scope).write_target(&kinds).await? else {
        return Err(ApiError::new(ErrorCode::Conflict, "No connected system takes tickets for this account yet."));
    };
    let now = Utc::now();
    let record = prepare(Record {
        external_id: String::new(),
        account_ref: Some(company_id.clone()),
        account_unknown: false,
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCommentRequest {
    /// 1 to 10,000 characters.
    pub body: String,
}

/// Adds a message to a ticket's thread (`tickets.comment`): shown at once
/// (pending), delivered to the ticket's system through the outbox.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/tickets/{record_id}/comments", extensions(("x-permission" = json!("tickets.comment"))), tag = "records",
    params(("account_id" = Uuid, Path), ("record_id" = Uuid, Path)), request_body = NewCommentRequest,
    responses(
        (status = 202, description = "Recorded; delivery upstream is pending", body = WriteQueued),
        (status = 403, description = "Missing tickets.comment", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket in this account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The ticket is still being created, or its system takes no comments", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An empty or too long message", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn comment_on_ticket(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((_account_id, ticket_id)): Path<(Uuid, Uuid)>,
    Json(request): Json<NewCommentRequest>,
) -> Result<(StatusCode, Json<WriteQueued>), ApiError> {
    let scope = access.require(Permission::TicketsComment, &state).await?;
    let account_id = scope.account_id();
    let body = request.body.trim().to_owned();
    if body.is_empty() || body.chars().count() > 10_000 {
        return Err(ApiError::validation(vec![FieldError {
            field: "body".into(),
            message: "must be 1 to 10000 characters".into(),
        }]));
    }
    let ticket = writable_record(&state, &scope, "ticket", ticket_id, "add_note").await?;
    let (record_id, outbox_id) = post_message(&state, &access, account_id, &ticket, &body).await?;
    let event = access.caller.audit_event("ticket.commented").account(account_id).target("record", ticket_id);
    audit::record(&state.store, event).await?;
    Ok((StatusCode::ACCEPTED, Json(WriteQueued { record_id, outbox_id, sync_status: "pending" })))
}

/// A customer's message on a ticket: in the thread at once (pending), and to the
/// ticket's system as a note through the outbox. Returns (message id, outbox id).
async fn post_message(
    state: &AppState,
    access: &AccountAccess,
    account_id: Uuid,
    ticket: &AccountRecordRow,
    body: &str,
) -> Result<(Uuid, Uuid), ApiError> {
    let now = Utc::now();
    let author = match access.caller.display_name.trim() {
        "" => access.caller.email.clone(),
        name => name.to_owned(),
    };
    let record = prepare(Record {
        external_id: String::new(),
        account_ref: ticket.record.account_ref.clone(),
        account_unknown: false,
        parent_external_id: Some(ticket.record.external_id.clone()),
        source_updated_at: None,
        body: CommonRecord::TicketMessage(TicketMessage {
            author_name: author.clone(),
            author_kind: "customer".into(),
            body: body.to_owned(),
            posted_at: now,
        }),
        raw: json!({}),
    });
    let pending = NewPendingRecord {
        instance_id: ticket.record.source_instance_id,
        stream: "ticket_messages".into(),
        account_id,
        record,
        operation: "add_note".into(),
        payload: json!({
            "ticket_id": ticket.record.external_id,
            "body": format!("{author} wrote in the customer portal:\n\n{body}"),
        }),
        now,
    };
    let (record_id, outbox_id) = state.store.create_pending_record(&pending).await?;
    state.queue.enqueue(PushJob { outbox_id }, &state.settings.jobs).await.map_err(ApiError::internal)?;
    Ok((record_id, outbox_id))
}

/// Attaches a file to a ticket (`tickets.comment`): checked and stored like a
/// document upload, in the ticket's own folder (`tickets/<ticket id>`) of the
/// account's document storage, and listed with the ticket (for callers with
/// `documents.view`). The thread gets a message naming it, which reaches the
/// ticket's system when that system takes notes.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/tickets/{record_id}/attachments",
    extensions(("x-permission" = json!("tickets.comment"))), tag = "records",
    params(("account_id" = Uuid, Path), ("record_id" = Uuid, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 202, description = "Recorded; delivery to storage is pending", body = DocumentUploaded),
        (status = 403, description = "Missing tickets.comment", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket in this account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "No document storage is connected for this account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the body limit", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "A type of file not accepted here", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No name, or an empty file", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn attach_to_ticket(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((_account_id, ticket_id)): Path<(Uuid, Uuid)>,
    Query(query): Query<UploadQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<DocumentUploaded>), ApiError> {
    let scope = access.require(Permission::TicketsComment, &state).await?;
    let account_id = scope.account_id();
    let ticket = AccountData::of(&state.store, &scope)
        .record_with_source("ticket", ticket_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let folder = format!("tickets/{ticket_id}");
    let uploaded = accept_upload(&state, &scope, &folder, query.name, &headers, body).await?;
    // A ticket still being created, or one whose system takes no notes, gets no
    // message: the file is stored and listed with the ticket all the same.
    let instance = state.store.connector_instance(ticket.record.source_instance_id).await?;
    let takes_notes = instance.is_some_and(|instance| state.connectors.accepts(&instance, "add_note"));
    if takes_notes && !ticket.record.external_id.starts_with("pending:") {
        post_message(&state, &access, account_id, &ticket, &format!("Attached {}", uploaded.name)).await?;
    }
    let event = access
        .caller
        .audit_event("ticket.attachment_added")
        .account(account_id)
        .target("record", ticket_id)
        .details(json!({"document_id": uploaded.record_id}));
    audit::record(&state.store, event).await?;
    Ok((StatusCode::ACCEPTED, Json(uploaded)))
}

/// Closes a ticket (`tickets.close`) in the system it lives in, through the
/// outbox; the ticket shows closed once that system confirms (seconds).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/tickets/{record_id}/close", extensions(("x-permission" = json!("tickets.close"))), tag = "records",
    params(("account_id" = Uuid, Path), ("record_id" = Uuid, Path)),
    responses(
        (status = 202, description = "Queued; the upstream system closes it", body = WriteQueued),
        (status = 403, description = "Missing tickets.close", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket in this account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The ticket is still being created, or its system cannot close it from here", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn close_ticket(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((_account_id, ticket_id)): Path<(Uuid, Uuid)>,
) -> Result<(StatusCode, Json<WriteQueued>), ApiError> {
    let scope = access.require(Permission::TicketsClose, &state).await?;
    let account_id = scope.account_id();
    let ticket = writable_record(&state, &scope, "ticket", ticket_id, "close_ticket").await?;
    let payload = json!({"ticket_id": ticket.record.external_id, "company_id": ticket.record.account_ref});
    let queued = queue_record_write(&state, &ticket, account_id, "close_ticket", &payload).await?;
    let event = access.caller.audit_event("ticket.closed").account(account_id).target("record", ticket_id);
    audit::record(&state.store, event).await?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}
