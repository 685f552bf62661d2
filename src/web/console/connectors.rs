//! Connectors in the console (`connectors.manage`): the list with each one's
//! health, adding one through a form generated from its kind's schemas,
//! editing it (credentials write-only: left empty, they are kept), testing the
//! connection (the answer in words), starting a sync and following its runs.
//! Every action is the admin API's handler, called with the same staff caller.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use fluent_bundle::FluentValue;
use portico_connectors::{ErrorClass, SyncMode};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::Console;
use super::endpoint_settings::HmacFields;
use super::schema_form::{self, Item, SchemaForm};
use crate::api::admin::connectors::{
    self as api, ConnectionTest, ConnectorChanges, ConnectorDetail, ConnectorView, NewConnector, RunsPage, SyncRequest,
};
use crate::api::admin::webhook_endpoints as webhooks_api;
use crate::auth::permissions::StaffPermission;
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode};
use crate::store::SyncRunRow;
use crate::web::i18n::message;
use crate::web::page::{self, Page};
use crate::web::records::FormProblem;

/// A connector in the list.
pub struct ConnectorLine {
    pub href: String,
    pub name: String,
    pub kind: String,
    pub health: &'static str,
    pub health_label: String,
    pub last_error: Option<String>,
    pub next_sync: Option<String>,
}

#[derive(Template)]
#[template(path = "console/connectors.html")]
struct ListPage {
    page: Page,
    connectors: Vec<ConnectorLine>,
}

fn health_label(page: &Page, health: &str) -> String {
    page.t(&format!("console-health-{health}"))
}

pub async fn list(State(state): State<AppState>, console: Console) -> Result<Response, ApiError> {
    let Json(connectors) = api::list_connectors(State(state.clone()), console.staff.clone()).await?;
    let page = console.page(&state, "connectors").await?;
    let connectors = connectors
        .into_iter()
        .map(|connector| ConnectorLine {
            href: format!("/console/connectors/{}", connector.id),
            health_label: health_label(&page, connector.health),
            health: connector.health,
            next_sync: connector.next_sync_at.map(|at| page.format.date_time(at)),
            last_error: connector.last_error,
            name: connector.name,
            kind: connector.kind,
        })
        .collect();
    page::ok(&ListPage { page, connectors })
}

/// A kind to add, with what it brings.
pub struct KindChoice {
    pub id: String,
    pub href: String,
    pub about: String,
}

#[derive(Template)]
#[template(path = "console/connector_kinds.html")]
struct KindsPage {
    page: Page,
    kinds: Vec<KindChoice>,
}

pub async fn choose_kind(State(state): State<AppState>, console: Console) -> Result<Response, ApiError> {
    let Json(kinds) = api::list_kinds(State(state.clone()), console.staff.clone()).await?;
    let page = console.page(&state, "connectors").await?;
    let kinds = kinds
        .into_iter()
        .map(|kind| KindChoice {
            href: format!("/console/connectors/new/{}", kind.id),
            about: page.t(&format!("console-kind-{}", kind.id)),
            id: kind.id.to_owned(),
        })
        .collect();
    page::ok(&KindsPage { page, kinds })
}

/// The fields every connector has, beside its kind's settings and credentials.
#[derive(Debug, Clone, Default)]
pub struct CommonFields {
    pub name: String,
    /// Minutes between scheduled incremental syncs; empty: on demand only.
    pub schedule_minutes: String,
    pub request_timeout_secs: String,
    /// The share of a stream a full sync may delete before it holds, in percent.
    pub delete_guard_percent: String,
    pub allow_private_network: bool,
    pub enabled: bool,
}

impl CommonFields {
    fn of(connector: &ConnectorView) -> Self {
        Self {
            name: connector.name.clone(),
            schedule_minutes: connector.schedule_interval_secs.map(|secs| (secs / 60).to_string()).unwrap_or_default(),
            request_timeout_secs: connector.request_timeout_secs.map(|secs| secs.to_string()).unwrap_or_default(),
            delete_guard_percent: format_percent(connector.delete_guard_share),
            allow_private_network: connector.allow_private_network,
            enabled: connector.enabled,
        }
    }

    fn submitted(form: &HashMap<String, String>) -> Self {
        let text = |name: &str| form.get(name).map(|value| value.trim().to_owned()).unwrap_or_default();
        Self {
            name: text("name"),
            schedule_minutes: text("schedule_minutes"),
            request_timeout_secs: text("request_timeout_secs"),
            delete_guard_percent: text("delete_guard_percent"),
            allow_private_network: form.contains_key("allow_private_network"),
            enabled: form.contains_key("enabled"),
        }
    }

    /// The typed values, or what is wrong (by form field).
    fn parse(&self, problems: &mut BTreeMap<String, String>) -> Parsed {
        let mut number = |field: &str, text: &str| -> Option<f64> {
            if text.is_empty() {
                return None;
            }
            match text.replace(',', ".").parse::<f64>() {
                Ok(number) if number.is_finite() => Some(number),
                _ => {
                    problems.insert(field.to_owned(), "must be a number".to_owned());
                    None
                }
            }
        };
        let schedule =
            number("schedule_minutes", &self.schedule_minutes).map(|minutes| (minutes * 60.0).round() as i64);
        let timeout = number("request_timeout_secs", &self.request_timeout_secs).map(|secs| secs.round() as i64);
        let guard = number("delete_guard_percent", &self.delete_guard_percent).map(|percent| percent / 100.0);
        Parsed { schedule_interval_secs: schedule, request_timeout_secs: timeout, delete_guard_share: guard }
    }
}

struct Parsed {
    schedule_interval_secs: Option<i64>,
    request_timeout_secs: Option<i64>,
    delete_guard_share: Option<f64>,
}

fn format_percent(share: f64) -> String {
    let percent = share * 100.0;
    if percent.fract() == 0.0 { format!("{percent:.0}") } else { format!("{percent}") }
}

/// The API names these fields by their stored form; the page by what a person types.
fn form_field_of(api_field: &str) -> &str {
    match api_field {
        "schedule_interval_secs" => "schedule_minutes",
        "delete_guard_share" => "delete_guard_percent",
        other => other,
    }
}

#[derive(Template)]
#[template(path = "console/connector_form.html")]
struct FormPage {
    page: Page,
    kind: String,
    /// Where the form posts.
    action: String,
    /// An existing connector's page (editing), or none (adding).
    editing: Option<String>,
    has_credentials: bool,
    common: CommonFields,
    settings: SchemaForm,
    credentials: SchemaForm,
    problem: FormProblem,
}

impl FormPage {
    /// A common field's error.
    fn error(&self, field: &str) -> Option<&String> {
        self.problem.field(field)
    }

    fn heading(&self) -> String {
        let key = if self.editing.is_some() { "console-edit-title" } else { "console-new-title" };
        self.page.t_with(key, "kind", &self.kind)
    }

    /// Every error on the form, as (element id, words) for the summary's links.
    fn error_links(&self) -> Vec<(String, String)> {
        let common = self.problem.fields.iter().map(|(field, message)| (field.clone(), message.clone()));
        let generated = self
            .settings
            .fields()
            .chain(self.credentials.fields())
            .filter_map(|field| Some((field.id.clone(), format!("{}: {}", field.label, field.error.as_ref()?))));
        common.chain(generated).collect()
    }
}

impl ShowPage {
    fn status_class(&self, status: &str) -> &'static str {
        status_class(status)
    }
}

/// A run's status as a label's colour (with its words beside it, never alone).
pub fn status_class(status: &str) -> &'static str {
    match status {
        "succeeded" => "success",
        "failed" => "danger",
        "held" | "waiting" => "warning",
        "queued" | "running" => "info",
        _ => "neutral",
    }
}

fn schemas(state: &AppState, kind: &str) -> Result<(Value, Value), ApiError> {
    let kind = state.connectors.kind(kind).map_err(|_| ApiError::from_code(ErrorCode::NotFound))?;
    Ok((kind.settings_schema(), kind.credentials_schema()))
}

pub async fn new_form(
    State(state): State<AppState>,
    console: Console,
    Path(kind): Path<String>,
) -> Result<Response, ApiError> {
    console.staff.require(StaffPermission::ConnectorsManage, &state).await?;
    let (settings_schema, credentials_schema) = schemas(&state, &kind)?;
    let page = console.page(&state, "connectors").await?;
    page::ok(&FormPage {
        page,
        action: "/console/connectors".into(),
        editing: None,
        has_credentials: false,
        common: CommonFields { delete_guard_percent: "20".into(), enabled: true, ..Default::default() },
        settings: SchemaForm::build(&settings_schema, "settings", None, false),
        credentials: SchemaForm::build(&credentials_schema, "credentials", None, true),
        problem: FormProblem::default(),
        kind,
    })
}

/// A submitted connector form, decoded.
struct Submitted {
    common: CommonFields,
    parsed: Parsed,
    settings: Option<Value>,
    credentials: Option<Value>,
    form: HashMap<String, String>,
    problems: BTreeMap<String, String>,
}

fn decode_form(pairs: Vec<(String, String)>, settings_schema: &Value, credentials_schema: &Value) -> Submitted {
    let form: HashMap<String, String> = pairs.into_iter().collect();
    let common = CommonFields::submitted(&form);
    let mut problems = BTreeMap::new();
    let parsed = common.parse(&mut problems);
    let mut decode = |schema: &Value, root: &str, secret: bool| match schema_form::decode(schema, root, &form, secret) {
        Ok(value) => value,
        Err(found) => {
            problems.extend(found);
            None
        }
    };
    let settings = decode(settings_schema, "settings", false);
    let credentials = decode(credentials_schema, "credentials", true);
    Submitted { common, parsed, settings, credentials, form, problems }
}

/// The form again, as typed, with what is wrong at each field.
async fn refused(
    state: &AppState,
    console: &Console,
    kind: String,
    editing: Option<(Uuid, bool)>,
    submitted: Submitted,
    summary: Option<String>,
) -> Result<Response, ApiError> {
    let (settings_schema, credentials_schema) = schemas(state, &kind)?;
    let page = console.page(state, "connectors").await?;
    let mut settings = SchemaForm::build(&settings_schema, "settings", None, false);
    settings.refill(&submitted.form);
    let mut credentials = SchemaForm::build(&credentials_schema, "credentials", None, true);
    let mut common_errors = BTreeMap::new();
    let mut left = Vec::new();
    let settings_errors: BTreeMap<String, String> = submitted
        .problems
        .iter()
        .filter(|(field, _)| field.starts_with("settings"))
        .map(|(field, message)| (field.clone(), message.clone()))
        .collect();
    left.extend(settings.show_errors(&settings_errors, &submitted.form));
    let credential_errors: BTreeMap<String, String> = submitted
        .problems
        .iter()
        .filter(|(field, _)| field.starts_with("credentials."))
        .map(|(field, message)| (field.clone(), message.clone()))
        .collect();
    left.extend(credentials.show_errors(&credential_errors, &submitted.form));
    for (field, message) in &submitted.problems {
        if !field.starts_with("settings") && !field.starts_with("credentials.") {
            common_errors.insert(form_field_of(field).to_owned(), message.clone());
        }
    }
    let mut summary_lines: Vec<String> = summary.into_iter().collect();
    summary_lines.extend(left);
    let problem = FormProblem {
        summary: Some(if summary_lines.is_empty() { page.t("console-form-problem") } else { summary_lines.join(" ") }),
        fields: common_errors,
    };
    let (action, editing_href, has_credentials) = match editing {
        Some((id, has_credentials)) => {
            (format!("/console/connectors/{id}"), Some(format!("/console/connectors/{id}")), has_credentials)
        }
        None => ("/console/connectors".into(), None, false),
    };
    page::render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &FormPage {
            page,
            kind,
            action,
            editing: editing_href,
            has_credentials,
            common: submitted.common,
            settings,
            credentials,
            problem,
        },
    )
}

/// The API's refusal as problems by field (the summary for the rest).
fn api_problems(error: ApiError, submitted: &mut Submitted) -> Result<Option<String>, ApiError> {
    let problem = FormProblem::from_error(error)?;
    submitted.problems.extend(problem.fields);
    Ok(problem.summary)
}

pub async fn create(
    State(state): State<AppState>,
    console: Console,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    console.staff.require(StaffPermission::ConnectorsManage, &state).await?;
    let kind = pairs.iter().find(|(name, _)| name == "kind").map(|(_, kind)| kind.clone()).unwrap_or_default();
    let (settings_schema, credentials_schema) = schemas(&state, &kind)?;
    let mut submitted = decode_form(pairs, &settings_schema, &credentials_schema);
    if !submitted.problems.is_empty() {
        return refused(&state, &console, kind, None, submitted, None).await;
    }
    let request = NewConnector {
        kind: kind.clone(),
        name: submitted.common.name.clone(),
        settings: submitted.settings.clone().unwrap_or_else(|| Value::Object(Default::default())),
        credentials: submitted.credentials.clone(),
        allow_private_network: submitted.common.allow_private_network,
        rate_limit_per_sec: None,
        rate_budget_key: None,
        schedule_interval_secs: submitted.parsed.schedule_interval_secs,
        delete_guard_share: submitted.parsed.delete_guard_share,
        request_timeout_secs: submitted.parsed.request_timeout_secs,
        enabled: Some(true),
    };
    match api::add_connector(&state, &console.staff, request).await {
        Ok(created) => Ok(Redirect::to(&format!("/console/connectors/{}?saved=created", created.id)).into_response()),
        Err(error) => {
            let summary = api_problems(error, &mut submitted)?;
            refused(&state, &console, kind, None, submitted, summary).await
        }
    }
}

/// A run in a list.
pub struct RunLine {
    pub href: String,
    pub stream: String,
    pub mode: String,
    pub status: String,
    pub status_label: String,
    pub figures: String,
    pub when: String,
    pub error: Option<String>,
}

pub fn is_active(status: &str) -> bool {
    matches!(status, "queued" | "running" | "waiting")
}

pub fn run_status_label(page: &Page, status: &str) -> String {
    page.t(&format!("console-run-{status}"))
}

/// "12 pages · 1,200 added · 3 updated …" in the reader's words.
pub fn run_figures(page: &Page, run: &SyncRunRow) -> String {
    let pages = message(page.lang, "console-figure-pages", &[("count", FluentValue::from(run.pages))]);
    let mut parts = vec![pages];
    for (count, key) in [
        (run.added, "console-figure-added"),
        (run.updated, "console-figure-updated"),
        (run.unchanged, "console-figure-unchanged"),
        (run.deleted, "console-figure-deleted"),
        (run.failed, "console-figure-failed"),
    ] {
        parts.push(format!("{count} {}", page.t(key)));
    }
    parts.join(" · ")
}

pub fn run_line(page: &Page, connector_id: Uuid, run: &SyncRunRow) -> RunLine {
    let when = run.finished_at.or(run.started_at).unwrap_or(run.queued_at);
    RunLine {
        href: format!("/console/connectors/{connector_id}/runs/{}", run.id),
        stream: run.stream.clone(),
        mode: page.t(&format!("console-mode-{}", run.mode)),
        status: run.status.clone(),
        status_label: run_status_label(page, &run.status),
        figures: run_figures(page, run),
        when: page.format.relative(when, page.now),
        error: run.error.clone(),
    }
}

pub struct StreamLine {
    pub name: String,
    pub record_types: String,
    pub incremental: bool,
    pub last_success: Option<String>,
}

#[derive(Template)]
#[template(path = "console/connector.html")]
struct ShowPage {
    page: Page,
    connector: ConnectorView,
    health_label: String,
    degraded_since: Option<String>,
    streams: Vec<StreamLine>,
    runs: Vec<RunLine>,
    /// Some run is still under way: the runs refresh themselves.
    live: bool,
    href: String,
    saved: String,
    test: Option<TestOutcome>,
    parked: i64,
    problem: FormProblem,
    /// The connector's kind takes webhooks: its endpoints, and a form to add one.
    takes_webhooks: bool,
    endpoints: Vec<EndpointLine>,
    endpoint_name: String,
    endpoint_scheme: String,
    /// The `hmac` scheme's settings, shown when that scheme is chosen.
    hmac: HmacFields,
    schemes: Vec<&'static str>,
}

/// A webhook endpoint in the connector's list.
pub struct EndpointLine {
    pub href: String,
    pub name: String,
    pub scheme: String,
    pub enabled: bool,
}

/// A connection test's answer, in words.
pub struct TestOutcome {
    pub ok: bool,
    pub words: String,
}

fn test_outcome(page: &Page, test: ConnectionTest) -> TestOutcome {
    if test.ok {
        return TestOutcome { ok: true, words: page.t("console-test-ok") };
    }
    let class = match test.error_class {
        Some(ErrorClass::Unauthorized) => "unauthorized",
        Some(ErrorClass::RateLimited) => "rate-limited",
        Some(ErrorClass::Retryable) => "unreachable",
        Some(ErrorClass::Permanent) | None => "refused",
    };
    let words = page.t(&format!("console-test-{class}"));
    let words = match test.error {
        Some(detail) => format!("{words} ({detail})"),
        None => words,
    };
    TestOutcome { ok: false, words }
}

#[derive(Debug, Default, Deserialize)]
pub struct Saved {
    #[serde(default)]
    saved: String,
}

async fn show_page(
    state: &AppState,
    console: &Console,
    connector_id: Uuid,
    saved: String,
    test: Option<ConnectionTest>,
    problem: FormProblem,
) -> Result<ShowPage, ApiError> {
    let Json(ConnectorDetail { connector, streams }) =
        api::get_connector(State(state.clone()), console.staff.clone(), Path(connector_id)).await?;
    let Json(runs) = api::list_runs(
        State(state.clone()),
        console.staff.clone(),
        Path(connector_id),
        Query(RunsPage { before: None, limit: Some(20) }),
    )
    .await?;
    let Json(parked) = api::list_parked(State(state.clone()), console.staff.clone(), Path(connector_id)).await?;
    let Json(endpoints) =
        webhooks_api::list_endpoints(State(state.clone()), console.staff.clone(), Path(connector_id)).await?;
    let takes_webhooks = match state.store.connector_instance(connector_id).await? {
        Some(instance) => state.connectors.build(&instance).is_ok_and(|built| built.webhooks().is_some()),
        None => false,
    };
    let page = console.page(state, "connectors").await?;
    let relative = |at: Option<DateTime<Utc>>| at.map(|at| page.format.relative(at, page.now));
    let streams = streams
        .into_iter()
        .map(|stream| StreamLine {
            record_types: stream.record_types.iter().map(|kind| kind.as_str()).collect::<Vec<_>>().join(", "),
            incremental: stream.incremental,
            last_success: relative(stream.last_success_at),
            name: stream.name,
        })
        .collect();
    let live = runs.iter().any(|run| is_active(&run.status));
    let runs = runs.iter().map(|run| run_line(&page, connector_id, run)).collect();
    let endpoints = endpoints
        .into_iter()
        .map(|endpoint| EndpointLine {
            href: format!("/console/webhooks/{}", endpoint.id),
            name: endpoint.name,
            scheme: endpoint.scheme,
            enabled: endpoint.enabled,
        })
        .collect();
    Ok(ShowPage {
        endpoint_scheme: super::webhooks::scheme_for_kind(&connector.kind).to_owned(),
        endpoint_name: String::new(),
        hmac: HmacFields::default(),
        schemes: super::webhooks::SCHEMES.to_vec(),
        takes_webhooks,
        endpoints,
        health_label: health_label(&page, connector.health),
        degraded_since: connector.degraded_since.map(|at| page.format.date_time(at)),
        test: test.map(|test| test_outcome(&page, test)),
        href: format!("/console/connectors/{connector_id}"),
        parked: parked.iter().map(|group| group.records).sum(),
        connector,
        streams,
        runs,
        live,
        saved,
        problem,
        page,
    })
}

pub async fn show(
    State(state): State<AppState>,
    console: Console,
    Path(connector_id): Path<Uuid>,
    Query(saved): Query<Saved>,
) -> Result<Response, ApiError> {
    let page = show_page(&state, &console, connector_id, saved.saved, None, FormProblem::default()).await?;
    page::ok(&page)
}

/// The connector's page again with the endpoint form as typed and why it was refused.
/// The connector's page with the endpoint form refused, showing what was typed (never the secret).
pub async fn refused_endpoint(
    state: &AppState,
    console: &Console,
    connector_id: Uuid,
    typed: (String, String, HmacFields),
    problem: FormProblem,
) -> Result<Response, ApiError> {
    // The fields are named as the form's elements, for the summary's links.
    let mut problem = problem;
    problem.fields = problem
        .fields
        .into_iter()
        .map(|(field, message)| (if field == "connector_id" { field } else { format!("endpoint-{field}") }, message))
        .collect();
    let mut page = show_page(state, console, connector_id, String::new(), None, problem).await?;
    (page.endpoint_name, page.endpoint_scheme, page.hmac) = typed;
    page::render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn edit_form(
    State(state): State<AppState>,
    console: Console,
    Path(connector_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let Json(ConnectorDetail { connector, .. }) =
        api::get_connector(State(state.clone()), console.staff.clone(), Path(connector_id)).await?;
    let (settings_schema, credentials_schema) = schemas(&state, &connector.kind)?;
    let page = console.page(&state, "connectors").await?;
    page::ok(&FormPage {
        page,
        action: format!("/console/connectors/{connector_id}"),
        editing: Some(format!("/console/connectors/{connector_id}")),
        has_credentials: connector.has_credentials,
        common: CommonFields::of(&connector),
        settings: SchemaForm::build(&settings_schema, "settings", Some(&connector.settings), false),
        credentials: SchemaForm::build(&credentials_schema, "credentials", None, true),
        problem: FormProblem::default(),
        kind: connector.kind,
    })
}

pub async fn update(
    State(state): State<AppState>,
    console: Console,
    Path(connector_id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let Json(ConnectorDetail { connector, .. }) =
        api::get_connector(State(state.clone()), console.staff.clone(), Path(connector_id)).await?;
    let (settings_schema, credentials_schema) = schemas(&state, &connector.kind)?;
    let mut submitted = decode_form(pairs, &settings_schema, &credentials_schema);
    let editing = Some((connector_id, connector.has_credentials));
    if !submitted.problems.is_empty() {
        return refused(&state, &console, connector.kind, editing, submitted, None).await;
    }
    let changes = ConnectorChanges {
        name: Some(submitted.common.name.clone()),
        settings: submitted.settings.clone(),
        credentials: submitted.credentials.clone(),
        allow_private_network: Some(submitted.common.allow_private_network),
        schedule_interval_secs: Some(submitted.parsed.schedule_interval_secs),
        delete_guard_share: submitted.parsed.delete_guard_share,
        request_timeout_secs: Some(submitted.parsed.request_timeout_secs),
        enabled: Some(submitted.common.enabled),
        ..Default::default()
    };
    match api::update_connector(State(state.clone()), console.staff.clone(), Path(connector_id), Json(changes)).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/connectors/{connector_id}?saved=updated")).into_response()),
        Err(error) => {
            let summary = api_problems(error, &mut submitted)?;
            refused(&state, &console, connector.kind, editing, submitted, summary).await
        }
    }
}

pub async fn test(
    State(state): State<AppState>,
    console: Console,
    Path(connector_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let tested = api::test_connector(State(state.clone()), console.staff.clone(), Path(connector_id)).await;
    // Stored credentials that no longer open are an answer too, not a failure of the page.
    let (test, problem) = match tested {
        Ok(Json(test)) => (Some(test), FormProblem::default()),
        Err(error) => (None, FormProblem::from_error(error)?),
    };
    let page = show_page(&state, &console, connector_id, String::new(), test, problem).await?;
    page::ok(&page)
}

pub async fn sync(
    State(state): State<AppState>,
    console: Console,
    Path(connector_id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let streams: Vec<String> =
        pairs.iter().filter(|(name, _)| name == "stream").map(|(_, stream)| stream.clone()).collect();
    let mode = match pairs.iter().find(|(name, _)| name == "mode").map(|(_, mode)| mode.as_str()) {
        Some("full") => SyncMode::Full,
        _ => SyncMode::Incremental,
    };
    let request = SyncRequest { streams: Some(streams), mode: Some(mode) };
    match api::sync_connector(State(state.clone()), console.staff.clone(), Path(connector_id), Json(request)).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/connectors/{connector_id}?saved=sync#runs")).into_response()),
        Err(error) => {
            let problem = FormProblem::from_error(error)?;
            let page = show_page(&state, &console, connector_id, String::new(), None, problem).await?;
            page::render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}
