//! The audit log: append-only, hash-chained events.
//!
//! Each event's hash is SHA-256 over the previous event's hash and the event's own
//! content, so editing, inserting or deleting a past row breaks every later link;
//! [`verify_chain`] (run by `portico audit verify`) finds the first broken one.

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::store::{Store, StoreError};

/// Who did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    Staff,
    ApiToken,
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Staff => "staff",
            ActorKind::ApiToken => "api_token",
            ActorKind::System => "system",
        }
    }
}

/// An event about to be appended.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    pub occurred_at: DateTime<Utc>,
    pub actor_user_id: Option<Uuid>,
    pub actor_kind: &'static str,
    pub account_id: Option<Uuid>,
    pub action: &'static str,
    pub target_type: Option<&'static str>,
    pub target_id: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
}

impl AuditEvent {
    /// `occurred_at` is cut to microseconds: what PostgreSQL keeps, so the hash
    /// recomputed from a stored row matches the one computed before storing it.
    pub fn new(action: &'static str, actor_kind: ActorKind) -> Self {
        Self {
            occurred_at: Utc::now().trunc_subsecs(6),
            actor_user_id: None,
            actor_kind: actor_kind.as_str(),
            account_id: None,
            action,
            target_type: None,
            target_id: None,
            ip_address: None,
            user_agent: None,
            details: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn actor(mut self, user_id: Uuid) -> Self {
        self.actor_user_id = Some(user_id);
        self
    }

    pub fn account(mut self, account_id: Uuid) -> Self {
        self.account_id = Some(account_id);
        self
    }

    pub fn target(mut self, target_type: &'static str, target_id: impl ToString) -> Self {
        self.target_type = Some(target_type);
        self.target_id = Some(target_id.to_string());
        self
    }

    pub fn ip_address(mut self, ip_address: Option<String>) -> Self {
        self.ip_address = ip_address;
        self
    }

    pub fn user_agent(mut self, user_agent: Option<String>) -> Self {
        self.user_agent = user_agent;
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// A stored event, as read back for listing and verification.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StoredAuditEvent {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_user_id: Option<Uuid>,
    pub actor_kind: String,
    pub account_id: Option<Uuid>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Object)]
    pub details: sqlx::types::Json<serde_json::Value>,
    #[serde(skip)]
    pub prev_hash: Option<Vec<u8>>,
    #[serde(skip)]
    pub hash: Vec<u8>,
}

/// The content a hash covers, in a fixed field order. `details` is serialized
/// from `serde_json::Value`, whose maps are sorted, so key order in storage (which
/// PostgreSQL's jsonb changes) does not matter.
pub fn event_hash(previous: Option<&[u8]>, event: &HashedContent<'_>) -> Vec<u8> {
    let content = serde_json::to_vec(event).expect("audit content serializes");
    let mut hasher = Sha256::new();
    hasher.update(previous.unwrap_or_default());
    hasher.update(&content);
    hasher.finalize().to_vec()
}

#[derive(Debug, Serialize)]
pub struct HashedContent<'a> {
    pub occurred_at: String,
    pub actor_user_id: Option<Uuid>,
    pub actor_kind: &'a str,
    pub account_id: Option<Uuid>,
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub ip_address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub details: &'a serde_json::Value,
}

impl AuditEvent {
    pub fn hashed_content(&self) -> HashedContent<'_> {
        HashedContent {
            occurred_at: self.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            actor_user_id: self.actor_user_id,
            actor_kind: self.actor_kind,
            account_id: self.account_id,
            action: self.action,
            target_type: self.target_type,
            target_id: self.target_id.as_deref(),
            ip_address: self.ip_address.as_deref(),
            user_agent: self.user_agent.as_deref(),
            details: &self.details,
        }
    }
}

impl StoredAuditEvent {
    pub fn hashed_content(&self) -> HashedContent<'_> {
        HashedContent {
            occurred_at: self.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            actor_user_id: self.actor_user_id,
            actor_kind: &self.actor_kind,
            account_id: self.account_id,
            action: &self.action,
            target_type: self.target_type.as_deref(),
            target_id: self.target_id.as_deref(),
            ip_address: self.ip_address.as_deref(),
            user_agent: self.user_agent.as_deref(),
            details: &self.details.0,
        }
    }
}

/// Appends an event. Failure to audit fails the caller's request: an action that
/// cannot be recorded is not performed silently.
pub async fn record(store: &Store, event: AuditEvent) -> Result<(), StoreError> {
    store.append_audit_event(&event).await
}

/// The outcome of walking the chain.
#[derive(Debug, PartialEq, Eq)]
pub enum ChainVerdict {
    Intact { events: u64 },
    Broken { event_id: i64, events_before: u64 },
}

/// Walks every event in order, recomputing each hash from the previous one.
pub async fn verify_chain(store: &Store, mut progress: impl FnMut(u64)) -> Result<ChainVerdict, StoreError> {
    const PAGE: i64 = 1000;
    let mut previous_hash: Option<Vec<u8>> = None;
    let mut checked = 0u64;
    let mut after_id = 0i64;
    loop {
        let page = store.audit_events_after(after_id, PAGE).await?;
        let Some(last) = page.last() else { return Ok(ChainVerdict::Intact { events: checked }) };
        after_id = last.id;
        for event in &page {
            let expected = event_hash(previous_hash.as_deref(), &event.hashed_content());
            if event.prev_hash != previous_hash || event.hash != expected {
                return Ok(ChainVerdict::Broken { event_id: event.id, events_before: checked });
            }
            previous_hash = Some(event.hash.clone());
            checked += 1;
        }
        progress(checked);
    }
}
