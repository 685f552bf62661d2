//! Document downloads, streamed from storage through Portico (`documents.download`):
//! storage credentials and URLs never reach the browser.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use futures::TryStreamExt;
use uuid::Uuid;

use super::AppState;
use super::problem::{ApiError, ErrorCode};
use crate::audit;
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::store::StoreError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(download_document))
}

/// A file name safe inside a quoted Content-Disposition parameter.
fn attachment_name(name: &str) -> String {
    let safe: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '_' }).take(200).collect();
    if safe.is_empty() { "document".to_owned() } else { safe }
}

/// Downloads one of the account's documents (`documents.download`).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/documents/{record_id}/download",
    extensions(("x-permission" = json!("documents.download"))), tag = "records",
    params(("account_id" = Uuid, Path), ("record_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 403, description = "Missing documents.download", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document in this account", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 502, description = "The storage could not be read", body = super::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn download_document(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((_account_id, record_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let scope = access.require(Permission::DocumentsDownload, &state).await?;
    let record =
        state.store.account_record(scope.account_id(), "document", record_id).await?.ok_or(StoreError::NotFound)?;
    if record.deleted_at.is_some() {
        return Err(StoreError::NotFound.into());
    }
    let instance = state.store.connector_instance(record.source_instance_id).await?.ok_or(StoreError::NotFound)?;
    let connector = state.connectors.build(&instance).map_err(ApiError::internal)?;
    let Some(files) = connector.as_files() else {
        return Err(ApiError::new(ErrorCode::NotFound, "This document has no downloadable file."));
    };
    let key = record.data.0["storage_key"].as_str().unwrap_or_default().to_owned();
    let download = files.download(&key).await.map_err(|error| {
        tracing::warn!(record_id = %record_id, error = %error, "document download failed");
        ApiError::new(ErrorCode::BadGateway, "The file could not be read from storage; try again shortly.")
    })?;
    let event =
        access.caller.audit_event("document.downloaded").account(scope.account_id()).target("record", record_id);
    audit::record(&state.store, event).await?;

    let content_type = record.data.0["content_type"].as_str().unwrap_or("application/octet-stream").to_owned();
    let name = attachment_name(record.data.0["name"].as_str().unwrap_or("document"));
    let body = Body::from_stream(download.stream.map_err(|error| std::io::Error::other(error.message)));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(download.size));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    #[test]
    fn attachment_names_cannot_break_the_header() {
        assert_eq!(super::attachment_name("a \"b\".pdf"), "a__b_.pdf");
        assert_eq!(super::attachment_name("\r\n"), "__");
        assert_eq!(super::attachment_name(""), "document");
    }
}
