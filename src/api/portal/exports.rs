//! Data exports over HTTP: an account's owner (or a staff admin) asks for the
//! account's archive, anyone for their own data; a background job builds it;
//! whoever asked downloads it until it expires. Asking and downloading are audited.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit;
use crate::auth::permissions::Permission;
use crate::auth::{AccountAccess, Caller};
use crate::exports::{EXPORT_TTL, ExportJob, archive_path};
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode};
use crate::store::{ExportRow, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_account))
        .routes(routes!(export_me))
        .routes(routes!(export_status))
        .routes(routes!(download_export))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportStatus {
    #[serde(flatten)]
    pub export: ExportRow,
    /// Where to fetch the archive once `status` is `ready`.
    pub download_url: Option<String>,
}

pub(crate) fn status_of(export: ExportRow) -> ExportStatus {
    let download_url = (export.status == "ready").then(|| format!("/api/v1/exports/{}/download", export.id));
    ExportStatus { export, download_url }
}

/// Queues an export (of the account, or of the caller when `None`) and audits
/// the asking; the API's routes and the export page both ask through this.
pub(crate) async fn start(
    state: &AppState,
    caller: &Caller,
    account_id: Option<Uuid>,
) -> Result<ExportStatus, ApiError> {
    // One archive of an account at a time: each holds every record and document.
    if let Some(account_id) = account_id
        && state.store.has_unfinished_account_export(account_id).await?
    {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "An export of this account is already being built; wait for it to finish.",
        ));
    }
    let now = Utc::now();
    let user_id = account_id.is_none().then_some(caller.user_id);
    let export_id = state.store.create_export(account_id, user_id, caller.user_id, now, now + EXPORT_TTL).await?;
    state.queue.enqueue(ExportJob { export_id }, &state.settings.jobs).await.map_err(ApiError::internal)?;
    let mut event = caller.audit_event("export.requested").target("export", export_id);
    if let Some(account_id) = account_id {
        event = event.account(account_id);
    }
    audit::record(&state.store, event).await?;
    Ok(status_of(state.store.export(export_id).await?.ok_or(StoreError::NotFound)?))
}

/// Asks for an archive of the account's records and documents (owners; staff admins).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/exports",
    extensions(("x-permission" = json!("account.edit_settings (owners, staff admins)"))), tag = "accounts",
    params(("account_id" = Uuid, Path)),
    responses(
        (status = 202, description = "Queued; poll the export until it is ready", body = ExportStatus),
        (status = 403, description = "Not the account's owner", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account (for this caller)", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "An export of the account is already being built", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn export_account(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(_account_id): Path<Uuid>,
) -> Result<(StatusCode, Json<ExportStatus>), ApiError> {
    let scope = access.require(Permission::AccountEditSettings, &state).await?;
    Ok((StatusCode::ACCEPTED, Json(start(&state, &access.caller, Some(scope.account_id())).await?)))
}

/// Asks for an archive of one's own data: profile, memberships, sessions, API
/// tokens. It spans every account the person belongs to, so a credential limited
/// to one account cannot ask for it.
#[utoipa::path(post, path = "/api/v1/me/exports", extensions(("x-permission" = json!("signed in, not scoped to one account"))), tag = "auth",
    responses(
        (status = 202, description = "Queued; poll the export until it is ready", body = ExportStatus),
        (status = 401, description = "Not signed in", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "A credential scoped to one account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn export_me(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<ExportStatus>), ApiError> {
    caller.require_unscoped()?;
    Ok((StatusCode::ACCEPTED, Json(start(&state, &caller, None).await?)))
}

/// An export of the caller's asking that this credential may still reach (404
/// to anyone else): a person's own export needs an unscoped credential, an
/// account's needs the account's export permission now, under the same rules of
/// access as the account's routes (removed, demoted, another scope: refused).
async fn own_export(state: &AppState, caller: &Caller, export_id: Uuid) -> Result<ExportRow, ApiError> {
    let export = match state.store.export(export_id).await? {
        Some(export) if export.requested_by == caller.user_id => export,
        _ => return Err(StoreError::NotFound.into()),
    };
    match export.account_id {
        Some(account_id) => {
            let access = AccountAccess::resolve(state, caller.clone(), account_id).await?;
            access.require(Permission::AccountEditSettings, state).await?;
        }
        None if caller.scoped_account_id().is_some() => return Err(StoreError::NotFound.into()),
        None => {}
    }
    Ok(export)
}

/// Where an export stands (`queued`, `building`, `ready`, `failed`), with its
/// download link once ready (only for whoever asked).
#[utoipa::path(get, path = "/api/v1/exports/{export_id}", extensions(("x-permission" = json!("the person who asked"))), tag = "auth",
    params(("export_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The export", body = ExportStatus),
        (status = 403, description = "No longer allowed to export the account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such export of yours (for this credential)", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn export_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(export_id): Path<Uuid>,
) -> Result<Json<ExportStatus>, ApiError> {
    Ok(Json(status_of(own_export(&state, &caller, export_id).await?)))
}

/// Downloads a ready export (a gzipped tar archive) until it expires.
#[utoipa::path(get, path = "/api/v1/exports/{export_id}/download", extensions(("x-permission" = json!("the person who asked"))), tag = "auth",
    params(("export_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The archive", content_type = "application/gzip"),
        (status = 403, description = "No longer allowed to export the account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such export of yours (for this credential), not ready, or expired", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn download_export(
    State(state): State<AppState>,
    caller: Caller,
    Path(export_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let export = own_export(&state, &caller, export_id).await?;
    if export.status != "ready" || export.expires_at < Utc::now() {
        return Err(ApiError::new(ErrorCode::NotFound, "This export is not ready, or it has expired."));
    }
    let path = archive_path(&state.settings.data_dir.join("exports"), export.id);
    let file = tokio::fs::File::open(&path).await.map_err(|error| {
        tracing::warn!(export_id = %export.id, %error, "a ready export's archive is missing");
        ApiError::new(ErrorCode::NotFound, "This export's archive is gone; ask for a new one.")
    })?;
    let mut event = caller.audit_event("export.downloaded").target("export", export.id);
    if let Some(account_id) = export.account_id {
        event = event.account(account_id);
    }
    audit::record(&state.store, event).await?;
    let size = file.metadata().await.ok().map(|metadata| metadata.len());
    let body = crate::server::streamed_body(tokio_util::io::ReaderStream::new(file));
    let name = format!("portico-export-{}.tar.gz", export.id);
    Ok(crate::api::portal::documents::attachment_response(body, "application/gzip", &name, size))
}
