//! The account's settings, for its owners: whether every member must sign in with
//! a second factor, and whether members may (or must) sign in with a code mailed
//! to them instead of a password. The API's own function applies them, with its
//! rule: nobody requires a second factor without having one. And the account's
//! single sign-on: its identity provider and the email domains offered it on
//! the sign-in page, connected, changed and removed by the API's own functions.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::page::{self, Page};
use super::records::FormProblem;
use crate::api::admin::accounts::{self, AccountSettings};
use crate::api::identity::sso;
use crate::auth::AccountAccess;
use crate::auth::permissions::{AccountRole, Permission};
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode};
use crate::web::sso_form::{SsoForm, SsoSection, chosen_role};

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    page: Page,
    action: String,
    /// The account's data export page.
    exports_href: String,
    require_mfa: bool,
    email_codes: String,
    /// What was just saved: "settings", "sso" or "sso-removed".
    saved: String,
    problem: FormProblem,
    sso: SsoSection,
}

fn role_label(page: &Page, role: &str) -> String {
    let key = format!("role-{role}");
    let label = page.t(&key);
    if label == key { role.to_owned() } else { label }
}

async fn settings_page(
    state: &AppState,
    access: &AccountAccess,
    saved: String,
    problem: FormProblem,
    typed: Option<SsoForm>,
) -> Result<SettingsPage, ApiError> {
    // Only those who may change the settings see them here.
    let scope = access.require(Permission::AccountEditSettings, state).await?;
    let Json(account) = accounts::get_account(State(state.clone()), access.clone()).await?;
    let sso = sso::account_connection(state, scope.account_id()).await?;
    let page = Page::for_caller(state, &access.caller, "settings").await?.in_account(access);
    let form = typed.unwrap_or_else(|| SsoForm::showing(sso.as_ref(), AccountRole::Member.as_str()));
    let roles = AccountRole::ALL
        .iter()
        .filter(|role| **role != AccountRole::Owner)
        .map(|role| (role.as_str().to_owned(), role_label(&page, role.as_str())))
        .collect();
    let action = format!("/accounts/{}/settings", account.id);
    let words = ["settings-sso-intro", "settings-sso-none", "settings-sso-domains-hint"];
    Ok(SettingsPage {
        sso: SsoSection::new(state, &page, sso, form, roles, format!("{action}/sso"), words),
        action,
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
    saved: String,
}

pub async fn show(
    State(state): State<AppState>,
    access: AccountAccess,
    axum::extract::Query(saved): axum::extract::Query<Saved>,
) -> Result<Response, ApiError> {
    let saved = match saved.saved.as_str() {
        "true" | "settings" => "settings",
        "sso" => "sso",
        "sso-removed" => "sso-removed",
        _ => "",
    };
    page::ok(&settings_page(&state, &access, saved.to_owned(), FormProblem::default(), None).await?)
}

/// The page again with a refusal the person can act on; anything else stays an error.
async fn sso_refused(
    state: &AppState,
    access: &AccountAccess,
    error: ApiError,
    typed: Option<SsoForm>,
) -> Result<Response, ApiError> {
    let status = error.code().status();
    let problem = match error.code() {
        ErrorCode::ReauthenticationRequired => {
            let page = Page::for_caller(state, &access.caller, "settings").await?;
            FormProblem { summary: Some(page.t("settings-sso-confirm-first")), ..Default::default() }
        }
        _ => FormProblem::from_error(error)?,
    };
    page::render(status, &settings_page(state, access, String::new(), problem, typed).await?)
}

/// Connects or changes the account's provider. The secret is asked once: left
/// empty, the one already stored is kept.
pub async fn save_sso(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(account_id): Path<Uuid>,
    Form(form): Form<SsoForm>,
) -> Result<Response, ApiError> {
    let saved = async {
        let scope = access.require(Permission::AccountEditSettings, &state).await?;
        access.caller.require_recent_sign_in()?;
        let role = chosen_role(&form.default_role, |text| {
            AccountRole::parse(text).filter(|role| *role != AccountRole::Owner)
        })?;
        let (secret, domains) = (form.secret(), form.domains());
        let settings = form.request(role.as_str(), &secret, &domains);
        sso::configure_account_sso(&state, &access.caller, scope.account_id(), settings).await
    };
    match saved.await {
        Ok(_) => Ok(Redirect::to(&format!("/accounts/{account_id}/settings?saved=sso#sso")).into_response()),
        Err(error) => sso_refused(&state, &access, error, Some(form.refilled())).await,
    }
}

/// Removes the account's provider (the form has no fields: the cross-site write
/// rule, a layer, guards it).
pub async fn remove_sso(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(account_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let removed = async {
        let scope = access.require(Permission::AccountEditSettings, &state).await?;
        access.caller.require_recent_sign_in()?;
        sso::remove_account_sso(&state, &access.caller, scope.account_id()).await
    };
    match removed.await {
        Ok(()) => Ok(Redirect::to(&format!("/accounts/{account_id}/settings?saved=sso-removed#sso")).into_response()),
        Err(error) => sso_refused(&state, &access, error, None).await,
    }
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
        Ok(_) => Ok(Redirect::to(&format!("/accounts/{account_id}/settings?saved=settings")).into_response()),
        Err(error) => {
            let status = error.code().status();
            let problem = FormProblem::from_error(error)?;
            page::render(status, &settings_page(&state, &access, String::new(), problem, None).await?)
        }
    }
}
