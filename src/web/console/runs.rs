//! One sync run in the console: its progress (pages and records added,
//! updated, unchanged, deleted, failed), refreshed while it runs; cancelling
//! it; and, for a full run that held its deletions back, a sample of what it
//! would delete with the choice to confirm or discard them.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use fluent_bundle::FluentValue;
use uuid::Uuid;

use super::Console;
use super::connectors::{is_active, run_status_label, status_class};
use crate::api::admin::connectors as api;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::ApiError;
use crate::store::SyncRunRow;
use crate::web::i18n::message;
use crate::web::page::{self, Page};
use crate::web::records::FormProblem;

/// Records shown of those a held run would delete.
const HELD_SAMPLE: i64 = 10;

pub struct HeldRecord {
    pub title: String,
    pub record_type: String,
    pub external_id: String,
}

#[derive(Template)]
#[template(path = "console/run.html")]
struct RunPage {
    page: Page,
    connector_name: String,
    connector_href: String,
    href: String,
    run: SyncRunRow,
    status_label: String,
    live: bool,
    /// (label, count) of what the run did so far.
    figures: Vec<(String, i64)>,
    queued: String,
    started: Option<String>,
    finished: Option<String>,
    retry_at: Option<String>,
    held: Vec<HeldRecord>,
    /// The guard share, in percent, that the run went past.
    guard_percent: String,
    problem: FormProblem,
}

async fn run_page(
    state: &AppState,
    console: &Console,
    connector_id: Uuid,
    run_id: Uuid,
    problem: FormProblem,
) -> Result<RunPage, ApiError> {
    let Json(run) = api::get_run(State(state.clone()), console.staff.clone(), Path((connector_id, run_id))).await?;
    let Json(connector) = api::get_connector(State(state.clone()), console.staff.clone(), Path(connector_id)).await?;
    let held = if run.status == "held" {
        let started = run.started_at.unwrap_or(run.queued_at);
        state
            .store
            .held_deletion_sample(connector_id, &run.stream, run.id, started, HELD_SAMPLE)
            .await?
            .into_iter()
            .map(|record| HeldRecord {
                title: record.title,
                record_type: record.record_type,
                external_id: record.external_id,
            })
            .collect()
    } else {
        Vec::new()
    };
    let page = console.page(state, "connectors").await?;
    let figures = [
        ("console-figure-pages-label", run.pages),
        ("console-figure-added", run.added),
        ("console-figure-updated", run.updated),
        ("console-figure-unchanged", run.unchanged),
        ("console-figure-deleted", run.deleted),
        ("console-figure-failed", run.failed),
        ("console-figure-kept", run.accounts_kept),
    ]
    .into_iter()
    .map(|(key, count)| (page.t(key), count))
    .collect();
    Ok(RunPage {
        connector_name: connector.connector.name.clone(),
        connector_href: format!("/console/connectors/{connector_id}"),
        href: format!("/console/connectors/{connector_id}/runs/{run_id}"),
        status_label: run_status_label(&page, &run.status),
        live: is_active(&run.status),
        figures,
        queued: page.format.date_time(run.queued_at),
        started: run.started_at.map(|at| page.format.date_time(at)),
        finished: run.finished_at.map(|at| page.format.date_time(at)),
        retry_at: run.retry_at.map(|at| page.format.date_time(at)),
        guard_percent: format!("{}", (connector.connector.delete_guard_share * 100.0).round()),
        held,
        run,
        problem,
        page,
    })
}

impl RunPage {
    fn status_class(&self) -> &'static str {
        status_class(&self.run.status)
    }

    fn mode_label(&self) -> String {
        self.page.t(&format!("console-mode-{}", self.run.mode))
    }

    fn held_words(&self) -> String {
        message(
            self.page.lang,
            "console-held-words",
            &[
                ("count", FluentValue::from(self.run.held_deletions)),
                ("percent", FluentValue::from(self.guard_percent.clone())),
            ],
        )
    }
}

pub async fn show(
    State(state): State<AppState>,
    console: Console,
    Path((connector_id, run_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    page::ok(&run_page(&state, &console, connector_id, run_id, FormProblem::default()).await?)
}

/// After an action: back to the run, or the run again with why it was refused
/// (it ended meanwhile, a newer full run superseded it).
async fn after(
    state: &AppState,
    console: &Console,
    connector_id: Uuid,
    run_id: Uuid,
    outcome: Result<(), ApiError>,
) -> Result<Response, ApiError> {
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/console/connectors/{connector_id}/runs/{run_id}")).into_response()),
        Err(error) => {
            let problem = FormProblem::from_error(error)?;
            page::render(StatusCode::CONFLICT, &run_page(state, console, connector_id, run_id, problem).await?)
        }
    }
}

pub async fn cancel(
    State(state): State<AppState>,
    console: Console,
    Path((connector_id, run_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let outcome = api::cancel_run(State(state.clone()), console.staff.clone(), Path((connector_id, run_id))).await;
    after(&state, &console, connector_id, run_id, outcome.map(|_| ())).await
}

pub async fn confirm(
    State(state): State<AppState>,
    console: Console,
    Path((connector_id, run_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let outcome =
        api::confirm_deletions(State(state.clone()), console.staff.clone(), Path((connector_id, run_id))).await;
    after(&state, &console, connector_id, run_id, outcome.map(|_| ())).await
}

pub async fn discard(
    State(state): State<AppState>,
    console: Console,
    Path((connector_id, run_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let outcome =
        api::discard_deletions(State(state.clone()), console.staff.clone(), Path((connector_id, run_id))).await;
    after(&state, &console, connector_id, run_id, outcome.map(|_| ())).await
}
