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

use crate::audit::{self, ActorKind, AuditEvent};
use crate::auth::session::{clearing_cookie, session_cookie, set_cookie_header, token_from_headers};
use crate::auth::tokens::{generate_token, hash_token};
use crate::auth::{Caller, ClientInfo, throttle};
use crate::core::email::EmailInput;
use crate::core::password::{hash_password, verify_password};
use crate::core::totp;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode};
use crate::store::{NewSession, SignInMethod};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(reauthenticate)).routes(routes!(logout))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(value_type = String, format = Email, max_length = 254)]
    pub email: EmailInput,
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

/// A password (and, when enrolled, second-factor) proof for one user.
struct Proof<'a> {
    email: &'a str,
    password: SecretString,
    second_factor: SecondFactor<'a>,
}

/// What a proof established.
struct Proven {
    user: crate::store::LoginUser,
    /// The user has a second factor and it was proven too.
    second_factor: bool,
}

/// Checks a proof under the sign-in throttle: the attempt is reserved first (so
/// parallel guesses cannot outrun the limit), counted as a failure unless it
/// proves right, and a refusal is audited once per window.
async fn prove(state: &AppState, client: &ClientInfo, proof: Proof<'_>) -> Result<Proven, ApiError> {
    let ip_address = client.ip_address.clone().unwrap_or_default();
    let now = Utc::now();
    let attempt = match throttle::admit(&state.store, &state.settings.auth, proof.email, &ip_address, now).await? {
        throttle::Admission::Admitted(attempt) => attempt,
        throttle::Admission::Refused { wait, first_of_window } => {
            if first_of_window {
                let event = AuditEvent::new("auth.login.throttled", ActorKind::User)
                    .ip_address(Some(ip_address))
                    .user_agent(client.user_agent.clone())
                    .details(serde_json::json!({ "email": proof.email }));
                audit::record(&state.store, event).await?;
            }
            return Err(ApiError::rate_limited(wait.num_seconds().max(1) as u64));
        }
    };

    let user = state.store.find_login_user(proof.email).await?;
    let usable_hash = user.as_ref().filter(|user| user.status == "active").and_then(|user| user.password_hash.clone());
    let verified = match usable_hash {
        Some(hash) => verify_password(proof.password, hash).await,
        None => {
            verify_password(proof.password, decoy_hash().await).await;
            false
        }
    };
    let Some(user) = user.filter(|_| verified) else {
        attempt.fail();
        let event = AuditEvent::new("auth.login.failed", ActorKind::User)
            .ip_address(Some(ip_address))
            .user_agent(client.user_agent.clone())
            .details(serde_json::json!({ "email": proof.email }));
        audit::record(&state.store, event).await?;
        return Err(invalid_credentials());
    };

    if user.mfa_enabled_at.is_none() {
        state.store.clear_login_failures(proof.email).await?;
        return Ok(Proven { user, second_factor: false });
    }
    if proof.second_factor.is_missing() {
        // The password was right: asking for the code is no failure.
        attempt.release(&state.store).await?;
        return Err(ApiError::from_code(ErrorCode::MfaRequired));
    }
    if !second_factor_holds(state, &user, &proof.second_factor, now).await? {
        attempt.fail();
        let event = AuditEvent::new("auth.mfa.failed", ActorKind::User)
            .actor(user.id)
            .ip_address(Some(ip_address))
            .user_agent(client.user_agent.clone());
        audit::record(&state.store, event).await?;
        return Err(ApiError::new(ErrorCode::MfaRequired, "That code is not valid."));
    }
    state.store.clear_login_failures(proof.email).await?;
    Ok(Proven { user, second_factor: true })
}

/// Signs in with email and password and sets the session cookie. Failures are
/// throttled per email and per source address (429 with `Retry-After`).
#[utoipa::path(post, path = "/api/v1/auth/login", extensions(("x-permission" = json!("public"))), tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = SignedIn),
        (status = 401, description = "Wrong email or password, or the second factor is needed", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Right password, but the person's account signs members in with mailed codes only", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An email address longer than any can be", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Json(request): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let email = request.email.into_string();
    let sign_in = PasswordSignIn {
        email: &email,
        password: request.password,
        totp: request.totp.as_deref(),
        recovery_code: request.recovery_code.as_ref(),
    };
    let (user_id, token) = start_password_session(&state, &client, &headers, sign_in).await?;
    let mut response = (StatusCode::OK, Json(SignedIn { user_id, email })).into_response();
    set_cookie_header(response.headers_mut(), session_cookie(&state.settings, &token));
    Ok(response)
}

/// What a person signing in with a password gives.
pub(crate) struct PasswordSignIn<'a> {
    pub email: &'a str,
    pub password: SecretString,
    pub totp: Option<&'a str>,
    pub recovery_code: Option<&'a SecretString>,
}

/// Proves a password sign-in (throttled, audited) and starts a session: the user's
/// id and the new session's token, for the caller to set as the cookie. Shared by
/// the API and the sign-in page.
pub(crate) async fn start_password_session(
    state: &AppState,
    client: &ClientInfo,
    headers: &HeaderMap,
    sign_in: PasswordSignIn<'_>,
) -> Result<(Uuid, String), ApiError> {
    let second_factor = SecondFactor { totp: sign_in.totp, recovery_code: sign_in.recovery_code };
    let proof = Proof { email: sign_in.email, password: sign_in.password, second_factor };
    let Proven { user, second_factor } = prove(state, client, proof).await?;
    // An account that signs its members in with mailed codes takes no password
    // (staff keep theirs). Said only to someone who knew the password.
    if state.store.staff_role_of(user.id).await?.is_none() && state.store.email_code_policy(user.id).await?.any_required
    {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "This account signs in with a one-time code sent by email, not with a password.",
        ));
    }
    let token = begin_session(state, client, headers, user.id, SignInMethod::Password, second_factor).await?;
    Ok((user.id, token))
}

/// Starts a session for a proven sign-in: a new session id every time (a cookie
/// planted before it is dropped: no fixation), audited with how it began. The
/// new session's token, for the caller to set as the cookie.
pub(crate) async fn begin_session(
    state: &AppState,
    client: &ClientInfo,
    headers: &HeaderMap,
    user_id: Uuid,
    method: SignInMethod,
    second_factor: bool,
) -> Result<String, ApiError> {
    let now = Utc::now();
    if let Some(previous_token) = token_from_headers(headers, &state.settings) {
        state.store.revoke_session_by_token(&hash_token(&previous_token), now).await?;
    }
    let (token, token_hash) = generate_token();
    let session = NewSession {
        token_hash,
        user_id,
        scoped_account_id: None,
        method,
        second_factor,
        user_agent: client.user_agent.clone(),
        ip_address: client.ip_address.clone(),
        created_at: now,
        expires_at: now + Duration::seconds(state.settings.auth.session_absolute_timeout_secs as i64),
    };
    let session_id = state.store.create_session(&session).await?;
    let event = AuditEvent::new("auth.login.succeeded", ActorKind::User)
        .actor(user_id)
        .target("session", session_id)
        .ip_address(client.ip_address.clone())
        .user_agent(client.user_agent.clone())
        .details(serde_json::json!({ "method": method.as_str(), "second_factor": second_factor }));
    audit::record(&state.store, event).await?;
    Ok(token)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reauthentication {
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    /// The authenticator app's code, when multi-factor sign-in is on.
    #[serde(default)]
    pub totp: Option<String>,
    /// Instead of `totp`: one of the one-time recovery codes.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    pub recovery_code: Option<SecretString>,
}

/// Confirms the password (and second factor, when on) in this session, so that
/// step-up actions are open for the next 10 minutes. Throttled like sign-in.
/// A session begun through an identity provider steps up this way too, but stays
/// limited to its account.
#[utoipa::path(post, path = "/api/v1/auth/reauthenticate", extensions(("x-permission" = json!("signed in (a session)"))), tag = "auth", request_body = Reauthentication,
    responses(
        (status = 204, description = "Proven; step-up actions are open for 10 minutes"),
        (status = 400, description = "Not a session (API tokens never step up)", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong password or code, or the second factor is needed", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn reauthenticate(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientInfo,
    Json(request): Json<Reauthentication>,
) -> Result<StatusCode, ApiError> {
    prove_again(&state, &caller, &client, request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The step-up behind the API and the profile page's "confirm your password".
pub async fn prove_again(
    state: &AppState,
    caller: &Caller,
    client: &ClientInfo,
    request: Reauthentication,
) -> Result<(), ApiError> {
    let Some(session_id) = caller.session_id() else {
        return Err(ApiError::new(ErrorCode::BadRequest, "API tokens cannot step up; sign in with your password."));
    };
    let second_factor = SecondFactor { totp: request.totp.as_deref(), recovery_code: request.recovery_code.as_ref() };
    let proof = Proof { email: &caller.email, password: request.password, second_factor };
    let proven = prove(state, client, proof).await?;
    if proven.user.id != caller.user_id {
        // The address moved to someone else between resolving and proving: no proof.
        return Err(invalid_credentials());
    }
    state.store.record_session_proof(session_id, proven.second_factor, Utc::now()).await?;
    let event = caller
        .audit_event("auth.reauthenticated")
        .target("session", session_id)
        .details(serde_json::json!({ "second_factor": proven.second_factor }));
    audit::record(&state.store, event).await?;
    Ok(())
}

pub(crate) struct SecondFactor<'a> {
    pub totp: Option<&'a str>,
    pub recovery_code: Option<&'a SecretString>,
}

impl SecondFactor<'_> {
    pub(crate) fn is_missing(&self) -> bool {
        self.totp.is_none() && self.recovery_code.is_none()
    }
}

/// A TOTP code for a step not used before, or an unused recovery code (which is
/// then used up).
pub(crate) async fn second_factor_holds(
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
        (status = 401, description = "Not signed in", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    end_session(&state, &caller).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    set_cookie_header(response.headers_mut(), clearing_cookie(&state.settings));
    Ok(response)
}

/// Ends the caller's session on the server (audited); the caller clears the cookie.
pub(crate) async fn end_session(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    let Some(session_id) = caller.session_id() else {
        return Err(ApiError::new(ErrorCode::BadRequest, "Sign-out ends sessions; revoke an API token instead."));
    };
    state.store.revoke_session(session_id, Utc::now()).await?;
    audit::record(&state.store, caller.audit_event("auth.logout").target("session", session_id)).await?;
    Ok(())
}
