//! Admin API for connectors (staff with `connectors.manage`): instances and their
//! credentials, connection tests, syncs and their runs, held deletions, parked
//! records and account mappings.
//!
//! Credentials go in and never come out: they are sealed under the master key on
//! arrival, and responses only say whether an instance has them.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use portico_connectors::{ErrorClass, StreamInfo, SyncMode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
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
use crate::server::problem::{ApiError, ErrorCode, FieldError};
use crate::store::{
    AccountMappingRow, ConnectorInstanceFields, ConnectorInstanceRow, ParkedGroup, RecordRow, StaffData, StoreError,
    SyncRunRow,
};
use crate::sync::deletions::{self, HeldError};
use crate::sync::host::credential_destinations;
use crate::sync::service::Trigger;
use crate::sync::{HostError, StartedRun, start_sync};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_kinds))
        .routes(routes!(create_connector, list_connectors))
        .routes(routes!(get_connector, update_connector, delete_connector))
        .routes(routes!(test_connector))
        .routes(routes!(sync_connector))
        .routes(routes!(list_runs))
        .routes(routes!(get_run))
        .routes(routes!(cancel_run))
        .routes(routes!(confirm_deletions))
        .routes(routes!(discard_deletions))
        .routes(routes!(list_parked))
        .routes(routes!(list_mappings, map_account))
        .routes(routes!(list_records))
}

type Problem = crate::server::problem::Problem;

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorKindView {
    pub id: &'static str,
    /// JSON Schema of `settings`.
    #[schema(value_type = Object)]
    pub settings_schema: Value,
    /// JSON Schema of `credentials`.
    #[schema(value_type = Object)]
    pub credentials_schema: Value,
    #[schema(value_type = Vec<Object>)]
    pub streams: Vec<StreamInfo>,
}

/// The connector kinds this build ships, with the schemas admin forms are built from.
#[utoipa::path(get, path = "/api/v1/admin/connector-kinds", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    responses((status = 200, description = "Connector kinds", body = Vec<ConnectorKindView>)))]
pub async fn list_kinds(
    State(state): State<AppState>,
    staff: StaffCaller,
) -> Result<Json<Vec<ConnectorKindView>>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    let kinds = state
        .connectors
        .registry()
        .kinds()
        .map(|kind| ConnectorKindView {
            id: kind.id(),
            settings_schema: kind.settings_schema(),
            credentials_schema: kind.credentials_schema(),
            streams: kind.default_streams(),
        })
        .collect();
    Ok(Json(kinds))
}

/// A connector instance as admins see it: never its credentials.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorView {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    #[schema(value_type = Object)]
    pub settings: Value,
    pub has_credentials: bool,
    pub allow_private_network: bool,
    pub rate_limit_per_sec: Option<f64>,
    pub rate_budget_key: Option<String>,
    pub schedule_interval_secs: Option<i64>,
    pub delete_guard_share: f64,
    /// How long one upstream request may take before it is retried (1 to 300
    /// seconds); the configured default (`sync.request_timeout_secs`) when null.
    pub request_timeout_secs: Option<i64>,
    pub enabled: bool,
    /// `active`, `degraded` (failing runs in a row) or `disabled`.
    pub health: &'static str,
    pub consecutive_failures: i64,
    pub degraded_since: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub next_sync_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ConnectorInstanceRow> for ConnectorView {
    fn from(row: ConnectorInstanceRow) -> Self {
        let health = match (row.enabled, row.degraded_since.is_some()) {
            (false, _) => "disabled",
            (true, true) => "degraded",
            (true, false) => "active",
        };
        Self {
            id: row.id,
            kind: row.kind,
            name: row.name,
            settings: row.settings.0,
            has_credentials: row.credentials_sealed.is_some(),
            allow_private_network: row.allow_private_network,
            rate_limit_per_sec: row.rate_limit_per_sec,
            rate_budget_key: row.rate_budget_key,
            schedule_interval_secs: row.schedule_interval_secs,
            delete_guard_share: row.delete_guard_share,
            request_timeout_secs: row.request_timeout_secs,
            enabled: row.enabled,
            health,
            consecutive_failures: row.consecutive_failures,
            degraded_since: row.degraded_since,
            last_error: row.last_error,
            next_sync_at: row.next_sync_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StreamView {
    pub name: String,
    #[schema(value_type = Vec<String>)]
    pub record_types: Vec<portico_connectors::RecordType>,
    pub incremental: bool,
    /// When the stream last synced successfully: the freshness of its records.
    pub last_success_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorDetail {
    #[serde(flatten)]
    pub connector: ConnectorView,
    pub streams: Vec<StreamView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnector {
    /// A connector kind id (`GET /api/v1/admin/connector-kinds`).
    pub kind: String,
    /// Unique, 1 to 100 characters.
    pub name: String,
    /// Valid against the kind's settings schema.
    #[schema(value_type = Object)]
    pub settings: Value,
    /// Valid against the kind's credentials schema; stored encrypted, never returned.
    #[schema(value_type = Object)]
    #[serde(default)]
    pub credentials: Option<Value>,
    /// Let outbound calls reach loopback and private addresses (on-premises upstreams).
    #[serde(default)]
    pub allow_private_network: bool,
    pub rate_limit_per_sec: Option<f64>,
    pub rate_budget_key: Option<String>,
    /// Incremental sync every this many seconds (60 to 604800); none when unset.
    pub schedule_interval_secs: Option<i64>,
    /// Share of a stream (0 to 1) a full sync may delete before it is held (default 0.2).
    pub delete_guard_share: Option<f64>,
    /// How long one upstream request may take before it is retried (1 to 300
    /// seconds); the configured default (`sync.request_timeout_secs`) when unset.
    pub request_timeout_secs: Option<i64>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorChanges {
    pub name: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
    /// Replaces the stored credentials.
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<Value>,
    pub allow_private_network: Option<bool>,
    #[serde(default, deserialize_with = "crate::server::json::present_or_null")]
    #[schema(value_type = Option<f64>)]
    pub rate_limit_per_sec: Option<Option<f64>>,
    #[serde(default, deserialize_with = "crate::server::json::present_or_null")]
    #[schema(value_type = Option<String>)]
    pub rate_budget_key: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::server::json::present_or_null")]
    #[schema(value_type = Option<i64>)]
    pub schedule_interval_secs: Option<Option<i64>>,
    pub delete_guard_share: Option<f64>,
    #[serde(default, deserialize_with = "crate::server::json::present_or_null")]
    #[schema(value_type = Option<i64>)]
    pub request_timeout_secs: Option<Option<i64>>,
    pub enabled: Option<bool>,
}

fn validate_fields(fields: &ConnectorInstanceFields) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut invalid =
        |field: &str, message: &str| errors.push(FieldError { field: field.into(), message: message.into() });
    if fields.name.trim().is_empty() || fields.name.chars().count() > 100 {
        invalid("name", "must be 1 to 100 characters");
    }
    if !fields.settings.is_object() {
        invalid("settings", "must be an object");
    }
    if fields.rate_limit_per_sec.is_some_and(|rate| !(rate.is_finite() && rate > 0.0)) {
        invalid("rate_limit_per_sec", "must be a positive number");
    }
    if fields.rate_budget_key.as_ref().is_some_and(|key| key.is_empty() || key.len() > 100) {
        invalid("rate_budget_key", "must be 1 to 100 characters");
    }
    if fields.schedule_interval_secs.is_some_and(|secs| !(60..=604_800).contains(&secs)) {
        invalid("schedule_interval_secs", "must be between 60 and 604800 seconds");
    }
    if fields.request_timeout_secs.is_some_and(|secs| !(1..=300).contains(&secs)) {
        invalid("request_timeout_secs", "must be between 1 and 300 seconds");
    }
    if !(fields.delete_guard_share > 0.0 && fields.delete_guard_share <= 1.0) {
        invalid("delete_guard_share", "must be more than 0 and at most 1");
    }
    errors
}

fn host_error(error: HostError) -> ApiError {
    match error {
        HostError::UnknownKind(kind) => ApiError::validation(vec![FieldError {
            field: "kind".into(),
            message: format!("no connector kind named {kind}"),
        }]),
        HostError::Settings(error) => {
            ApiError::validation(vec![FieldError { field: error.path, message: error.reason }])
        }
        // Sealed for another instance or under another master key: nothing a
        // retry fixes, and nothing to hide from the admin who must re-enter them.
        HostError::Credentials => ApiError::new(
            ErrorCode::Conflict,
            "The stored credentials do not open for this connector; enter them again.",
        ),
    }
}

async fn find(state: &AppState, id: Uuid) -> Result<ConnectorInstanceRow, ApiError> {
    Ok(state.store.connector_instance(id).await?.ok_or(StoreError::NotFound)?)
}

/// Creates a connector instance; its settings and credentials are checked against
/// the kind's schemas (nothing is called upstream: use the test endpoint).
#[utoipa::path(post, path = "/api/v1/admin/connectors", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    request_body = NewConnector,
    responses(
        (status = 201, description = "Created", body = ConnectorView),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid settings or credentials (the field path says which)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_connector(
    State(state): State<AppState>,
    staff: StaffCaller,
    Json(request): Json<NewConnector>,
) -> Result<Response, ApiError> {
    let created = add_connector(&state, &staff, request).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Adds a connector instance for `staff` (the API's and the console's one way in).
pub async fn add_connector(
    state: &AppState,
    staff: &StaffCaller,
    request: NewConnector,
) -> Result<ConnectorView, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, state).await?;
    let fields = ConnectorInstanceFields {
        name: request.name.trim().to_owned(),
        settings: request.settings,
        allow_private_network: request.allow_private_network,
        rate_limit_per_sec: request.rate_limit_per_sec,
        rate_budget_key: request.rate_budget_key,
        schedule_interval_secs: request.schedule_interval_secs,
        delete_guard_share: request.delete_guard_share.unwrap_or(0.2),
        request_timeout_secs: request.request_timeout_secs,
        enabled: request.enabled.unwrap_or(true),
    };
    let errors = validate_fields(&fields);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let credentials = request.credentials.unwrap_or_else(|| Value::Object(Default::default()));
    state
        .connectors
        .validate(&request.kind, &fields.settings, &credentials, fields.allow_private_network)
        .map_err(host_error)?;
    let id = crate::store::new_id();
    let sealed = state.connectors.seal_credentials(id, &credentials);
    state.store.create_connector_instance(id, &request.kind, &fields, &sealed, Utc::now()).await?;
    let event = staff.caller.audit_event("connector.created").target("connector", id).details(serde_json::json!({
        "kind": request.kind, "name": fields.name,
    }));
    audit::record(&state.store, event).await?;
    Ok(find(state, id).await?.into())
}

/// Every connector instance.
#[utoipa::path(get, path = "/api/v1/admin/connectors", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    responses((status = 200, description = "Connectors by name", body = Vec<ConnectorView>)))]
pub async fn list_connectors(
    State(state): State<AppState>,
    staff: StaffCaller,
) -> Result<Json<Vec<ConnectorView>>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    Ok(Json(state.store.connector_instances().await?.into_iter().map(ConnectorView::from).collect()))
}

/// One connector instance, with its streams and their freshness.
#[utoipa::path(get, path = "/api/v1/admin/connectors/{connector_id}", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    params(("connector_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The connector", body = ConnectorDetail),
        (status = 404, description = "No such connector", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_connector(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(connector_id): Path<Uuid>,
) -> Result<Json<ConnectorDetail>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    let instance = find(&state, connector_id).await?;
    let checkpoints = state.store.sync_checkpoints(connector_id).await?;
    let streams = match state.connectors.build(&instance) {
        Ok(connector) => connector.streams(),
        Err(_) => state.connectors.kind(&instance.kind).map(|kind| kind.default_streams()).unwrap_or_default(),
    };
    let streams = streams
        .into_iter()
        .map(|stream| StreamView {
            last_success_at: checkpoints
                .iter()
                .find(|row| row.stream == stream.name)
                .and_then(|row| row.last_success_at),
            name: stream.name,
            record_types: stream.record_types,
            incremental: stream.incremental,
        })
        .collect();
    Ok(Json(ConnectorDetail { connector: instance.into(), streams }))
}

/// Changes a connector instance; settings and credentials are re-validated
/// together. A change that sends the credentials somewhere new (another host in
/// the settings, private networks allowed) needs them entered again.
#[utoipa::path(patch, path = "/api/v1/admin/connectors/{connector_id}", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    params(("connector_id" = Uuid, Path)), request_body = ConnectorChanges,
    responses(
        (status = 200, description = "The updated connector", body = ConnectorView),
        (status = 404, description = "No such connector", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid settings or credentials, or a new destination without the credentials entered again", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_connector(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(connector_id): Path<Uuid>,
    Json(changes): Json<ConnectorChanges>,
) -> Result<Json<ConnectorView>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    let instance = find(&state, connector_id).await?;
    let fields = ConnectorInstanceFields {
        name: changes.name.map(|name| name.trim().to_owned()).unwrap_or_else(|| instance.name.clone()),
        settings: changes.settings.unwrap_or_else(|| instance.settings.0.clone()),
        allow_private_network: changes.allow_private_network.unwrap_or(instance.allow_private_network),
        rate_limit_per_sec: changes.rate_limit_per_sec.unwrap_or(instance.rate_limit_per_sec),
        rate_budget_key: changes.rate_budget_key.unwrap_or_else(|| instance.rate_budget_key.clone()),
        schedule_interval_secs: changes.schedule_interval_secs.unwrap_or(instance.schedule_interval_secs),
        delete_guard_share: changes.delete_guard_share.unwrap_or(instance.delete_guard_share),
        request_timeout_secs: changes.request_timeout_secs.unwrap_or(instance.request_timeout_secs),
        enabled: changes.enabled.unwrap_or(instance.enabled),
    };
    let errors = validate_fields(&fields);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let credentials = match &changes.credentials {
        Some(credentials) => credentials.clone(),
        None => {
            let stored = state.connectors.credentials_of(&instance).map_err(host_error)?;
            // Stored credentials follow the instance only where they already went.
            let moved = credential_destinations(&fields.settings) != credential_destinations(&instance.settings.0);
            let opened_up = fields.allow_private_network && !instance.allow_private_network;
            let holds_secrets = stored.as_object().is_some_and(|secrets| !secrets.is_empty());
            if (moved || opened_up) && holds_secrets {
                return Err(ApiError::validation(vec![FieldError {
                    field: "credentials".into(),
                    message: "enter the credentials again: this change sends them somewhere new".into(),
                }]));
            }
            stored
        }
    };
    state
        .connectors
        .validate(&instance.kind, &fields.settings, &credentials, fields.allow_private_network)
        .map_err(host_error)?;
    // Always re-sealed: credentials from before they were bound to the instance
    // get bound now.
    let sealed = instance.credentials_sealed.is_some() || changes.credentials.is_some();
    let sealed = sealed.then(|| state.connectors.seal_credentials(connector_id, &credentials));
    if !state.store.update_connector_instance(connector_id, &fields, sealed.as_deref(), Utc::now()).await? {
        return Err(StoreError::NotFound.into());
    }
    let event =
        staff.caller.audit_event("connector.updated").target("connector", connector_id).details(serde_json::json!({
            "credentials_replaced": changes.credentials.is_some(),
        }));
    audit::record(&state.store, event).await?;
    Ok(Json(find(&state, connector_id).await?.into()))
}

/// Deletes a connector instance and every record, run and mapping it brought.
#[utoipa::path(delete, path = "/api/v1/admin/connectors/{connector_id}", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    params(("connector_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such connector", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_connector(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(connector_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    if !state.store.delete_connector_instance(connector_id).await? {
        return Err(StoreError::NotFound.into());
    }
    audit::record(&state.store, staff.caller.audit_event("connector.deleted").target("connector", connector_id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionTest {
    pub ok: bool,
    /// `retryable`, `rate_limited`, `unauthorized` or `permanent`, when it failed.
    #[schema(value_type = Option<String>)]
    pub error_class: Option<ErrorClass>,
    pub error: Option<String>,
}

/// Tests the connection: one cheap upstream call with the stored settings and credentials.
#[utoipa::path(post, path = "/api/v1/admin/connectors/{connector_id}/test", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    params(("connector_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The result, good or bad", body = ConnectionTest),
        (status = 404, description = "No such connector", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn test_connector(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(connector_id): Path<Uuid>,
) -> Result<Json<ConnectionTest>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    let instance = find(&state, connector_id).await?;
    let connector = state.connectors.build(&instance).map_err(host_error)?;
    Ok(Json(match connector.check().await {
        Ok(()) => ConnectionTest { ok: true, error_class: None, error: None },
        Err(error) => ConnectionTest { ok: false, error_class: Some(error.class), error: Some(error.message) },
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// Streams to sync; all when absent.
    pub streams: Option<Vec<String>>,
    /// `incremental` (default) or `full` (also detects deletions).
    #[schema(value_type = Option<String>)]
    pub mode: Option<SyncMode>,
}

/// Starts a sync of some or all streams; a stream already syncing keeps its run.
#[utoipa::path(post, path = "/api/v1/admin/connectors/{connector_id}/sync", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    params(("connector_id" = Uuid, Path)), request_body = SyncRequest,
    responses(
        (status = 202, description = "Runs queued (or already active)", body = Vec<StartedRun>),
        (status = 404, description = "No such connector", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The connector is disabled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown stream", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sync_connector(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(connector_id): Path<Uuid>,
    Json(request): Json<SyncRequest>,
) -> Result<Response, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    let instance = find(&state, connector_id).await?;
    if !instance.enabled {
        return Err(ApiError::new(ErrorCode::Conflict, "This connector is disabled; enable it to sync."));
    }
    let available: Vec<String> = state
        .connectors
        .build(&instance)
        .map_err(host_error)?
        .streams()
        .into_iter()
        .map(|stream| stream.name)
        .collect();
    let streams = match request.streams {
        None => available,
        Some(streams) => {
            let unknown: Vec<FieldError> = streams
                .iter()
                .enumerate()
                .filter(|(_, stream)| !available.contains(stream))
                .map(|(index, stream)| FieldError {
                    field: format!("streams[{index}]"),
                    message: format!("no stream named {stream}; this connector has {}", available.join(", ")),
                })
                .collect();
            if !unknown.is_empty() || streams.is_empty() {
                return Err(ApiError::validation(if unknown.is_empty() {
                    vec![FieldError { field: "streams".into(), message: "must name at least one stream".into() }]
                } else {
                    unknown
                }));
            }
            streams
        }
    };
    let mode = request.mode.unwrap_or(SyncMode::Incremental);
    let started =
        start_sync(&state.store, &state.queue, &state.settings.jobs, &instance, &streams, mode, Trigger::Manual)
            .await
            .map_err(ApiError::internal)?;
    let event = staff
        .caller
        .audit_event("connector.sync_started")
        .target("connector", connector_id)
        .details(serde_json::json!({"streams": streams, "mode": mode.as_str()}));
    audit::record(&state.store, event).await?;
    Ok((StatusCode::ACCEPTED, Json(started)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsPage {
    /// Runs older than this run id (the last id of the previous page).
    pub before: Option<Uuid>,
    /// 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// Sync runs, newest first, with their counts, duration and errors.
#[utoipa::path(get, path = "/api/v1/admin/connectors/{connector_id}/runs", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    params(("connector_id" = Uuid, Path), RunsPage),
    responses((status = 200, description = "Runs, newest first", body = Vec<SyncRunRow>)))]
pub async fn list_runs(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(connector_id): Path<Uuid>,
    Query(page): Query<RunsPage>,
) -> Result<Json<Vec<SyncRunRow>>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    find(&state, connector_id).await?;
    Ok(Json(state.store.sync_runs(connector_id, page.before, page_size(page.limit)?).await?))
}

/// One sync run.
#[utoipa::path(get, path = "/api/v1/admin/connectors/{connector_id}/runs/{run_id}", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    params(("connector_id" = Uuid, Path), ("run_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The run", body = SyncRunRow),
        (status = 404, description = "No such run", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_run(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path((connector_id, run_id)): Path<(Uuid, Uuid)>,
) -> Result<Json<SyncRunRow>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    let run = state.store.sync_run(run_id).await?.filter(|run| run.connector_instance_id == connector_id);
    Ok(Json(run.ok_or(StoreError::NotFound)?))
}

/// Cancels a queued, running or waiting run. A worker running it stops at its next
/// page and writes nothing more; the pages it committed stay. The run then reads
/// `cancelled`, with who cancelled it.
#[utoipa::path(post, path = "/api/v1/admin/connectors/{connector_id}/runs/{run_id}/cancel", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    params(("connector_id" = Uuid, Path), ("run_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The run, cancelled", body = SyncRunRow),
        (status = 404, description = "No such run", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The run has already ended", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel_run(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path((connector_id, run_id)): Path<(Uuid, Uuid)>,
) -> Result<Json<SyncRunRow>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    let reason = "cancelled by an admin";
    let Some(run) = state.store.cancel_sync_run(connector_id, run_id, reason, Utc::now()).await? else {
        let run = state.store.sync_run(run_id).await?.filter(|run| run.connector_instance_id == connector_id);
        return Err(match run {
            None => StoreError::NotFound.into(),
            Some(run) => ApiError::new(ErrorCode::Conflict, format!("This run has already ended ({}).", run.status)),
        });
    };
    let event = staff
        .caller
        .audit_event("connector.run_cancelled")
        .target("sync_run", run_id)
        .details(serde_json::json!({"connector_id": connector_id, "stream": run.stream, "pages": run.pages}));
    audit::record(&state.store, event).await?;
    Ok(Json(run))
}

fn held_error(error: HeldError) -> ApiError {
    match error {
        HeldError::NotFound => ApiError::from_code(ErrorCode::NotFound),
        HeldError::NotHeld | HeldError::Superseded => ApiError::new(ErrorCode::Conflict, error.to_string()),
        HeldError::Store(error) => error.into(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeletionsApplied {
    pub deleted: i64,
}

/// Applies the deletions a full run held back (it would have deleted more than the guard share).
#[utoipa::path(post, path = "/api/v1/admin/connectors/{connector_id}/runs/{run_id}/confirm-deletions", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    params(("connector_id" = Uuid, Path), ("run_id" = Uuid, Path)),
    responses(
        (status = 200, description = "Deletions applied", body = DeletionsApplied),
        (status = 404, description = "No such run", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The run holds no deletions, or a newer full sync superseded it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm_deletions(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path((connector_id, run_id)): Path<(Uuid, Uuid)>,
) -> Result<Json<DeletionsApplied>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    let deleted = deletions::confirm(&state.store, connector_id, run_id).await.map_err(held_error)?;
    let event = staff
        .caller
        .audit_event("connector.deletions_confirmed")
        .target("sync_run", run_id)
        .details(serde_json::json!({"connector_id": connector_id, "deleted": deleted}));
    audit::record(&state.store, event).await?;
    Ok(Json(DeletionsApplied { deleted }))
}

/// Discards the deletions a full run held back: every record stays.
#[utoipa::path(post, path = "/api/v1/admin/connectors/{connector_id}/runs/{run_id}/discard-deletions", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    params(("connector_id" = Uuid, Path), ("run_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Discarded"),
        (status = 404, description = "No such run", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The run holds no deletions", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn discard_deletions(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path((connector_id, run_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    deletions::discard(&state.store, connector_id, run_id).await.map_err(held_error)?;
    let event = staff.caller.audit_event("connector.deletions_discarded").target("sync_run", run_id);
    audit::record(&state.store, event).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Records no customer can see yet, grouped by the upstream key that has no account mapping.
#[utoipa::path(get, path = "/api/v1/admin/connectors/{connector_id}/parked", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    params(("connector_id" = Uuid, Path)),
    responses((status = 200, description = "Parked records by upstream key", body = Vec<ParkedGroup>)))]
pub async fn list_parked(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(connector_id): Path<Uuid>,
) -> Result<Json<Vec<ParkedGroup>>, ApiError> {
    let scope = staff.require(StaffPermission::ConnectorsManage, &state).await?;
    find(&state, connector_id).await?;
    Ok(Json(StaffData::of(&state.store, &scope).parked_records(connector_id).await?))
}

/// The account mappings of a connector: upstream key → customer account.
#[utoipa::path(get, path = "/api/v1/admin/connectors/{connector_id}/mappings", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    params(("connector_id" = Uuid, Path)),
    responses((status = 200, description = "Mappings by key", body = Vec<AccountMappingRow>)))]
pub async fn list_mappings(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(connector_id): Path<Uuid>,
) -> Result<Json<Vec<AccountMappingRow>>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    find(&state, connector_id).await?;
    Ok(Json(state.store.account_mappings(connector_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountMapping {
    /// The upstream's key: a Stripe customer id, a CRM company id, a storage prefix.
    pub account_ref: String,
    pub account_id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MappingApplied {
    /// Records (parked or mapped elsewhere before) now belonging to the account.
    pub records_claimed: u64,
}

/// Maps an upstream key to a customer account; its records (parked ones included) move to that account.
#[utoipa::path(put, path = "/api/v1/admin/connectors/{connector_id}/mappings", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    params(("connector_id" = Uuid, Path)), request_body = AccountMapping,
    responses(
        (status = 200, description = "Mapped", body = MappingApplied),
        (status = 404, description = "No such connector", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty key or unknown account", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn map_account(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(connector_id): Path<Uuid>,
    Json(mapping): Json<AccountMapping>,
) -> Result<Json<MappingApplied>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    find(&state, connector_id).await?;
    let mut errors = Vec::new();
    if mapping.account_ref.is_empty() || mapping.account_ref.len() > 500 {
        errors.push(FieldError { field: "account_ref".into(), message: "must be 1 to 500 characters".into() });
    }
    if state.store.account(mapping.account_id).await?.is_none() {
        errors.push(FieldError { field: "account_id".into(), message: "no such account".into() });
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let claimed =
        state.store.map_account_ref(connector_id, &mapping.account_ref, mapping.account_id, Utc::now()).await?;
    let event = staff
        .caller
        .audit_event("connector.account_mapped")
        .account(mapping.account_id)
        .target("connector", connector_id)
        .details(serde_json::json!({"account_ref": mapping.account_ref, "records_claimed": claimed}));
    audit::record(&state.store, event).await?;
    Ok(Json(MappingApplied { records_claimed: claimed }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordsPage {
    /// Only this record type (`invoice`, `contact`, ...).
    pub record_type: Option<String>,
    pub after: Option<Uuid>,
    pub limit: Option<i64>,
}

/// Everything a connector brought in, parked and deleted records included (staff view).
#[utoipa::path(get, path = "/api/v1/admin/connectors/{connector_id}/records", extensions(("x-permission" = json!("staff: connectors.manage"))), tag = "connectors",
    params(("connector_id" = Uuid, Path), RecordsPage),
    responses((status = 200, description = "Records by id", body = Vec<RecordRow>)))]
pub async fn list_records(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(connector_id): Path<Uuid>,
    Query(page): Query<RecordsPage>,
) -> Result<Json<Vec<RecordRow>>, ApiError> {
    staff.require(StaffPermission::ConnectorsManage, &state).await?;
    find(&state, connector_id).await?;
    if let Some(record_type) = &page.record_type
        && portico_connectors::RecordType::parse(record_type).is_none()
    {
        return Err(ApiError::validation(vec![FieldError {
            field: "record_type".into(),
            message: "not a record type".into(),
        }]));
    }
    let limit = page_size(page.limit)?;
    Ok(Json(state.store.instance_records(connector_id, page.record_type.as_deref(), page.after, limit).await?))
}
