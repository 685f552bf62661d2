//! Rows of the webhook tables, as the store returns them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

/// A webhook endpoint. `secrets_sealed` never leaves the server.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookEndpointRow {
    pub id: Uuid,
    pub connector_instance_id: Uuid,
    pub name: String,
    pub scheme: String,
    pub scheme_settings: Option<Json<Value>>,
    pub secrets_sealed: Vec<u8>,
    pub tolerance_secs: i64,
    pub body_limit_bytes: i64,
    pub allowed_sources: Option<Json<Vec<String>>>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What an admin sets on an endpoint (secrets are sealed separately).
#[derive(Debug, Clone)]
pub struct WebhookEndpointFields {
    pub name: String,
    pub scheme: String,
    pub scheme_settings: Option<Value>,
    pub tolerance_secs: i64,
    pub body_limit_bytes: i64,
    pub allowed_sources: Option<Vec<String>>,
    pub enabled: bool,
}

/// A delivery as the ingress hands it to the inbox.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub delivery_id: String,
    /// `verified` (to be processed) or `rejected` (kept for debugging only).
    pub status: &'static str,
    pub reject_reason: Option<&'static str>,
    /// Header names and values as received (values that are not text are dropped).
    pub headers: Value,
    pub body: Vec<u8>,
    pub source_address: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// What the inbox made of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Stored now; it will be processed.
    New,
    /// The endpoint already holds this delivery id: answered again, not processed again.
    Duplicate { original: Uuid },
}

/// A delivery a processor has taken.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedDelivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub connector_instance_id: Uuid,
    pub body: Vec<u8>,
    pub attempts: i64,
    pub received_at: DateTime<Utc>,
}

/// How processing a delivery ended.
#[derive(Debug, Clone)]
pub enum DeliveryResult {
    Processed {
        outcome: Value,
    },
    /// To be tried again at `retry_at`.
    Failed {
        error: String,
        retry_at: DateTime<Utc>,
    },
    Dead {
        error: String,
    },
}

/// A delivery in an admin's list (no headers or body).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct WebhookDeliveryRow {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// The sender's id for the delivery (a `sha256:` digest when the scheme names none).
    pub delivery_id: String,
    /// `verified` (stored, not yet processed), `processed`, `failed` (will be
    /// retried), `dead` (retries exhausted) or `rejected` (refused at the door).
    pub status: String,
    /// Why a rejected delivery was refused: `bad_signature`, `malformed_signature`,
    /// `stale`, `source_not_allowed` or `disabled`.
    pub reject_reason: Option<String>,
    pub source_address: Option<String>,
    /// Repeats of this delivery, answered 2xx and not processed again.
    pub duplicates: i64,
    pub last_duplicate_at: Option<DateTime<Utc>>,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// What the delivery carried: records, deletions and fetches.
    #[schema(value_type = Option<Object>)]
    pub outcome: Option<Json<Value>>,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

/// One delivery with its headers and body, for an admin to read (redacted by the caller).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookDeliveryDetail {
    #[sqlx(flatten)]
    pub summary: WebhookDeliveryRow,
    pub headers: Json<Value>,
    pub body: Vec<u8>,
}

/// Which deliveries an admin lists.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// One of the statuses, or `duplicate` (deliveries that were repeated).
    pub status: Option<String>,
    /// Only those received before this delivery (keyset pagination, newest first).
    pub before: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// Which deliveries to run through processing again.
#[derive(Debug, Clone)]
pub enum ReplaySelection {
    One(Uuid),
    ReceivedBetween(DateTime<Utc>, DateTime<Utc>),
}
