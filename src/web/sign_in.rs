//! Signing in and out in the browser: the same proof, throttle and session as
//! `POST /api/v1/auth/login`, as a form that works without JavaScript. Errors
//! say what to do and never which part was wrong; what the person typed (but
//! the password) stays in the form. An address at a domain that signs in with
//! its organisation's identity provider is offered that provider: found by the
//! domain alone, so the page says nothing about whether the address exists.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::errors::safe_next;
use super::page::{self, Page};
use crate::api::identity::auth::{PasswordSignIn, end_session, start_password_session};
use crate::api::identity::sso::sso_offer;
use crate::auth::session::{clearing_cookie, session_cookie, set_cookie_header};
use crate::auth::{Caller, ClientInfo};
use crate::core::email::domain_of;
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::problem::{ApiError, ErrorCode};

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    page: Page,
    email: String,
    next: String,
    /// The second step: the password was right, a code is needed.
    ask_code: bool,
    error: Option<String>,
    notice: Option<String>,
    sso: Option<SsoChoice>,
}

/// The organisation's sign-in, offered beside the password.
struct SsoChoice {
    /// Who signs in there, in a sentence.
    says: String,
    href: String,
}

/// The provider offered to addresses at `domain`, if any. A lookup refused for
/// its rate offers nothing: the password form still works.
async fn offer(
    state: &AppState,
    client: &ClientInfo,
    page: &Page,
    domain: &str,
) -> Result<Option<SsoChoice>, ApiError> {
    let offer = match sso_offer(state, client, domain).await {
        Ok(offer) => offer,
        Err(error) if matches!(error.code(), ErrorCode::RateLimited) => None,
        Err(error) => return Err(error),
    };
    Ok(offer.map(|offer| SsoChoice {
        says: match &offer.account_name {
            Some(name) => page.t_with("sign-in-sso-account", "account", name),
            None => page.t("sign-in-sso-staff"),
        },
        href: format!("/api/v1/auth/sso/{}/start", offer.connection_id),
    }))
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    /// What was just done elsewhere ("reset": a new password), said above the form.
    #[serde(default)]
    done: String,
    /// The domain of the address being typed: the page's script asks which
    /// provider it signs in with, and swaps in the offer.
    domain: Option<String>,
}

pub async fn form(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Result<Response, ApiError> {
    let next = query.next.as_deref().and_then(safe_next).unwrap_or("/").to_owned();
    let page = Page::anonymous(&state, &headers, "sign-in");
    let notice = (query.done == "reset").then(|| page.t("reset-done"));
    let sso = match &query.domain {
        Some(domain) => offer(&state, &client, &page, domain).await?,
        None => None,
    };
    page::ok(&SignInPage { page, email: String::new(), next, ask_code: false, error: None, notice, sso })
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

pub async fn submit(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, ApiError> {
    let page = Page::anonymous(&state, &headers, "sign-in");
    let next = safe_next(&form.next).unwrap_or("/").to_owned();
    let email = form.email.trim().to_lowercase();
    // No address is longer (RFC 5321): answered like any wrong sign-in, and never
    // stored by the throttle.
    if email.chars().count() > 254 {
        let message = page.t("sign-in-failed");
        let again = SignInPage {
            page,
            email: String::new(),
            next,
            ask_code: false,
            error: Some(message),
            notice: None,
            sso: None,
        };
        return page::render(StatusCode::UNAUTHORIZED, &again);
    }
    let sso = match domain_of(&email) {
        Some(domain) => offer(&state, &client, &page, domain).await?,
        None => None,
    };
    // No password, and the address's organisation signs in elsewhere: the
    // offer is the answer (without JavaScript, this is how the person finds it).
    if form.password.is_empty() && form.code.trim().is_empty() && sso.is_some() {
        return page::ok(&SignInPage { page, email, next, ask_code: false, error: None, notice: None, sso });
    }
    let code = form.code.trim();
    // Six digits are an authenticator code; anything else typed there, a recovery code.
    let (totp, recovery_code) = match code {
        "" => (None, None),
        code if code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()) => (Some(code), None),
        code => (None, Some(SecretString::from(code.to_owned()))),
    };
    let sign_in = PasswordSignIn {
        email: &email,
        password: SecretString::from(form.password),
        totp,
        recovery_code: recovery_code.as_ref(),
    };
    match start_password_session(&state, &client, &headers, sign_in).await {
        Ok((_, token)) => {
            let mut response = Redirect::to(&next).into_response();
            set_cookie_header(response.headers_mut(), session_cookie(&state.settings, &token));
            Ok(response)
        }
        Err(error) => {
            let (status, ask_code, message) = match error.code() {
                ErrorCode::MfaRequired if code.is_empty() => (StatusCode::OK, true, page.t("sign-in-code-needed")),
                ErrorCode::MfaRequired => (StatusCode::UNAUTHORIZED, true, page.t("sign-in-code-wrong")),
                ErrorCode::Unauthenticated | ErrorCode::ValidationFailed => {
                    (StatusCode::UNAUTHORIZED, false, page.t("sign-in-failed"))
                }
                ErrorCode::RateLimited => {
                    let seconds = error.retry_after_secs().unwrap_or(60).to_string();
                    (StatusCode::TOO_MANY_REQUESTS, false, page.t_with("sign-in-throttled", "seconds", &seconds))
                }
                // The password was right, but this person's account signs in with mailed codes.
                ErrorCode::Forbidden => (StatusCode::FORBIDDEN, false, page.t("email-code-required")),
                _ => return Err(error),
            };
            // The password is asked again with the code: it is never put back in the page.
            page::render(status, &SignInPage { page, email, next, ask_code, error: Some(message), notice: None, sso })
        }
    }
}

pub async fn sign_out(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    end_session(&state, &caller).await?;
    let mut response = Redirect::to("/sign-in").into_response();
    set_cookie_header(response.headers_mut(), clearing_cookie(&state.settings));
    Ok(response)
}
