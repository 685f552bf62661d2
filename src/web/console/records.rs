//! What a connector brought in (`connectors.manage`): its records, parked and
//! deleted ones included, by type; one record with its common-model form, the
//! upstream's payload as received, and its history.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::Console;
use crate::api::admin::connectors::{self as api, RecordsPage};
use crate::auth::permissions::StaffPermission;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode};
use crate::store::StaffData;
use crate::web::page::{self, Page};

const PAGE_SIZE: i64 = 50;
const HISTORY: i64 = 50;

pub struct RecordLine {
    pub href: String,
    pub title: String,
    pub record_type: String,
    pub external_id: String,
    pub account: String,
    pub state: String,
}

#[derive(Template)]
#[template(path = "console/records.html")]
struct RecordsListPage {
    page: Page,
    connector_name: String,
    connector_href: String,
    action: String,
    record_type: String,
    types: Vec<&'static str>,
    records: Vec<RecordLine>,
    more_href: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RecordsQuery {
    #[serde(default)]
    record_type: String,
    after: Option<Uuid>,
}

/// The names of the accounts `records` belong to (one read per account).
async fn account_names(
    state: &AppState,
    records: &[&crate::store::RecordRow],
) -> Result<HashMap<Uuid, String>, ApiError> {
    let mut names = HashMap::new();
    for id in records.iter().filter_map(|record| record.account_id) {
        if let std::collections::hash_map::Entry::Vacant(entry) = names.entry(id)
            && let Some(account) = state.store.account(id).await?
        {
            entry.insert(account.name);
        }
    }
    Ok(names)
}

/// Where a record is: its account, parked (no account claims its key) or deleted.
fn whereabouts(page: &Page, names: &HashMap<Uuid, String>, record: &crate::store::RecordRow) -> (String, String) {
    let account =
        record.account_id.map(|id| names.get(&id).cloned().unwrap_or_else(|| id.to_string())).unwrap_or_default();
    let state = if record.deleted_at.is_some() {
        page.t("console-record-deleted")
    } else if record.account_id.is_none() {
        page.t("console-record-parked")
    } else {
        record.status.clone().unwrap_or_default()
    };
    (account, state)
}

pub async fn list(
    State(state): State<AppState>,
    console: Console,
    Path(connector_id): Path<Uuid>,
    Query(query): Query<RecordsQuery>,
) -> Result<Response, ApiError> {
    let record_type = Some(query.record_type.trim().to_owned()).filter(|kind| !kind.is_empty());
    let Json(records) = api::list_records(
        State(state.clone()),
        console.staff.clone(),
        Path(connector_id),
        Query(RecordsPage { record_type: record_type.clone(), after: query.after, limit: Some(PAGE_SIZE) }),
    )
    .await?;
    let Json(connector) = api::get_connector(State(state.clone()), console.staff.clone(), Path(connector_id)).await?;
    let page = console.page(&state, "connectors").await?;
    let more_href = records.last().filter(|_| records.len() as i64 == PAGE_SIZE).map(|last| {
        let query =
            serde_urlencoded::to_string([("record_type", record_type.as_deref().unwrap_or(""))]).unwrap_or_default();
        format!("?{query}&after={}", last.id)
    });
    let names = account_names(&state, &records.iter().collect::<Vec<_>>()).await?;
    let records = records
        .iter()
        .map(|record| {
            let (account, state) = whereabouts(&page, &names, record);
            RecordLine {
                href: format!("/console/connectors/{connector_id}/records/{}", record.id),
                title: record.title.clone(),
                record_type: record.record_type.clone(),
                external_id: record.external_id.clone(),
                account,
                state,
            }
        })
        .collect();
    page::ok(&RecordsListPage {
        connector_name: connector.connector.name,
        connector_href: format!("/console/connectors/{connector_id}"),
        action: format!("/console/connectors/{connector_id}/records"),
        record_type: record_type.unwrap_or_default(),
        types: portico_connectors::RecordType::ALL.iter().map(|kind| kind.as_str()).collect(),
        records,
        more_href,
        page,
    })
}

pub struct VersionLine {
    pub from: String,
    pub until: String,
    pub change: String,
    pub data: String,
}

#[derive(Template)]
#[template(path = "console/record.html")]
struct RecordPage {
    page: Page,
    records_href: String,
    record: crate::store::RecordRow,
    account: String,
    state: String,
    common: String,
    raw: String,
    history: Vec<VersionLine>,
}

pub async fn detail(
    State(state): State<AppState>,
    console: Console,
    Path((connector_id, record_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let scope = console.staff.require(StaffPermission::ConnectorsManage, &state).await?;
    let (record, raw) = StaffData::of(&state.store, &scope)
        .instance_record(connector_id, record_id)
        .await?
        .ok_or_else(|| ApiError::from_code(ErrorCode::NotFound))?;
    let history = state.store.record_history(record.id, HISTORY).await?;
    let page = console.page(&state, "connectors").await?;
    let names = account_names(&state, &[&record]).await?;
    let (account, record_state) = whereabouts(&page, &names, &record);
    let history = history
        .into_iter()
        .map(|version| VersionLine {
            from: page.format.date_time(version.valid_from),
            until: page.format.date_time(version.superseded_at),
            change: version.change,
            data: serde_json::to_string_pretty(&version.data.0).unwrap_or_default(),
        })
        .collect();
    page::ok(&RecordPage {
        records_href: format!("/console/connectors/{connector_id}/records"),
        common: serde_json::to_string_pretty(&record.data.0).unwrap_or_default(),
        raw: serde_json::to_string_pretty(&raw.0).unwrap_or_default(),
        account,
        state: record_state,
        record,
        history,
        page,
    })
}
