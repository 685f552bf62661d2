//! Files: documents from S3-compatible storage or a local folder, through the
//! `object_store` crate.
//!
//! Objects under `prefix` become documents; the first path segment below the
//! prefix is the account key (`customers/acme/contracts/2026.pdf` belongs to
//! whatever account `acme` is mapped to). Object stores have no change feed, so
//! every run lists everything (in key order, resuming after the last key
//! committed) and full runs detect deletions. Downloads stream through Portico:
//! storage credentials never reach a browser.
//!
//! S3 requests go through Portico's outbound client, so the address policy applies
//! to the endpoint like to any other upstream; `object_store`'s own retries are
//! off (the sync engine retries, with the same classification as every connector).

use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::connector::{
    Connector, ConnectorKind, DocumentRef, Download, InstanceConfig, Page, PageEnd, PullRequest, PushOperation,
    PushOutcome, StreamInfo,
};
use crate::error::ConnectorError;
use crate::model::{CommonRecord, Document, Record, RecordType};
use crate::outbound::{AddressPolicy, OutboundClient, check_url};
use crate::settings::{self, SettingsError};
use crate::upstream::Upstream;

const PAGE_SIZE: usize = 500;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesSettings {
    pub store: StoreSettings,
    /// Only objects under this prefix are synced (no leading slash).
    #[serde(default)]
    pub prefix: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StoreSettings {
    /// Amazon S3 or any S3-compatible service.
    S3 {
        bucket: String,
        #[serde(default = "default_region")]
        region: String,
        /// For S3-compatible services (MinIO, Ceph, R2...): their URL.
        #[serde(default)]
        endpoint: Option<url::Url>,
    },
    /// A folder on the server's disk.
    Local { root: std::path::PathBuf },
}

fn default_region() -> String {
    "us-east-1".into()
}

#[derive(Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesCredentials {
    /// S3 access key (not needed for local folders).
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub secret_access_key: Option<String>,
    #[serde(default)]
    pub session_token: Option<String>,
}

pub struct FilesKind;

impl ConnectorKind for FilesKind {
    fn id(&self) -> &'static str {
        "files"
    }

    fn settings_schema(&self) -> Value {
        settings::schema_of::<FilesSettings>()
    }

    fn credentials_schema(&self) -> Value {
        settings::schema_of::<FilesCredentials>()
    }

    fn default_streams(&self) -> Vec<StreamInfo> {
        vec![StreamInfo::new("documents", &[RecordType::Document], false)]
    }

    fn push_operations(&self) -> &'static [&'static str] {
        &["upload_document"]
    }

    fn build(&self, config: InstanceConfig) -> Result<Box<dyn Connector>, SettingsError> {
        let settings: FilesSettings = settings::parse("settings", &config.settings)?;
        let credentials: FilesCredentials = settings::parse("credentials", &config.credentials)?;
        let prefix = settings.prefix.trim_matches('/').to_owned();
        let (store, ordered): (Arc<dyn ObjectStore>, bool) = match &settings.store {
            StoreSettings::S3 { bucket, region, endpoint } => {
                (Arc::new(s3_store(bucket, region, endpoint.as_ref(), &credentials, &config.upstream)?), true)
            }
            StoreSettings::Local { root } => {
                let store = object_store::local::LocalFileSystem::new_with_prefix(root)
                    .map_err(|error| SettingsError::new("settings.store.root", error.to_string()))?;
                // A folder lists in directory order, not key order.
                (Arc::new(store), false)
            }
        };
        Ok(Box::new(Files { store, prefix, ordered }))
    }
}

fn s3_store(
    bucket: &str,
    region: &str,
    endpoint: Option<&url::Url>,
    credentials: &FilesCredentials,
    upstream: &Upstream,
) -> Result<object_store::aws::AmazonS3, SettingsError> {
    let (Some(key), Some(secret)) = (&credentials.access_key_id, &credentials.secret_access_key) else {
        return Err(SettingsError::new("credentials", "S3 needs access_key_id and secret_access_key"));
    };
    let mut builder = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(region)
        .with_access_key_id(key)
        .with_secret_access_key(secret)
        .with_retry(object_store::RetryConfig { max_retries: 0, ..Default::default() })
        .with_http_connector(OutboundConnector(upstream.client().clone()));
    if let Some(token) = &credentials.session_token {
        builder = builder.with_token(token);
    }
    if let Some(endpoint) = endpoint {
        if check_url(endpoint, upstream.client().policy()).is_err() {
            return Err(SettingsError::new(
                "settings.store.endpoint",
                "not a public address (allow private networks for this connector)",
            ));
        }
        builder = builder
            .with_endpoint(endpoint.as_str().trim_end_matches('/'))
            .with_allow_http(endpoint.scheme() == "http" && upstream.client().policy() == AddressPolicy::AllowPrivate)
            .with_virtual_hosted_style_request(false);
    }
    builder.build().map_err(|error| SettingsError::new("settings.store", error.to_string()))
}

/// Hands `object_store` our outbound client (its resolver refuses internal addresses).
#[derive(Debug)]
struct OutboundConnector(OutboundClient);

impl object_store::client::HttpConnector for OutboundConnector {
    fn connect(
        &self,
        _options: &object_store::ClientOptions,
    ) -> object_store::Result<object_store::client::HttpClient> {
        Ok(object_store::client::HttpClient::new(self.0.reqwest_client().clone()))
    }
}

pub struct Files {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    ordered: bool,
}

/// The HTTP status inside an `object_store` error message, when there is one
/// (its errors carry the status only as text).
fn status_in(message: &str) -> Option<reqwest::StatusCode> {
    let at = message.find("status code: ")? + "status code: ".len();
    message.get(at..at + 3)?.parse::<u16>().ok().and_then(|code| reqwest::StatusCode::from_u16(code).ok())
}

fn storage_error(error: object_store::Error) -> ConnectorError {
    let message = format!("storage: {error}");
    if let Some(status) = status_in(&message) {
        // S3 does not send Retry-After (it answers 503 SlowDown); backoff applies.
        return crate::upstream::classify_status(status, None, &message);
    }
    match error {
        object_store::Error::NotFound { .. } | object_store::Error::InvalidPath { .. } => {
            ConnectorError::permanent(message)
        }
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            ConnectorError::unauthorized(message)
        }
        object_store::Error::NotSupported { .. } | object_store::Error::NotImplemented { .. } => {
            ConnectorError::permanent(message)
        }
        _ if message.contains("not a public address") => ConnectorError::permanent(message),
        _ => ConnectorError::retryable(message),
    }
}

impl Files {
    fn prefix_path(&self) -> Option<ObjectPath> {
        (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()))
    }

    fn record(&self, meta: &ObjectMeta) -> Option<Record> {
        let key = meta.location.as_ref();
        let relative =
            if self.prefix.is_empty() { key } else { key.strip_prefix(&self.prefix)?.trim_start_matches('/') };
        let mut segments: Vec<&str> = relative.split('/').collect();
        // Objects directly under the prefix belong to nobody: nothing to map them by.
        if segments.len() < 2 {
            return None;
        }
        let account_ref = segments.remove(0).to_owned();
        let name = shown_name(segments.pop()?).to_owned();
        let content_type = mime_guess::from_path(&name).first_or_octet_stream().essence_str().to_owned();
        let raw = json!({
            "location": key, "size": meta.size, "last_modified": meta.last_modified, "e_tag": meta.e_tag, "version": meta.version,
        });
        Some(Record {
            external_id: key.to_owned(),
            account_ref: Some(account_ref),
            account_unknown: false,
            parent_external_id: None,
            source_updated_at: Some(meta.last_modified),
            body: CommonRecord::Document(Document {
                name,
                folder: segments.join("/"),
                content_type,
                size_bytes: meta.size as i64,
                checksum: meta.e_tag.clone().map(|tag| tag.trim_matches('"').to_owned()),
                storage_key: key.to_owned(),
                modified_at: Some(meta.last_modified),
                tags: Vec::new(),
            }),
            raw,
        })
    }

    /// Streams one object's bytes (for downloads through Portico).
    pub async fn download(&self, storage_key: &str) -> Result<Download, ConnectorError> {
        if !self.prefix.is_empty() && !storage_key.starts_with(&self.prefix) {
            return Err(ConnectorError::permanent("outside this connector's prefix"));
        }
        let result = self.store.get(&ObjectPath::from(storage_key)).await.map_err(storage_error)?;
        let size = Some(result.meta.size);
        let stream = result.into_stream().map_err(storage_error);
        Ok(Download { size, stream: Box::pin(stream) })
    }
}

#[async_trait]
impl Connector for Files {
    fn streams(&self) -> Vec<StreamInfo> {
        FilesKind.default_streams()
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        let mut listing = self.store.list(self.prefix_path().as_ref());
        listing.try_next().await.map_err(storage_error)?;
        Ok(())
    }

    async fn pull(&self, request: PullRequest<'_>) -> Result<Page, ConnectorError> {
        if request.stream != "documents" {
            return Err(ConnectorError::permanent(format!("files has no stream {}", request.stream)));
        }
        let after = request.position.and_then(|position| position["after"].as_str()).map(str::to_owned);
        let prefix = self.prefix_path();
        let mut objects: Vec<ObjectMeta> = if self.ordered {
            // S3 lists in key order from `start-after`: read one page and stop.
            let listing = match &after {
                Some(after) => self.store.list_with_offset(prefix.as_ref(), &ObjectPath::from(after.as_str())),
                None => self.store.list(prefix.as_ref()),
            };
            listing.take(PAGE_SIZE + 1).try_collect().await.map_err(storage_error)?
        } else {
            let mut all: Vec<ObjectMeta> =
                self.store.list(prefix.as_ref()).try_collect().await.map_err(storage_error)?;
            all.sort_by(|a, b| a.location.cmp(&b.location));
            all.retain(|meta| after.as_deref().is_none_or(|after| meta.location.as_ref() > after));
            all.truncate(PAGE_SIZE + 1);
            all
        };
        let more = objects.len() > PAGE_SIZE;
        objects.truncate(PAGE_SIZE);
        let records = objects.iter().filter_map(|meta| self.record(meta)).collect();
        let end = match (more, objects.last()) {
            (true, Some(last)) => PageEnd::More(json!({"after": last.location.as_ref()})),
            _ => PageEnd::Done(None),
        };
        Ok(Page { records, deletions: Vec::new(), failed: Vec::new(), end })
    }

    async fn download(&self, document: DocumentRef<'_>) -> Result<Option<Download>, ConnectorError> {
        Files::download(self, document.storage_key).await.map(Some)
    }

    fn as_files(&self) -> Option<&Files> {
        Some(self)
    }

    /// `upload_document`: `{key, content_base64}`. The key is fixed when the upload is
    /// accepted (it embeds the outbox id), so a retried put writes the same object.
    async fn push(&self, operation: &PushOperation) -> Result<PushOutcome, ConnectorError> {
        if operation.operation != "upload_document" {
            return Err(ConnectorError::permanent(format!("files cannot {}", operation.operation)));
        }
        let (Some(key), Some(content)) =
            (operation.payload["key"].as_str(), operation.payload["content_base64"].as_str())
        else {
            return Err(ConnectorError::permanent("upload_document needs key and content_base64"));
        };
        if !self.prefix.is_empty() && !key.starts_with(&format!("{}/", self.prefix)) {
            return Err(ConnectorError::permanent("the upload's key is outside this connector's prefix"));
        }
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(content)
            .map_err(|error| ConnectorError::permanent(format!("upload content is not base64: {error}")))?;
        let path = ObjectPath::from(key);
        self.store.put(&path, bytes.into()).await.map_err(storage_error)?;
        let meta = self.store.head(&path).await.map_err(storage_error)?;
        Ok(PushOutcome { external_id: Some(key.to_owned()), records: self.record(&meta).into_iter().collect() })
    }
}

/// A file's name as customers see it: without the unique prefix an upload's key
/// carries (`<32 hex digits>-`, see [`Files::upload_key`]), so an upload keeps the
/// name it was given once storage has it.
fn shown_name(file_name: &str) -> &str {
    match file_name.split_once('-') {
        Some((unique, rest))
            if unique.len() == 32 && unique.bytes().all(|byte| byte.is_ascii_hexdigit()) && !rest.is_empty() =>
        {
            rest
        }
        _ => file_name,
    }
}

impl Files {
    /// Where an upload for `account_ref` goes: `folder` (`uploads`, `tickets/<id>`)
    /// in the account's own folder, under a name made unique by `unique` and
    /// stripped of path separators.
    pub fn upload_key(&self, account_ref: &str, folder: &str, unique: &str, file_name: &str) -> String {
        let safe: String =
            file_name.chars().map(|c| if c == '/' || c == '\\' || c.is_control() { '_' } else { c }).collect();
        let relative = format!("{account_ref}/{folder}/{unique}-{safe}");
        if self.prefix.is_empty() { relative } else { format!("{}/{relative}", self.prefix) }
    }
}

#[cfg(test)]
mod tests {
    use super::shown_name;

    #[test]
    fn an_uploads_unique_prefix_is_not_part_of_its_name() {
        assert_eq!(shown_name("019a6b0c8f3e7d2a9b1c4d5e6f708192-signed contract.pdf"), "signed contract.pdf");
        assert_eq!(shown_name("2026-report.pdf"), "2026-report.pdf");
        assert_eq!(shown_name("019a6b0c8f3e7d2a9b1c4d5e6f708192-"), "019a6b0c8f3e7d2a9b1c4d5e6f708192-");
        assert_eq!(shown_name("plain.txt"), "plain.txt");
    }
}
