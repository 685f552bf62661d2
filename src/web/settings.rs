//! The account's settings, for its owners: whether every member must sign in with
//! a second factor, and whether members may (or must) sign in with a code mailed
//! to them instead of a password. The API's own function applies them, with its
//! rule: nobody requires a second factor without having one.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::page::{self, Page};
use super::records::FormProblem;
use crate::api::admin::accounts::{self, AccountSettings};
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::ApiError;

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    page: Page,
    action: String,
    /// The account's data export page.
    exports_href: String,
    require_mfa: bool,
    email_codes: String,
    saved: bool,
    problem: FormProblem,
}

async fn settings_page(
    state: &AppState,
    access: &AccountAccess,
    saved: bool,
    problem: FormProblem,
) -> Result<SettingsPage, ApiError> {
    // Only those who may change the settings see them here.
    access.require(Permission::AccountEditSettings, state).await?;
    let Json(account) = accounts::get_account(State(state.clone()), access.clone()).await?;
    let page = Page::for_caller(state, &access.caller, "settings").await?.in_account(access);
    Ok(SettingsPage {
        action: format!("/accounts/{}/settings", account.id),
        exports_href: format!("/accounts/{}/exports", account.id),
        require_mfa: account.require_mfa,
        email_codes: account.email_codes,
        saved,
        problem,
        page,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct Saved {
    #[serde(default)]
    saved: bool,
}

pub async fn show(
    State(state): State<AppState>,
    access: AccountAccess,
    axum::extract::Query(saved): axum::extract::Query<Saved>,
) -> Result<Response, ApiError> {
    page::ok(&settings_page(&state, &access, saved.saved, FormProblem::default()).await?)
}

#[derive(Deserialize)]
pub struct SettingsForm {
    require_mfa: Option<String>,
    #[serde(default)]
    email_codes: String,
}

pub async fn save(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(account_id): Path<Uuid>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, ApiError> {
    // Only what changed is sent, so the audit log records changes, not saves.
    let Json(current) = accounts::get_account(State(state.clone()), access.clone()).await?;
    let require_mfa = form.require_mfa.is_some();
    let settings = AccountSettings {
        require_mfa: (require_mfa != current.require_mfa).then_some(require_mfa),
        email_codes: (form.email_codes != current.email_codes).then_some(form.email_codes),
    };
    match accounts::update_account_settings(State(state.clone()), access.clone(), Json(settings)).await {
        Ok(_) => Ok(Redirect::to(&format!("/accounts/{account_id}/settings?saved=true")).into_response()),
        Err(error) => {
            let status = error.code().status();
            let problem = FormProblem::from_error(error)?;
            page::render(status, &settings_page(&state, &access, false, problem).await?)
        }
    }
}
