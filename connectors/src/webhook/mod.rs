//! Webhooks: the signature schemes ([`schemes`]), and what a connector offers the
//! webhook gateway: the record changes a delivery's body carries.

pub mod schemes;

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

/// How a connector reads its upstream's deliveries. Verification and the
/// delivery's id belong to the endpoint's signature scheme ([`schemes`]), chosen
/// per endpoint: one upstream may be relayed through several senders.
pub trait Webhooks: Send + Sync {
    /// The record changes the delivery carries, per stream (none for events that
    /// change nothing synced).
    fn changes(&self, body: &[u8]) -> Result<Vec<WebhookChanges>, ConnectorError>;
}
