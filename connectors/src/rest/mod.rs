//! Declarative REST: any REST source described by a YAML manifest, no code.
//!
//! The manifest ([`manifest::Manifest`]) names the base URL, authentication (API
//! key, bearer, basic, OAuth 2.0 client credentials with token refresh), the rate
//! limit headers, and per stream: path, query, pagination (cursor, offset, page
//! number, Link header), the JSON Pointer of the records, the incremental cursor
//! field, and the mapping of record fields into a common-model type. A manifest
//! may also say what the source's webhooks carry (`webhook`): objects, deletions,
//! or ids to fetch from a stream's `item_path`. Invalid manifests are refused with
//! the path inside the manifest and the reason.

pub mod manifest;
mod webhook;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::TryStreamExt;
use reqwest::header::{HeaderMap, LINK};
use reqwest::{Method, RequestBuilder};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use url::Url;

use self::manifest::{ActionMethod, Auth, Field, Manifest, Pagination, Stream};
use crate::connector::{
    Connector, ConnectorKind, DocumentRef, Download, InstanceConfig, Page, PageEnd, PullRequest, PushOperation,
    PushOutcome, StreamInfo, SyncMode,
};
use crate::error::{ConnectorError, ErrorClass};
use crate::model::{CommonRecord, Record};
use crate::settings::{self, SettingsError};
use crate::upstream::Upstream;

/// The two manifests shipped with the crate, by name.
pub const EXAMPLES: &[(&str, &str)] = &[
    ("helpdesk", include_str!("../../manifests/helpdesk.yaml")),
    ("projects", include_str!("../../manifests/projects.yaml")),
];

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestSettings {
    /// The manifest, as YAML (see connectors/README.md).
    #[schemars(extend("contentMediaType" = "application/yaml"))]
    pub manifest: String,
}

#[derive(Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestCredentials {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
}

pub struct RestKind;

impl ConnectorKind for RestKind {
    fn id(&self) -> &'static str {
        "rest"
    }

    fn settings_schema(&self) -> Value {
        settings::schema_of::<RestSettings>()
    }

    fn credentials_schema(&self) -> Value {
        settings::schema_of::<RestCredentials>()
    }

    fn default_streams(&self) -> Vec<StreamInfo> {
        // Streams come from each instance's manifest.
        Vec::new()
    }

    /// What a manifest may declare; [`ConnectorKind::accepts`] says what one did.
    fn push_operations(&self) -> &'static [&'static str] {
        &["complete_task", "approve_task", "decline_task"]
    }

    fn accepts(&self, settings: &Value, operation: &str) -> bool {
        let Ok(settings) = settings::parse::<RestSettings>("settings", settings) else { return false };
        Manifest::parse("settings.manifest", &settings.manifest)
            .is_ok_and(|manifest| manifest.actions.contains_key(operation))
    }

    fn build(&self, config: InstanceConfig) -> Result<Box<dyn Connector>, SettingsError> {
        let settings: RestSettings = settings::parse("settings", &config.settings)?;
        let manifest = Manifest::parse("settings.manifest", &settings.manifest)?;
        let credentials: RestCredentials = settings::parse("credentials", &config.credentials)?;
        let missing = |field: &str| SettingsError::new(format!("credentials.{field}"), "this manifest's auth needs it");
        match &manifest.auth {
            Auth::None => {}
            Auth::Bearer if credentials.token.is_none() => return Err(missing("token")),
            Auth::ApiKey { .. } if credentials.api_key.is_none() => return Err(missing("api_key")),
            Auth::Basic if credentials.username.is_none() => return Err(missing("username")),
            Auth::Oauth2ClientCredentials { .. }
                if credentials.client_id.is_none() || credentials.client_secret.is_none() =>
            {
                return Err(missing("client_id and client_secret"));
            }
            _ => {}
        }
        Ok(Box::new(Rest { manifest, credentials, upstream: config.upstream, token: Mutex::new(None) }))
    }
}

pub struct Rest {
    manifest: Manifest,
    credentials: RestCredentials,
    upstream: Upstream,
    /// OAuth access token and when it stops being usable.
    token: Mutex<Option<(String, Instant)>>,
}

impl Rest {
    fn stream(&self, name: &str) -> Result<&Stream, ConnectorError> {
        self.manifest
            .streams
            .iter()
            .find(|stream| stream.name == name)
            .ok_or_else(|| ConnectorError::permanent(format!("no stream {name}")))
    }

    async fn access_token(&self, refresh: bool) -> Result<String, ConnectorError> {
        let Auth::Oauth2ClientCredentials { token_url, scopes } = &self.manifest.auth else {
            return Err(ConnectorError::permanent("not an OAuth connector"));
        };
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && !refresh
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let mut form = vec![("grant_type", "client_credentials".to_owned())];
        if !scopes.is_empty() {
            form.push(("scope", scopes.join(" ")));
        }
        let request = self
            .upstream
            .request(Method::POST, token_url)?
            .basic_auth(self.credentials.client_id.clone().unwrap_or_default(), self.credentials.client_secret.clone())
            .form(&form);
        let answer: Value = self.upstream.send_json(request).await?;
        let token = answer["access_token"]
            .as_str()
            .ok_or_else(|| ConnectorError::unauthorized("the token endpoint returned no access_token"))?;
        // Refreshed a little early, so a token never expires mid-request.
        let lifetime = answer["expires_in"].as_u64().unwrap_or(3600).saturating_sub(30);
        *cached = Some((token.to_owned(), Instant::now() + Duration::from_secs(lifetime)));
        Ok(token.to_owned())
    }

    async fn authorize(&self, mut request: RequestBuilder, refresh: bool) -> Result<RequestBuilder, ConnectorError> {
        for (name, value) in &self.manifest.headers {
            request = request.header(name, value);
        }
        Ok(match &self.manifest.auth {
            Auth::None => request,
            Auth::Bearer => request.bearer_auth(self.credentials.token.clone().unwrap_or_default()),
            Auth::ApiKey { header: Some(header), .. } => {
                request.header(header, self.credentials.api_key.clone().unwrap_or_default())
            }
            Auth::ApiKey { query: Some(query), .. } => {
                request.query(&[(query, self.credentials.api_key.clone().unwrap_or_default())])
            }
            Auth::ApiKey { .. } => request,
            Auth::Basic => request
                .basic_auth(self.credentials.username.clone().unwrap_or_default(), self.credentials.password.clone()),
            Auth::Oauth2ClientCredentials { .. } => request.bearer_auth(self.access_token(refresh).await?),
        })
    }

    /// GETs a page.
    async fn get(&self, url: &Url, query: &[(String, String)]) -> Result<(HeaderMap, Value), ConnectorError> {
        self.call(Method::GET, url, query, None, None).await
    }

    /// Sends the request `build` makes, with the manifest's auth; after an OAuth 401,
    /// once more with a fresh token (one can be revoked before it expires). With
    /// `gone_is_none`, a 404 or 410 answer is `None`; else every non-2xx is an error.
    async fn send_authorized(
        &self,
        build: impl Fn() -> Result<RequestBuilder, ConnectorError>,
        gone_is_none: bool,
    ) -> Result<Option<reqwest::Response>, ConnectorError> {
        let mut refreshed = false;
        loop {
            let request = self.authorize(build()?, refreshed).await?;
            let answered = match gone_is_none {
                true => self.upstream.fetch(request).await,
                false => self.upstream.send(request).await.map(Some),
            };
            match answered {
                Err(error)
                    if error.class == ErrorClass::Unauthorized
                        && !refreshed
                        && matches!(self.manifest.auth, Auth::Oauth2ClientCredentials { .. }) =>
                {
                    refreshed = true;
                }
                other => return other,
            }
        }
    }

    /// One request, answered with JSON (a write's answer that is not JSON reads as null).
    async fn call(
        &self,
        method: Method,
        url: &Url,
        query: &[(String, String)],
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<(HeaderMap, Value), ConnectorError> {
        let build = || {
            let mut request = self.upstream.request(method.clone(), url)?.query(query);
            if let Some(body) = body {
                request = request.json(body);
            }
            if let Some(key) = idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            Ok(request)
        };
        let response = self
            .send_authorized(build, false)
            .await?
            .ok_or_else(|| ConnectorError::permanent("the upstream sent no answer"))?;
        let headers = response.headers().clone();
        self.honour_rate_limit(&headers);
        let bytes = response.bytes().await.map_err(crate::upstream::transport_error)?;
        // A write's answer is read if it is JSON; whatever else it is (204, text),
        // the write was made, and failing now would only repeat it.
        if method != Method::GET {
            return Ok((headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null)));
        }
        let body = serde_json::from_slice(&bytes)
            .map_err(|error| ConnectorError::permanent(format!("upstream answered with invalid JSON: {error}")))?;
        Ok((headers, body))
    }

    /// GETs a file as a stream; `None` on 404 or 410.
    async fn get_file(&self, url: &Url) -> Result<Option<Download>, ConnectorError> {
        let Some(response) = self.send_authorized(|| self.upstream.request(Method::GET, url), true).await? else {
            return Ok(None);
        };
        let size = response.content_length();
        let stream = response.bytes_stream().map_err(crate::upstream::transport_error);
        Ok(Some(Download { size, stream: Box::pin(stream) }))
    }

    /// GETs one object; `None` on 404 or 410.
    async fn get_item(&self, url: &Url) -> Result<Option<Value>, ConnectorError> {
        let Some(response) = self.send_authorized(|| self.upstream.request(Method::GET, url), true).await? else {
            return Ok(None);
        };
        let bytes = response.bytes().await.map_err(crate::upstream::transport_error)?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|error| ConnectorError::permanent(format!("upstream answered with unexpected JSON: {error}")))
    }

    /// A stream's URL: its path under the base URL's path (`/v1` + `/orders`).
    fn stream_url(&self, stream: &Stream) -> Result<Url, ConnectorError> {
        self.path_url(&stream.path)
    }

    fn path_url(&self, path: &str) -> Result<Url, ConnectorError> {
        let base = &self.manifest.base_url;
        let invalid = |error: url::ParseError| ConnectorError::permanent(error.to_string());
        let base =
            if base.path().ends_with('/') { base.clone() } else { Url::parse(&format!("{base}/")).map_err(invalid)? };
        base.join(path.trim_start_matches('/')).map_err(invalid)
    }

    /// With no requests left in the window, the budget waits for its reset.
    fn honour_rate_limit(&self, headers: &HeaderMap) {
        let Some(limits) = &self.manifest.rate_limit else { return };
        let read = |name: &str| {
            headers.get(name).and_then(|value| value.to_str().ok()).and_then(|value| value.trim().parse::<f64>().ok())
        };
        if read(&limits.remaining).is_some_and(|remaining| remaining <= 0.0)
            && let Some(reset) = read(&limits.reset)
        {
            let seconds = if limits.reset_is_epoch { reset - chrono::Utc::now().timestamp() as f64 } else { reset };
            self.upstream.budget().block_for(Duration::from_secs_f64(seconds.clamp(0.0, 3600.0)));
        }
    }
}

/// An action's body with the person's comment at its `comment_field` (objects
/// made on the way); as declared when there is no comment or no such field.
fn body_with_comment(action: &manifest::Action, comment: Option<&str>) -> Option<Value> {
    let (Some(field), Some(comment)) = (&action.comment_field, comment.filter(|comment| !comment.is_empty())) else {
        return action.body.clone();
    };
    let mut body = action.body.clone().unwrap_or_else(|| json!({}));
    let mut at = &mut body;
    let tokens: Vec<String> =
        field.split('/').skip(1).map(|token| token.replace("~1", "/").replace("~0", "~")).collect();
    for (index, token) in tokens.iter().enumerate() {
        let Value::Object(object) = at else { return action.body.clone() };
        if index + 1 == tokens.len() {
            object.insert(token.clone(), json!(comment));
            break;
        }
        at = object.entry(token.clone()).or_insert_with(|| json!({}));
    }
    Some(body)
}

/// A path template with `{id}` filled: the id fills one path segment, encoded, so
/// it cannot step to another path.
fn with_id(template: &str, external_id: &str) -> String {
    let segment: String = url::form_urlencoded::byte_serialize(external_id.as_bytes()).collect();
    template.replace("{id}", &segment.replace('+', "%20"))
}

/// A field's value from a record, following its spec.
fn field_value(record: &Value, field: &Field) -> Option<Value> {
    let (pointer, constant, scale, default) = match field {
        Field::Pointer(pointer) => (Some(pointer.as_str()), None, None, None),
        Field::Spec(spec) => (spec.pointer.as_deref(), spec.value.as_ref(), spec.scale, spec.default.as_ref()),
    };
    let found = match (constant, pointer) {
        (Some(constant), _) => Some(constant.clone()),
        (None, Some(pointer)) => record.pointer(pointer).filter(|value| !value.is_null()).cloned(),
        (None, None) => None,
    };
    let value = found.or_else(|| default.cloned())?;
    Some(match scale {
        Some(scale) => {
            let number = value.as_f64().or_else(|| value.as_str().and_then(|text| text.parse().ok()))?;
            json!((number * scale).round() as i64)
        }
        None => value,
    })
}

fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Epoch seconds become RFC 3339 for time fields; numeric strings become numbers for
/// amounts; tags (an array, or one comma-separated string) become distinct, trimmed,
/// lower-case strings.
fn normalize(name: &str, value: Value) -> Value {
    if name == "tags" {
        let texts: Vec<String> = match &value {
            Value::Array(items) => items.iter().filter_map(as_text).collect(),
            Value::String(text) => text.split(',').map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        let mut tags: Vec<String> =
            texts.iter().map(|tag| tag.trim().to_lowercase()).filter(|tag| !tag.is_empty()).collect();
        tags.sort();
        tags.dedup();
        return json!(tags);
    }
    if name.ends_with("_at") {
        if let Some(seconds) = value.as_i64() {
            return chrono::DateTime::from_timestamp(seconds, 0).map(|time| json!(time.to_rfc3339())).unwrap_or(value);
        }
    } else if (name.ends_with("_minor") || name == "quantity" || name == "size_bytes")
        && let Some(number) = value.as_str().and_then(|text| text.parse::<i64>().ok())
    {
        return json!(number);
    }
    value
}

/// Maps one upstream record through a stream's field mapping.
pub fn map_record(stream: &Stream, raw: &Value) -> Result<Record, ConnectorError> {
    let mut fields = Map::new();
    let take = |name: &str| stream.fields.get(name).and_then(|field| field_value(raw, field));
    let external_id = take("external_id")
        .as_ref()
        .and_then(as_text)
        .ok_or_else(|| ConnectorError::permanent("a record has no external_id"))?;
    let account_ref = take("account_ref").as_ref().and_then(as_text);
    let parent_external_id = take("parent_external_id").as_ref().and_then(as_text);
    let source_updated_at =
        take("source_updated_at").map(|value| normalize("source_updated_at", value)).and_then(|value| {
            value
                .as_str()
                .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
                .map(|time| time.with_timezone(&chrono::Utc))
        });
    for (name, field) in &stream.fields {
        if matches!(name.as_str(), "external_id" | "account_ref" | "parent_external_id" | "source_updated_at") {
            continue;
        }
        if let Some(value) = field_value(raw, field) {
            fields.insert(name.clone(), normalize(name, value));
        }
    }
    fields.insert("type".into(), json!(stream.record_type.as_str()));
    apply_model_defaults(&mut fields);
    let body: CommonRecord = serde_json::from_value(Value::Object(fields)).map_err(|error| {
        ConnectorError::permanent(format!(
            "record {external_id} does not map to a {}: {error}",
            stream.record_type.as_str()
        ))
    })?;
    Ok(Record {
        external_id,
        account_ref,
        account_unknown: false,
        parent_external_id,
        source_updated_at,
        body,
        raw: raw.clone(),
    })
}

/// Values the common model needs that a REST source rarely has.
fn apply_model_defaults(fields: &mut Map<String, Value>) {
    let record_type = fields["type"].as_str().unwrap_or_default().to_owned();
    let defaults: &[(&str, Value)] = match record_type.as_str() {
        "contact" => &[("kind", json!("person"))],
        "invoice" => &[("tax_minor", json!(0)), ("amount_paid_minor", json!(0)), ("line_items", json!([]))],
        "document" => {
            &[("folder", json!("")), ("content_type", json!("application/octet-stream")), ("size_bytes", json!(0))]
        }
        "ticket_message" => &[("author_kind", json!("staff"))],
        "order" => &[("kind", json!("order"))],
        "subscription" => &[("cancel_at_period_end", json!(false))],
        _ => &[],
    };
    for (name, value) in defaults {
        fields.entry(*name).or_insert_with(|| value.clone());
    }
    if record_type == "invoice" {
        let total = fields.get("total_minor").cloned().unwrap_or(json!(0));
        fields.entry("subtotal_minor").or_insert_with(|| total.clone());
        fields.entry("amount_due_minor").or_insert(total);
    }
}

/// The `rel="next"` target of a Link header, if it stays on the same origin.
fn next_link(headers: &HeaderMap, base: &Url) -> Result<Option<String>, ConnectorError> {
    let Some(value) = headers.get(LINK).and_then(|value| value.to_str().ok()) else { return Ok(None) };
    let links = parse_link_header::parse_with_rel(value)
        .map_err(|error| ConnectorError::permanent(format!("invalid Link header: {error:?}")))?;
    let Some(next) = links.get("next") else { return Ok(None) };
    let url = Url::parse(&next.raw_uri)
        .or_else(|_| base.join(&next.raw_uri))
        .map_err(|error| ConnectorError::permanent(error.to_string()))?;
    // Credentials go with every request: never to another origin.
    if url.origin() != base.origin() {
        return Err(ConnectorError::permanent(format!(
            "Link header points to another origin ({})",
            url.origin().ascii_serialization()
        )));
    }
    Ok(Some(url.to_string()))
}

#[async_trait]
impl Connector for Rest {
    fn streams(&self) -> Vec<StreamInfo> {
        self.manifest
            .streams
            .iter()
            .map(|stream| StreamInfo::new(&stream.name, &[stream.record_type], stream.incremental.is_some()))
            .collect()
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        let url = self.stream_url(&self.manifest.streams[0])?;
        self.get(&url, &[]).await.map(|_| ())
    }

    fn webhooks(&self) -> Option<&dyn crate::webhook::Webhooks> {
        self.manifest.webhooks.as_ref().map(|_| self as &dyn crate::webhook::Webhooks)
    }

    async fn fetch(&self, stream: &str, external_id: &str) -> Result<Option<Record>, ConnectorError> {
        let stream = self.stream(stream)?;
        let item_path = stream
            .item_path
            .as_deref()
            .ok_or_else(|| ConnectorError::permanent(format!("stream {} has no item_path", stream.name)))?;
        let Some(body) = self.get_item(&self.path_url(&with_id(item_path, external_id))?).await? else {
            return Ok(None);
        };
        let object = body
            .pointer(&stream.item_selector)
            .ok_or_else(|| ConnectorError::permanent(format!("nothing at {} in the item", stream.item_selector)))?;
        map_record(stream, object).map(Some)
    }

    /// A document's bytes from its stream's `download_path`, if the manifest names one.
    async fn download(&self, document: DocumentRef<'_>) -> Result<Option<Download>, ConnectorError> {
        let stream = self.stream(document.stream)?;
        let Some(download_path) = &stream.download_path else { return Ok(None) };
        self.get_file(&self.path_url(&with_id(download_path, document.external_id))?).await
    }

    /// A declared action (`actions` in the manifest), sent with the outbox's
    /// idempotency key; the record after the change comes from the answer
    /// (`result_selector`) or else from the stream's `item_path`.
    async fn push(&self, operation: &PushOperation) -> Result<PushOutcome, ConnectorError> {
        let name = &operation.operation;
        let action = self
            .manifest
            .actions
            .get(name)
            .ok_or_else(|| ConnectorError::permanent(format!("this manifest declares no {name} action")))?;
        let external_id = operation.payload["external_id"]
            .as_str()
            .ok_or_else(|| ConnectorError::permanent(format!("invalid {name} payload: no external_id")))?;
        let stream = self.stream(&action.stream)?;
        let method = match action.method {
            ActionMethod::Post => Method::POST,
            ActionMethod::Put => Method::PUT,
            ActionMethod::Patch => Method::PATCH,
        };
        let url = self.path_url(&with_id(&action.path, external_id))?;
        let body = body_with_comment(action, operation.payload["comment"].as_str());
        let (_, answer) = self.call(method, &url, &[], body.as_ref(), Some(&operation.idempotency_key)).await?;
        // The change is made: an answer that does not map must not fail the write
        // (a retry would repeat it); the next sync brings the record instead.
        let changed = match &action.result_selector {
            Some(selector) => answer.pointer(selector).and_then(|object| map_record(stream, object).ok()),
            None if stream.item_path.is_some() => self.fetch(&stream.name, external_id).await.ok().flatten(),
            None => None,
        };
        Ok(PushOutcome { external_id: Some(external_id.to_owned()), records: changed.into_iter().collect() })
    }

    async fn pull(&self, request: PullRequest<'_>) -> Result<Page, ConnectorError> {
        let stream = self.stream(request.stream)?;
        let position = request.position.cloned().unwrap_or(json!({}));
        let base = &self.manifest.base_url;
        let mut url = self.stream_url(stream)?;
        let mut query: Vec<(String, String)> =
            stream.query.iter().map(|(key, value)| (key.clone(), value.clone())).collect();
        let since = match (request.mode, &stream.incremental) {
            (SyncMode::Incremental, Some(incremental)) => request
                .checkpoint
                .and_then(|checkpoint| checkpoint.get("since"))
                .and_then(as_text)
                .map(|since| (incremental.query_param.clone(), since)),
            _ => None,
        };
        query.extend(since);
        match &stream.pagination {
            Pagination::None => {}
            Pagination::Cursor { cursor_param, limit_param, limit, .. } => {
                if let (Some(param), Some(limit)) = (limit_param, limit) {
                    query.push((param.clone(), limit.to_string()));
                }
                if let Some(cursor) = position.get("cursor").and_then(as_text) {
                    query.push((cursor_param.clone(), cursor));
                }
            }
            Pagination::Offset { offset_param, limit_param, limit } => {
                query.push((offset_param.clone(), position["offset"].as_u64().unwrap_or(0).to_string()));
                query.push((limit_param.clone(), limit.to_string()));
            }
            Pagination::PageNumber { page_param, size_param, size, first_page } => {
                query.push((
                    page_param.clone(),
                    position["page"].as_u64().unwrap_or(u64::from(*first_page)).to_string(),
                ));
                if let Some(size_param) = size_param {
                    query.push((size_param.clone(), size.to_string()));
                }
            }
            Pagination::Link { limit_param, limit } => match position.get("next").and_then(Value::as_str) {
                // The next link carries its own query.
                Some(next) => {
                    url = Url::parse(next).map_err(|error| ConnectorError::permanent(error.to_string()))?;
                    query.clear();
                }
                None => {
                    if let (Some(param), Some(limit)) = (limit_param, limit) {
                        query.push((param.clone(), limit.to_string()));
                    }
                }
            },
        }
        let (headers, body) = self.get(&url, &query).await?;
        let items = body.pointer(&stream.record_selector).and_then(Value::as_array).ok_or_else(|| {
            ConnectorError::permanent(format!(
                "no array at record_selector `{}` in the response",
                stream.record_selector
            ))
        })?;
        let (records, failed) = crate::connector::map_each(items, |item| map_record(stream, item));

        // The highest cursor value seen in this run becomes the next run's `since`.
        let mut highest = position.get("highest").cloned().filter(|value| !value.is_null());
        if let Some(incremental) = &stream.incremental {
            for item in items {
                if let Some(value) = item.pointer(&incremental.cursor_field).filter(|value| !value.is_null())
                    && highest.as_ref().is_none_or(|highest| greater(value, highest))
                {
                    highest = Some(value.clone());
                }
            }
        }
        let next = match &stream.pagination {
            Pagination::None => None,
            // No cursor (absent, null, empty) is the end; one that cannot be read
            // (an object, a list, a flag) is an error, never the end of the data.
            Pagination::Cursor { next_cursor, .. } => match body.pointer(next_cursor) {
                None | Some(Value::Null) => None,
                Some(value) => match as_text(value) {
                    Some(cursor) if cursor.is_empty() => None,
                    Some(cursor) => Some(json!({"cursor": cursor})),
                    None => {
                        let shown: String = value.to_string().chars().take(200).collect();
                        return Err(ConnectorError::permanent(format!(
                            "the upstream answered an unreadable cursor at {next_cursor}: {shown}"
                        )));
                    }
                },
            },
            Pagination::Offset { limit, .. } => (items.len() as u32 >= *limit)
                .then(|| json!({"offset": position["offset"].as_u64().unwrap_or(0) + items.len() as u64})),
            Pagination::PageNumber { size, first_page, .. } => (items.len() as u32 >= *size)
                .then(|| json!({"page": position["page"].as_u64().unwrap_or(u64::from(*first_page)) + 1})),
            Pagination::Link { .. } => next_link(&headers, base)?.map(|next| json!({"next": next})),
        };
        let end = match next {
            Some(mut next) => {
                next["highest"] = highest.unwrap_or(Value::Null);
                PageEnd::More(next)
            }
            None => PageEnd::Done(
                highest
                    .or_else(|| request.checkpoint.and_then(|checkpoint| checkpoint.get("since")).cloned())
                    .map(|since| json!({"since": since})),
            ),
        };
        Ok(Page { records, deletions: Vec::new(), failed, end })
    }
}

/// Cursor values compare as numbers when both are, otherwise as text (ISO times sort as text).
fn greater(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) => a > b,
        _ => as_text(a) > as_text(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_goes_where_the_action_says_and_nowhere_without_one() {
        let action = |body: Option<Value>, field: Option<&str>| manifest::Action {
            stream: "tasks".into(),
            method: ActionMethod::Patch,
            path: "/tasks/{id}".into(),
            body,
            comment_field: field.map(str::to_owned),
            result_selector: None,
        };
        let approve = action(Some(json!({"state": "approved"})), Some("/decision/note"));
        assert_eq!(
            body_with_comment(&approve, Some("Fine by us")),
            Some(json!({"state": "approved", "decision": {"note": "Fine by us"}}))
        );
        assert_eq!(body_with_comment(&approve, Some("")), Some(json!({"state": "approved"})), "no empty comment");
        assert_eq!(body_with_comment(&approve, None), Some(json!({"state": "approved"})));
        let bare = action(None, Some("/a~1b"));
        assert_eq!(body_with_comment(&bare, Some("x")), Some(json!({"a/b": "x"})), "escaped pointer tokens");
        let silent = action(Some(json!({"state": "declined"})), None);
        assert_eq!(body_with_comment(&silent, Some("kept here")), Some(json!({"state": "declined"})));
    }

    #[test]
    fn the_shipped_examples_are_valid() {
        for (name, yaml) in EXAMPLES {
            Manifest::parse("manifest", yaml).unwrap_or_else(|error| panic!("{name}: {error}"));
        }
    }

    #[test]
    fn link_headers_must_stay_on_the_same_origin() {
        let base = Url::parse("https://api.example.test/v1/").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(LINK, r#"<https://api.example.test/v1/items?page=2>; rel="next""#.parse().unwrap());
        assert_eq!(next_link(&headers, &base).unwrap().unwrap(), "https://api.example.test/v1/items?page=2");
        headers.insert(LINK, r#"<https://evil.test/steal>; rel="next""#.parse().unwrap());
        assert!(next_link(&headers, &base).is_err());
        headers.insert(LINK, r#"</v1/items?page=3>; rel="next", </v1/items?page=1>; rel="first""#.parse().unwrap());
        assert_eq!(next_link(&headers, &base).unwrap().unwrap(), "https://api.example.test/v1/items?page=3");
    }

    #[test]
    fn fields_map_with_scale_defaults_and_epoch_times() {
        let manifest = Manifest::parse("m", include_str!("../../manifests/projects.yaml")).unwrap();
        let stream =
            manifest.streams.iter().find(|stream| stream.record_type == crate::model::RecordType::Order).unwrap();
        let raw = json!({"id": 7, "client_id": "c-1", "name": "Roof", "phase": "building", "budget": "1250.5", "updated": 1700000000});
        let record = map_record(stream, &raw).unwrap();
        assert_eq!(record.external_id, "7");
        assert_eq!(record.account_ref.as_deref(), Some("c-1"));
        let CommonRecord::Order(order) = record.body else { panic!("not an order") };
        assert_eq!(order.amount_minor, Some(125050));
        assert_eq!(order.kind, "project");
        assert_eq!(record.source_updated_at.unwrap().timestamp(), 1_700_000_000);
    }

    #[test]
    fn tags_become_distinct_trimmed_lower_case_strings() {
        assert_eq!(normalize("tags", json!(["Tax", " signed ", "tax", ""])), json!(["signed", "tax"]));
        assert_eq!(normalize("tags", json!("Q3, Reports,")), json!(["q3", "reports"]));
        assert_eq!(normalize("tags", json!(7)), json!([]));
    }
}
