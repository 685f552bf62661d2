//! The person's own page: name, language, time zone and which notifications they
//! want; their password, authenticator app (a QR code drawn on the server as
//! SVG, recovery codes shown once), where they are signed in, and their API
//! tokens. Each form calls the same function as its API route, so the rules
//! (a password proven in the last 10 minutes for a password, a factor or a
//! token; a credential limited to one account changes none of them) are one.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use qrcode::QrCode;
use qrcode::render::svg;
use secrecy::SecretString;
use serde::Deserialize;
use uuid::Uuid;

use super::page::{self, AccountLink, Page};
use super::records::FormProblem;
use crate::api::identity::auth::{Reauthentication, prove_again};
use crate::api::identity::credentials::{
    self, ApiTokenCreated, ApiTokenRequest, PasswordChange, change_own_password, mint_api_token,
};
use crate::api::identity::mfa::{begin_totp, finish_totp_enrollment, pending_enrollment, turn_off_totp};
use crate::api::identity::profile::{ProfileChange, change_profile, profile_of};
use crate::auth::session::set_cookie_header;
use crate::auth::{Caller, ClientInfo};
use crate::core::password::MIN_PASSWORD_CHARS;
use crate::notifications::Preferences;
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode};
use crate::store::StoreError;

/// The page's forms, to tie a refusal to the one that was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProfileForm {
    #[default]
    None,
    Details,
    Confirm,
    Password,
    Mfa,
    Token,
}

/// A live session as a line of the table.
struct SessionLine {
    id: Uuid,
    device: String,
    address: String,
    last_seen: String,
    current: bool,
}

/// An API token as a line of the table.
struct TokenLine {
    id: Uuid,
    name: String,
    account: String,
    expires: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    page: Page,
    email: String,
    display_name: String,
    locale: String,
    time_zone: String,
    preferences: Preferences,
    /// Each kind of news, in words, for its "by email" box: (kind, label).
    email_kinds: Vec<(String, String)>,
    /// Languages the portal speaks, plus the person's own when it is another.
    languages: Vec<(String, String)>,
    /// The password was proven within the last 10 minutes in this session.
    confirmed: bool,
    /// The session is one limited to one account (through its identity provider).
    scoped: bool,
    mfa_on: bool,
    sessions: Vec<SessionLine>,
    tokens: Vec<TokenLine>,
    token_accounts: Vec<AccountLink>,
    may_make_staff_tokens: bool,
    min_password: usize,
    /// What was just done ("password", "mfa-off", "saved"), said at the top.
    done: String,
    /// Shown once, right after they were made.
    recovery_codes: Vec<String>,
    new_token: Option<ApiTokenCreated>,
    problem_form: ProfileForm,
    problem: FormProblem,
}

impl ProfilePage {
    /// Whether the refusal shown belongs to `form`.
    fn at(&self, form: &str) -> bool {
        let name = match self.problem_form {
            ProfileForm::None => "",
            ProfileForm::Details => "details",
            ProfileForm::Confirm => "confirm",
            ProfileForm::Password => "password",
            ProfileForm::Mfa => "mfa",
            ProfileForm::Token => "token",
        };
        name == form
    }

    fn done_message(&self) -> String {
        self.page.t(&format!("profile-done-{}", self.done))
    }
}

#[derive(Template)]
#[template(path = "totp_setup.html")]
struct TotpSetupPage {
    page: Page,
    qr_svg: String,
    secret: String,
    problem: FormProblem,
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

/// What a render of the page adds to its stored state.
#[derive(Default)]
struct Outcome {
    done: String,
    recovery_codes: Vec<String>,
    new_token: Option<ApiTokenCreated>,
    problem_form: ProfileForm,
    problem: FormProblem,
}

async fn profile_page(state: &AppState, caller: &Caller, outcome: Outcome) -> Result<ProfilePage, ApiError> {
    let page = Page::for_caller(state, caller, "profile").await?;
    let profile = profile_of(state.store.user_profile(caller.user_id).await?.ok_or(StoreError::NotFound)?);
    let mut languages: Vec<(String, String)> = vec![("en".into(), "English".into()), ("de".into(), "Deutsch".into())];
    if !languages.iter().any(|(code, _)| *code == profile.locale) {
        languages.push((profile.locale.clone(), profile.locale.clone()));
    }
    let Json(sessions) = credentials::list_sessions(State(state.clone()), caller.clone()).await?;
    let sessions = sessions
        .into_iter()
        .map(|line| SessionLine {
            id: line.session.session_id,
            device: line.session.user_agent.unwrap_or_else(|| page.t("profile-device-unknown")),
            address: line.session.ip_address.unwrap_or_default(),
            last_seen: page.format.relative(line.session.last_seen_at, page.now),
            current: line.current,
        })
        .collect();
    let account_name = |id: Option<Uuid>| match id {
        Some(id) => page.accounts.iter().find(|account| account.id == id).map(|account| account.name.clone()),
        None => Some(page.t("profile-token-staff")),
    };
    let tokens = state
        .store
        .user_api_tokens(caller.user_id, caller.scoped_account_id())
        .await?
        .into_iter()
        .filter(|token| token.revoked_at.is_none() && token.expires_at.is_none_or(|expires| expires > page.now))
        .map(|token| TokenLine {
            id: token.token_id,
            name: token.name,
            account: account_name(token.account_id).unwrap_or_default(),
            expires: token.expires_at.map(|at| page.format.date(at)).unwrap_or_default(),
            last_used: token
                .last_used_at
                .map(|at| page.format.relative(at, page.now))
                .unwrap_or_else(|| page.t("profile-token-never-used")),
        })
        .collect();
    let token_accounts = match caller.scoped_account_id() {
        Some(scoped) => page.accounts.iter().filter(|account| account.id == scoped).cloned().collect(),
        None => page.accounts.clone(),
    };
    Ok(ProfilePage {
        email: profile.email,
        display_name: profile.display_name,
        locale: profile.locale,
        time_zone: profile.time_zone,
        preferences: profile.notification_preferences,
        email_kinds: crate::notifications::KINDS
            .iter()
            .map(|kind| ((*kind).to_owned(), page.t(&format!("profile-notify-{kind}"))))
            .collect(),
        languages,
        confirmed: caller.require_recent_sign_in().is_ok(),
        scoped: caller.scoped_account_id().is_some(),
        mfa_on: caller.mfa_enabled,
        sessions,
        tokens,
        token_accounts,
        may_make_staff_tokens: caller.staff_role.is_some() && caller.scoped_account_id().is_none(),
        min_password: MIN_PASSWORD_CHARS,
        done: outcome.done,
        recovery_codes: outcome.recovery_codes,
        new_token: outcome.new_token,
        problem_form: outcome.problem_form,
        problem: outcome.problem,
        page,
    })
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Query(done): Query<Done>,
) -> Result<Response, ApiError> {
    // Only words the page knows are said back.
    let done = match done.done.as_str() {
        known @ ("saved" | "confirmed" | "password" | "mfa-off" | "session" | "token-revoked") => known.to_owned(),
        _ => String::new(),
    };
    page::ok(&profile_page(&state, &caller, Outcome { done, ..Default::default() }).await?)
}

fn done(what: &str) -> Response {
    Redirect::to(&format!("/profile?done={what}")).into_response()
}

/// A refusal the person can act on, as the form's problem; anything else stays an error.
fn refusal(page: &Page, error: ApiError) -> Result<(StatusCode, FormProblem), ApiError> {
    let status = error.code().status();
    let summary = |text: String| Ok((status, FormProblem { summary: Some(text), ..Default::default() }));
    match error.code() {
        ErrorCode::ReauthenticationRequired => summary(page.t("profile-confirm-first")),
        ErrorCode::ScopedCredential => summary(page.t("profile-scoped")),
        ErrorCode::Unauthenticated | ErrorCode::MfaRequired => summary(page.t("profile-confirm-failed")),
        ErrorCode::RateLimited => {
            let seconds = error.retry_after_secs().unwrap_or(60).to_string();
            summary(page.t_with("sign-in-throttled", "seconds", &seconds))
        }
        _ => Ok((status, FormProblem::from_error(error)?)),
    }
}

/// The page again with `form`'s refusal shown at it.
async fn refused(state: &AppState, caller: &Caller, form: ProfileForm, error: ApiError) -> Result<Response, ApiError> {
    let mut again = profile_page(state, caller, Outcome::default()).await?;
    let (status, problem) = refusal(&again.page, error)?;
    again.problem_form = form;
    again.problem = problem;
    page::render(status, &again)
}

#[derive(Deserialize)]
pub struct DetailsForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    locale: String,
    #[serde(default)]
    time_zone: String,
    invoices: Option<String>,
    tickets: Option<String>,
    documents: Option<String>,
    orders: Option<String>,
    tasks: Option<String>,
    email: Option<String>,
    email_invoices: Option<String>,
    email_tickets: Option<String>,
    email_documents: Option<String>,
    email_orders: Option<String>,
    email_tasks: Option<String>,
}

impl DetailsForm {
    /// The kinds whose email box is not ticked.
    fn email_off(&self) -> std::collections::BTreeSet<String> {
        [
            ("invoices", &self.email_invoices),
            ("tickets", &self.email_tickets),
            ("documents", &self.email_documents),
            ("orders", &self.email_orders),
            ("tasks", &self.email_tasks),
        ]
        .into_iter()
        .filter(|(_, ticked)| ticked.is_none())
        .map(|(kind, _)| kind.to_owned())
        .collect()
    }
}

pub async fn save_details(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<DetailsForm>,
) -> Result<Response, ApiError> {
    let email_off = form.email_off();
    let change = ProfileChange {
        display_name: Some(form.display_name),
        locale: Some(form.locale.trim().to_owned()),
        time_zone: Some(form.time_zone.trim().to_owned()),
        notification_preferences: Some(Preferences {
            invoices: form.invoices.is_some(),
            tickets: form.tickets.is_some(),
            documents: form.documents.is_some(),
            orders: form.orders.is_some(),
            tasks: form.tasks.is_some(),
            email: form.email.is_some(),
            email_off,
        }),
    };
    match change_profile(&state, &caller, change).await {
        Ok(_) => Ok(done("saved")),
        Err(error) => refused(&state, &caller, ProfileForm::Details, error).await,
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    confirm_password: String,
    #[serde(default)]
    confirm_code: String,
}

pub async fn confirm(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientInfo,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, ApiError> {
    let code = form.confirm_code.trim();
    let six_digits = code.len() == 6 && code.chars().all(|c| c.is_ascii_digit());
    let request = Reauthentication {
        password: SecretString::from(form.confirm_password),
        totp: (six_digits).then(|| code.to_owned()),
        recovery_code: (!code.is_empty() && !six_digits).then(|| SecretString::from(code.to_owned())),
    };
    match prove_again(&state, &caller, &client, request).await {
        Ok(()) => Ok(done("confirmed")),
        Err(error) => refused(&state, &caller, ProfileForm::Confirm, error).await,
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    keep_api_tokens: Option<String>,
}

pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<PasswordForm>,
) -> Result<Response, ApiError> {
    let request = PasswordChange {
        current_password: SecretString::from(form.current_password),
        new_password: SecretString::from(form.new_password),
        keep_api_tokens: form.keep_api_tokens.is_some(),
    };
    match change_own_password(&state, &caller, request).await {
        Ok(rotated_cookie) => Ok(with_cookie(done("password"), rotated_cookie)),
        Err(error) => refused(&state, &caller, ProfileForm::Password, error).await,
    }
}

fn with_cookie(mut response: Response, cookie: Option<String>) -> Response {
    if let Some(cookie) = cookie {
        set_cookie_header(response.headers_mut(), cookie);
    }
    response
}

/// The authenticator's enrolment as a QR code (SVG drawn here: no image leaves
/// the server, no script draws it) with the secret to type in instead.
fn qr_svg(otpauth_url: &str, label: &str) -> Result<String, ApiError> {
    let code = QrCode::new(otpauth_url.as_bytes()).map_err(ApiError::internal)?;
    let drawn = code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // The drawing starts with an XML declaration, which has no place inside HTML.
    let start = drawn.find("<svg").unwrap_or_default();
    let label = askama::filters::escape(label, askama::filters::Html).map_err(ApiError::internal)?.to_string();
    Ok(drawn[start..].replacen("<svg ", &format!("<svg role=\"img\" aria-label=\"{label}\" class=\"qr\" "), 1))
}

pub async fn start_mfa(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    match begin_totp(&state, &caller).await {
        Ok(enrollment) => {
            let page = Page::for_caller(&state, &caller, "profile").await?;
            let qr_svg = qr_svg(&enrollment.otpauth_url, &page.t("mfa-qr-label"))?;
            page::ok(&TotpSetupPage { page, qr_svg, secret: enrollment.secret, problem: FormProblem::default() })
        }
        Err(error) => refused(&state, &caller, ProfileForm::Mfa, error).await,
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn confirm_mfa(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<CodeForm>,
) -> Result<Response, ApiError> {
    match finish_totp_enrollment(&state, &caller, form.code.trim()).await {
        Ok((codes, rotated_cookie)) => {
            // The codes are shown once, on this answer; the profile's other parts
            // show the factor on.
            let mut caller = caller;
            caller.mfa_enabled = true;
            let outcome = Outcome { recovery_codes: codes.recovery_codes, done: "mfa-on".into(), ..Default::default() };
            let response = page::ok(&profile_page(&state, &caller, outcome).await?)?;
            Ok(with_cookie(response, rotated_cookie))
        }
        Err(error) if error.code() == ErrorCode::ValidationFailed => {
            // A wrong first code: the same secret, tried again.
            let page = Page::for_caller(&state, &caller, "profile").await?;
            let problem = FormProblem::from_error(error)?;
            let Some(enrollment) = pending_enrollment(&state, &caller).await? else {
                return Ok(Redirect::to("/profile").into_response());
            };
            let qr_svg = qr_svg(&enrollment.otpauth_url, &page.t("mfa-qr-label"))?;
            let secret = enrollment.secret;
            page::render(StatusCode::UNPROCESSABLE_ENTITY, &TotpSetupPage { page, qr_svg, secret, problem })
        }
        Err(error) => refused(&state, &caller, ProfileForm::Mfa, error).await,
    }
}

pub async fn disable_mfa(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<CodeForm>,
) -> Result<Response, ApiError> {
    match turn_off_totp(&state, &caller, form.code.trim()).await {
        Ok(rotated_cookie) => Ok(with_cookie(done("mfa-off"), rotated_cookie)),
        Err(error) => refused(&state, &caller, ProfileForm::Mfa, error).await,
    }
}

pub async fn revoke_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(session_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let current = caller.session_id() == Some(session_id);
    credentials::revoke_session(State(state), caller, Path(session_id)).await?;
    Ok(if current { Redirect::to("/sign-in").into_response() } else { done("session") })
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    /// An account's id, or empty for a staff token.
    #[serde(default)]
    account_id: String,
    #[serde(default)]
    expires_in_days: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<TokenForm>,
) -> Result<Response, ApiError> {
    let invalid = |field: &str, message: &str| {
        ApiError::validation(vec![crate::server::problem::FieldError { field: field.into(), message: message.into() }])
    };
    let account_id = match form.account_id.trim() {
        "" => None,
        id => match id.parse::<Uuid>() {
            Ok(id) => Some(id),
            Err(_) => {
                return refused(
                    &state,
                    &caller,
                    ProfileForm::Token,
                    invalid("account_id", "is not an account you belong to"),
                )
                .await;
            }
        },
    };
    let expires_in_days = match form.expires_in_days.trim() {
        "" => None,
        days => match days.parse::<u32>() {
            Ok(days) => Some(days),
            Err(_) => {
                return refused(&state, &caller, ProfileForm::Token, invalid("expires_in_days", "must be 1 to 365"))
                    .await;
            }
        },
    };
    let request = ApiTokenRequest { name: form.name, account_id, expires_in_days };
    match mint_api_token(&state, &caller, request).await {
        Ok(created) => {
            let outcome = Outcome { new_token: Some(created), done: "token".into(), ..Default::default() };
            page::render(StatusCode::CREATED, &profile_page(&state, &caller, outcome).await?)
        }
        Err(error) => refused(&state, &caller, ProfileForm::Token, error).await,
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(token_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    credentials::revoke_api_token(State(state), caller, Path(token_id)).await?;
    Ok(done("token-revoked"))
}
