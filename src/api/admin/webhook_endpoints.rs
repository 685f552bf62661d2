//! Admin API for webhook endpoints (staff with `connectors.manage`): endpoints
//! per connector, signing-secret rotation, and the deliveries each received
//! (listed by status, read redacted, replayed through processing).
//!
//! Secrets go in and never come out; a secret Portico generates is shown once,
//! in the answer that created it.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use portico_connectors::webhook::schemes::{GenericHmac, Scheme};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit;
use crate::auth::StaffCaller;
use crate::auth::permissions::StaffPermission;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::pagination::page_size;
use crate::server::problem::{ApiError, ErrorCode, FieldError, Problem};
use crate::store::{
    DeliveryFilter, ReplaySelection, StaffData, StoreError, WebhookDeliveryRow, WebhookEndpointFields,
    WebhookEndpointRow,
};
use crate::webhooks::endpoint::{self, SigningSecret, open_secrets, parse_sources, seal_secrets};
use crate::webhooks::redact;

/// Longest grace period an old secret may be kept valid after a rotation.
const MAX_GRACE_SECS: i64 = 30 * 86_400;
const DEFAULT_GRACE_SECS: i64 = 86_400;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_endpoint, list_endpoints))
        .routes(routes!(get_endpoint, update_endpoint, delete_endpoint))
        .routes(routes!(rotate_secret))
        .routes(routes!(revoke_secret))
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(replay_delivery))
        .routes(routes!(replay_range))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecretView {
    pub id: Uuid,
    pub added_at: DateTime<Utc>,
    /// After this the secret no longer verifies (set when a newer one replaced it).
    pub expires_at: Option<DateTime<Utc>>,
    pub live: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointView {
    pub id: Uuid,
    pub connector_id: Uuid,
    pub name: String,
    /// Where the provider should post: `{public_url}/webhooks/{id}`.
    pub url: String,
    pub scheme: String,
    #[schema(value_type = Option<Object>)]
    pub hmac: Option<Value>,
    pub tolerance_secs: i64,
    pub body_limit_bytes: i64,
    pub allowed_sources: Option<Vec<String>>,
    pub enabled: bool,
    pub secrets: Vec<SecretView>,
    /// A secret Portico generated: shown in this answer only, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_secret: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(state: &AppState, row: WebhookEndpointRow, generated_secret: Option<String>) -> Result<EndpointView, ApiError> {
    let secrets = open_secrets(&state.cipher, row.id, &row.secrets_sealed).map_err(ApiError::internal)?;
    let now = Utc::now();
    Ok(EndpointView {
        url: format!("{}/webhooks/{}", state.settings.public_url.trim_end_matches('/'), row.id),
        id: row.id,
        connector_id: row.connector_instance_id,
        name: row.name,
        scheme: row.scheme,
        hmac: row.scheme_settings.map(|settings| settings.0),
        tolerance_secs: row.tolerance_secs,
        body_limit_bytes: row.body_limit_bytes,
        allowed_sources: row.allowed_sources.map(|sources| sources.0),
        enabled: row.enabled,
        secrets: secrets
            .iter()
            .map(|secret| SecretView {
                id: secret.id,
                added_at: secret.added_at,
                expires_at: secret.expires_at,
                live: secret.is_live(now),
            })
            .collect(),
        generated_secret,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// 1 to 100 characters.
    pub name: String,
    /// `standard-webhooks`, `stripe`, `github`, `hubspot-v3`, `slack` or `hmac`.
    pub scheme: String,
    /// For `hmac`: header, prefix, algorithm (`sha256`/`sha512`), encoding
    /// (`hex`/`base64`), template (with `{body}`, and `{timestamp}`/`{id}`), and the
    /// timestamp and id headers.
    #[schema(value_type = Option<Object>)]
    pub hmac: Option<GenericHmac>,
    /// The provider's signing secret (for v1a: the `whpk_` public key). When
    /// absent, Portico generates one and shows it once.
    pub secret: Option<String>,
    pub tolerance_secs: Option<i64>,
    pub body_limit_bytes: Option<i64>,
    /// CIDR blocks or addresses deliveries may come from; anywhere when absent.
    pub allowed_sources: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointChanges {
    pub name: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub hmac: Option<GenericHmac>,
    pub tolerance_secs: Option<i64>,
    pub body_limit_bytes: Option<i64>,
    /// `null` accepts deliveries from anywhere again.
    #[serde(default, deserialize_with = "crate::server::json::present_or_null")]
    #[schema(value_type = Option<Vec<String>>)]
    pub allowed_sources: Option<Option<Vec<String>>>,
    pub enabled: Option<bool>,
}

fn validate(state: &AppState, fields: &WebhookEndpointFields) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    let mut invalid = |field: &str, message: String| errors.push(FieldError { field: field.into(), message });
    if fields.name.trim().is_empty() || fields.name.chars().count() > 100 {
        invalid("name", "must be 1 to 100 characters".into());
    }
    if let Err(message) = Scheme::configured(&fields.scheme, fields.scheme_settings.as_ref()) {
        invalid(if fields.scheme == "hmac" { "hmac" } else { "scheme" }, message);
    }
    if !(1..=86_400).contains(&fields.tolerance_secs) {
        invalid("tolerance_secs", "must be between 1 and 86400 seconds".into());
    }
    let max = state.settings.webhooks.max_body_limit_bytes as i64;
    if !(1..=max).contains(&fields.body_limit_bytes) {
        invalid("body_limit_bytes", format!("must be between 1 and {max}"));
    }
    if let Some(sources) = &fields.allowed_sources {
        if sources.is_empty() {
            invalid("allowed_sources", "must name at least one source (or be null for anywhere)".into());
        } else if let Err(message) = parse_sources(sources) {
            invalid("allowed_sources", message);
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::validation(errors)) }
}

/// A secret in the scheme's own form: `whsec_` + base64 for Standard Webhooks,
/// 32 random bytes in hex otherwise. v1a keys are made by the sender, never here.
fn generate_secret(scheme: &str) -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    match scheme {
        "standard-webhooks" => format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes)),
        _ => hex::encode(bytes),
    }
}

/// The secret an admin gave (checked), or a generated one, which is also
/// returned to be shown once.
fn given_or_generated(given: Option<String>, scheme: &str) -> Result<(String, Option<String>), ApiError> {
    match given {
        Some(secret) if secret.trim().is_empty() || secret.len() > 1024 => {
            Err(ApiError::validation(vec![FieldError {
                field: "secret".into(),
                message: "must be 1 to 1024 characters".into(),
            }]))
        }
        Some(secret) => Ok((secret, None)),
        None => {
            let secret = generate_secret(scheme);
            Ok((secret.clone(), Some(secret)))
        }
    }
}

/// An endpoint's current settings, to change some and keep the rest.
fn fields_of(row: &WebhookEndpointRow) -> WebhookEndpointFields {
    WebhookEndpointFields {
        name: row.name.clone(),
        scheme: row.scheme.clone(),
        scheme_settings: row.scheme_settings.as_ref().map(|settings| settings.0.clone()),
        tolerance_secs: row.tolerance_secs,
        body_limit_bytes: row.body_limit_bytes,
        allowed_sources: row.allowed_sources.as_ref().map(|sources| sources.0.clone()),
        enabled: row.enabled,
    }
}

async fn find(state: &AppState, id: Uuid) -> Result<WebhookEndpointRow, ApiError> {
    Ok(state.store.webhook_endpoint(id).await?.ok_or(StoreError::NotFound)?)
}

/// Creates a webhook endpoint for a connector whose kind understands webhooks.
#[utoipa::path(post, path = "/api/v1/admin/connectors/{connector_id}/webhook-endpoints", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "webhooks",
    params(("connector_id" = Uuid, Path)), request_body = NewEndpoint,
    responses(
        (status = 201, description = "Created (a generated secret is in this answer only)", body = EndpointView),
        (status = 404, description = "No such connector", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid settings, or the connector takes no webhooks", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_endpoint(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(connector_id): Path<Uuid>,
    Json(request): Json<NewEndpoint>,
) -> Result<Response, ApiError> {
    let created = add_endpoint(&state, &staff, connector_id, request).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Makes a webhook endpoint for `staff` (the API's and the console's one way in);
/// a generated secret is in the answer, once.
pub async fn add_endpoint(
    state: &AppState,
    staff: &StaffCaller,
    connector_id: Uuid,
    request: NewEndpoint,
) -> Result<EndpointView, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, state).await?;
    let instance = state.store.connector_instance(connector_id).await?.ok_or(StoreError::NotFound)?;
    let takes_webhooks = state.connectors.build(&instance).is_ok_and(|connector| connector.webhooks().is_some());
    if !takes_webhooks {
        return Err(ApiError::validation(vec![FieldError {
            field: "connector_id".into(),
            message: format!("{} connectors do not take webhooks", instance.kind),
        }]));
    }
    let fields = WebhookEndpointFields {
        name: request.name.trim().to_owned(),
        scheme: request.scheme.clone(),
        scheme_settings: request.hmac.map(|hmac| serde_json::to_value(hmac).expect("settings serialize")),
        tolerance_secs: request.tolerance_secs.unwrap_or(state.settings.webhooks.default_tolerance_secs as i64),
        body_limit_bytes: request.body_limit_bytes.unwrap_or(state.settings.webhooks.default_body_limit_bytes as i64),
        allowed_sources: request.allowed_sources,
        enabled: request.enabled.unwrap_or(true),
    };
    validate(state, &fields)?;
    let (secret, generated) = given_or_generated(request.secret, &fields.scheme)?;
    let id = endpoint::create_endpoint(&state.store, &state.cipher, connector_id, &fields, secret).await?;
    let event = staff
        .caller
        .audit_event("webhook_endpoint.created")
        .target("webhook_endpoint", id)
        .details(serde_json::json!({"connector_id": connector_id, "scheme": fields.scheme, "name": fields.name}));
    audit::record(&state.store, event).await?;
    view(state, find(state, id).await?, generated)
}

/// A connector's webhook endpoints.
#[utoipa::path(get, path = "/api/v1/admin/connectors/{connector_id}/webhook-endpoints", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "webhooks",
    params(("connector_id" = Uuid, Path)),
    responses((status = 200, description = "Endpoints, oldest first", body = Vec<EndpointView>)))]
pub async fn list_endpoints(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(connector_id): Path<Uuid>,
) -> Result<Json<Vec<EndpointView>>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    state.store.connector_instance(connector_id).await?.ok_or(StoreError::NotFound)?;
    let rows = state.store.webhook_endpoints_of(connector_id).await?;
    Ok(Json(rows.into_iter().map(|row| view(&state, row, None)).collect::<Result<_, _>>()?))
}

#[utoipa::path(get, path = "/api/v1/admin/webhook-endpoints/{endpoint_id}", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "webhooks",
    params(("endpoint_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The endpoint", body = EndpointView),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_endpoint(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(endpoint_id): Path<Uuid>,
) -> Result<Json<EndpointView>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    Ok(Json(view(&state, find(&state, endpoint_id).await?, None)?))
}

/// Changes an endpoint's settings (secrets change through rotation). Other
/// server processes see the change within `webhooks.endpoint_cache_ms`.
#[utoipa::path(patch, path = "/api/v1/admin/webhook-endpoints/{endpoint_id}", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "webhooks",
    params(("endpoint_id" = Uuid, Path)), request_body = EndpointChanges,
    responses(
        (status = 200, description = "The updated endpoint", body = EndpointView),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid settings", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_endpoint(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(endpoint_id): Path<Uuid>,
    Json(changes): Json<EndpointChanges>,
) -> Result<Json<EndpointView>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    let row = find(&state, endpoint_id).await?;
    let current = fields_of(&row);
    let fields = WebhookEndpointFields {
        name: changes.name.map(|name| name.trim().to_owned()).unwrap_or(current.name),
        scheme_settings: match changes.hmac {
            Some(hmac) => Some(serde_json::to_value(hmac).expect("settings serialize")),
            None => current.scheme_settings,
        },
        tolerance_secs: changes.tolerance_secs.unwrap_or(current.tolerance_secs),
        body_limit_bytes: changes.body_limit_bytes.unwrap_or(current.body_limit_bytes),
        allowed_sources: changes.allowed_sources.unwrap_or(current.allowed_sources),
        enabled: changes.enabled.unwrap_or(current.enabled),
        ..current
    };
    validate(&state, &fields)?;
    if !state.store.update_webhook_endpoint(endpoint_id, &fields, None, Utc::now()).await? {
        return Err(StoreError::NotFound.into());
    }
    state.webhooks.endpoints.forget(endpoint_id);
    let event = staff.caller.audit_event("webhook_endpoint.updated").target("webhook_endpoint", endpoint_id);
    audit::record(&state.store, event).await?;
    Ok(Json(view(&state, find(&state, endpoint_id).await?, None)?))
}

/// Deletes an endpoint and every delivery it holds.
#[utoipa::path(delete, path = "/api/v1/admin/webhook-endpoints/{endpoint_id}", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "webhooks",
    params(("endpoint_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_endpoint(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(endpoint_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    if !state.store.delete_webhook_endpoint(endpoint_id).await? {
        return Err(StoreError::NotFound.into());
    }
    state.webhooks.endpoints.forget(endpoint_id);
    let event = staff.caller.audit_event("webhook_endpoint.deleted").target("webhook_endpoint", endpoint_id);
    audit::record(&state.store, event).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRotation {
    /// The new secret; generated (and shown once) when absent.
    pub secret: Option<String>,
    /// How long the secrets in use now stay valid beside the new one
    /// (0 to 2592000 seconds, default 86400).
    pub grace_secs: Option<i64>,
}

/// Adds a signing secret. The secrets in use stay valid for the grace period,
/// so the provider can switch without a delivery being refused.
#[utoipa::path(post, path = "/api/v1/admin/webhook-endpoints/{endpoint_id}/secrets", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "webhooks",
    params(("endpoint_id" = Uuid, Path)), request_body = SecretRotation,
    responses(
        (status = 200, description = "The endpoint with its secrets (a generated one shown once)", body = EndpointView),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid secret or grace period", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(endpoint_id): Path<Uuid>,
    Json(request): Json<SecretRotation>,
) -> Result<Json<EndpointView>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    let grace = request.grace_secs.unwrap_or(DEFAULT_GRACE_SECS);
    if !(0..=MAX_GRACE_SECS).contains(&grace) {
        return Err(ApiError::validation(vec![FieldError {
            field: "grace_secs".into(),
            message: format!("must be between 0 and {MAX_GRACE_SECS}"),
        }]));
    }
    let row = find(&state, endpoint_id).await?;
    let (secret, generated) = given_or_generated(request.secret, &row.scheme)?;
    let now = Utc::now();
    let mut secrets = open_secrets(&state.cipher, endpoint_id, &row.secrets_sealed).map_err(ApiError::internal)?;
    let retire_at = now + Duration::seconds(grace);
    for old in secrets.iter_mut().filter(|old| old.is_live(now)) {
        old.expires_at = Some(old.expires_at.map_or(retire_at, |expires_at| expires_at.min(retire_at)));
    }
    // Long-expired secrets are dropped rather than kept forever.
    secrets.retain(|old| old.expires_at.is_none_or(|expires_at| expires_at > now - Duration::days(30)));
    secrets.push(SigningSecret::new(secret, now));
    update_secrets(&state, &row, &secrets).await?;
    let event = staff
        .caller
        .audit_event("webhook_endpoint.secret_rotated")
        .target("webhook_endpoint", endpoint_id)
        .details(serde_json::json!({"grace_secs": grace}));
    audit::record(&state.store, event).await?;
    Ok(Json(view(&state, find(&state, endpoint_id).await?, generated)?))
}

/// Revokes a signing secret at once (a leaked one). The last live secret cannot be revoked.
#[utoipa::path(delete, path = "/api/v1/admin/webhook-endpoints/{endpoint_id}/secrets/{secret_id}", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "webhooks",
    params(("endpoint_id" = Uuid, Path), ("secret_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The endpoint with its secrets", body = EndpointView),
        (status = 404, description = "No such endpoint or secret", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is the last live secret", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_secret(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path((endpoint_id, secret_id)): Path<(Uuid, Uuid)>,
) -> Result<Json<EndpointView>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    let row = find(&state, endpoint_id).await?;
    let now = Utc::now();
    let mut secrets = open_secrets(&state.cipher, endpoint_id, &row.secrets_sealed).map_err(ApiError::internal)?;
    let before = secrets.len();
    secrets.retain(|secret| secret.id != secret_id);
    if secrets.len() == before {
        return Err(StoreError::NotFound.into());
    }
    if !secrets.iter().any(|secret| secret.is_live(now)) {
        return Err(ApiError::new(ErrorCode::Conflict, "The last live secret cannot be revoked; rotate first."));
    }
    update_secrets(&state, &row, &secrets).await?;
    let event = staff.caller.audit_event("webhook_endpoint.secret_revoked").target("webhook_endpoint", endpoint_id);
    audit::record(&state.store, event).await?;
    Ok(Json(view(&state, find(&state, endpoint_id).await?, None)?))
}

async fn update_secrets(state: &AppState, row: &WebhookEndpointRow, secrets: &[SigningSecret]) -> Result<(), ApiError> {
    let fields = fields_of(row);
    let sealed = seal_secrets(&state.cipher, row.id, secrets);
    if !state.store.update_webhook_endpoint(row.id, &fields, Some(&sealed), Utc::now()).await? {
        return Err(StoreError::NotFound.into());
    }
    state.webhooks.endpoints.forget(row.id);
    Ok(())
}

const DELIVERY_STATUSES: &[&str] = &["verified", "processed", "duplicate", "rejected", "failed", "dead"];

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// `verified`, `processed`, `duplicate` (repeated deliveries), `rejected`, `failed` or `dead`.
    pub status: Option<String>,
    /// The `next` cursor of the previous page.
    pub before: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    pub deliveries: Vec<WebhookDeliveryRow>,
    /// Pass as `before` for older deliveries; absent on the last page.
    pub next: Option<String>,
}

/// Nanoseconds: SQLite keeps them, and a rounded time would skip or repeat rows.
fn cursor_of(row: &WebhookDeliveryRow) -> String {
    format!("{}_{}", row.received_at.timestamp_nanos_opt().unwrap_or(i64::MAX), row.id)
}

fn parse_cursor(cursor: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let (nanos, id) = cursor.split_once('_')?;
    Some((DateTime::from_timestamp_nanos(nanos.parse().ok()?), id.parse().ok()?))
}

/// An endpoint's deliveries, newest first.
#[utoipa::path(get, path = "/api/v1/admin/webhook-endpoints/{endpoint_id}/deliveries", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "webhooks",
    params(("endpoint_id" = Uuid, Path), DeliveryQuery),
    responses(
        (status = 200, description = "Deliveries, newest first", body = DeliveryPage),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown status or cursor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(endpoint_id): Path<Uuid>,
    Query(query): Query<DeliveryQuery>,
) -> Result<Json<DeliveryPage>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    find(&state, endpoint_id).await?;
    if let Some(status) = &query.status
        && !DELIVERY_STATUSES.contains(&status.as_str())
    {
        return Err(ApiError::validation(vec![FieldError {
            field: "status".into(),
            message: format!("must be one of {}", DELIVERY_STATUSES.join(", ")),
        }]));
    }
    let before = match &query.before {
        Some(cursor) => Some(parse_cursor(cursor).ok_or_else(|| {
            ApiError::validation(vec![FieldError {
                field: "before".into(),
                message: "is not a cursor from this list".into(),
            }])
        })?),
        None => None,
    };
    let limit = page_size(query.limit)?;
    let filter = DeliveryFilter { status: query.status, before, limit };
    let deliveries = state.store.list_deliveries(endpoint_id, &filter).await?;
    let next = (deliveries.len() as i64 == limit).then(|| deliveries.last().map(cursor_of)).flatten();
    Ok(Json(DeliveryPage { deliveries, next }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: WebhookDeliveryRow,
    /// Headers as received; signatures and credentials masked.
    #[schema(value_type = Object)]
    pub headers: Value,
    /// The body with personal data masked, when it is JSON.
    #[schema(value_type = Option<Object>)]
    pub body: Option<Value>,
    pub body_bytes: usize,
    pub body_sha256: String,
}

/// One delivery, with secrets and personal data masked.
#[utoipa::path(get, path = "/api/v1/admin/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "webhooks",
    params(("endpoint_id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The delivery, redacted", body = DeliveryDetail),
        (status = 404, description = "No such delivery", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_delivery(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path((endpoint_id, delivery_id)): Path<(Uuid, Uuid)>,
) -> Result<Json<DeliveryDetail>, ApiError> {
    let scope = staff.require(StaffPermission::ConnectorsManage, &state).await?;
    let endpoint = find(&state, endpoint_id).await?;
    let detail =
        StaffData::of(&state.store, &scope).delivery(endpoint_id, delivery_id).await?.ok_or(StoreError::NotFound)?;
    let signature_headers = Scheme::configured(&endpoint.scheme, endpoint.scheme_settings.as_ref().map(|s| &s.0))
        .map(|scheme| scheme.signature_headers())
        .unwrap_or_default();
    Ok(Json(DeliveryDetail {
        delivery: detail.summary,
        headers: redact::redact_headers(&detail.headers.0, &signature_headers),
        body: redact::redact_body(&detail.body),
        body_bytes: detail.body.len(),
        body_sha256: hex::encode(Sha256::digest(&detail.body)),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Replayed {
    /// Deliveries put back through processing.
    pub replayed: u64,
}

/// Runs one delivery through processing again (after a mapping fix, say).
/// Refused deliveries cannot be replayed: they were never verified.
#[utoipa::path(post, path = "/api/v1/admin/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "webhooks",
    params(("endpoint_id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses(
        (status = 202, description = "Queued for processing", body = Replayed),
        (status = 404, description = "No such delivery", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Rejected, or waiting to be processed already", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replay_delivery(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path((endpoint_id, delivery_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let scope = staff.require(StaffPermission::ConnectorsManage, &state).await?;
    StaffData::of(&state.store, &scope).delivery(endpoint_id, delivery_id).await?.ok_or(StoreError::NotFound)?;
    let replayed = state.store.replay_deliveries(endpoint_id, &ReplaySelection::One(delivery_id), Utc::now()).await?;
    if replayed == 0 {
        return Err(ApiError::new(ErrorCode::Conflict, "Only processed, failed or dead deliveries can be replayed."));
    }
    audit_replay(&state, &staff, endpoint_id, serde_json::json!({"delivery_id": delivery_id})).await?;
    state.webhooks.committed.notify_one();
    Ok((StatusCode::ACCEPTED, Json(Replayed { replayed })).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRange {
    /// Deliveries received at or after this time ...
    pub received_from: DateTime<Utc>,
    /// ... and before this one.
    pub received_until: DateTime<Utc>,
}

/// Runs every processed, failed or dead delivery received in a time range through processing again.
#[utoipa::path(post, path = "/api/v1/admin/webhook-endpoints/{endpoint_id}/replay", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "webhooks",
    params(("endpoint_id" = Uuid, Path)), request_body = ReplayRange,
    responses(
        (status = 202, description = "Queued for processing", body = Replayed),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The range is empty", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replay_range(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(endpoint_id): Path<Uuid>,
    Json(range): Json<ReplayRange>,
) -> Result<Response, ApiError> {
    let replayed = replay_between(&state, &staff, endpoint_id, range).await?;
    Ok((StatusCode::ACCEPTED, Json(replayed)).into_response())
}

/// Puts the deliveries received in the range back through processing, audited:
/// the API's and the console's one way.
pub async fn replay_between(
    state: &AppState,
    staff: &StaffCaller,
    endpoint_id: Uuid,
    range: ReplayRange,
) -> Result<Replayed, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, state).await?;
    find(state, endpoint_id).await?;
    if range.received_until <= range.received_from {
        return Err(ApiError::validation(vec![FieldError {
            field: "received_until".into(),
            message: "must be after received_from".into(),
        }]));
    }
    let selection = ReplaySelection::ReceivedBetween(range.received_from, range.received_until);
    let replayed = state.store.replay_deliveries(endpoint_id, &selection, Utc::now()).await?;
    audit_replay(
        state,
        staff,
        endpoint_id,
        serde_json::json!({
            "received_from": range.received_from, "received_until": range.received_until, "replayed": replayed,
        }),
    )
    .await?;
    state.webhooks.committed.notify_one();
    Ok(Replayed { replayed })
}

async fn audit_replay(
    state: &AppState,
    staff: &StaffCaller,
    endpoint_id: Uuid,
    details: Value,
) -> Result<(), ApiError> {
    let event =
        staff.caller.audit_event("webhook_endpoint.replayed").target("webhook_endpoint", endpoint_id).details(details);
    Ok(audit::record(&state.store, event).await?)
}
