//! HubSpot (CRM v3): companies, contacts, deals (their pipeline stage becomes an
//! order or project status) and tickets; write-back creates tickets and notes.
//!
//! Full pulls page each object list (`GET /crm/v3/objects/{type}` with `after`),
//! asking for company associations so every record knows its customer. Incremental
//! pulls use the search API on the last-modified property, ascending, paging with
//! `after`; search stops at 10,000 results per query, so a long run restarts the
//! query from the last modification time it reached. Search results carry no
//! associations: those come from the v4 batch association read, and an object that
//! read leaves out keeps the account it has (only an answer carrying its
//! associations may take it out). Companies are organisations, never contacts:
//! HubSpot numbers each object type on its own, so a company and a contact may
//! share an id. Stage ids become labels through the pipelines API, kept per
//! instance for a few minutes. Webhooks (v3 signatures) name changed objects,
//! which are then fetched one by one.

mod mapping;
mod push;
mod webhook;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::cache::InstanceCache;
use crate::connector::{
    Connector, ConnectorKind, InstanceConfig, Page, PageEnd, PullRequest, PushOperation, PushOutcome, StreamInfo,
    SyncMode,
};
use crate::error::ConnectorError;
use crate::model::RecordType;
use crate::settings::{self, SettingsError};
use crate::upstream::Upstream;
use mapping::CompanyLink;

const PAGE_SIZE: usize = 100;
/// HubSpot's search API refuses `after` beyond this; the query restarts from the last timestamp.
const SEARCH_WINDOW: usize = 10_000;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HubSpotSettings {
    /// API base URL; the default is HubSpot's.
    #[serde(default = "default_base_url")]
    pub base_url: Url,
    /// Deals become `order` (default) or `project` records.
    #[serde(default = "default_deal_kind")]
    #[schemars(extend("enum" = ["order", "project"]))]
    pub deal_kind: String,
    /// A unique ticket/note property Portico writes its idempotency key into, so a
    /// retried write-back finds what the first attempt created instead of repeating it.
    #[serde(default = "default_idempotency_property")]
    pub idempotency_property: String,
    /// Pipeline and stage for tickets created from the portal.
    #[serde(default = "default_ticket_pipeline")]
    pub ticket_pipeline: String,
    #[serde(default = "default_ticket_stage")]
    pub ticket_stage: String,
    /// The stage a ticket closed from the portal moves to.
    #[serde(default = "default_ticket_closed_stage")]
    pub ticket_closed_stage: String,
}

fn default_base_url() -> Url {
    Url::parse("https://api.hubapi.com").expect("constant URL")
}
fn default_deal_kind() -> String {
    "order".into()
}
fn default_idempotency_property() -> String {
    "portico_request_id".into()
}
fn default_ticket_pipeline() -> String {
    "0".into()
}
fn default_ticket_stage() -> String {
    "1".into()
}
fn default_ticket_closed_stage() -> String {
    // HubSpot's default support pipeline: 1 new, 2 waiting on contact, 3 waiting on us, 4 closed.
    "4".into()
}

#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HubSpotCredentials {
    /// A private app access token with CRM read (and, for write-back, write) scopes.
    pub access_token: String,
}

/// A stream: its object type, record type, properties and last-modified property.
pub(crate) struct ObjectType {
    pub stream: &'static str,
    pub object: &'static str,
    pub record_type: RecordType,
    pub properties: &'static [&'static str],
    /// Contacts call it `lastmodifieddate`; every other object `hs_lastmodifieddate`.
    pub modified_property: &'static str,
    /// Stage labels come from this pipeline object type.
    pub pipeline: Option<&'static str>,
}

pub(crate) const OBJECTS: &[ObjectType] = &[
    ObjectType {
        stream: "companies",
        object: "companies",
        record_type: RecordType::Organisation,
        properties: &["name", "domain", "phone", "hs_lastmodifieddate"],
        modified_property: "hs_lastmodifieddate",
        pipeline: None,
    },
    ObjectType {
        stream: "contacts",
        object: "contacts",
        record_type: RecordType::Contact,
        properties: &["firstname", "lastname", "email", "phone", "company", "associatedcompanyid", "lastmodifieddate"],
        modified_property: "lastmodifieddate",
        pipeline: None,
    },
    ObjectType {
        stream: "deals",
        object: "deals",
        record_type: RecordType::Order,
        properties: &[
            "dealname",
            "dealstage",
            "pipeline",
            "amount",
            "deal_currency_code",
            "closedate",
            "hs_lastmodifieddate",
        ],
        modified_property: "hs_lastmodifieddate",
        pipeline: Some("deals"),
    },
    ObjectType {
        stream: "tickets",
        object: "tickets",
        record_type: RecordType::Ticket,
        properties: &[
            "subject",
            "content",
            "hs_pipeline",
            "hs_pipeline_stage",
            "hs_ticket_priority",
            "createdate",
            "closed_date",
            "hs_lastmodifieddate",
        ],
        modified_property: "hs_lastmodifieddate",
        pipeline: Some("tickets"),
    },
];

pub struct HubSpotKind;

impl ConnectorKind for HubSpotKind {
    fn id(&self) -> &'static str {
        "hubspot"
    }

    fn settings_schema(&self) -> Value {
        settings::schema_of::<HubSpotSettings>()
    }

    fn credentials_schema(&self) -> Value {
        settings::schema_of::<HubSpotCredentials>()
    }

    fn push_operations(&self) -> &'static [&'static str] {
        &["create_ticket", "add_note", "close_ticket"]
    }

    fn default_streams(&self) -> Vec<StreamInfo> {
        OBJECTS.iter().map(|object| StreamInfo::new(object.stream, &[object.record_type], true)).collect()
    }

    fn build(&self, config: InstanceConfig) -> Result<Box<dyn Connector>, SettingsError> {
        let settings: HubSpotSettings = settings::parse("settings", &config.settings)?;
        if !matches!(settings.deal_kind.as_str(), "order" | "project") {
            return Err(SettingsError::new("settings.deal_kind", "must be order or project"));
        }
        let credentials: HubSpotCredentials = settings::parse("credentials", &config.credentials)?;
        if credentials.access_token.trim().is_empty() {
            return Err(SettingsError::new("credentials.access_token", "must not be empty"));
        }
        Ok(Box::new(HubSpot {
            settings,
            token: credentials.access_token,
            upstream: config.upstream,
            cache: config.cache,
        }))
    }
}

pub struct HubSpot {
    pub(crate) settings: HubSpotSettings,
    token: String,
    upstream: Upstream,
    /// Keeps the pipelines between this instance's jobs.
    cache: InstanceCache,
}

/// How long pipelines (stage labels) are kept before they are read again.
const PIPELINES_TTL: Duration = Duration::from_secs(300);

/// (pipeline object type, stage id) → stage label.
pub(crate) type StageLabels = HashMap<(String, String), String>;

impl HubSpot {
    fn url(&self, path: &str) -> Result<Url, ConnectorError> {
        self.settings.base_url.join(path).map_err(|error| ConnectorError::permanent(error.to_string()))
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, ConnectorError> {
        let mut request = self.upstream.request(method, &self.url(path)?)?.bearer_auth(&self.token).query(query);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.upstream.send_json(request).await
    }

    fn object(&self, stream: &str) -> Result<&'static ObjectType, ConnectorError> {
        OBJECTS
            .iter()
            .find(|object| object.stream == stream)
            .ok_or_else(|| ConnectorError::permanent(format!("HubSpot has no stream {stream}")))
    }

    /// Stage labels of deal and ticket pipelines, read at most once per
    /// [`PIPELINES_TTL`] for the instance (not once per job and push).
    pub(crate) async fn stage_labels(&self) -> Result<StageLabels, ConnectorError> {
        let pipelines = self
            .cache
            .get_or_fetch("hubspot.pipelines", PIPELINES_TTL, || async {
                let mut all = serde_json::Map::new();
                for object in ["deals", "tickets"] {
                    let answer = self.call(Method::GET, &format!("/crm/v3/pipelines/{object}"), &[], None).await?;
                    all.insert(object.to_owned(), answer);
                }
                Ok(Value::Object(all))
            })
            .await?;
        let mut labels = HashMap::new();
        for object in ["deals", "tickets"] {
            for pipeline in pipelines[object]["results"].as_array().map(Vec::as_slice).unwrap_or_default() {
                for stage in pipeline["stages"].as_array().map(Vec::as_slice).unwrap_or_default() {
                    if let (Some(id), Some(label)) = (stage["id"].as_str(), stage["label"].as_str()) {
                        labels.insert((object.to_owned(), id.to_owned()), label.to_owned());
                    }
                }
            }
        }
        Ok(labels)
    }

    async fn pull_list(&self, object: &ObjectType, position: Option<&Value>) -> Result<Page, ConnectorError> {
        let mut query = vec![
            ("limit", PAGE_SIZE.to_string()),
            ("properties", object.properties.join(",")),
            ("archived", "false".to_owned()),
        ];
        if object.object != "companies" {
            query.push(("associations", "companies".to_owned()));
        }
        if let Some(after) = position.and_then(|position| position["after"].as_str()) {
            query.push(("after", after.to_owned()));
        }
        let started = position
            .and_then(|position| position["started"].as_i64())
            .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
        let answer = self.call(Method::GET, &format!("/crm/v3/objects/{}", object.object), &query, None).await?;
        let results = answer["results"].as_array().map(Vec::as_slice).unwrap_or_default();
        let companies: HashMap<String, String> = results
            .iter()
            .filter_map(|result| {
                let id = result["id"].as_str()?;
                let company = result.pointer("/associations/companies/results/0/id").and_then(Value::as_str)?;
                Some((id.to_owned(), company.to_owned()))
            })
            .collect();
        // A list answer carries each object's associations: no company is no company.
        let (records, failed) = self.map_results(object, results, &companies, true).await?;
        // `paging.next` says there is more; an `after` in it that cannot be read is
        // an error, never the end of the list.
        let next_after = match answer.pointer("/paging/next") {
            None | Some(Value::Null) => None,
            Some(next) => match next.get("after") {
                Some(Value::String(after)) if !after.is_empty() => Some(after.as_str()),
                other => {
                    let shown = other.map(Value::to_string).unwrap_or_else(|| "nothing".to_owned());
                    return Err(ConnectorError::permanent(format!(
                        "HubSpot answered an unreadable list cursor: paging.next.after is {shown}"
                    )));
                }
            },
        };
        let end = match next_after {
            Some(after) => PageEnd::More(json!({"after": after, "started": started})),
            // Changes during the run are picked up by the next incremental run.
            None => PageEnd::Done(Some(json!({"modified_after": started - 60_000}))),
        };
        Ok(Page { records, deletions: Vec::new(), failed, end })
    }

    async fn pull_search(
        &self,
        object: &ObjectType,
        position: Option<&Value>,
        checkpoint: i64,
    ) -> Result<Page, ConnectorError> {
        let since = position.and_then(|position| position["since"].as_i64()).unwrap_or(checkpoint);
        let after = position.and_then(|position| position["after"].as_u64()).unwrap_or(0) as usize;
        let body = json!({
            "filterGroups": [{"filters": [{"propertyName": object.modified_property, "operator": "GTE", "value": since.to_string()}]}],
            "sorts": [{"propertyName": object.modified_property, "direction": "ASCENDING"}],
            "properties": object.properties,
            "limit": PAGE_SIZE,
            "after": after.to_string(),
        });
        let answer =
            self.call(Method::POST, &format!("/crm/v3/objects/{}/search", object.object), &[], Some(&body)).await?;
        let results = answer["results"].as_array().map(Vec::as_slice).unwrap_or_default();
        let companies = self.associated_companies(object, results).await?;
        // An object the association read left out keeps the account it has.
        let (records, failed) = self.map_results(object, results, &companies, false).await?;
        let last_modified = results
            .last()
            .and_then(|result| crate::json::time_at(result, &format!("/properties/{}", object.modified_property)))
            .map(|time| time.timestamp_millis());
        // A cursor that cannot be read is an error, never the end of the data.
        let next_after = match answer.pointer("/paging/next/after") {
            None | Some(Value::Null) => None,
            Some(Value::String(after)) => Some(after.parse::<usize>().map_err(|_| {
                ConnectorError::permanent(format!("HubSpot answered an unreadable search cursor {after:?}"))
            })?),
            Some(other) => {
                return Err(ConnectorError::permanent(format!("HubSpot answered an unreadable search cursor {other}")));
            }
        };
        let end = match (next_after, last_modified) {
            // Past the search window: start a new query from where this one got to.
            (Some(next), Some(last)) if next + PAGE_SIZE > SEARCH_WINDOW => {
                PageEnd::More(json!({"since": last, "after": 0}))
            }
            (Some(next), _) => PageEnd::More(json!({"since": since, "after": next})),
            (None, last) => PageEnd::Done(Some(json!({"modified_after": last.unwrap_or(since)}))),
        };
        Ok(Page { records, deletions: Vec::new(), failed, end })
    }

    /// Company associations of search results, through the v4 batch read.
    async fn associated_companies(
        &self,
        object: &ObjectType,
        results: &[Value],
    ) -> Result<HashMap<String, String>, ConnectorError> {
        if object.object == "companies" || results.is_empty() {
            return Ok(HashMap::new());
        }
        let inputs: Vec<Value> =
            results.iter().filter_map(|result| result["id"].as_str()).map(|id| json!({"id": id})).collect();
        let answer = self
            .call(
                Method::POST,
                &format!("/crm/v4/associations/{}/companies/batch/read", object.object),
                &[],
                Some(&json!({"inputs": inputs})),
            )
            .await?;
        Ok(answer["results"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|result| {
                let from = crate::json::string_at(result, "/from/id")?;
                let to = crate::json::string_at(result, "/to/0/toObjectId")?;
                Some((from, to))
            })
            .collect())
    }

    async fn map_results(
        &self,
        object: &ObjectType,
        results: &[Value],
        companies: &HashMap<String, String>,
        complete: bool,
    ) -> Result<(Vec<crate::model::Record>, Vec<crate::connector::FailedRecord>), ConnectorError> {
        let labels = match object.pipeline {
            Some(_) => Some(self.stage_labels().await?),
            None => None,
        };
        Ok(crate::connector::map_each(results, |result| {
            let id = result["id"].as_str().unwrap_or_default();
            let company = CompanyLink::from_answer(companies, id, complete);
            mapping::map_object(object, result, company, labels.as_ref(), &self.settings.deal_kind)
        }))
    }
}

#[async_trait]
impl Connector for HubSpot {
    fn streams(&self) -> Vec<StreamInfo> {
        HubSpotKind.default_streams()
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        self.call(Method::GET, "/crm/v3/objects/companies", &[("limit", "1".to_owned())], None).await.map(|_| ())
    }

    fn webhooks(&self) -> Option<&dyn crate::webhook::Webhooks> {
        Some(&webhook::HubSpotWebhooks)
    }

    /// `GET /crm/v3/objects/{type}/{id}` with the stream's properties and its
    /// company association; `None` once HubSpot answers 404 (deleted or archived).
    async fn fetch(&self, stream: &str, external_id: &str) -> Result<Option<crate::model::Record>, ConnectorError> {
        let object = self.object(stream)?;
        if external_id.is_empty() || !external_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(ConnectorError::permanent(format!("`{external_id}` is not a HubSpot object id")));
        }
        let mut query = vec![("properties", object.properties.join(",")), ("archived", "false".to_owned())];
        if object.object != "companies" {
            query.push(("associations", "companies".to_owned()));
        }
        let url = self.url(&format!("/crm/v3/objects/{}/{external_id}", object.object))?;
        let request = self.upstream.request(Method::GET, &url)?.bearer_auth(&self.token).query(&query);
        let Some(result) = self.upstream.fetch_json::<Value>(request).await? else { return Ok(None) };
        let companies: HashMap<String, String> = result
            .pointer("/associations/companies/results/0/id")
            .and_then(Value::as_str)
            .map(|company| (external_id.to_owned(), company.to_owned()))
            .into_iter()
            .collect();
        let (mut records, failed) = self.map_results(object, std::slice::from_ref(&result), &companies, true).await?;
        match (records.pop(), failed.into_iter().next()) {
            (Some(record), _) => Ok(Some(record)),
            (None, Some(failed)) => Err(ConnectorError::permanent(failed.reason)),
            (None, None) => Ok(None),
        }
    }

    async fn pull(&self, request: PullRequest<'_>) -> Result<Page, ConnectorError> {
        let object = self.object(request.stream)?;
        let checkpoint = request.checkpoint.and_then(|checkpoint| checkpoint["modified_after"].as_i64());
        match (request.mode, checkpoint) {
            (SyncMode::Incremental, Some(checkpoint)) => self.pull_search(object, request.position, checkpoint).await,
            _ => self.pull_list(object, request.position).await,
        }
    }

    async fn push(&self, operation: &PushOperation) -> Result<PushOutcome, ConnectorError> {
        push::push(self, operation).await
    }
}
