//! Write-backs in the console (`connectors.manage`): what Portico is sending
//! upstream for customers (tickets, comments, uploads, approvals), waiting,
//! delivered or dead-lettered with the upstream's last answer; a dead one is
//! retried with the same idempotency key, so it applies once.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::Console;
use crate::api::admin::connectors as connectors_api;
use crate::api::admin::outbox::{self as api, OutboxQuery};
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::ApiError;
use crate::web::page::{self, Page};
use crate::web::records::FormProblem;

const PAGE_SIZE: i64 = 50;
const STATUSES: [&str; 4] = ["pending", "delivering", "delivered", "dead"];

pub struct OutboxLine {
    pub id: Uuid,
    pub created: String,
    pub operation: String,
    pub connector: String,
    pub status: String,
    pub status_label: String,
    pub attempts: i64,
    pub answer: String,
    pub external_id: String,
}

#[derive(Template)]
#[template(path = "console/outbox.html")]
struct OutboxPage {
    page: Page,
    status: String,
    statuses: Vec<(&'static str, String)>,
    items: Vec<OutboxLine>,
    more_href: Option<String>,
    retried: bool,
    problem: FormProblem,
}

impl OutboxPage {
    fn status_class(&self, status: &str) -> &'static str {
        match status {
            "delivered" => "success",
            "dead" => "danger",
            "delivering" => "info",
            _ => "warning",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct OutboxForm {
    #[serde(default)]
    status: String,
    before: Option<Uuid>,
    #[serde(default)]
    done: String,
}

async fn outbox_page(
    state: &AppState,
    console: &Console,
    form: OutboxForm,
    problem: FormProblem,
) -> Result<OutboxPage, ApiError> {
    let status = Some(form.status.clone()).filter(|status| STATUSES.contains(&status.as_str()));
    let Json(items) = api::list_outbox(
        State(state.clone()),
        console.staff.clone(),
        Query(OutboxQuery { status: status.clone(), before: form.before, limit: Some(PAGE_SIZE) }),
    )
    .await?;
    let Json(connectors) = connectors_api::list_connectors(State(state.clone()), console.staff.clone()).await?;
    let names: HashMap<Uuid, String> = connectors.into_iter().map(|connector| (connector.id, connector.name)).collect();
    let page = console.page(state, "outbox").await?;
    let more_href = items.last().filter(|_| items.len() as i64 == PAGE_SIZE).map(|last| {
        let query = serde_urlencoded::to_string([("status", status.as_deref().unwrap_or(""))]).unwrap_or_default();
        format!("?{query}&before={}", last.id)
    });
    let items = items
        .into_iter()
        .map(|item| OutboxLine {
            id: item.id,
            created: page.format.date_time(item.created_at),
            operation: item.operation,
            connector: names.get(&item.connector_instance_id).cloned().unwrap_or_default(),
            status_label: page.t(&format!("console-outbox-{}", item.status)),
            status: item.status,
            attempts: item.attempts,
            answer: item.last_error.unwrap_or_default(),
            external_id: item.external_id.unwrap_or_default(),
        })
        .collect();
    Ok(OutboxPage {
        statuses: STATUSES.iter().map(|status| (*status, page.t(&format!("console-outbox-{status}")))).collect(),
        status: status.unwrap_or_default(),
        retried: form.done == "retried",
        items,
        more_href,
        problem,
        page,
    })
}

pub async fn list(
    State(state): State<AppState>,
    console: Console,
    Query(form): Query<OutboxForm>,
) -> Result<Response, ApiError> {
    page::ok(&outbox_page(&state, &console, form, FormProblem::default()).await?)
}

pub async fn retry(
    State(state): State<AppState>,
    console: Console,
    Path(outbox_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    match api::retry_outbox(State(state.clone()), console.staff.clone(), Path(outbox_id)).await {
        Ok(_) => Ok(Redirect::to("/console/outbox?done=retried").into_response()),
        Err(error) => {
            let problem = FormProblem::from_error(error)?;
            let page = outbox_page(&state, &console, OutboxForm::default(), problem).await?;
            page::render(StatusCode::CONFLICT, &page)
        }
    }
}
