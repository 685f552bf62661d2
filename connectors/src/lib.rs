//! What a connector is, the common data model it maps into, and the connectors
//! Portico ships.
//!
//! - [`connector`]: the interface — a [`ConnectorKind`] (id, settings schema,
//!   streams) builds a [`Connector`] (`check`, `pull`, optional `push`).
//! - [`model`]: the common model every record is mapped into, with its raw payload.
//! - [`error`]: how connectors classify failures (retryable, rate limited with a
//!   Retry-After, permanent, bad credentials) so the engine retries correctly.
//! - [`upstream`]: the HTTP client connectors use: SSRF-safe, rate-budgeted, and
//!   classifying responses.
//! - [`stripe`], [`hubspot`], [`files`], [`rest`]: the shipped connectors.
//!
//! Connectors know nothing of Portico's database or HTTP API: the sync engine in the
//! `portico` crate runs them, commits what they return, and maps records to accounts.

pub mod budget;
pub mod cache;
pub mod connector;
pub mod error;
pub mod files;
pub mod hubspot;
pub mod json;
pub mod model;
pub mod outbound;
pub mod registry;
pub mod rest;
pub mod retry;
pub mod settings;
pub mod stripe;
pub mod upstream;
pub mod webhook;

pub use connector::{
    Connector, ConnectorKind, DocumentRef, Download, FailedRecord, InstanceConfig, Page, PageEnd, PushOperation,
    PushOutcome, StreamInfo, SyncMode,
};
pub use error::{ConnectorError, ErrorClass};
pub use model::{CommonRecord, Deletion, Record, RecordType};
pub use registry::Registry;
