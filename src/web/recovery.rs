//! The mailed links' pages: asking for a password reset, choosing the new
//! password, and proving an email address (a new one too). Each link carries its
//! token after `#` (never sent to a server); the page's script puts it in the
//! form, and without script the person pastes it. The API's own functions do
//! the work: the same answer for known and unknown addresses, the same throttle,
//! single-use links.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::page::{self, Page};
use super::records::FormProblem;
use crate::api::identity::recovery::{self, EmailVerification, PasswordResetConfirmation, PasswordResetRequest};
use crate::auth::ClientInfo;
use crate::core::email::EmailInput;
use crate::core::password::MIN_PASSWORD_CHARS;
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode};

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPasswordPage {
    page: Page,
    email: String,
    /// The request was taken: "check your mail".
    sent: bool,
    problem: FormProblem,
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPasswordPage {
    page: Page,
    token: String,
    min_password: usize,
    problem: FormProblem,
}

/// What a link proves, and where its form posts.
#[derive(Clone, Copy)]
pub enum Link {
    Verify,
    EmailChange,
}

#[derive(Template)]
#[template(path = "confirm_link.html")]
struct ConfirmLinkPage {
    page: Page,
    kind: &'static str,
    action: &'static str,
    token: String,
    done: bool,
    problem: FormProblem,
}

impl ConfirmLinkPage {
    /// `verify-title`, `email-change-done`: the messages of this kind of link.
    fn kind_key(&self, part: &str) -> String {
        format!("{}-{part}", self.kind)
    }
}

pub async fn forgot_form(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let page = Page::anonymous(&state, &headers, "sign-in");
    page::ok(&ForgotPasswordPage { page, email: String::new(), sent: false, problem: FormProblem::default() })
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub async fn forgot(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Result<Response, ApiError> {
    let page = Page::anonymous(&state, &headers, "sign-in");
    let email = form.email.trim().to_owned();
    let again = |page: Page, status: StatusCode, summary: String| {
        let problem = FormProblem { summary: Some(summary.clone()), fields: [("email".to_owned(), summary)].into() };
        page::render(status, &ForgotPasswordPage { page, email: email.clone(), sent: false, problem })
    };
    if !crate::core::email::looks_like_email(&email) {
        let summary = page.t("forgot-not-an-address");
        return again(page, StatusCode::UNPROCESSABLE_ENTITY, summary);
    }
    let Ok(address) = EmailInput::try_from(email.clone()) else {
        let summary = page.t("forgot-not-an-address");
        return again(page, StatusCode::UNPROCESSABLE_ENTITY, summary);
    };
    match recovery::request_password_reset(State(state), client, Json(PasswordResetRequest { email: address })).await {
        Ok(_) => page::ok(&ForgotPasswordPage { page, email, sent: true, problem: FormProblem::default() }),
        Err(error) if error.code() == ErrorCode::RateLimited => {
            let seconds = error.retry_after_secs().unwrap_or(60).to_string();
            let summary = page.t_with("sign-in-throttled", "seconds", &seconds);
            again(page, StatusCode::TOO_MANY_REQUESTS, summary)
        }
        Err(error) => Err(error),
    }
}

pub async fn reset_form(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let page = Page::anonymous(&state, &headers, "sign-in");
    page::ok(&ResetPasswordPage {
        page,
        token: String::new(),
        min_password: MIN_PASSWORD_CHARS,
        problem: FormProblem::default(),
    })
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    new_password: String,
}

pub async fn reset(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<ResetForm>,
) -> Result<Response, ApiError> {
    let page = Page::anonymous(&state, &headers, "sign-in");
    let request = PasswordResetConfirmation {
        token: form.token.trim().to_owned(),
        new_password: SecretString::from(form.new_password),
    };
    let (status, problem) = match recovery::confirm_password_reset(State(state), client, Json(request)).await {
        Ok(_) => return Ok(Redirect::to("/sign-in?done=reset").into_response()),
        Err(error) if error.code() == ErrorCode::NotFound => {
            (StatusCode::NOT_FOUND, FormProblem { summary: Some(page.t("link-unknown")), ..Default::default() })
        }
        Err(error) => (StatusCode::UNPROCESSABLE_ENTITY, FormProblem::from_error(error)?),
    };
    let again = ResetPasswordPage { page, token: form.token, min_password: MIN_PASSWORD_CHARS, problem };
    page::render(status, &again)
}

impl Link {
    fn kind(self) -> &'static str {
        match self {
            Link::Verify => "verify",
            Link::EmailChange => "email-change",
        }
    }

    fn action(self) -> &'static str {
        match self {
            Link::Verify => "/verify-email",
            Link::EmailChange => "/confirm-email-change",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: bool,
}

async fn link_form(state: &AppState, headers: &HeaderMap, link: Link, done: bool) -> Result<Response, ApiError> {
    let page = Page::anonymous(state, headers, "sign-in");
    page::ok(&ConfirmLinkPage {
        page,
        kind: link.kind(),
        action: link.action(),
        token: String::new(),
        done,
        problem: FormProblem::default(),
    })
}

pub async fn verify_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<DoneQuery>,
) -> Result<Response, ApiError> {
    link_form(&state, &headers, Link::Verify, query.done).await
}

pub async fn email_change_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<DoneQuery>,
) -> Result<Response, ApiError> {
    link_form(&state, &headers, Link::EmailChange, query.done).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    token: String,
}

async fn confirm_link(state: AppState, headers: &HeaderMap, link: Link, token: String) -> Result<Response, ApiError> {
    let request = EmailVerification { token: token.trim().to_owned() };
    let answer = match link {
        Link::Verify => recovery::confirm_email_verification(State(state.clone()), Json(request)).await,
        Link::EmailChange => recovery::confirm_email_change(State(state.clone()), Json(request)).await,
    };
    let page = Page::anonymous(&state, headers, "sign-in");
    let (status, summary) = match answer {
        // Answered with a redirect, so that a reload does not send the used link again.
        Ok(_) => return Ok(Redirect::to(&format!("{}?done=true", link.action())).into_response()),
        Err(error) if error.code() == ErrorCode::NotFound => (StatusCode::NOT_FOUND, page.t("link-unknown")),
        Err(error) if error.code() == ErrorCode::Conflict => (StatusCode::CONFLICT, page.t("link-email-taken")),
        Err(error) => return Err(error),
    };
    let problem = FormProblem { summary: Some(summary), ..Default::default() };
    page::render(
        status,
        &ConfirmLinkPage { page, kind: link.kind(), action: link.action(), token, done: false, problem },
    )
}

pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, ApiError> {
    confirm_link(state, &headers, Link::Verify, form.token).await
}

pub async fn email_change(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, ApiError> {
    confirm_link(state, &headers, Link::EmailChange, form.token).await
}
