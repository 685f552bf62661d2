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
use crate::api::identity::sso::{self, ConnectionRequest, SsoConnection};
use crate::auth::AccountAccess;
use crate::auth::permissions::{AccountRole, Permission};
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode, FieldError};
use secrecy::SecretString;

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
    sso: Option<SsoConnection>,
    /// The role names people arriving through the provider may get (not owner).
    sso_roles: Vec<(String, String)>,
    /// What the single sign-on form shows: as saved, or as typed when refused.
    sso_form: SsoForm,
    /// The redirect URI to register at the provider.
    redirect_uri: String,
}

impl SettingsPage {
    fn role_label(&self, role: &str) -> String {
        let key = format!("role-{role}");
        let label = self.page.t(&key);
        if label == key { role.to_owned() } else { label }
    }
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
    let sso_form = typed.unwrap_or_else(|| SsoForm::showing(sso.as_ref()));
    let mut settings = SettingsPage {
        action: format!("/accounts/{}/settings", account.id),
        exports_href: format!("/accounts/{}/exports", account.id),
        require_mfa: account.require_mfa,
        email_codes: account.email_codes,
        saved,
        problem,
        sso,
        sso_roles: Vec::new(),
        sso_form,
        redirect_uri: sso::redirect_uri(state),
        page,
    };
    settings.sso_roles = AccountRole::ALL
        .iter()
        .filter(|role| **role != AccountRole::Owner)
        .map(|role| (role.as_str().to_owned(), settings.role_label(role.as_str())))
        .collect();
    Ok(settings)
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

/// The single sign-on form as sent (and as shown again when refused: all but the
/// secret). No Debug: it may hold the client secret.
#[derive(Default, Deserialize)]
pub struct SsoForm {
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    default_role: String,
    /// Separated by commas, spaces or lines.
    #[serde(default)]
    email_domains: String,
}

impl SsoForm {
    fn showing(connection: Option<&SsoConnection>) -> Self {
        match connection {
            Some(connection) => SsoForm {
                issuer: connection.issuer.clone(),
                client_id: connection.client_id.clone(),
                client_secret: String::new(),
                default_role: connection.default_role.clone(),
                email_domains: connection.email_domains.join(", "),
            },
            None => SsoForm { default_role: AccountRole::Member.as_str().to_owned(), ..Default::default() },
        }
    }
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
        let Some(role) = AccountRole::parse(form.default_role.trim()).filter(|role| *role != AccountRole::Owner) else {
            let error = FieldError { field: "default_role".into(), message: "choose a role".into() };
            return Err(ApiError::validation(vec![error]));
        };
        // Left empty, the stored secret is kept.
        let client_secret = SecretString::from(form.client_secret.trim().to_owned());
        let email_domains: Vec<String> = form
            .email_domains
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|domain| !domain.is_empty())
            .map(str::to_owned)
            .collect();
        let settings = ConnectionRequest {
            issuer: form.issuer.trim(),
            client_id: form.client_id.trim(),
            client_secret: Some(&client_secret),
            default_role: role.as_str(),
            email_domains: Some(&email_domains),
        };
        sso::configure_account_sso(&state, &access.caller, scope.account_id(), settings).await
    };
    match saved.await {
        Ok(_) => Ok(Redirect::to(&format!("/accounts/{account_id}/settings?saved=sso#sso")).into_response()),
        Err(error) => sso_refused(&state, &access, error, Some(SsoForm { client_secret: String::new(), ..form })).await,
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
