//! Signing in with a code mailed to the address, as two short forms: the address
//! (answered alike whether or not it may sign in this way), then the code (and
//! the authenticator's code when the person has one). The API's own functions
//! do the work, under the same limits.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::errors::safe_next;
use super::page::{self, Page};
use crate::api::identity::auth::SecondFactor;
use crate::api::identity::email_codes::{self, CODE_MINUTES, CodeRequest, start_code_session};
use crate::auth::ClientInfo;
use crate::auth::session::{session_cookie, set_cookie_header};
use crate::core::email::{EmailInput, looks_like_email};
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode};

#[derive(Template)]
#[template(path = "sign_in_code.html")]
struct CodePage {
    page: Page,
    email: String,
    next: String,
    /// The second step: a code was (perhaps) sent; type it.
    ask_code: bool,
    /// The third: the code was right, the authenticator's is needed too.
    ask_totp: bool,
    /// The code typed, carried to the authenticator step (it is not spent yet).
    code: String,
    minutes: i64,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    email: String,
}

fn next_of(next: &str) -> String {
    safe_next(next).unwrap_or("/").to_owned()
}

pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Result<Response, ApiError> {
    let page = Page::anonymous(&state, &headers, "sign-in");
    let email = query.email.chars().take(254).collect();
    page::ok(&CodePage {
        page,
        email,
        next: next_of(&query.next),
        ask_code: false,
        ask_totp: false,
        code: String::new(),
        minutes: CODE_MINUTES,
        error: None,
    })
}

#[derive(Deserialize)]
pub struct SendForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    next: String,
}

pub async fn send(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<SendForm>,
) -> Result<Response, ApiError> {
    let page = Page::anonymous(&state, &headers, "sign-in");
    let email = form.email.trim().to_lowercase();
    let mut again = CodePage {
        page,
        email: email.clone(),
        next: next_of(&form.next),
        ask_code: false,
        ask_totp: false,
        code: String::new(),
        minutes: CODE_MINUTES,
        error: None,
    };
    let address = EmailInput::try_from(email.clone()).ok().filter(|_| looks_like_email(&email));
    let Some(address) = address else {
        again.error = Some(again.page.t("forgot-not-an-address"));
        return page::render(StatusCode::UNPROCESSABLE_ENTITY, &again);
    };
    match email_codes::request_code(State(state), client, Json(CodeRequest { email: address })).await {
        Ok(_) => {
            again.ask_code = true;
            page::ok(&again)
        }
        Err(error) if error.code() == ErrorCode::RateLimited => {
            let seconds = error.retry_after_secs().unwrap_or(60).to_string();
            again.error = Some(again.page.t_with("sign-in-throttled", "seconds", &seconds));
            page::render(StatusCode::TOO_MANY_REQUESTS, &again)
        }
        Err(error) => Err(error),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    totp: String,
    #[serde(default)]
    next: String,
}

pub async fn sign_in(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, ApiError> {
    let page = Page::anonymous(&state, &headers, "sign-in");
    let next = next_of(&form.next);
    let email = form.email.trim().to_lowercase();
    let code = SecretString::from(form.code.clone());
    let totp = form.totp.trim();
    // Six digits are an authenticator code; anything else typed there, a recovery code.
    let six_digits = totp.len() == 6 && totp.chars().all(|c| c.is_ascii_digit());
    let recovery_code = (!totp.is_empty() && !six_digits).then(|| SecretString::from(totp.to_owned()));
    let second_factor = SecondFactor { totp: six_digits.then_some(totp), recovery_code: recovery_code.as_ref() };
    let started = if email.chars().count() > 254 {
        Err(ApiError::from_code(ErrorCode::Unauthenticated))
    } else {
        start_code_session(&state, &client, &headers, &email, &code, second_factor).await
    };
    match started {
        Ok((_, token)) => {
            let mut response = Redirect::to(&next).into_response();
            set_cookie_header(response.headers_mut(), session_cookie(&state.settings, &token));
            Ok(response)
        }
        Err(error) => {
            let (status, ask_totp, message) = match error.code() {
                ErrorCode::MfaRequired if totp.is_empty() => (StatusCode::OK, true, page.t("sign-in-code-needed")),
                ErrorCode::MfaRequired => (StatusCode::UNAUTHORIZED, true, page.t("sign-in-code-wrong")),
                ErrorCode::Unauthenticated | ErrorCode::ValidationFailed => {
                    (StatusCode::UNAUTHORIZED, false, page.t("email-code-wrong"))
                }
                ErrorCode::RateLimited => {
                    let seconds = error.retry_after_secs().unwrap_or(60).to_string();
                    (StatusCode::TOO_MANY_REQUESTS, false, page.t_with("sign-in-throttled", "seconds", &seconds))
                }
                _ => return Err(error),
            };
            let again = CodePage {
                page,
                email,
                next,
                ask_code: true,
                ask_totp,
                // Carried only to the authenticator step, where it is still unspent.
                code: if ask_totp { form.code } else { String::new() },
                minutes: CODE_MINUTES,
                error: Some(message),
            };
            page::render(status, &again)
        }
    }
}
