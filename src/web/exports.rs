//! The account's data export, for those who may change its settings
//! (`account.edit_settings`, as the API's): ask for an archive of every record
//! and document, watch it being built (the list refreshes itself with
//! JavaScript, or on "Check again" without), and download it until it expires.
//! Asking goes through the API's own `start` (one unfinished export per
//! account, audited); the download link is the API's, which checks again that
//! whoever follows it asked for it and still may.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use uuid::Uuid;

use super::documents::size;
use super::page::{self, Page};
use super::records::FormProblem;
use crate::api::portal::exports::{start, status_of};
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::problem::ApiError;

/// How many of one's earlier exports the page lists.
const LISTED: i64 = 10;

pub struct ExportLine {
    /// "Asked on 7 Dec 2026, 12:10".
    pub asked: String,
    /// "Waiting to start", "Being prepared", "Ready", "Failed", "Expired".
    pub status: String,
    pub status_class: &'static str,
    /// "2.4 MB · To download until 8 Dec 2026, 12:10", or why it failed.
    pub detail: String,
    pub download_url: Option<String>,
}

#[derive(Template)]
#[template(path = "exports.html")]
struct ExportsPage {
    page: Page,
    action: String,
    exports: Vec<ExportLine>,
    /// An export is still queued or being built: the list follows it.
    building: bool,
    problem: FormProblem,
}

async fn exports_page(state: &AppState, access: &AccountAccess, problem: FormProblem) -> Result<ExportsPage, ApiError> {
    let scope = access.require(Permission::AccountEditSettings, state).await?;
    let page = Page::for_caller(state, &access.caller, "settings").await?.in_account(access);
    let now = Utc::now();
    let rows = state.store.account_exports_asked_by(scope.account_id(), access.caller.user_id, LISTED).await?;
    let building = rows.iter().any(|row| matches!(row.status.as_str(), "queued" | "building"));
    let exports = rows
        .into_iter()
        .map(|row| {
            let expired = row.expires_at < now;
            let (key, status_class) = match row.status.as_str() {
                _ if expired => ("exports-expired", "neutral"),
                "queued" => ("exports-queued", "info"),
                "building" => ("exports-building", "info"),
                "ready" => ("exports-ready", "success"),
                _ => ("exports-failed", "danger"),
            };
            let detail = match row.status.as_str() {
                "ready" if !expired => format!(
                    "{} · {}",
                    size(row.size_bytes.unwrap_or_default(), &page),
                    page.t_with("exports-ready-until", "date", &page.format.date_time(row.expires_at))
                ),
                "failed" => page.t("exports-failed-detail"),
                _ => String::new(),
            };
            let asked = page.t_with("exports-asked", "date", &page.format.date_time(row.created_at));
            let download_url = if expired { None } else { status_of(row).download_url };
            ExportLine { asked, status: page.t(key), status_class, detail, download_url }
        })
        .collect();
    Ok(ExportsPage { action: format!("/accounts/{}/exports", scope.account_id()), exports, building, problem, page })
}

pub async fn show(State(state): State<AppState>, access: AccountAccess) -> Result<Response, ApiError> {
    page::ok(&exports_page(&state, &access, FormProblem::default()).await?)
}

pub async fn ask(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(account_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    // The form has no fields: the cross-site write rule (a layer) guards it.
    let asked = async {
        let scope = access.require(Permission::AccountEditSettings, &state).await?;
        start(&state, &access.caller, Some(scope.account_id())).await
    };
    match asked.await {
        Ok(_) => Ok(Redirect::to(&format!("/accounts/{account_id}/exports")).into_response()),
        Err(error) => {
            let status = error.code().status();
            let problem = FormProblem::from_error(error)?;
            page::render(status, &exports_page(&state, &access, problem).await?)
        }
    }
}
