//! Stripe (billing): customers, invoices with line items, payments (charges) and
//! subscriptions.
//!
//! Full pulls walk each list endpoint with `limit` and `starting_after` until
//! `has_more` is false. Incremental pulls read the events API (`/v1/events`,
//! newest first) for events after the checkpoint and take each event's object
//! snapshot; `*.deleted` events become deletions. A full run's checkpoint is the
//! time it started, so the next incremental run misses nothing that changed during it.

mod mapping;
mod webhook;

use async_trait::async_trait;
use chrono::Utc;
use reqwest::Method;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::connector::{
    Connector, ConnectorKind, InstanceConfig, Page, PageEnd, PullRequest, PushOperation, PushOutcome, StreamInfo,
    SyncMode, map_each,
};
use crate::error::ConnectorError;
use crate::model::{Deletion, RecordType};
use crate::settings::{self, SettingsError};
use crate::upstream::Upstream;

const PAGE_SIZE: u32 = 100;
/// Events within this many seconds before a checkpoint are read again: Stripe's
/// `created` has one-second resolution, and re-reading is harmless (content hashes).
const CHECKPOINT_OVERLAP_SECS: i64 = 5;
/// Stripe keeps events for 30 days; a checkpoint older than this misses some.
const EVENTS_KEPT_SECS: i64 = 29 * 86_400;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StripeSettings {
    /// API base URL; the default is Stripe's.
    #[serde(default = "default_base_url")]
    pub base_url: Url,
    /// Stripe-Version header to pin object shapes; the account default when unset.
    #[serde(default)]
    pub api_version: Option<String>,
}

fn default_base_url() -> Url {
    Url::parse("https://api.stripe.com").expect("constant URL")
}

#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StripeCredentials {
    /// A secret or restricted key (`sk_…` / `rk_…`) with read access.
    pub api_key: String,
}

/// Each stream: its list endpoint, record type, and the event types that change it.
struct StreamDef {
    name: &'static str,
    path: &'static str,
    record_type: RecordType,
    object: &'static str,
}

const STREAMS: &[StreamDef] = &[
    StreamDef { name: "customers", path: "/v1/customers", record_type: RecordType::Contact, object: "customer" },
    StreamDef { name: "invoices", path: "/v1/invoices", record_type: RecordType::Invoice, object: "invoice" },
    StreamDef { name: "payments", path: "/v1/charges", record_type: RecordType::Payment, object: "charge" },
    StreamDef {
        name: "subscriptions",
        path: "/v1/subscriptions",
        record_type: RecordType::Subscription,
        object: "subscription",
    },
];

pub struct StripeKind;

impl ConnectorKind for StripeKind {
    fn id(&self) -> &'static str {
        "stripe"
    }

    fn settings_schema(&self) -> Value {
        settings::schema_of::<StripeSettings>()
    }

    fn credentials_schema(&self) -> Value {
        settings::schema_of::<StripeCredentials>()
    }

    fn push_operations(&self) -> &'static [&'static str] {
        &["pay_invoice"]
    }

    fn default_streams(&self) -> Vec<StreamInfo> {
        STREAMS.iter().map(|stream| StreamInfo::new(stream.name, &[stream.record_type], true)).collect()
    }

    fn build(&self, config: InstanceConfig) -> Result<Box<dyn Connector>, SettingsError> {
        let settings: StripeSettings = settings::parse("settings", &config.settings)?;
        let credentials: StripeCredentials = settings::parse("credentials", &config.credentials)?;
        if credentials.api_key.trim().is_empty() {
            return Err(SettingsError::new("credentials.api_key", "must not be empty"));
        }
        Ok(Box::new(Stripe { settings, api_key: credentials.api_key, upstream: config.upstream }))
    }
}

pub struct Stripe {
    settings: StripeSettings,
    api_key: String,
    upstream: Upstream,
}

impl Stripe {
    fn stream(&self, name: &str) -> Result<&'static StreamDef, ConnectorError> {
        STREAMS
            .iter()
            .find(|stream| stream.name == name)
            .ok_or_else(|| ConnectorError::permanent(format!("Stripe has no stream {name}")))
    }

    /// One object by id (`GET /v1/invoices/in_…`); `None` once Stripe has no such object.
    async fn retrieve(&self, stream: &StreamDef, id: &str) -> Result<Option<Value>, ConnectorError> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ConnectorError::permanent(format!("`{id}` is not a Stripe object id")));
        }
        let url = self
            .settings
            .base_url
            .join(&format!("{}/{id}", stream.path))
            .map_err(|error| ConnectorError::permanent(error.to_string()))?;
        let mut request = self.upstream.request(Method::GET, &url)?.bearer_auth(&self.api_key);
        if let Some(version) = &self.settings.api_version {
            request = request.header("Stripe-Version", version);
        }
        let object: Option<Value> = self.upstream.fetch_json(request).await?;
        // Stripe answers a deleted customer with `"deleted": true` rather than 404.
        Ok(object.filter(|object| object["deleted"].as_bool() != Some(true)))
    }

    async fn list(&self, path: &str, query: &[(String, String)]) -> Result<Value, ConnectorError> {
        let url = self.settings.base_url.join(path).map_err(|error| ConnectorError::permanent(error.to_string()))?;
        let mut request = self.upstream.request(Method::GET, &url)?.bearer_auth(&self.api_key).query(query);
        if let Some(version) = &self.settings.api_version {
            request = request.header("Stripe-Version", version);
        }
        let list: Value = self.upstream.send_json(request).await?;
        if !list["data"].is_array() {
            return Err(ConnectorError::permanent(format!("{path} did not answer with a list object")));
        }
        Ok(list)
    }

    async fn pull_full(&self, stream: &StreamDef, position: Option<&Value>) -> Result<Page, ConnectorError> {
        let started =
            position.and_then(|position| position["started"].as_i64()).unwrap_or_else(|| Utc::now().timestamp());
        let mut query = vec![("limit".to_owned(), PAGE_SIZE.to_string())];
        if let Some(after) = position.and_then(|position| position["starting_after"].as_str()) {
            query.push(("starting_after".to_owned(), after.to_owned()));
        }
        let list = self.list(stream.path, &query).await?;
        let objects = list["data"].as_array().map(Vec::as_slice).unwrap_or_default();
        let (records, failed) = map_each(objects, |object| mapping::map_object(stream.object, object, None));
        let end = match next_cursor(&list, objects)? {
            Some(last_id) => PageEnd::More(json!({"starting_after": last_id, "started": started})),
            None => PageEnd::Done(Some(json!({"events_after": started - CHECKPOINT_OVERLAP_SECS}))),
        };
        Ok(Page { records, deletions: Vec::new(), failed, end })
    }

    async fn pull_events(
        &self,
        stream: &StreamDef,
        position: Option<&Value>,
        events_after: i64,
    ) -> Result<Page, ConnectorError> {
        // The newest event seen when the run began becomes the next checkpoint.
        let newest = position.and_then(|position| position["newest"].as_i64());
        let mut query =
            vec![("limit".to_owned(), PAGE_SIZE.to_string()), ("created[gt]".to_owned(), events_after.to_string())];
        for suffix in ["created", "updated", "deleted"] {
            query.push(("types[]".to_owned(), format!("{}.{suffix}", stream.object)));
        }
        if let Some(after) = position.and_then(|position| position["starting_after"].as_str()) {
            query.push(("starting_after".to_owned(), after.to_owned()));
        }
        let list = self.list("/v1/events", &query).await?;
        let events = list["data"].as_array().map(Vec::as_slice).unwrap_or_default();
        let newest = newest.or_else(|| events.first().and_then(|event| event["created"].as_i64()));
        let mut page = Page::default();
        let mut seen = std::collections::HashSet::new();
        for event in events {
            let object = &event["data"]["object"];
            if object["object"].as_str() != Some(stream.object) {
                continue;
            }
            let Some(id) = object["id"].as_str() else { continue };
            // Newest first: the first snapshot of an object on a page is its latest.
            if !seen.insert(id.to_owned()) {
                continue;
            }
            if event["type"].as_str().is_some_and(|kind| kind.ends_with(".deleted")) {
                page.deletions.push(Deletion { record_type: stream.record_type, external_id: id.to_owned() });
            } else {
                match mapping::map_object(stream.object, object, crate::json::unix_at(event, "/created")) {
                    Ok(record) => page.records.push(record),
                    Err(error) => page.failed.push(crate::connector::FailedRecord {
                        external_id: Some(id.to_owned()),
                        reason: error.message,
                    }),
                }
            }
        }
        page.end = match next_cursor(&list, events)? {
            Some(last_id) => PageEnd::More(json!({"starting_after": last_id, "newest": newest})),
            None => PageEnd::Done(Some(json!({
                "events_after": newest.map(|newest| newest - CHECKPOINT_OVERLAP_SECS).unwrap_or(events_after)
            }))),
        };
        Ok(page)
    }
}

/// Where the next page of a list starts: after its last object, while `has_more`
/// says there is more. `has_more` with no object id to continue after is an
/// unreadable cursor (an error), not the end of the list.
fn next_cursor<'a>(list: &Value, objects: &'a [Value]) -> Result<Option<&'a str>, ConnectorError> {
    if !list["has_more"].as_bool().unwrap_or(false) {
        return Ok(None);
    }
    match objects.last().map(|object| &object["id"]) {
        Some(Value::String(id)) if !id.is_empty() => Ok(Some(id)),
        Some(other) => Err(ConnectorError::permanent(format!(
            "Stripe said has_more but its last object's id is unreadable ({other}): no cursor to continue from"
        ))),
        None => Err(ConnectorError::permanent("Stripe said has_more on an empty page: no cursor to continue from")),
    }
}

#[async_trait]
impl Connector for Stripe {
    fn streams(&self) -> Vec<StreamInfo> {
        StripeKind.default_streams()
    }

    fn webhooks(&self) -> Option<&dyn crate::webhook::Webhooks> {
        Some(&webhook::StripeWebhooks)
    }

    async fn fetch(&self, stream: &str, external_id: &str) -> Result<Option<crate::model::Record>, ConnectorError> {
        let stream = self.stream(stream)?;
        let Some(object) = self.retrieve(stream, external_id).await? else { return Ok(None) };
        // Fetched now, so this snapshot is at least as new as any event before it.
        mapping::map_object(stream.object, &object, Some(Utc::now())).map(Some)
    }

    /// `pay_invoice` (`{"invoice_id": "in_…"}`): charges the customer's default
    /// payment method (`POST /v1/invoices/{id}/pay`), sent with Stripe's
    /// `Idempotency-Key`, so a retried push never pays twice.
    async fn push(&self, operation: &PushOperation) -> Result<PushOutcome, ConnectorError> {
        if operation.operation != "pay_invoice" {
            return Err(ConnectorError::permanent(format!("Stripe cannot {}", operation.operation)));
        }
        let invoice_id = operation.payload["invoice_id"]
            .as_str()
            .filter(|id| id.starts_with("in_") && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .ok_or_else(|| ConnectorError::permanent("pay_invoice needs an invoice_id"))?;
        let url = self
            .settings
            .base_url
            .join(&format!("/v1/invoices/{invoice_id}/pay"))
            .map_err(|error| ConnectorError::permanent(error.to_string()))?;
        let mut request = self
            .upstream
            .request(Method::POST, &url)?
            .bearer_auth(&self.api_key)
            .header("Idempotency-Key", &operation.idempotency_key)
            .form(&[("off_session", "true")]);
        if let Some(version) = &self.settings.api_version {
            request = request.header("Stripe-Version", version);
        }
        let invoice: Value = self.upstream.send_json(request).await?;
        let record = mapping::map_object("invoice", &invoice, None)?;
        Ok(PushOutcome { external_id: Some(record.external_id.clone()), records: vec![record] })
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        self.list("/v1/customers", &[("limit".to_owned(), "1".to_owned())]).await.map(|_| ())
    }

    async fn pull(&self, request: PullRequest<'_>) -> Result<Page, ConnectorError> {
        let stream = self.stream(request.stream)?;
        let events_after = request.checkpoint.and_then(|checkpoint| checkpoint["events_after"].as_i64());
        // A run keeps the way it started (positions differ); a new run reads events
        // only while Stripe still has them all.
        let events = match request.position {
            Some(position) => position.get("newest").is_some(),
            None => events_after.is_some_and(|after| Utc::now().timestamp() - after < EVENTS_KEPT_SECS),
        };
        match (request.mode, events_after) {
            (SyncMode::Incremental, Some(events_after)) if events => {
                self.pull_events(stream, request.position, events_after).await
            }
            // No checkpoint yet, or one older than the events Stripe keeps: everything.
            _ => self.pull_full(stream, request.position).await,
        }
    }
}
