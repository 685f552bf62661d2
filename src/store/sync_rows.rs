//! Rows of the connector and sync tables, as the store returns them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

/// A configured connector instance. `credentials_sealed` never leaves the server.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConnectorInstanceRow {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub settings: Json<Value>,
    pub credentials_sealed: Option<Vec<u8>>,
    pub allow_private_network: bool,
    pub rate_limit_per_sec: Option<f64>,
    pub rate_budget_key: Option<String>,
    pub schedule_interval_secs: Option<i64>,
    pub delete_guard_share: f64,
    /// How long one upstream request may take; `sync.request_timeout_secs` when unset.
    pub request_timeout_secs: Option<i64>,
    pub enabled: bool,
    pub consecutive_failures: i64,
    pub degraded_since: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub next_sync_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What an admin sets on an instance (everything but the secret).
#[derive(Debug, Clone)]
pub struct ConnectorInstanceFields {
    pub name: String,
    pub settings: Value,
    pub allow_private_network: bool,
    pub rate_limit_per_sec: Option<f64>,
    pub rate_budget_key: Option<String>,
    pub schedule_interval_secs: Option<i64>,
    pub delete_guard_share: f64,
    pub request_timeout_secs: Option<i64>,
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SyncRunRow {
    pub id: Uuid,
    pub connector_instance_id: Uuid,
    pub stream: String,
    /// `full` or `incremental`.
    pub mode: String,
    /// `schedule`, `manual` or `cli`.
    pub trigger: String,
    /// `queued`, `running`, `waiting` (rate limited), `succeeded`, `failed`,
    /// `held` (deletions await an admin), `discarded`, `cancelled`.
    pub status: String,
    #[serde(skip)]
    #[schema(ignore)]
    pub position: Option<Json<Value>>,
    pub pages: i64,
    pub added: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub deleted: i64,
    pub failed: i64,
    /// Records whose upstream answer did not say whose they are (an association
    /// read that left them out): they kept the account they had.
    pub accounts_kept: i64,
    pub held_deletions: i64,
    pub attempts: i64,
    pub error: Option<String>,
    pub retry_at: Option<DateTime<Utc>>,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Counts of what one page (or one sweep) did to the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PageCounts {
    pub added: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub deleted: i64,
    /// Records not written: another stream of the instance holds a record of the
    /// same type and upstream id (two upstream objects claiming one row).
    pub failed: i64,
    pub accounts_kept: i64,
}

impl std::ops::AddAssign for PageCounts {
    fn add_assign(&mut self, other: Self) {
        self.added += other.added;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.deleted += other.deleted;
        self.failed += other.failed;
        self.accounts_kept += other.accounts_kept;
    }
}

/// What the cache holds for a record a page is about to write.
#[derive(Debug, sqlx::FromRow)]
pub struct ExistingRecordRow {
    pub id: Uuid,
    pub record_type: String,
    pub external_id: String,
    pub stream: String,
    pub account_ref: Option<String>,
    pub account_id: Option<Uuid>,
    pub content_hash: Vec<u8>,
    pub source_updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A record ready to store: mapped, serialized and hashed by the sync engine.
#[derive(Debug, Clone)]
pub struct PreparedRecord {
    pub record_type: &'static str,
    pub external_id: String,
    pub account_ref: Option<String>,
    /// The upstream did not say whose it is: it keeps the account it has.
    pub account_unknown: bool,
    pub parent_external_id: Option<String>,
    pub title: String,
    pub status: Option<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    /// The mapped record and the upstream payload, serialized once: the hash is
    /// taken over these bytes and they are bound as they are.
    pub data: Box<serde_json::value::RawValue>,
    pub raw: Box<serde_json::value::RawValue>,
    pub content_hash: Vec<u8>,
    pub source_updated_at: Option<DateTime<Utc>>,
}

impl PreparedRecord {
    /// The content hash covers the mapped record, the raw payload, the account
    /// key and the parent: anything that changes what a customer could see or
    /// what history should keep.
    pub fn hash_of(
        data: &serde_json::value::RawValue,
        raw: &serde_json::value::RawValue,
        account_ref: Option<&str>,
        parent_external_id: Option<&str>,
    ) -> Vec<u8> {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for part in [data, raw] {
            hasher.update(part.get().as_bytes());
            hasher.update([0]);
        }
        hasher.update(account_ref.unwrap_or_default());
        hasher.update([0]);
        hasher.update(parent_external_id.unwrap_or_default());
        hasher.finalize().to_vec()
    }

    /// The same record under the account key it already has (its upstream did
    /// not say this time), hashed again so an otherwise unchanged record stays unchanged.
    pub fn keeping_account_ref(&self, account_ref: Option<String>) -> Self {
        let content_hash =
            Self::hash_of(&self.data, &self.raw, account_ref.as_deref(), self.parent_external_id.as_deref());
        Self { account_ref, account_unknown: false, content_hash, ..self.clone() }
    }
}

/// A sync run and the lease its writing execution holds: a write under a lost
/// lease (the run was cancelled or taken over) is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunFence {
    pub run_id: Uuid,
    pub lease_id: Uuid,
}

impl PageWrite<'_> {
    /// The run full-sync marks go to (records it saw survive its deletion sweep).
    pub fn seen_by(&self) -> Option<Uuid> {
        self.run.filter(|_| self.full).map(|run| run.run_id)
    }
}

/// Pages to commit together: their records, reported deletions, and the run's new position.
#[derive(Debug, Clone)]
pub struct PageWrite<'a> {
    pub instance_id: Uuid,
    pub stream: &'a str,
    /// The sync run writing, or `None` for changes a webhook delivered.
    pub run: Option<RunFence>,
    /// Full runs stamp every record they see, for the deletion sweep.
    pub full: bool,
    /// How many upstream pages this write holds (pages pulled while the
    /// previous write committed are written together).
    pub pages: i64,
    /// Upstream objects in these pages that did not map (counted on the run).
    pub failed: i64,
    pub records: Vec<PreparedRecord>,
    pub deletions: Vec<(&'static str, String)>,
    pub end: PageWriteEnd,
    /// Webhook deliveries whose changes this write carries, with what each
    /// carried: marked processed in the same transaction, so a crash cannot
    /// apply a delivery without recording it (or the reverse).
    pub deliveries: Vec<(Uuid, Value)>,
    pub now: DateTime<Utc>,
}

/// A cached record as staff and the history endpoint see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RecordRow {
    pub id: Uuid,
    pub record_type: String,
    pub source_instance_id: Uuid,
    pub stream: String,
    pub external_id: String,
    pub account_ref: Option<String>,
    pub account_id: Option<Uuid>,
    pub title: String,
    pub status: Option<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    #[schema(value_type = Object)]
    pub data: Json<Value>,
    pub source_updated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// An earlier version of a record.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecordVersionRow {
    pub data: Json<Value>,
    pub valid_from: DateTime<Utc>,
    pub superseded_at: DateTime<Utc>,
    pub change: String,
}

/// Upstream keys with parked records, for admins to map.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ParkedGroup {
    pub account_ref: Option<String>,
    pub records: i64,
    pub first_parked_at: DateTime<Utc>,
    /// One of the group's records (the first by title), to recognise whose they are.
    pub sample_title: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AccountMappingRow {
    pub account_ref: String,
    pub account_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// Freshness of a stream: when it last synced successfully.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StreamCheckpoint {
    pub stream: String,
    #[serde(skip)]
    #[schema(ignore)]
    pub checkpoint: Option<Json<Value>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// When a webhook last changed the stream.
    pub last_event_at: Option<DateTime<Utc>>,
}

/// How a committed page leaves its run.
#[derive(Debug, Clone)]
pub enum PageWriteEnd {
    /// More to pull, from this position.
    More(Value),
    /// The stream is exhausted; the checkpoint (if any) is where the next
    /// incremental run starts.
    Done(Option<Value>),
}

/// What a full run's deletion sweep did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepOutcome {
    /// Records not seen were marked deleted (maybe none).
    Applied(i64),
    /// More than the guard share would go: nothing deleted, held for an admin.
    Held(i64),
}

/// A local record created by a portal action, with the upstream write it needs.
#[derive(Debug, Clone)]
pub struct NewPendingRecord {
    pub instance_id: Uuid,
    pub stream: String,
    pub account_id: Uuid,
    pub record: PreparedRecord,
    /// The connector's operation (`create_ticket`) and its payload.
    pub operation: String,
    pub payload: Value,
    pub now: DateTime<Utc>,
}

/// One write to an upstream system.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct OutboxRow {
    pub id: Uuid,
    pub account_id: Option<Uuid>,
    pub connector_instance_id: Uuid,
    /// The local record it belongs to (shown as pending until delivered).
    pub record_id: Option<Uuid>,
    pub operation: String,
    #[schema(value_type = Object)]
    pub payload: Json<Value>,
    /// Sent upstream so that a retried write applies once.
    pub idempotency_key: String,
    /// `pending`, `delivering`, `delivered` or `dead`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// How an upsert of records resolves a record already cached (both engines).
pub(crate) const RECORD_UPSERT_TAIL: &str = " ON CONFLICT (source_instance_id, record_type, external_id) DO UPDATE SET
    stream = excluded.stream, account_ref = excluded.account_ref, account_id = excluded.account_id,
    parent_external_id = excluded.parent_external_id, title = excluded.title, status = excluded.status,
    amount_minor = excluded.amount_minor, currency = excluded.currency, occurred_at = excluded.occurred_at,
    due_at = excluded.due_at,
    data = excluded.data, raw = excluded.raw, content_hash = excluded.content_hash,
    source_updated_at = excluded.source_updated_at,
    last_seen_run_id = COALESCE(excluded.last_seen_run_id, records.last_seen_run_id),
    updated_at = excluded.updated_at, deleted_at = NULL";

/// Which audit events to list (all of them by default).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Actions starting with this (`document.` for every document action).
    pub action: Option<String>,
    /// Only what this person did.
    pub actor_user_id: Option<Uuid>,
    /// Only events at or after `from` and before `until`.
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Which of an account's records of one type to list.
#[derive(Debug, Clone, Default)]
pub struct RecordListFilter {
    pub status: Option<String>,
    /// Matched, without case, anywhere in the title (an invoice's number, a ticket's subject).
    pub search: Option<String>,
    /// Only records whose date (an invoice's issue, a ticket's opening, ...) is at or
    /// after `occurred_from` and before `occurred_until`.
    pub occurred_from: Option<DateTime<Utc>>,
    pub occurred_until: Option<DateTime<Utc>>,
    /// Only documents in this folder.
    pub folder: Option<String>,
    /// Only documents with this tag, compared without case.
    pub tag: Option<String>,
    /// Only records due (invoices, tasks) at or after `due_from` and before `due_until`.
    pub due_from: Option<DateTime<Utc>>,
    pub due_until: Option<DateTime<Utc>>,
    /// Only records after this position in the order (most recently changed first).
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// A record as an account's members see it in a list, with where it came from and
/// how fresh that source is.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRecordRow {
    #[sqlx(flatten)]
    pub record: RecordRow,
    pub source_kind: String,
    pub source_name: String,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
}

/// How a sync run ended, for `Store::end_sync_run`.
#[derive(Debug, Clone, Copy)]
pub struct RunEnd<'a> {
    /// `succeeded`, `failed`, `held`, `cancelled`.
    pub status: &'a str,
    pub error: Option<&'a str>,
    pub held_deletions: i64,
    /// Failed runs in a row that mark the instance degraded.
    pub degrade_after: i64,
    pub now: DateTime<Utc>,
}
