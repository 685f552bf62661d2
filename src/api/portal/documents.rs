//! Documents' bytes: downloads streamed from storage through Portico
//! (`documents.download`; storage credentials and URLs never reach the browser), and
//! uploads written to storage through the outbox (`documents.upload`).

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use chrono::Utc;
use futures::TryStreamExt;
use portico_connectors::model::{CommonRecord, Document};
use portico_connectors::{DocumentRef, Record};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit;
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::problem::{ApiError, ErrorCode, FieldError};
use crate::store::{AccountData, NewPendingRecord, StoreError};
use crate::sync::PushJob;
use crate::sync::prepare::prepare;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(download_document)).routes(routes!(upload_document))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name, 1 to 200 characters (required).
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentUploaded {
    pub record_id: Uuid,
    /// The name it is stored under (any path removed).
    pub name: String,
    /// The write-back carrying it to storage.
    pub outbox_id: Uuid,
    /// `pending` until storage has it.
    pub sync_status: &'static str,
}

/// Uploads a document for the account (`documents.upload`): a multipart form
/// with a `file` part, or the file as the body with `?name=`; up to
/// `http.body_limit_bytes`. Its name loses any path, its type is sniffed from its
/// bytes and must be one of `uploads.allowed_types`. It is recorded at once,
/// pending, and written to the account's document storage through the outbox.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/documents",
    extensions(("x-permission" = json!("documents.upload"))), tag = "records",
    params(("account_id" = Uuid, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 202, description = "Recorded; delivery to storage is pending", body = DocumentUploaded),
        (status = 403, description = "Missing documents.upload", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "No document storage is connected for this account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the body limit", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "A type of file not accepted here", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No name, or an empty file", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn upload_document(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(_account_id): Path<Uuid>,
    Query(query): Query<UploadQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(axum::http::StatusCode, crate::server::json::Json<DocumentUploaded>), ApiError> {
    let scope = access.require(Permission::DocumentsUpload, &state).await?;
    let account_id = scope.account_id();
    let uploaded = accept_upload(&state, &scope, "uploads", query.name, &headers, body).await?;
    let event = access.caller.audit_event("document.uploaded").account(account_id).target("record", uploaded.record_id);
    audit::record(&state.store, event).await?;
    Ok((axum::http::StatusCode::ACCEPTED, crate::server::json::Json(uploaded)))
}

/// Checks an upload (a multipart `file` part, or the body named by `name`) and
/// records it as a pending document in `folder`, queued for the account's document
/// storage: the name loses any path, the type is sniffed from the bytes and must be
/// one of `uploads.allowed_types`.
pub(super) async fn accept_upload(
    state: &AppState,
    scope: &crate::auth::AccountScope,
    folder: &str,
    name: Option<String>,
    headers: &axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<DocumentUploaded, ApiError> {
    let account_id = scope.account_id();
    let (name, body) = match is_multipart(headers) {
        true => file_part(headers, body).await?,
        false => (name.unwrap_or_default(), body),
    };
    let name = sanitized_name(&name);
    let mut errors = Vec::new();
    if name.is_none() {
        errors.push(FieldError { field: "name".into(), message: "must be a file name of 1 to 200 characters".into() });
    }
    if body.is_empty() {
        errors.push(FieldError { field: "file".into(), message: "the file is empty".into() });
    }
    let Some(name) = name.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    // What the file is, from its bytes: a client's claim is not trusted.
    let content_type = sniffed_type(&body, &name);
    if !state.settings.uploads.allowed_types.contains(&content_type) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("Files of type {content_type} are not accepted here."),
        ));
    }
    let kinds = state.connectors.kinds_accepting("upload_document");
    let Some((instance_id, account_ref)) = AccountData::of(&state.store, scope).write_target(&kinds).await? else {
        return Err(ApiError::new(ErrorCode::Conflict, "No document storage is connected for this account yet."));
    };
    let instance = state.store.connector_instance(instance_id).await?.ok_or(StoreError::NotFound)?;
    let connector = state.connectors.build(&instance).map_err(ApiError::internal)?;
    let files = connector.as_files().ok_or_else(|| ApiError::internal(StoreError::NotFound))?;
    let key = files.upload_key(&account_ref, folder, &Uuid::now_v7().simple().to_string(), &name);
    let now = Utc::now();
    let record = prepare(Record {
        external_id: String::new(),
        account_ref: Some(account_ref),
        account_unknown: false,
        parent_external_id: None,
        source_updated_at: None,
        body: CommonRecord::Document(Document {
            name: name.clone(),
            folder: folder.to_owned(),
            content_type,
            size_bytes: body.len() as i64,
            checksum: Some(Sha256::digest(&body).iter().map(|byte| format!("{byte:02x}")).collect()),
            storage_key: key.clone(),
            modified_at: Some(now),
            tags: Vec::new(),
        }),
        raw: json!({}),
    });
    use base64::Engine as _;
    let pending = NewPendingRecord {
        instance_id,
        stream: "documents".into(),
        account_id,
        record,
        operation: "upload_document".into(),
        payload: json!({"key": key, "content_base64": base64::engine::general_purpose::STANDARD.encode(&body)}),
        now,
    };
    let (record_id, outbox_id) = state.store.create_pending_record(&pending).await?;
    state.queue.enqueue(PushJob { outbox_id }, &state.settings.jobs).await.map_err(ApiError::internal)?;
    Ok(DocumentUploaded { record_id, name, outbox_id, sync_status: "pending" })
}

fn is_multipart(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// The `file` part of a multipart form: its file name and bytes.
async fn file_part(
    headers: &axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(String, axum::body::Bytes), ApiError> {
    use axum::extract::FromRequest;
    let mut request = axum::extract::Request::new(Body::from(body));
    *request.headers_mut() = headers.clone();
    let bad_form = |message: String| ApiError::validation(vec![FieldError { field: "file".into(), message }]);
    let mut form = axum::extract::Multipart::from_request(request, &())
        .await
        .map_err(|rejection| bad_form(rejection.body_text()))?;
    while let Some(field) = form.next_field().await.map_err(|error| bad_form(error.body_text()))? {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(|error| bad_form(error.body_text()))?;
            return Ok((name, bytes));
        }
    }
    Err(bad_form("a multipart upload needs a part named file".into()))
}

/// A stored file name: the last path segment only, without control or
/// separator characters, 1 to 200 characters; `None` if nothing is left.
fn sanitized_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect::<String>().trim().to_owned();
    let cleaned = cleaned.trim_start_matches('.').to_owned();
    (!cleaned.is_empty() && cleaned.chars().count() <= 200).then_some(cleaned)
}

/// The media type of a file from its first bytes; text (which has no magic
/// number) when it is UTF-8 without NULs (CSV by its name).
fn sniffed_type(bytes: &[u8], name: &str) -> String {
    if let Some(kind) = infer::get(bytes) {
        return kind.mime_type().to_owned();
    }
    let text = std::str::from_utf8(&bytes[..bytes.len().min(8192)]).is_ok() && !bytes.contains(&0);
    match text {
        true if name.to_ascii_lowercase().ends_with(".csv") => "text/csv".to_owned(),
        true => "text/plain".to_owned(),
        false => "application/octet-stream".to_owned(),
    }
}

/// A file name safe inside a quoted Content-Disposition parameter.
pub(crate) fn attachment_name(name: &str) -> String {
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
        (status = 403, description = "Missing documents.download", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document in this account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 502, description = "The storage could not be read", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn download_document(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((_account_id, record_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let file = open_document(&state, &access, record_id).await?;
    Ok(attachment_response(file.body, &file.content_type, &file.name, file.size))
}

/// A document's bytes as read from its source, with what the record says of them.
pub struct OpenedDocument {
    pub body: Body,
    /// The type the record names (sniffed from the bytes on upload; the source's word otherwise).
    pub content_type: String,
    pub name: String,
    pub size: Option<u64>,
}

/// Opens one of the account's documents for reading (`documents.download`), and
/// audits it: the download and the page's preview both read through here.
pub async fn open_document(
    state: &AppState,
    access: &AccountAccess,
    record_id: Uuid,
) -> Result<OpenedDocument, ApiError> {
    let scope = access.require(Permission::DocumentsDownload, state).await?;
    let record =
        AccountData::of(&state.store, &scope).record("document", record_id).await?.ok_or(StoreError::NotFound)?;
    if record.deleted_at.is_some() {
        return Err(StoreError::NotFound.into());
    }
    let instance = state.store.connector_instance(record.source_instance_id).await?.ok_or(StoreError::NotFound)?;
    let connector = state.connectors.build(&instance).map_err(ApiError::internal)?;
    let document = DocumentRef {
        stream: &record.stream,
        external_id: &record.external_id,
        storage_key: record.data.0["storage_key"].as_str().unwrap_or_default(),
    };
    let download = connector.download(document).await.map_err(|error| {
        tracing::warn!(record_id = %record_id, error = %error, "document download failed");
        ApiError::new(ErrorCode::BadGateway, "The file could not be read from its source; try again shortly.")
    })?;
    let Some(download) = download else {
        return Err(ApiError::new(ErrorCode::NotFound, "This document has no downloadable file."));
    };
    let event =
        access.caller.audit_event("document.downloaded").account(scope.account_id()).target("record", record_id);
    audit::record(&state.store, event).await?;

    Ok(OpenedDocument {
        content_type: record.data.0["content_type"].as_str().unwrap_or("application/octet-stream").to_owned(),
        name: record.data.0["name"].as_str().unwrap_or("document").to_owned(),
        size: download.size,
        body: crate::server::streamed_body(download.stream.map_err(|error| std::io::Error::other(error.message))),
    })
}

/// A file as a download: its type (never sniffed by the browser), its name as an
/// attachment, its size when known, and kept out of shared caches.
pub(super) fn attachment_response(body: Body, content_type: &str, name: &str, size: Option<u64>) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Some(size) = size {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    }
    let name = attachment_name(name);
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn uploaded_names_lose_their_paths_and_types_come_from_the_bytes() {
        assert_eq!(super::sanitized_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(super::sanitized_name("C:\\Users\\me\\report.pdf").as_deref(), Some("report.pdf"));
        assert_eq!(super::sanitized_name(".htaccess").as_deref(), Some("htaccess"));
        assert_eq!(super::sanitized_name("a\u{0}b\r\n.txt").as_deref(), Some("ab.txt"));
        assert_eq!(super::sanitized_name("/"), None);
        assert_eq!(super::sniffed_type(b"%PDF-1.7 ...", "x.txt"), "application/pdf");
        assert_eq!(super::sniffed_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "x.pdf"), "image/png");
        assert_eq!(super::sniffed_type(b"a,b\n1,2\n", "data.CSV"), "text/csv");
        assert_eq!(
            super::sniffed_type(b"MZ\x90\0\x03\0\0\0", "setup.pdf"),
            "application/vnd.microsoft.portable-executable"
        );
    }

    #[test]
    fn attachment_names_cannot_break_the_header() {
        assert_eq!(super::attachment_name("a \"b\".pdf"), "a__b_.pdf");
        assert_eq!(super::attachment_name("\r\n"), "__");
        assert_eq!(super::attachment_name(""), "document");
    }
}
