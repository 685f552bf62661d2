//! An endpoint's settings in the console (`connectors.manage`): the `hmac`
//! scheme's description of a provider's own signature (header, prefix,
//! algorithm, encoding, what is signed), asked when an endpoint is made and
//! changed later; and on the endpoint's page its name, whether it takes
//! deliveries, the clock tolerance, the body limit and the addresses deliveries
//! may come from. Changes go through the API's `update_endpoint`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use portico_connectors::webhook::schemes::GenericHmac;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::Console;
use super::webhooks::{EndpointQuery, Shown, endpoint_page};
use crate::api::admin::webhook_endpoints::{self as api, EndpointChanges};
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::{ApiError, FieldError};
use crate::web::records::FormProblem;

/// The `hmac` scheme's settings as the forms send them (`hmac.header`, …) and
/// show them again. Only read when the scheme is `hmac`.
#[derive(Debug, Clone, Deserialize)]
pub struct HmacFields {
    #[serde(rename = "hmac.header", default)]
    pub header: String,
    #[serde(rename = "hmac.prefix", default)]
    pub prefix: String,
    #[serde(rename = "hmac.algorithm", default)]
    pub algorithm: String,
    #[serde(rename = "hmac.encoding", default)]
    pub encoding: String,
    #[serde(rename = "hmac.template", default)]
    pub template: String,
    #[serde(rename = "hmac.timestamp_header", default)]
    pub timestamp_header: String,
    #[serde(rename = "hmac.id_header", default)]
    pub id_header: String,
}

impl Default for HmacFields {
    /// What most providers do: a hex HMAC-SHA256 of the body in one header.
    fn default() -> Self {
        HmacFields {
            header: "X-Signature".into(),
            prefix: String::new(),
            algorithm: "sha256".into(),
            encoding: "hex".into(),
            template: "{body}".into(),
            timestamp_header: String::new(),
            id_header: String::new(),
        }
    }
}

impl HmacFields {
    /// The fields as an endpoint stores them, or the defaults.
    pub fn of(stored: Option<&Value>) -> Self {
        let Some(stored) = stored else { return Self::default() };
        let text = |name: &str| stored.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
        HmacFields {
            header: text("header"),
            prefix: text("prefix"),
            algorithm: text("algorithm"),
            encoding: text("encoding"),
            template: text("template"),
            timestamp_header: text("timestamp_header"),
            id_header: text("id_header"),
        }
    }

    /// The settings the API takes, or the refusal at the form's `hmac` fieldset.
    pub fn settings(&self) -> Result<GenericHmac, ApiError> {
        let optional = |text: &str| Some(text.trim().to_owned()).filter(|text| !text.is_empty());
        let settings = json!({
            "header": self.header.trim(),
            "prefix": self.prefix,
            "algorithm": self.algorithm.trim(),
            "encoding": self.encoding.trim(),
            "template": self.template,
            "timestamp_header": optional(&self.timestamp_header),
            "id_header": optional(&self.id_header),
        });
        serde_json::from_value(settings).map_err(|error| {
            ApiError::validation(vec![FieldError { field: "hmac".into(), message: format!("hmac settings: {error}") }])
        })
    }

    /// The settings when `scheme` is `hmac`; other schemes take none.
    pub fn for_scheme(&self, scheme: &str) -> Result<Option<GenericHmac>, ApiError> {
        if scheme == "hmac" { self.settings().map(Some) } else { Ok(None) }
    }
}

/// The settings form of an endpoint's page. No secrets here: they rotate.
#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    name: String,
    /// A checkbox: present when ticked.
    enabled: Option<String>,
    #[serde(default)]
    tolerance_secs: String,
    #[serde(default)]
    body_limit_bytes: String,
    /// One source per line; empty takes deliveries from anywhere.
    #[serde(default)]
    allowed_sources: String,
    #[serde(flatten)]
    hmac: HmacFields,
}

/// What the settings form shows: as stored, or as typed when refused.
#[derive(Debug, Clone)]
pub struct SettingsShown {
    pub name: String,
    pub enabled: bool,
    pub tolerance_secs: String,
    pub body_limit_bytes: String,
    pub allowed_sources: String,
    pub hmac: HmacFields,
}

impl SettingsShown {
    pub fn of(endpoint: &api::EndpointView) -> Self {
        SettingsShown {
            name: endpoint.name.clone(),
            enabled: endpoint.enabled,
            tolerance_secs: endpoint.tolerance_secs.to_string(),
            body_limit_bytes: endpoint.body_limit_bytes.to_string(),
            allowed_sources: endpoint.allowed_sources.as_deref().unwrap_or_default().join("\n"),
            hmac: HmacFields::of(endpoint.hmac.as_ref()),
        }
    }

    fn typed(form: SettingsForm) -> Self {
        SettingsShown {
            name: form.name,
            enabled: form.enabled.is_some(),
            tolerance_secs: form.tolerance_secs,
            body_limit_bytes: form.body_limit_bytes,
            allowed_sources: form.allowed_sources,
            hmac: form.hmac,
        }
    }
}

/// A whole number typed in a field, or the field's refusal.
fn number(field: &str, text: &str) -> Result<i64, ApiError> {
    text.trim().parse().map_err(|_| {
        ApiError::validation(vec![FieldError { field: field.into(), message: "must be a whole number".into() }])
    })
}

fn changes_of(form: &SettingsForm, scheme: &str) -> Result<EndpointChanges, ApiError> {
    let sources: Vec<String> =
        form.allowed_sources.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect();
    Ok(EndpointChanges {
        name: Some(form.name.clone()),
        hmac: form.hmac.for_scheme(scheme)?,
        tolerance_secs: Some(number("tolerance_secs", &form.tolerance_secs)?),
        body_limit_bytes: Some(number("body_limit_bytes", &form.body_limit_bytes)?),
        allowed_sources: Some(Some(sources).filter(|sources| !sources.is_empty())),
        enabled: Some(form.enabled.is_some()),
    })
}

pub async fn update(
    State(state): State<AppState>,
    console: Console,
    Path(endpoint_id): Path<Uuid>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, ApiError> {
    let Json(endpoint) = api::get_endpoint(State(state.clone()), console.staff.clone(), Path(endpoint_id)).await?;
    let updated = match changes_of(&form, &endpoint.scheme) {
        Ok(changes) => {
            api::update_endpoint(State(state.clone()), console.staff.clone(), Path(endpoint_id), Json(changes)).await
        }
        Err(error) => Err(error),
    };
    match updated {
        Ok(_) => Ok(Redirect::to(&format!("/console/webhooks/{endpoint_id}?done=saved#settings")).into_response()),
        Err(error) => {
            let mut problem = FormProblem::from_error(error)?;
            problem.fields =
                problem.fields.into_iter().map(|(field, message)| (format!("endpoint-{field}"), message)).collect();
            let shown = Shown { settings: Some(SettingsShown::typed(form)), ..Shown::refused(problem) };
            endpoint_page(&state, &console, endpoint_id, EndpointQuery::default(), shown).await
        }
    }
}
