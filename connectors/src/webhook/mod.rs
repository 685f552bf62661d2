//! Webhooks: the signature schemes ([`schemes`]), and the support a connector may
//! offer the webhook gateway: the scheme its upstream signs with, the delivery's id
//! for de-duplication, and the record changes its body carries.

pub mod schemes;

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

/// What one delivery changes in one stream (a delivery may batch several).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookChanges {
    /// The stream the records belong to (for deletion scope and freshness).
    pub stream: String,
    pub records: Vec<Record>,
    pub deletions: Vec<Deletion>,
    /// External ids of `stream` the delivery only names ("invoice X changed"):
    /// the gateway fetches each with [`Connector::fetch`](crate::Connector::fetch).
    pub fetch: Vec<String>,
}

pub trait Webhooks: Send + Sync {
    /// The signature scheme this upstream signs with (the gateway verifies with it).
    fn scheme(&self) -> schemes::Scheme;

    /// The sender's id for the delivery, the same on every retry of it.
    fn delivery_id(&self, headers: &HeaderMap, body: &[u8]) -> Option<String> {
        schemes::delivery_id(&self.scheme(), headers, body)
    }

    /// The record changes the delivery carries, per stream (none for events that
    /// change nothing synced).
    fn changes(&self, body: &[u8]) -> Result<Vec<WebhookChanges>, ConnectorError>;
}
