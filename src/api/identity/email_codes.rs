//! Signing in with a one-time code mailed to the address: for customers who
//! never set a password. Asking answers alike for every address (and before
//! anything is looked up); a code has 8 digits, lives 10 minutes, works once,
//! dies after 5 wrong tries and when a newer one is sent; asking is limited per
//! source and per address, and trying under the same throttle as a password.
//! Staff never sign in this way, nor members of an account that turned it off.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use secrecy::SecretString;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::identity::auth::{SecondFactor, SignedIn, begin_session, second_factor_holds};
use crate::audit::{self, ActorKind, AuditEvent};
use crate::auth::session::{session_cookie, set_cookie_header};
use crate::auth::tokens::hash_token;
use crate::auth::{ClientInfo, throttle};
use crate::core::email::EmailInput;
use crate::mail::Message;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode};
use crate::store::{LoginUser, SignInMethod};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(request_code)).routes(routes!(sign_in_with_code))
}

/// How long a mailed code works.
pub const CODE_MINUTES: i64 = 10;
/// Codes one address may be sent per window (a mailbox is not a target).
const CODES_PER_ADDRESS: i64 = 3;
const CODE_WINDOW_MINUTES: i64 = 15;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    #[schema(value_type = String, format = Email, max_length = 254)]
    pub email: EmailInput,
}

/// Mails a one-time sign-in code if the address belongs to an active customer
/// whose accounts allow it. The answer is 202 either way and comes before anything
/// is looked up, so neither its content nor its timing tells who has an account.
/// Limited per source address (429) and per address mailed (3 codes a quarter
/// hour; more are silently not sent).
#[utoipa::path(post, path = "/api/v1/auth/email-code", extensions(("x-permission" = json!("public"))), tag = "auth", request_body = CodeRequest,
    responses(
        (status = 202, description = "If the address may sign in with a code, one is on its way"),
        (status = 422, description = "An email address longer than any can be", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn request_code(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(request): Json<CodeRequest>,
) -> Result<StatusCode, ApiError> {
    if let Err(wait) = state.anonymous.sign_in_codes.check(client.ip_address.as_deref().unwrap_or_default()) {
        return Err(ApiError::rate_limited(wait.as_secs().max(1)));
    }
    let email = request.email.into_string();
    tokio::spawn(async move {
        if let Err(error) = send_code(&state, &client, &email).await {
            tracing::error!(error = %crate::core::error_chain(&error), "sending a sign-in code failed");
        }
    });
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error("store")]
    Store(#[from] crate::store::StoreError),
    #[error("mail")]
    Mail(#[from] crate::mail::MailError),
}

/// The user `email` names, if they may sign in with a mailed code: active, not
/// staff, in at least one account and in none that turned codes off.
/// For an unknown address the same queries run against no one, so that the
/// answer's timing does not tell known addresses from unknown ones.
async fn code_user(state: &AppState, email: &str) -> Result<Option<LoginUser>, crate::store::StoreError> {
    let user = state.store.find_login_user(email).await?.filter(|user| user.status == "active");
    let user_id = user.as_ref().map(|user| user.id).unwrap_or(Uuid::nil());
    let staff = state.store.staff_role_of(user_id).await?.is_some();
    let policy = state.store.email_code_policy(user_id).await?;
    Ok(user.filter(|_| !staff && policy.accounts > 0 && !policy.any_off))
}

/// What is stored of a code: bound to its user, so one code's hash says nothing
/// of another's.
fn code_hash(user_id: Uuid, code: &str) -> Vec<u8> {
    hash_token(&format!("sign-in-code:{user_id}:{code}"))
}

/// Eight random digits.
fn new_code() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    format!("{:08}", u64::from_le_bytes(bytes) % 100_000_000)
}

async fn send_code(state: &AppState, client: &ClientInfo, email: &str) -> Result<(), SendError> {
    let Some(user) = code_user(state, email).await? else {
        return Ok(());
    };
    let one_at_a_time = state.anonymous.code_mails.lock().await;
    let now = Utc::now();
    if state.store.recent_sign_in_codes(user.id, now - Duration::minutes(CODE_WINDOW_MINUTES)).await?
        >= CODES_PER_ADDRESS
    {
        tracing::info!(user_id = %user.id, "sign-in code not sent: this address had enough codes for now");
        return Ok(());
    }
    let code = new_code();
    let expires_at = now + Duration::minutes(CODE_MINUTES);
    state.store.create_sign_in_code(user.id, &code_hash(user.id, &code), now, expires_at).await?;
    drop(one_at_a_time);
    let business = &state.settings.portal.name;
    let spaced = format!("{} {}", &code[..4], &code[4..]);
    let message = Message {
        to: email.to_owned(),
        subject: format!("Your sign-in code for {business}"),
        text: format!(
            "Your code to sign in to {business} as {email}:\n\n    {spaced}\n\nIt works once, for {CODE_MINUTES} minutes. If you did not ask for it, ignore this message: nobody can sign in without it."
        ),
        ..Default::default()
    };
    state.mailer.send(&message).await?;
    let event = AuditEvent::new("auth.email_code.sent", ActorKind::User)
        .actor(user.id)
        .ip_address(client.ip_address.clone())
        .user_agent(client.user_agent.clone());
    audit::record(&state.store, event).await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeSignIn {
    #[schema(value_type = String, format = Email, max_length = 254)]
    pub email: EmailInput,
    /// The 8 digits from the mail (spaces are ignored).
    #[schema(value_type = String, format = Password)]
    pub code: SecretString,
    /// The authenticator app's code, when multi-factor sign-in is on.
    #[serde(default)]
    pub totp: Option<String>,
    /// Instead of `totp`: one of the one-time recovery codes.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    pub recovery_code: Option<SecretString>,
}

/// Signs in with a mailed code (and the second factor, when on) and sets the
/// session cookie. A wrong, used or expired code and an unknown address answer
/// alike; failures are throttled like password sign-ins.
#[utoipa::path(post, path = "/api/v1/auth/email-code/sign-in", extensions(("x-permission" = json!("public"))), tag = "auth", request_body = CodeSignIn,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = SignedIn),
        (status = 401, description = "Wrong, used or expired code, or the second factor is needed", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An email address longer than any can be", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn sign_in_with_code(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Json(request): Json<CodeSignIn>,
) -> Result<Response, ApiError> {
    let email = request.email.into_string();
    let second_factor = SecondFactor { totp: request.totp.as_deref(), recovery_code: request.recovery_code.as_ref() };
    let (user_id, token) = start_code_session(&state, &client, &headers, &email, &request.code, second_factor).await?;
    let mut response = (StatusCode::OK, Json(SignedIn { user_id, email })).into_response();
    set_cookie_header(response.headers_mut(), session_cookie(&state.settings, &token));
    Ok(response)
}

fn wrong_code() -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, "The code is not right, was used, or has expired. Ask for a new one.")
}

/// Proves a code sign-in (throttled, audited) and starts a session: shared by the
/// API and the sign-in page.
pub(crate) async fn start_code_session(
    state: &AppState,
    client: &ClientInfo,
    headers: &HeaderMap,
    email: &str,
    code: &SecretString,
    second_factor: SecondFactor<'_>,
) -> Result<(Uuid, String), ApiError> {
    use secrecy::ExposeSecret;
    let ip_address = client.ip_address.clone().unwrap_or_default();
    let now = Utc::now();
    let attempt = match throttle::admit(&state.store, &state.settings.auth, email, &ip_address, now).await? {
        throttle::Admission::Admitted(attempt) => attempt,
        throttle::Admission::Refused { wait, .. } => {
            return Err(ApiError::rate_limited(wait.num_seconds().max(1) as u64));
        }
    };
    let typed: String = code.expose_secret().chars().filter(|c| !c.is_whitespace()).collect();
    let user = code_user(state, email).await?;
    let user_id = user.as_ref().map(|user| user.id).unwrap_or(Uuid::nil());
    let live = state.store.live_sign_in_code(user_id, now).await?;
    let matches = match (&user, &live) {
        (Some(user), Some(live)) => bool::from(code_hash(user.id, &typed).ct_eq(&live.code_hash)),
        _ => false,
    };
    let (Some(user), Some(live), true) = (user, live.as_ref(), matches) else {
        attempt.fail();
        if let Some(live) = &live {
            state.store.fail_sign_in_code(live.id).await?;
        }
        let event = AuditEvent::new("auth.login.failed", ActorKind::User)
            .ip_address(Some(ip_address))
            .user_agent(client.user_agent.clone())
            .details(serde_json::json!({ "email": email, "method": "email_code" }));
        audit::record(&state.store, event).await?;
        return Err(wrong_code());
    };
    // The second factor before the code is spent: asking for it is no failure.
    let mut proven_second_factor = false;
    if user.mfa_enabled_at.is_some() {
        if second_factor.is_missing() {
            attempt.release(&state.store).await?;
            return Err(ApiError::from_code(ErrorCode::MfaRequired));
        }
        if !second_factor_holds(state, &user, &second_factor, now).await? {
            attempt.fail();
            return Err(ApiError::new(ErrorCode::MfaRequired, "That code is not valid."));
        }
        proven_second_factor = true;
    }
    if !state.store.use_sign_in_code(live.id, now).await? {
        attempt.fail();
        return Err(wrong_code());
    }
    state.store.clear_login_failures(email).await?;
    // Reading the mail proves the address.
    state.store.mark_email_verified(user.id, now).await?;
    let token = begin_session(state, client, headers, user.id, SignInMethod::EmailCode, proven_second_factor).await?;
    Ok((user.id, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eight_digits_and_their_hashes_are_bound_to_the_user() {
        for _ in 0..100 {
            let code = new_code();
            assert_eq!(code.len(), 8, "{code}");
            assert!(code.chars().all(|c| c.is_ascii_digit()), "{code}");
        }
        let (one, two) = (Uuid::new_v4(), Uuid::new_v4());
        assert_ne!(code_hash(one, "12345678"), code_hash(two, "12345678"));
        assert_eq!(code_hash(one, "12345678"), code_hash(one, "12345678"));
    }
}
