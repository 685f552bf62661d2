//! Records no customer sees yet, because no account claims their upstream key
//! (a Stripe customer, a CRM company): grouped by key with a count and a
//! sample, each mapped to an account found by search. The mappings a connector
//! has are listed with the accounts they point at.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use fluent_bundle::FluentValue;
use serde::Deserialize;
use uuid::Uuid;

use super::Console;
use crate::api::admin::accounts::{self as accounts_api, Page as AccountsPage};
use crate::api::admin::connectors::{self as api, AccountMapping};
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::ApiError;
use crate::web::i18n::message;
use crate::web::page::{self, Page};
use crate::web::records::FormProblem;

/// Accounts offered to map to, at most.
const ACCOUNT_CHOICES: i64 = 50;

pub struct ParkedLine {
    pub account_ref: String,
    pub records: i64,
    pub sample: String,
    pub first_parked: String,
    /// The element id of this group's account choice.
    pub field_id: String,
}

pub struct MappingLine {
    pub account_ref: String,
    pub account_name: String,
    pub account_href: String,
    pub since: String,
}

#[derive(Template)]
#[template(path = "console/mapping.html")]
struct MappingPage {
    page: Page,
    connector_name: String,
    connector_href: String,
    action: String,
    search: String,
    /// (id, name) of the accounts found.
    accounts: Vec<(Uuid, String)>,
    parked: Vec<ParkedLine>,
    mappings: Vec<MappingLine>,
    mapped: Option<String>,
    problem: FormProblem,
}

#[derive(Debug, Default, Deserialize)]
pub struct MappingQuery {
    /// Account search.
    #[serde(default)]
    q: String,
    /// The key just mapped, and how many records moved with it.
    #[serde(default)]
    mapped: String,
    #[serde(default)]
    claimed: Option<u64>,
}

async fn mapping_page(
    state: &AppState,
    console: &Console,
    connector_id: Uuid,
    query: MappingQuery,
    problem: FormProblem,
) -> Result<MappingPage, ApiError> {
    let Json(connector) = api::get_connector(State(state.clone()), console.staff.clone(), Path(connector_id)).await?;
    let Json(parked) = api::list_parked(State(state.clone()), console.staff.clone(), Path(connector_id)).await?;
    let Json(mappings) = api::list_mappings(State(state.clone()), console.staff.clone(), Path(connector_id)).await?;
    let search = query.q.trim().to_owned();
    let Json(found) = accounts_api::list_accounts(
        State(state.clone()),
        console.staff.clone(),
        Query(AccountsPage {
            after: None,
            limit: Some(ACCOUNT_CHOICES),
            q: Some(search.clone()).filter(|text| !text.is_empty()),
        }),
    )
    .await?;
    let page = console.page(state, "connectors").await?;
    let mut names: HashMap<Uuid, String> = found.iter().map(|account| (account.id, account.name.clone())).collect();
    for mapping in &mappings {
        if !names.contains_key(&mapping.account_id)
            && let Some(account) = state.store.account(mapping.account_id).await?
        {
            names.insert(account.id, account.name);
        }
    }
    let parked = parked
        .into_iter()
        .enumerate()
        .filter_map(|(index, group)| {
            // Records without any key cannot be mapped: the upstream said nothing of whose they are.
            let account_ref = group.account_ref?;
            Some(ParkedLine {
                account_ref,
                records: group.records,
                sample: group.sample_title.unwrap_or_default(),
                first_parked: page.format.relative(group.first_parked_at, page.now),
                field_id: format!("account-{index}"),
            })
        })
        .collect();
    let mappings = mappings
        .into_iter()
        .map(|mapping| MappingLine {
            account_name: names.get(&mapping.account_id).cloned().unwrap_or_else(|| mapping.account_id.to_string()),
            account_href: format!("/accounts/{}", mapping.account_id),
            since: page.format.date(mapping.created_at),
            account_ref: mapping.account_ref,
        })
        .collect();
    let mapped = (!query.mapped.is_empty()).then(|| {
        let claimed = query.claimed.unwrap_or_default();
        message(
            page.lang,
            "console-mapped",
            &[("count", FluentValue::from(claimed)), ("key", FluentValue::from(query.mapped.clone()))],
        )
    });
    Ok(MappingPage {
        connector_name: connector.connector.name,
        connector_href: format!("/console/connectors/{connector_id}"),
        action: format!("/console/connectors/{connector_id}/mapping"),
        accounts: found.into_iter().map(|account| (account.id, account.name)).collect(),
        search,
        parked,
        mappings,
        mapped,
        problem,
        page,
    })
}

pub async fn show(
    State(state): State<AppState>,
    console: Console,
    Path(connector_id): Path<Uuid>,
    Query(query): Query<MappingQuery>,
) -> Result<Response, ApiError> {
    page::ok(&mapping_page(&state, &console, connector_id, query, FormProblem::default()).await?)
}

#[derive(Debug, Deserialize)]
pub struct MapForm {
    account_ref: String,
    #[serde(default)]
    account_id: String,
}

pub async fn map(
    State(state): State<AppState>,
    console: Console,
    Path(connector_id): Path<Uuid>,
    Form(form): Form<MapForm>,
) -> Result<Response, ApiError> {
    let Ok(account_id) = Uuid::parse_str(form.account_id.trim()) else {
        let page =
            mapping_page(&state, &console, connector_id, MappingQuery::default(), FormProblem::default()).await?;
        let problem = FormProblem { summary: Some(page.page.t("console-map-choose")), ..Default::default() };
        let page = MappingPage { problem, ..page };
        return page::render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let mapping = AccountMapping { account_ref: form.account_ref.clone(), account_id };
    match api::map_account(State(state.clone()), console.staff.clone(), Path(connector_id), Json(mapping)).await {
        Ok(Json(applied)) => {
            let mapped = serde_urlencoded::to_string([
                ("mapped", form.account_ref.as_str()),
                ("claimed", &applied.records_claimed.to_string()),
            ])
            .map_err(ApiError::internal)?;
            Ok(Redirect::to(&format!("/console/connectors/{connector_id}/mapping?{mapped}")).into_response())
        }
        Err(error) => {
            let problem = FormProblem::from_error(error)?;
            let page = mapping_page(&state, &console, connector_id, MappingQuery::default(), problem).await?;
            page::render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}
