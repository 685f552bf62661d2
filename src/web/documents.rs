//! The account's documents: folders, search, download, and an upload form that
//! says the limits (size, types) before anything is sent. The upload is the
//! API's own (`upload_document`): checked by its bytes, stored at once as
//! pending, written to the account's storage through the outbox.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::page::{self, Page};
use super::records::{FormProblem, RecordRow, row};
use crate::api::portal::documents::{self, UploadQuery};
use crate::api::portal::records::{ListQuery, record_page};
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::problem::ApiError;

/// A document in the list.
pub struct DocumentRow {
    pub record: RecordRow,
    pub folder: String,
    pub size: String,
    pub download: Option<String>,
}

#[derive(Template)]
#[template(path = "documents.html")]
struct DocumentsPage {
    page: Page,
    rows: Vec<DocumentRow>,
    folders: Vec<String>,
    folder: String,
    q: String,
    upload_action: Option<String>,
    limit: String,
    types: String,
    problem: FormProblem,
    filtered: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct DocumentFilter {
    #[serde(default)]
    folder: String,
    #[serde(default)]
    q: String,
}

/// `48213` → `47 KB`.
fn size(bytes: i64, page: &Page) -> String {
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
        q: Some(filter.q.clone()).filter(|q| !q.trim().is_empty()),
        limit: Some(100),
        ..Default::default()
    };
    let records = record_page(state, access, Permission::DocumentsView, "document", query).await?;
    let page = Page::for_caller(state, &access.caller, "documents").await?.in_account(access);
    let may_download = access.holds(Permission::DocumentsDownload);
    let mut folders: Vec<String> = Vec::new();
    let rows = records
        .items
        .iter()
        .map(|record| {
            let folder = record.data["folder"].as_str().unwrap_or_default().to_owned();
            if !folder.is_empty() && !folders.contains(&folder) {
                folders.push(folder.clone());
            }
            DocumentRow {
                record: row(&page, String::new(), record),
                size: size(record.data["size_bytes"].as_i64().unwrap_or_default(), &page),
                download: (may_download && !record.pending)
                    .then(|| format!("/api/v1/accounts/{account_id}/documents/{}/download", record.id)),
                folder,
            }
        })
        .collect();
    folders.sort();
    let settings = &state.settings;
    Ok(DocumentsPage {
        rows,
        folders,
        filtered: !filter.folder.is_empty() || !filter.q.trim().is_empty(),
        folder: filter.folder,
        q: filter.q,
        upload_action: access.holds(Permission::DocumentsUpload).then(|| format!("/accounts/{account_id}/documents")),
        limit: size(settings.http.body_limit_bytes as i64, &page),
        types: settings.uploads.allowed_types.join(", "),
        problem,
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
    let caller = access.caller.clone();
    let query = Query(UploadQuery { name: None });
    match documents::upload_document(State(state.clone()), access, Path(account_id), query, headers, body).await {
        Ok(_) => Ok(Redirect::to(&format!("/accounts/{account_id}/documents")).into_response()),
        Err(error) => {
            let status = error.code().status();
            let problem = FormProblem::from_error(error)?;
            let access = AccountAccess::resolve(&state, caller, account_id).await?;
            let page = documents_page(&state, &access, account_id, DocumentFilter::default(), problem).await?;
            page::render(if status.is_client_error() { status } else { StatusCode::UNPROCESSABLE_ENTITY }, &page)
        }
    }
}
