//! "What changed on this invoice, and when": the versions of a cached record, for
//! those allowed to see records of its type in its account.
//!
//! The account and type are part of the query that loads the record, so a record
//! of another account is not found rather than found and then refused.

use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::json::Json;
use super::pagination::page_size;
use super::problem::ApiError;
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::store::StoreError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invoice_history))
        .routes(routes!(payment_history))
        .routes(routes!(document_history))
        .routes(routes!(ticket_history))
        .routes(routes!(order_history))
        .routes(routes!(task_history))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordVersion {
    /// The record as it was (the first entry: as it is now).
    #[schema(value_type = Object)]
    pub data: Value,
    /// Top-level fields that differ from the version before it.
    pub changed_fields: Vec<String>,
    pub valid_from: DateTime<Utc>,
    /// When it was replaced; `None` for the current version.
    pub valid_until: Option<DateTime<Utc>>,
    /// What ended this version: `updated`, `deleted` or `restored`.
    pub ended_by: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordHistory {
    pub record_id: Uuid,
    pub record_type: String,
    /// The system of record it came from, and when that system last changed it.
    pub source_instance_id: Uuid,
    pub source_updated_at: Option<DateTime<Utc>>,
    /// Freshness: when its stream last synced successfully ...
    pub last_synced_at: Option<DateTime<Utc>>,
    /// ... and when a webhook event last changed the stream.
    pub last_event_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// Newest first.
    pub versions: Vec<RecordVersion>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryPage {
    /// At most this many earlier versions, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// Top-level keys whose values differ between two versions of a record.
fn changed_fields(newer: &Value, older: &Value) -> Vec<String> {
    let (Some(newer), Some(older)) = (newer.as_object(), older.as_object()) else { return Vec::new() };
    let mut keys: Vec<&String> = newer.keys().chain(older.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|key| newer.get(*key) != older.get(*key)).cloned().collect()
}

async fn history(
    state: &AppState,
    access: &AccountAccess,
    permission: Permission,
    record_type: &str,
    record_id: Uuid,
    page: HistoryPage,
) -> Result<Json<RecordHistory>, ApiError> {
    let scope = access.require(permission, state).await?;
    let limit = page_size(page.limit)?;
    let record =
        state.store.account_record(scope.account_id(), record_type, record_id).await?.ok_or(StoreError::NotFound)?;
    let earlier = state.store.record_history(record.id, limit).await?;
    let checkpoint = state.store.sync_checkpoint(record.source_instance_id, &record.stream).await?;
    let last_synced_at = checkpoint.as_ref().and_then(|row| row.last_success_at);
    let last_event_at = checkpoint.and_then(|row| row.last_event_at);
    let mut versions = Vec::with_capacity(earlier.len() + 1);
    let mut newer_data = record.data.0.clone();
    let mut newer_from = record.updated_at;
    versions.push(RecordVersion {
        data: record.data.0,
        changed_fields: Vec::new(),
        valid_from: record.updated_at,
        valid_until: None,
        ended_by: record.deleted_at.map(|_| "deleted".to_owned()),
    });
    for version in earlier {
        // The change between this version and the newer one belongs to the newer one.
        if let Some(newer) = versions.last_mut()
            && newer.valid_from == newer_from
        {
            newer.changed_fields = changed_fields(&newer_data, &version.data.0);
        }
        newer_data = version.data.0.clone();
        newer_from = version.valid_from;
        versions.push(RecordVersion {
            data: version.data.0,
            changed_fields: Vec::new(),
            valid_from: version.valid_from,
            valid_until: Some(version.superseded_at),
            ended_by: Some(version.change),
        });
    }
    Ok(Json(RecordHistory {
        record_id: record.id,
        record_type: record.record_type,
        source_instance_id: record.source_instance_id,
        source_updated_at: record.source_updated_at,
        last_synced_at,
        last_event_at,
        deleted_at: record.deleted_at,
        versions,
    }))
}

/// One history endpoint per record collection, each guarded by its view permission.
macro_rules! history_endpoint {
    ($name:ident, $collection:literal, $record_type:literal, $permission:expr, $permission_name:literal) => {
        #[doc = concat!("Versions of one of the account's ", $collection, ", newest first (`", $permission_name, "`).")]
        #[utoipa::path(get, path = concat!("/api/v1/accounts/{account_id}/", $collection, "/{record_id}/history"),
            extensions(("x-permission" = json!($permission_name))), tag = "records",
            params(("account_id" = Uuid, Path), ("record_id" = Uuid, Path), HistoryPage),
            responses(
                (status = 200, description = "The record's versions", body = RecordHistory),
                (status = 403, description = concat!("Missing ", $permission_name), body = super::problem::Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such record in this account", body = super::problem::Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $name(
            State(state): State<AppState>,
            access: AccountAccess,
            Path((_account_id, record_id)): Path<(Uuid, Uuid)>,
            Query(page): Query<HistoryPage>,
        ) -> Result<Json<RecordHistory>, ApiError> {
            history(&state, &access, $permission, $record_type, record_id, page).await
        }
    };
}

history_endpoint!(invoice_history, "invoices", "invoice", Permission::InvoicesView, "invoices.view");
history_endpoint!(payment_history, "payments", "payment", Permission::PaymentsView, "payments.view");
history_endpoint!(document_history, "documents", "document", Permission::DocumentsView, "documents.view");
history_endpoint!(ticket_history, "tickets", "ticket", Permission::TicketsView, "tickets.view");
history_endpoint!(order_history, "orders", "order", Permission::OrdersView, "orders.view");
history_endpoint!(task_history, "tasks", "task", Permission::TasksView, "tasks.view");

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::changed_fields;

    #[test]
    fn changed_fields_lists_top_level_differences() {
        let newer = json!({"status": "paid", "amount_due_minor": 0, "number": "INV-1", "note": "x"});
        let older = json!({"status": "open", "amount_due_minor": 1750, "number": "INV-1"});
        assert_eq!(changed_fields(&newer, &older), ["amount_due_minor", "note", "status"]);
    }
}
