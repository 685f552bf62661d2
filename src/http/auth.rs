//! Sign-in and sign-out with a server-side session behind an HttpOnly cookie.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::json::Json;
use super::problem::{ApiError, ErrorCode};
use crate::audit::{self, ActorKind, AuditEvent};
use crate::auth::session::{clearing_cookie, session_cookie, set_cookie_header, token_from_headers};
use crate::auth::tokens::{generate_token, hash_token};
use crate::auth::{Caller, ClientInfo, throttle};
use crate::core::email::normalize_email;
use crate::core::password::{hash_password, verify_password};
use crate::core::totp;
use crate::store::NewSession;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(logout))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    /// The 6-digit code from the authenticator app, when multi-factor sign-in is on.
    #[serde(default)]
    pub totp: Option<String>,
    /// Instead of `totp`: one of the one-time recovery codes.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    pub recovery_code: Option<SecretString>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedIn {
    pub user_id: Uuid,
    pub email: String,
}

/// Answers a wrong password and an unknown email alike, in body and in timing.
fn invalid_credentials() -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, "The email or password is incorrect.")
}

/// A hash to verify against when the email is unknown, so that answer takes as
/// long as a wrong password does.
pub(crate) async fn decoy_hash() -> String {
    static DECOY: OnceCell<String> = OnceCell::const_new();
    DECOY
        .get_or_init(|| async {
            let (random, _) = generate_token();
            hash_password(SecretString::from(random)).await
        })
        .await
        .clone()
}

/// Signs in with email and password and sets the session cookie. Failures are
/// throttled per email and per source address (429 with `Retry-After`).
#[utoipa::path(post, path = "/api/v1/auth/login", extensions(("x-permission" = json!("public"))), tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = SignedIn),
        (status = 401, description = "Wrong email or password", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts", body = super::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Json(request): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let email = normalize_email(&request.email);
    let ip_address = client.ip_address.clone().unwrap_or_default();
    let now = Utc::now();
    if let Some(wait) = throttle::check(&state.store, &state.settings.auth, &email, &ip_address, now).await? {
        let event = AuditEvent::new("auth.login.throttled", ActorKind::User)
            .ip_address(Some(ip_address.clone()))
            .user_agent(client.user_agent.clone())
            .details(serde_json::json!({ "email": email }));
        audit::record(&state.store, event).await?;
        return Err(ApiError::rate_limited(wait.num_seconds().max(1) as u64));
    }

    let user = state.store.find_login_user(&email).await?;
    let usable_hash = user.as_ref().filter(|user| user.status == "active").and_then(|user| user.password_hash.clone());
    let verified = match usable_hash {
        Some(hash) => verify_password(request.password, hash).await,
        None => {
            verify_password(request.password, decoy_hash().await).await;
            false
        }
    };
    let Some(user) = user.filter(|_| verified) else {
        state.store.record_login_failure(&email, &ip_address, now).await?;
        let event = AuditEvent::new("auth.login.failed", ActorKind::User)
            .ip_address(Some(ip_address))
            .user_agent(client.user_agent.clone())
            .details(serde_json::json!({ "email": email }));
        audit::record(&state.store, event).await?;
        return Err(invalid_credentials());
    };

    if user.mfa_enabled_at.is_some() {
        let second_factor =
            SecondFactor { totp: request.totp.as_deref(), recovery_code: request.recovery_code.as_ref() };
        if second_factor.is_missing() {
            return Err(ApiError::from_code(ErrorCode::MfaRequired));
        }
        if !second_factor_holds(&state, &user, &second_factor, now).await? {
            state.store.record_login_failure(&email, &ip_address, now).await?;
            let event = AuditEvent::new("auth.mfa.failed", ActorKind::User)
                .actor(user.id)
                .ip_address(Some(ip_address))
                .user_agent(client.user_agent.clone());
            audit::record(&state.store, event).await?;
            return Err(ApiError::new(ErrorCode::MfaRequired, "That code is not valid."));
        }
    }

    state.store.clear_login_failures(&email).await?;
    // A new session id at every sign-in: a cookie planted before it (fixation) is dropped.
    if let Some(previous_token) = token_from_headers(&headers, &state.settings) {
        state.store.revoke_session_by_token(&hash_token(&previous_token), now).await?;
    }
    let (token, token_hash) = generate_token();
    let session = NewSession {
        token_hash,
        user_id: user.id,
        scoped_account_id: None,
        user_agent: client.user_agent.clone(),
        ip_address: Some(ip_address.clone()),
        created_at: now,
        expires_at: now + Duration::seconds(state.settings.auth.session_absolute_timeout_secs as i64),
    };
    let session_id = state.store.create_session(&session).await?;
    let event = AuditEvent::new("auth.login.succeeded", ActorKind::User)
        .actor(user.id)
        .target("session", session_id)
        .ip_address(Some(ip_address))
        .user_agent(client.user_agent);
    audit::record(&state.store, event).await?;

    let mut response = (StatusCode::OK, Json(SignedIn { user_id: user.id, email })).into_response();
    set_cookie_header(response.headers_mut(), session_cookie(&state.settings, &token));
    Ok(response)
}

struct SecondFactor<'a> {
    totp: Option<&'a str>,
    recovery_code: Option<&'a SecretString>,
}

impl SecondFactor<'_> {
    fn is_missing(&self) -> bool {
        self.totp.is_none() && self.recovery_code.is_none()
    }
}

/// A TOTP code for a step not used before, or an unused recovery code (which is
/// then used up).
async fn second_factor_holds(
    state: &AppState,
    user: &crate::store::LoginUser,
    second_factor: &SecondFactor<'_>,
    now: chrono::DateTime<Utc>,
) -> Result<bool, ApiError> {
    if let Some(code) = second_factor.totp {
        let Some(sealed) = &user.mfa_secret_sealed else { return Ok(false) };
        let secret = state.cipher.open(sealed, &totp_context(user.id)).map_err(ApiError::internal)?;
        let Some(step) = totp::verify(&secret, code, now.timestamp() as u64) else { return Ok(false) };
        return Ok(state.store.claim_totp_step(user.id, step as i64).await?);
    }
    if let Some(code) = second_factor.recovery_code {
        let code_hash = hash_token(&totp::normalize_recovery_code(code.expose_secret()));
        return Ok(state.store.claim_recovery_code(user.id, &code_hash, now).await?);
    }
    Ok(false)
}

/// Associated data binding a sealed TOTP secret to its user.
pub(crate) fn totp_context(user_id: Uuid) -> String {
    format!("user:{user_id}:totp")
}

/// Ends the current session on the server and clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", extensions(("x-permission" = json!("signed in"))), tag = "auth",
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = super::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let Some(session_id) = caller.session_id() else {
        return Err(ApiError::new(ErrorCode::BadRequest, "Sign-out ends sessions; revoke an API token instead."));
    };
    state.store.revoke_session(session_id, Utc::now()).await?;
    audit::record(&state.store, caller.audit_event("auth.logout").target("session", session_id)).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    set_cookie_header(response.headers_mut(), clearing_cookie(&state.settings));
    Ok(response)
}
