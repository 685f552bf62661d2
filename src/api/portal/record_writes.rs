//! Changes customers make to records that live upstream (closing a ticket,
//! completing a task): checked against the record's own system, then queued in the
//! outbox, which carries them there with an idempotency key. The record changes
//! here when that system confirms.

use chrono::Utc;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AccountScope;
use crate::server::AppState;
use crate::server::problem::{ApiError, ErrorCode};
use crate::store::{AccountData, AccountRecordRow, StoreError};
use crate::sync::PushJob;

#[derive(Debug, Serialize, ToSchema)]
pub struct WriteQueued {
    /// The record it made or changes (a new message; the closed ticket).
    pub record_id: Uuid,
    /// The write-back carrying it upstream.
    pub outbox_id: Uuid,
    /// `pending` until the upstream system has it.
    pub sync_status: &'static str,
}

/// The account's record a write is about, if the system it lives in takes
/// `operation`: 404 outside the account, 409 while it is still being created or
/// where its system (kind, or this instance's configuration) takes no such write.
pub async fn writable_record(
    state: &AppState,
    scope: &AccountScope,
    record_type: &str,
    record_id: Uuid,
    operation: &str,
) -> Result<AccountRecordRow, ApiError> {
    let row = AccountData::of(&state.store, scope)
        .record_with_source(record_type, record_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    if row.record.external_id.starts_with("pending:") {
        return Err(ApiError::new(ErrorCode::Conflict, "This is still being created; try again in a moment."));
    }
    let instance = state.store.connector_instance(row.record.source_instance_id).await?.ok_or(StoreError::NotFound)?;
    if !state.connectors.accepts(&instance, operation) {
        return Err(ApiError::new(ErrorCode::Conflict, "The system this lives in takes no such change from here."));
    }
    Ok(row)
}

/// Queues `operation` on an existing record for the outbox and a push job.
pub async fn queue_record_write(
    state: &AppState,
    row: &AccountRecordRow,
    account_id: Uuid,
    operation: &str,
    payload: &Value,
) -> Result<WriteQueued, ApiError> {
    let record_id = row.record.id;
    let outbox_id = state
        .store
        .create_record_write(account_id, row.record.source_instance_id, record_id, operation, payload, Utc::now())
        .await?;
    state.queue.enqueue(PushJob { outbox_id }, &state.settings.jobs).await.map_err(ApiError::internal)?;
    Ok(WriteQueued { record_id, outbox_id, sync_status: "pending" })
}
