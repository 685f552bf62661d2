//! Webhook endpoints in the console (`connectors.manage`): one made for a
//! connector (the URL to paste at the provider, with the provider's own steps),
//! its signing secrets rotated with an overlap or revoked (a generated one is
//! shown once, on the answer that made it), its deliveries by status with why,
//! one delivery read masked, and replays of one or of a time range.
//!
//! Making, rotating or revoking a secret needs the password proven in the last
//! ten minutes (step-up): the page asks for it when it is older.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use secrecy::SecretString;
use serde::Deserialize;
use uuid::Uuid;

use super::Console;
use super::endpoint_settings::{HmacFields, SettingsShown};
use crate::api::admin::connectors as connectors_api;
use crate::api::admin::webhook_endpoints::{
    self as api, DeliveryDetail, DeliveryQuery, EndpointView, NewEndpoint, ReplayRange, SecretRotation,
};
use crate::api::identity::auth::{Reauthentication, prove_again};
use crate::auth::ClientInfo;
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode};
use crate::store::WebhookDeliveryRow;
use crate::web::errors::safe_next;
use crate::web::page::{self, Page};
use crate::web::records::FormProblem;

/// The schemes an endpoint may verify, each with the provider's steps (README).
pub const SCHEMES: [&str; 6] = ["stripe", "hubspot-v3", "standard-webhooks", "github", "slack", "hmac"];

/// The scheme a connector kind's provider signs with, offered first.
pub fn scheme_for_kind(kind: &str) -> &'static str {
    match kind {
        "stripe" => "stripe",
        "hubspot" => "hubspot-v3",
        _ => "standard-webhooks",
    }
}

const DELIVERY_STATUSES: [&str; 6] = ["verified", "processed", "duplicate", "rejected", "failed", "dead"];

pub struct SecretLine {
    pub id: Uuid,
    pub added: String,
    pub expires: Option<String>,
    pub live: bool,
}

pub struct DeliveryLine {
    pub href: String,
    pub received: String,
    pub status: String,
    pub status_label: String,
    pub why: String,
    pub replayable: bool,
}

#[derive(Template)]
#[template(path = "console/webhook.html")]
struct EndpointPage {
    page: Page,
    endpoint: EndpointView,
    connector_name: String,
    connector_href: String,
    href: String,
    instructions: String,
    secrets: Vec<SecretLine>,
    /// A secret Portico just generated: shown on this answer only.
    generated_secret: Option<String>,
    deliveries: Vec<DeliveryLine>,
    status: String,
    statuses: Vec<(&'static str, String)>,
    older_href: Option<String>,
    /// The password asked again before a secret changes, when the last proof is old.
    step_up: Option<super::StepUp>,
    notice: Option<String>,
    problem: FormProblem,
    /// The settings form: as stored, or as typed when refused.
    settings: SettingsShown,
}

/// A delivery's status as a label's colour (its words beside it).
fn delivery_status_class(status: &str) -> &'static str {
    match status {
        "processed" => "success",
        "verified" => "info",
        "failed" => "warning",
        "rejected" | "dead" => "danger",
        _ => "neutral",
    }
}

impl EndpointPage {
    fn status_class(&self, status: &str) -> &'static str {
        delivery_status_class(status)
    }
}

impl DeliveryPage {
    fn status_class(&self) -> &'static str {
        delivery_status_class(&self.line.status)
    }
}

pub fn delivery_status_label(page: &Page, status: &str) -> String {
    page.t(&format!("console-delivery-{status}"))
}

fn delivery_line(page: &Page, endpoint_id: Uuid, delivery: &WebhookDeliveryRow) -> DeliveryLine {
    let why = match (&delivery.reject_reason, &delivery.last_error) {
        (Some(reason), _) => page.t(&format!("console-reject-{}", reason.replace('_', "-"))),
        (None, Some(error)) => error.clone(),
        (None, None) if delivery.duplicates > 0 => {
            page.t_with("console-delivery-repeated", "count", &delivery.duplicates.to_string())
        }
        _ => String::new(),
    };
    DeliveryLine {
        href: format!("/console/webhooks/{endpoint_id}/deliveries/{}", delivery.id),
        received: page.format.date_time(delivery.received_at),
        status_label: delivery_status_label(page, &delivery.status),
        status: delivery.status.clone(),
        replayable: matches!(delivery.status.as_str(), "processed" | "failed" | "dead"),
        why,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct EndpointQuery {
    #[serde(default)]
    status: String,
    before: Option<String>,
    /// What was just done (`replayed`, `revoked`), with a count where it has one.
    #[serde(default)]
    done: String,
    count: Option<u64>,
}

/// What an endpoint's page shows besides what is stored: a secret just
/// generated, a refused form's problem and what was typed in it.
pub(super) struct Shown {
    pub generated_secret: Option<String>,
    pub problem: FormProblem,
    pub status: StatusCode,
    /// The settings form as typed, when it was refused.
    pub settings: Option<SettingsShown>,
}

impl Default for Shown {
    fn default() -> Self {
        Self { generated_secret: None, problem: FormProblem::default(), status: StatusCode::OK, settings: None }
    }
}

impl Shown {
    pub fn refused(problem: FormProblem) -> Self {
        Shown { problem, status: StatusCode::UNPROCESSABLE_ENTITY, ..Default::default() }
    }
}

pub(super) async fn endpoint_page(
    state: &AppState,
    console: &Console,
    endpoint_id: Uuid,
    query: EndpointQuery,
    shown: Shown,
) -> Result<Response, ApiError> {
    let Json(endpoint) = api::get_endpoint(State(state.clone()), console.staff.clone(), Path(endpoint_id)).await?;
    let status = Some(query.status.clone()).filter(|status| DELIVERY_STATUSES.contains(&status.as_str()));
    let Json(deliveries) = api::list_deliveries(
        State(state.clone()),
        console.staff.clone(),
        Path(endpoint_id),
        Query(DeliveryQuery { status: status.clone(), before: query.before.clone(), limit: Some(50) }),
    )
    .await?;
    let Json(connector) =
        connectors_api::get_connector(State(state.clone()), console.staff.clone(), Path(endpoint.connector_id)).await?;
    let page = console.page(state, "connectors").await?;
    let href = format!("/console/webhooks/{endpoint_id}");
    let older_href = deliveries.next.as_ref().map(|next| {
        let query = serde_urlencoded::to_string([("status", status.as_deref().unwrap_or("")), ("before", next)])
            .unwrap_or_default();
        format!("{href}?{query}")
    });
    let notice = match query.done.as_str() {
        "replayed" => Some(page.t_with("console-replayed", "count", &query.count.unwrap_or_default().to_string())),
        "revoked" => Some(page.t("console-secret-revoked")),
        "created" => Some(page.t("console-endpoint-created")),
        "saved" => Some(page.t("console-endpoint-saved")),
        "confirm-failed" => Some(page.t("console-confirm-failed")),
        _ => None,
    };
    let template = EndpointPage {
        settings: shown.settings.unwrap_or_else(|| SettingsShown::of(&endpoint)),
        instructions: page.t(&format!("console-scheme-help-{}", endpoint.scheme)),
        secrets: endpoint
            .secrets
            .iter()
            .map(|secret| SecretLine {
                id: secret.id,
                added: page.format.date_time(secret.added_at),
                expires: secret.expires_at.map(|at| page.format.date_time(at)),
                live: secret.live,
            })
            .collect(),
        deliveries: deliveries.deliveries.iter().map(|delivery| delivery_line(&page, endpoint_id, delivery)).collect(),
        statuses: DELIVERY_STATUSES.iter().map(|status| (*status, delivery_status_label(&page, status))).collect(),
        status: status.unwrap_or_default(),
        step_up: console.step_up(&page, href.clone(), "console-step-up-hint", 3),
        connector_name: connector.connector.name,
        connector_href: format!("/console/connectors/{}", endpoint.connector_id),
        generated_secret: shown.generated_secret,
        problem: shown.problem,
        older_href,
        notice,
        href,
        endpoint,
        page,
    };
    page::render(shown.status, &template)
}

pub async fn show(
    State(state): State<AppState>,
    console: Console,
    Path(endpoint_id): Path<Uuid>,
    Query(query): Query<EndpointQuery>,
) -> Result<Response, ApiError> {
    endpoint_page(&state, &console, endpoint_id, query, Shown::default()).await
}

#[derive(Debug, Deserialize)]
pub struct NewEndpointForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scheme: String,
    #[serde(default)]
    secret: String,
    #[serde(flatten)]
    hmac: HmacFields,
}

pub async fn create(
    State(state): State<AppState>,
    console: Console,
    Path(connector_id): Path<Uuid>,
    Form(form): Form<NewEndpointForm>,
) -> Result<Response, ApiError> {
    let secret = Some(form.secret.trim().to_owned()).filter(|secret| !secret.is_empty());
    let created = async {
        let request = NewEndpoint {
            name: form.name.clone(),
            scheme: form.scheme.clone(),
            hmac: form.hmac.for_scheme(&form.scheme)?,
            secret: secret.clone(),
            tolerance_secs: None,
            body_limit_bytes: None,
            allowed_sources: None,
            enabled: Some(true),
        };
        // A secret Portico generates is revealed: that needs a recent password.
        if secret.is_none() {
            console.staff.caller.require_recent_sign_in()?;
        }
        api::add_endpoint(&state, &console.staff, connector_id, request).await
    };
    match created.await {
        Ok(endpoint) => {
            let shown = Shown { generated_secret: endpoint.generated_secret, ..Default::default() };
            let query = EndpointQuery { done: "created".into(), ..Default::default() };
            endpoint_page(&state, &console, endpoint.id, query, shown).await
        }
        Err(error) => {
            let problem = FormProblem::from_refusal(error)?;
            let typed = (form.name, form.scheme, form.hmac);
            super::connectors::refused_endpoint(&state, &console, connector_id, typed, problem).await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct RotationForm {
    #[serde(default)]
    secret: String,
    #[serde(default)]
    grace_hours: String,
}

pub async fn rotate(
    State(state): State<AppState>,
    console: Console,
    Path(endpoint_id): Path<Uuid>,
    Form(form): Form<RotationForm>,
) -> Result<Response, ApiError> {
    let grace_secs = match form.grace_hours.trim() {
        "" => None,
        hours => match hours.parse::<f64>() {
            Ok(hours) if hours.is_finite() => Some((hours * 3600.0).round() as i64),
            _ => {
                let problem = FormProblem {
                    summary: Some(console.page(&state, "connectors").await?.t("console-grace-invalid")),
                    fields: [("grace_hours".to_owned(), "must be a number of hours".to_owned())].into(),
                };
                let shown = Shown::refused(problem);
                return endpoint_page(&state, &console, endpoint_id, EndpointQuery::default(), shown).await;
            }
        },
    };
    let secret = Some(form.secret.trim().to_owned()).filter(|secret| !secret.is_empty());
    let rotated = match console.staff.caller.require_recent_sign_in() {
        Ok(()) => {
            let request = SecretRotation { secret, grace_secs };
            api::rotate_secret(State(state.clone()), console.staff.clone(), Path(endpoint_id), Json(request)).await
        }
        Err(error) => Err(error),
    };
    let shown = match rotated {
        Ok(Json(endpoint)) => Shown { generated_secret: endpoint.generated_secret, ..Default::default() },
        Err(error) => Shown::refused(FormProblem::from_refusal(error)?),
    };
    endpoint_page(&state, &console, endpoint_id, EndpointQuery::default(), shown).await
}

pub async fn revoke(
    State(state): State<AppState>,
    console: Console,
    Path((endpoint_id, secret_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let revoked = match console.staff.caller.require_recent_sign_in() {
        Ok(()) => api::revoke_secret(State(state.clone()), console.staff.clone(), Path((endpoint_id, secret_id))).await,
        Err(error) => Err(error),
    };
    match revoked {
        Ok(_) => Ok(Redirect::to(&format!("/console/webhooks/{endpoint_id}?done=revoked")).into_response()),
        Err(error) => {
            let shown = Shown {
                problem: FormProblem::from_refusal(error)?,
                status: StatusCode::CONFLICT,
                ..Default::default()
            };
            endpoint_page(&state, &console, endpoint_id, EndpointQuery::default(), shown).await
        }
    }
}

#[derive(Template)]
#[template(path = "console/delivery.html")]
struct DeliveryPage {
    page: Page,
    endpoint_href: String,
    endpoint_name: String,
    href: String,
    line: DeliveryLine,
    detail: DeliveryDetail,
    headers: String,
    body: String,
    replayed: bool,
    problem: FormProblem,
}

#[derive(Debug, Default, Deserialize)]
pub struct DeliveryQueryForm {
    #[serde(default)]
    done: String,
}

async fn delivery_page(
    state: &AppState,
    console: &Console,
    endpoint_id: Uuid,
    delivery_id: Uuid,
    replayed: bool,
    problem: FormProblem,
) -> Result<DeliveryPage, ApiError> {
    let Json(detail) =
        api::get_delivery(State(state.clone()), console.staff.clone(), Path((endpoint_id, delivery_id))).await?;
    let Json(endpoint) = api::get_endpoint(State(state.clone()), console.staff.clone(), Path(endpoint_id)).await?;
    let page = console.page(state, "connectors").await?;
    Ok(DeliveryPage {
        line: delivery_line(&page, endpoint_id, &detail.delivery),
        endpoint_href: format!("/console/webhooks/{endpoint_id}"),
        endpoint_name: endpoint.name,
        href: format!("/console/webhooks/{endpoint_id}/deliveries/{delivery_id}"),
        headers: serde_json::to_string_pretty(&detail.headers).unwrap_or_default(),
        body: detail
            .body
            .as_ref()
            .map(|body| serde_json::to_string_pretty(body).unwrap_or_default())
            .unwrap_or_default(),
        detail,
        replayed,
        problem,
        page,
    })
}

pub async fn delivery(
    State(state): State<AppState>,
    console: Console,
    Path((endpoint_id, delivery_id)): Path<(Uuid, Uuid)>,
    Query(query): Query<DeliveryQueryForm>,
) -> Result<Response, ApiError> {
    let replayed = query.done == "replayed";
    page::ok(&delivery_page(&state, &console, endpoint_id, delivery_id, replayed, FormProblem::default()).await?)
}

pub async fn replay(
    State(state): State<AppState>,
    console: Console,
    Path((endpoint_id, delivery_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    match api::replay_delivery(State(state.clone()), console.staff.clone(), Path((endpoint_id, delivery_id))).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/webhooks/{endpoint_id}/deliveries/{delivery_id}?done=replayed"))
            .into_response()),
        Err(error) => {
            let problem = FormProblem::from_error(error)?;
            let page = delivery_page(&state, &console, endpoint_id, delivery_id, false, problem).await?;
            page::render(StatusCode::CONFLICT, &page)
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct RangeForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

/// A `datetime-local` value in the reader's time zone.
fn local_time(page: &Page, text: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M").ok()?;
    page.format.time_zone.from_local_datetime(&naive).earliest().map(|at| at.with_timezone(&Utc))
}

pub async fn replay_range(
    State(state): State<AppState>,
    console: Console,
    Path(endpoint_id): Path<Uuid>,
    Form(form): Form<RangeForm>,
) -> Result<Response, ApiError> {
    let page = console.page(&state, "connectors").await?;
    let (from, until) = (local_time(&page, &form.from), local_time(&page, &form.until));
    let outcome = match (from, until) {
        (Some(received_from), Some(received_until)) => {
            let range = ReplayRange { received_from, received_until };
            api::replay_between(&state, &console.staff, endpoint_id, range).await
        }
        _ => Err(ApiError::validation(vec![crate::server::problem::FieldError {
            field: if from.is_none() { "from" } else { "until" }.into(),
            message: page.t("console-range-invalid"),
        }])),
    };
    match outcome {
        Ok(answer) => {
            let count = answer.replayed;
            Ok(Redirect::to(&format!("/console/webhooks/{endpoint_id}?done=replayed&count={count}")).into_response())
        }
        Err(error) => {
            let mut problem = FormProblem::from_error(error)?;
            if let Some(message) = problem.fields.remove("received_until") {
                problem.fields.insert("until".into(), message);
            }
            let shown = Shown::refused(problem);
            endpoint_page(&state, &console, endpoint_id, EndpointQuery::default(), shown).await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

/// The console's step-up: the password (and the second factor's code, when on)
/// proven again, then back to the page that asked.
pub async fn confirm(
    State(state): State<AppState>,
    console: Console,
    client: ClientInfo,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, ApiError> {
    let code = form.code.trim();
    let six_digits = code.len() == 6 && code.chars().all(|c| c.is_ascii_digit());
    let request = Reauthentication {
        password: SecretString::from(form.password),
        totp: six_digits.then(|| code.to_owned()),
        recovery_code: (!code.is_empty() && !six_digits).then(|| SecretString::from(code.to_owned())),
    };
    let back = safe_next(&form.next).filter(|next| next.starts_with("/console/")).unwrap_or("/console");
    match prove_again(&state, &console.staff.caller, &client, request).await {
        Ok(()) => Ok(Redirect::to(&format!("{back}#secrets")).into_response()),
        Err(error) if matches!(error.code(), ErrorCode::Unauthenticated | ErrorCode::ValidationFailed) => {
            let separator = if back.contains('?') { '&' } else { '?' };
            Ok(Redirect::to(&format!("{back}{separator}done=confirm-failed#secrets")).into_response())
        }
        Err(error) => Err(error),
    }
}
