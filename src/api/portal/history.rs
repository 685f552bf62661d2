//! "What changed on this invoice, and when": the versions of a cached record, for
//! those allowed to see records of its type in its account.
//!
//! The account and type are part of the query that loads the record, so a record
//! of another account is not found rather than found and then refused.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::pagination::page_size;
use crate::server::problem::ApiError;
use crate::store::{AccountData, StoreError};

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

/// A record's versions, newest first; the endpoints are defined with the other
/// per-collection reads in `records`.
pub async fn history(
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
        AccountData::of(&state.store, &scope).record(record_type, record_id).await?.ok_or(StoreError::NotFound)?;
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
