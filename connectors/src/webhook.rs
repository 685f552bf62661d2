//! Webhook support a connector may offer (the webhook gateway uses it): check a
//! delivery's signature, name the delivery for de-duplication, and turn its body
//! into record changes.

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

use crate::error::ConnectorError;
use crate::model::{Deletion, Record};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the signature header is missing or malformed")]
    Malformed,
    #[error("no signature matches any signing secret")]
    BadSignature,
    #[error("the delivery is too old (or from the future) to be trusted")]
    Stale,
}

/// What one delivery changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookChanges {
    /// The stream the records belong to (for deletion scope and freshness).
    pub stream: Option<String>,
    pub records: Vec<Record>,
    pub deletions: Vec<Deletion>,
}

pub trait Webhooks: Send + Sync {
    /// The signature scheme (`stripe`).
    fn scheme(&self) -> &'static str;

    /// Accepts the delivery if a signature matches one of `secrets` (several during a
    /// rotation), compared in constant time, and it is recent enough.
    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        secrets: &[Vec<u8>],
        now: DateTime<Utc>,
    ) -> Result<(), WebhookError>;

    /// The sender's id for the delivery, the same on every retry of it.
    fn delivery_id(&self, headers: &HeaderMap, body: &[u8]) -> Option<String>;

    /// The record changes the delivery carries (none for events that change nothing synced).
    fn changes(&self, body: &[u8]) -> Result<WebhookChanges, ConnectorError>;
}
