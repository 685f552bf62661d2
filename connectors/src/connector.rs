//! The connector interface.
//!
//! A [`ConnectorKind`] describes one kind of upstream (its id, the JSON Schemas of
//! its settings and credentials, its streams) and builds a [`Connector`] for one
//! configured instance. The engine then calls:
//! - [`Connector::check`]: are settings and credentials good? (one cheap call)
//! - [`Connector::pull`]: one page of a stream from a cursor, and where to go next.
//! - [`Connector::push`]: write a change back upstream, idempotently.
//!
//! Pulls must be safe to drop at any await point (the engine cancels them on
//! shutdown) and safe to repeat from the same cursor: the engine commits a page's
//! records and its next cursor together, so a crash re-pulls at most one page.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ConnectorError;
use crate::model::{Deletion, Record, RecordType};
use crate::upstream::Upstream;

/// One stream a connector can pull, and the record types it feeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamInfo {
    pub name: String,
    pub record_types: Vec<RecordType>,
    /// Whether `SyncMode::Incremental` pulls only changes (otherwise it pulls everything).
    pub incremental: bool,
}

impl StreamInfo {
    pub fn new(name: &str, record_types: &[RecordType], incremental: bool) -> Self {
        Self { name: name.to_owned(), record_types: record_types.to_vec(), incremental }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Everything, from the start; records not seen are candidates for deletion.
    Full,
    /// Changes since the checkpoint the last successful run left.
    Incremental,
}

impl SyncMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncMode::Full => "full",
            SyncMode::Incremental => "incremental",
        }
    }
}

/// Where a pull starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PullRequest<'a> {
    pub stream: &'a str,
    pub mode: SyncMode,
    /// Position inside this run (the `PageEnd::More` of the previous page), or
    /// `None` on a run's first page.
    pub position: Option<&'a Value>,
    /// What the last successful run left for incremental pulls (its `PageEnd::Done`).
    pub checkpoint: Option<&'a Value>,
}

/// One page of a stream.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub records: Vec<Record>,
    /// Records the upstream reports deleted (incremental deletion).
    pub deletions: Vec<Deletion>,
    /// Upstream objects that did not map: counted and reported, never guessed at.
    pub failed: Vec<FailedRecord>,
    pub end: PageEnd,
}

/// An upstream object that could not be mapped into the common model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRecord {
    /// Its id, when it has one.
    pub external_id: Option<String>,
    pub reason: String,
}

/// Maps each upstream object; the ones that fail are set aside with the reason, so
/// one malformed object does not stop a sync (nor is it silently dropped).
pub fn map_each<'a>(
    objects: impl IntoIterator<Item = &'a Value>,
    mut map: impl FnMut(&'a Value) -> Result<Record, crate::error::ConnectorError>,
) -> (Vec<Record>, Vec<FailedRecord>) {
    let mut records = Vec::new();
    let mut failed = Vec::new();
    for object in objects {
        match map(object) {
            Ok(record) => records.push(record),
            Err(error) => {
                failed.push(FailedRecord { external_id: crate::json::string_at(object, "/id"), reason: error.message })
            }
        }
    }
    (records, failed)
}

#[derive(Debug, Clone, PartialEq)]
pub enum PageEnd {
    /// More pages: pull again from this position.
    More(Value),
    /// The run is complete; the value (if any) is the checkpoint the next
    /// incremental run starts from.
    Done(Option<Value>),
}

impl Default for PageEnd {
    fn default() -> Self {
        PageEnd::Done(None)
    }
}

/// A document's bytes as its source serves them, streamed.
pub struct Download {
    /// When the source says (a `Content-Length`, an object's size).
    pub size: Option<u64>,
    pub stream: futures::stream::BoxStream<'static, Result<bytes::Bytes, ConnectorError>>,
}

/// Which document's bytes to fetch: what its record knows of where they are.
#[derive(Debug, Clone, Copy)]
pub struct DocumentRef<'a> {
    pub stream: &'a str,
    pub external_id: &'a str,
    /// Where a file store keeps it (`storage_key` in the common model).
    pub storage_key: &'a str,
}

/// A change to write upstream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushOperation {
    /// What to do, in the connector's vocabulary (`create_ticket`, `add_note`, `upload_document`).
    pub operation: String,
    pub payload: Value,
    /// Sent upstream so a retried push never applies twice.
    pub idempotency_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushOutcome {
    /// The upstream id of what was created or changed, when there is one.
    pub external_id: Option<String>,
    /// The upstream's view of the record after the change, to cache at once.
    pub records: Vec<Record>,
}

/// What a connector instance is built from.
#[derive(Debug, Clone)]
pub struct InstanceConfig {
    /// Non-secret settings, valid against the kind's settings schema.
    pub settings: Value,
    /// Secrets (API keys, client secrets), decrypted only to build the connector.
    pub credentials: Value,
    /// The HTTP client to use for every upstream call.
    pub upstream: Upstream,
    /// Reference data kept between this instance's jobs (see [`crate::cache`]).
    pub cache: crate::cache::InstanceCache,
}

/// One kind of connector.
pub trait ConnectorKind: Send + Sync {
    /// `stripe`, `hubspot`, `files`, `rest`.
    fn id(&self) -> &'static str;
    /// JSON Schema of the settings object (admin forms and validation come from it).
    fn settings_schema(&self) -> Value;
    /// JSON Schema of the credentials object.
    fn credentials_schema(&self) -> Value;
    /// Validates settings and credentials and builds a connector; errors name the
    /// field path and the reason.
    fn build(&self, config: InstanceConfig) -> Result<Box<dyn Connector>, crate::settings::SettingsError>;
    /// The write-back operations its connectors accept (`create_ticket`, ...).
    fn push_operations(&self) -> &'static [&'static str] {
        &[]
    }
    /// Whether an instance with these settings accepts `operation` (kinds whose
    /// write-backs are configured, like REST manifests' actions, look closer).
    fn accepts(&self, settings: &Value, operation: &str) -> bool {
        let _ = settings;
        self.push_operations().contains(&operation)
    }
    /// Streams without building (for settings that define streams, the built
    /// connector's [`Connector::streams`] is authoritative).
    fn default_streams(&self) -> Vec<StreamInfo>;
}

#[async_trait]
pub trait Connector: Send + Sync {
    fn streams(&self) -> Vec<StreamInfo>;

    /// One cheap upstream call proving the settings and credentials work.
    async fn check(&self) -> Result<(), ConnectorError>;

    /// One page of `request.stream`.
    async fn pull(&self, request: PullRequest<'_>) -> Result<Page, ConnectorError>;

    /// The current state of one object of `stream`, for webhooks that only name
    /// what changed; `None` when the upstream no longer has it.
    async fn fetch(&self, stream: &str, external_id: &str) -> Result<Option<Record>, ConnectorError> {
        let _ = external_id;
        Err(ConnectorError::permanent(format!("this connector cannot fetch single objects of {stream}")))
    }

    /// Webhook verification and mapping, for connectors whose upstream sends them.
    fn webhooks(&self) -> Option<&dyn crate::webhook::Webhooks> {
        None
    }

    /// The file-storage connector, for uploads.
    fn as_files(&self) -> Option<&crate::files::Files> {
        None
    }

    /// A document's bytes, for downloads through Portico; `None` when this source
    /// serves no file for it (a listing without content).
    async fn download(&self, document: DocumentRef<'_>) -> Result<Option<Download>, ConnectorError> {
        let _ = document;
        Ok(None)
    }

    /// Writes a change upstream. Connectors without write-back refuse every operation.
    async fn push(&self, operation: &PushOperation) -> Result<PushOutcome, ConnectorError> {
        Err(ConnectorError::permanent(format!("this connector cannot {}", operation.operation)))
    }
}
