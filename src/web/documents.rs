//! The account's documents: folders, tags, search, one document's page with a
//! preview, download, and an upload form that says the limits (size, types)
//! before anything is sent (with JavaScript: dropped files and a progress bar).
//! The upload is the API's own (`upload_document`): checked by its bytes,
//! stored at once as pending, written to the account's storage through the outbox.
//!
//! A preview is the file itself, served inline only for types a browser shows
//! without running anything (PDF and raster images: never HTML or SVG), with a
//! `sandbox` Content-Security-Policy of its own and `nosniff`, framed only by
//! the portal's own page.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::page::{self, Page};
use super::records::{FormProblem, RecordRow, row};
use crate::api::portal::documents::{self, UploadQuery, open_document};
use crate::api::portal::records::{ListQuery, PortalRecord, record_detail, record_page};
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::problem::{ApiError, ErrorCode};
use crate::store::AccountData;

/// A document in the list, or on its page.
pub struct DocumentRow {
    pub record: RecordRow,
    pub folder: Folder,
    pub tags: Vec<String>,
    pub size: String,
    pub content_type: String,
    pub download: Option<String>,
}

/// A folder as a person reads it. A request's attachments sit in
/// `tickets/<its record id>` (see the ticket upload): shown as the request's
/// files, with a link to it for those who may open requests, not as an id.
pub struct Folder {
    pub name: String,
    pub label: String,
    pub href: Option<String>,
}

pub(crate) fn folder(page: &Page, account_id: Uuid, name: &str) -> Folder {
    let ticket = name.strip_prefix("tickets/").and_then(|id| id.parse::<Uuid>().ok());
    let Some(ticket) = ticket else {
        return Folder { name: name.to_owned(), label: name.to_owned(), href: None };
    };
    // The id's last characters: a v7 id starts with its time, alike for requests
    // made within the same minute.
    let simple = ticket.simple().to_string();
    let label = page.t_with("documents-request-folder", "id", &simple[simple.len() - 6..]);
    let may_open = page.sections.iter().any(|section| section.id == "tickets");
    let href = may_open.then(|| format!("/accounts/{account_id}/tickets/{ticket}"));
    Folder { name: name.to_owned(), label, href }
}

/// Types shown in the page (by the browser's own viewers, running nothing of
/// the file): a PDF in a frame, an image as an image.
const PREVIEWABLE: [&str; 5] = ["application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"];

/// The preview's own policy: a sandboxed document that loads nothing, framed by
/// the portal's pages only.
const PREVIEW_POLICY: &str = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; \
    frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

pub(crate) fn document_row(page: &Page, account_id: Uuid, record: &PortalRecord, may_download: bool) -> DocumentRow {
    let data = &record.data;
    DocumentRow {
        record: row(page, format!("/accounts/{account_id}/documents/{}", record.id), record),
        folder: folder(page, account_id, data["folder"].as_str().unwrap_or_default()),
        tags: data["tags"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|tag| tag.as_str().map(str::to_owned))
            .collect(),
        size: size(data["size_bytes"].as_i64().unwrap_or_default(), page),
        content_type: data["content_type"].as_str().unwrap_or_default().to_owned(),
        download: (may_download && !record.pending)
            .then(|| format!("/api/v1/accounts/{account_id}/documents/{}/download", record.id)),
    }
}

#[derive(Template)]
#[template(path = "documents.html")]
struct DocumentsPage {
    page: Page,
    rows: Vec<DocumentRow>,
    folders: Vec<Folder>,
    folder: String,
    tags: Vec<String>,
    tag: String,
    q: String,
    upload: Option<UploadForm>,
    filtered: bool,
}

/// An upload form as a page shows it (the documents; a request's files): where
/// it goes, its words, the limits stated before a byte is sent, and the
/// server's refusal when it refused.
pub(crate) struct UploadForm {
    pub action: String,
    pub heading: String,
    pub button: String,
    /// Said while the page moves on after a success.
    pub done: String,
    pub limit: String,
    pub limit_bytes: usize,
    pub types: String,
    pub problem: FormProblem,
}

impl UploadForm {
    /// `words`: the message keys of the heading, the button and the success.
    pub(crate) fn new(state: &AppState, page: &Page, action: String, words: [&str; 3], problem: FormProblem) -> Self {
        let settings = &state.settings;
        let [heading, button, done] = words.map(|key| page.t(key));
        UploadForm {
            action,
            heading,
            button,
            done,
            limit: size(settings.http.body_limit_bytes as i64, page),
            limit_bytes: settings.http.body_limit_bytes,
            types: settings.uploads.allowed_types.join(", "),
            problem,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DocumentFilter {
    #[serde(default)]
    folder: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    q: String,
}

/// `48213` → `47 KB`.
pub(crate) fn size(bytes: i64, page: &Page) -> String {
    let (value, unit) = match bytes {
        ..1_024 => (bytes as f64, "B"),
        1_024..1_048_576 => (bytes as f64 / 1_024.0, "KB"),
        _ => (bytes as f64 / 1_048_576.0, "MB"),
    };
    let text = if unit == "B" || value >= 10.0 { format!("{value:.0}") } else { format!("{value:.1}") };
    match page.lang {
        super::i18n::Lang::De => format!("{} {unit}", text.replace('.', ",")),
        super::i18n::Lang::En => format!("{text} {unit}"),
    }
}

async fn documents_page(
    state: &AppState,
    access: &AccountAccess,
    account_id: Uuid,
    filter: DocumentFilter,
    problem: FormProblem,
) -> Result<DocumentsPage, ApiError> {
    let query = ListQuery {
        folder: Some(filter.folder.clone()).filter(|folder| !folder.is_empty()),
        tag: Some(filter.tag.clone()).filter(|tag| !tag.is_empty()),
        q: Some(filter.q.clone()).filter(|q| !q.trim().is_empty()),
        limit: Some(100),
        ..Default::default()
    };
    let records = record_page(state, access, Permission::DocumentsView, "document", query).await?;
    let page = Page::for_caller(state, &access.caller, "documents").await?.in_account(access);
    let may_download = access.holds(Permission::DocumentsDownload);
    let rows: Vec<DocumentRow> =
        records.items.iter().map(|record| document_row(&page, account_id, record, may_download)).collect();
    // The choices offered are every folder and tag of the account's documents,
    // not only of those on this page (and the one chosen, even if none has it now).
    let scope = access.require(Permission::DocumentsView, state).await?;
    let (mut folders, mut tags) = AccountData::of(&state.store, &scope).document_facets().await?;
    if !filter.folder.is_empty() && !folders.contains(&filter.folder) {
        folders.push(filter.folder.clone());
    }
    if !filter.tag.is_empty() && !tags.iter().any(|tag| tag.eq_ignore_ascii_case(&filter.tag)) {
        tags.push(filter.tag.clone());
    }
    let upload = access.holds(Permission::DocumentsUpload).then(|| {
        let action = format!("/accounts/{account_id}/documents");
        UploadForm::new(
            state,
            &page,
            action,
            ["documents-upload", "documents-upload-button", "documents-uploaded"],
            problem,
        )
    });
    let folders = folders.iter().map(|name| folder(&page, account_id, name)).collect();
    Ok(DocumentsPage {
        rows,
        folders,
        filtered: !filter.folder.is_empty() || !filter.tag.is_empty() || !filter.q.trim().is_empty(),
        folder: filter.folder,
        tags,
        tag: filter.tag,
        q: filter.q,
        upload,
        page,
    })
}

pub async fn list(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(account_id): Path<Uuid>,
    Query(filter): Query<DocumentFilter>,
) -> Result<Response, ApiError> {
    page::ok(&documents_page(&state, &access, account_id, filter, FormProblem::default()).await?)
}

pub async fn upload(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(account_id): Path<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // The refused form's page is drawn with the same access (the handler takes its own).
    let kept = access.clone();
    let query = Query(UploadQuery { name: None });
    match documents::upload_document(State(state.clone()), access, Path(account_id), query, headers, body).await {
        Ok(_) => Ok(Redirect::to(&format!("/accounts/{account_id}/documents")).into_response()),
        Err(error) => {
            let status = error.code().status();
            let problem = FormProblem::from_error(error)?;
            let access = kept;
            let page = documents_page(&state, &access, account_id, DocumentFilter::default(), problem).await?;
            page::render(if status.is_client_error() { status } else { StatusCode::UNPROCESSABLE_ENTITY }, &page)
        }
    }
}

#[derive(Template)]
#[template(path = "document.html")]
struct DocumentPage {
    page: Page,
    document: DocumentRow,
    list_href: String,
    /// Where the preview is read from, and whether it is an image (else a PDF).
    preview: Option<(String, bool)>,
}

pub async fn detail(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((account_id, record_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let detail = record_detail(&state, &access, Permission::DocumentsView, "document", record_id).await?;
    let page = Page::for_caller(&state, &access.caller, "documents").await?.in_account(&access);
    let document = document_row(&page, account_id, &detail.record, access.holds(Permission::DocumentsDownload));
    let preview = (document.download.is_some() && PREVIEWABLE.contains(&document.content_type.as_str())).then(|| {
        (format!("/accounts/{account_id}/documents/{record_id}/preview"), document.content_type.starts_with("image/"))
    });
    page::ok(&DocumentPage { document, list_href: format!("/accounts/{account_id}/documents"), preview, page })
}

/// The file, inline, for the document's page to show: only previewable types,
/// under the preview's own sandboxing policy (the security-headers layer keeps it).
pub async fn preview(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((_account_id, record_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let file = open_document(&state, &access, record_id).await?;
    if !PREVIEWABLE.contains(&file.content_type.as_str()) {
        return Err(ApiError::new(ErrorCode::NotFound, "This document has no preview; download it instead."));
    }
    let mut response = Response::new(file.body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(&file.content_type).map_err(ApiError::internal)?);
    if let Some(size) = file.size {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    }
    let name = documents::attachment_name(&file.name);
    if let Ok(disposition) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PREVIEW_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}
