//! Multi-factor sign-in: enrolling an authenticator app (TOTP), confirming it
//! with a first code (which issues the recovery codes), and turning it off.

use crate::notifications::security::{self, SecurityChange};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::identity::auth::totp_context;
use crate::audit;
use crate::auth::tokens::hash_token;
use crate::auth::{Caller, session};
use crate::core::totp;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode, FieldError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(start_totp, disable_totp)).routes(routes!(confirm_totp))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrollment {
    /// The shared secret in base32, for typing into an authenticator app.
    pub secret: String,
    /// The `otpauth://` URL, for a QR code.
    pub otpauth_url: String,
}

/// Starts enrolling an authenticator app (needs the password proven in this
/// session within 10 minutes, and a credential not limited to one account).
/// Multi-factor sign-in is on only once a first code is confirmed.
#[utoipa::path(post, path = "/api/v1/me/mfa/totp", extensions(("x-permission" = json!("signed in with a password within 10 minutes, not scoped to one account"))), tag = "auth",
    responses(
        (status = 201, description = "A new secret to add to the authenticator app", body = TotpEnrollment),
        (status = 403, description = "Confirm your password first, or a credential scoped to one account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already on: turn it off first", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn start_totp(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let enrollment = begin_totp(&state, &caller).await?;
    Ok((StatusCode::CREATED, Json(enrollment)).into_response())
}

/// A new secret for the caller's authenticator app (behind the API and the
/// profile page).
pub async fn begin_totp(state: &AppState, caller: &Caller) -> Result<TotpEnrollment, ApiError> {
    caller.require_sign_in_change()?;
    let secret = totp::generate_secret();
    let sealed = state.cipher.seal(&secret, &totp_context(caller.user_id));
    if !state.store.begin_totp_enrollment(caller.user_id, &sealed).await? {
        return Err(ApiError::new(ErrorCode::Conflict, "Multi-factor sign-in is already on; turn it off first."));
    }
    audit::record(&state.store, caller.audit_event("mfa.enrollment_started").target("user", caller.user_id)).await?;
    Ok(TotpEnrollment {
        secret: totp::secret_base32(&secret),
        otpauth_url: totp::provisioning_url(&secret, &caller.email),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirmation {
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Each works once in place of a code. Shown only in this response.
    pub recovery_codes: Vec<String>,
}

/// Confirms enrollment with a first code: multi-factor sign-in is then on (and
/// proven in this session), and the one-time recovery codes are returned (once).
#[utoipa::path(post, path = "/api/v1/me/mfa/totp/confirm", extensions(("x-permission" = json!("signed in, not scoped to one account"))), tag = "auth", request_body = TotpConfirmation,
    responses(
        (status = 200, description = "On; keep the recovery codes safe", body = RecoveryCodes),
        (status = 403, description = "A credential scoped to one account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "No enrollment in progress, or already on", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong code", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<TotpConfirmation>,
) -> Result<Response, ApiError> {
    let (codes, rotated_cookie) = finish_totp_enrollment(&state, &caller, &request.code).await?;
    let mut response = Json(codes).into_response();
    if let Some(cookie) = rotated_cookie {
        session::set_cookie_header(response.headers_mut(), cookie);
    }
    Ok(response)
}

/// The enrolment begun and not yet confirmed, to show again after a wrong first code.
pub async fn pending_enrollment(state: &AppState, caller: &Caller) -> Result<Option<TotpEnrollment>, ApiError> {
    let mfa = state.store.mfa_state(caller.user_id).await?;
    let (Some(sealed), None) = (mfa.mfa_secret_sealed, mfa.mfa_enabled_at) else {
        return Ok(None);
    };
    let secret = state.cipher.open(&sealed, &totp_context(caller.user_id)).map_err(ApiError::internal)?;
    Ok(Some(TotpEnrollment {
        secret: totp::secret_base32(&secret),
        otpauth_url: totp::provisioning_url(&secret, &caller.email),
    }))
}

/// Turns the factor on with a first code: the recovery codes (shown once) and
/// the session's rotated cookie.
pub async fn finish_totp_enrollment(
    state: &AppState,
    caller: &Caller,
    code: &str,
) -> Result<(RecoveryCodes, Option<String>), ApiError> {
    caller.require_unscoped()?;
    let mfa = state.store.mfa_state(caller.user_id).await?;
    let (Some(sealed), None) = (mfa.mfa_secret_sealed, mfa.mfa_enabled_at) else {
        return Err(ApiError::new(ErrorCode::Conflict, "Start an enrollment first (POST /api/v1/me/mfa/totp)."));
    };
    let secret = state.cipher.open(&sealed, &totp_context(caller.user_id)).map_err(ApiError::internal)?;
    let now = Utc::now();
    let Some(step) = totp::verify(&secret, code, now.timestamp() as u64) else {
        return Err(ApiError::validation(vec![FieldError {
            field: "code".into(),
            message: "is not the current code".into(),
        }]));
    };
    let recovery_codes = totp::generate_recovery_codes();
    let hashes: Vec<Vec<u8>> =
        recovery_codes.iter().map(|code| hash_token(&totp::normalize_recovery_code(code))).collect();
    state.store.enable_totp(caller.user_id, step as i64, &hashes, caller.session_id(), now).await?;
    audit::record(&state.store, caller.audit_event("mfa.enabled").target("user", caller.user_id)).await?;
    security::tell(state, caller, SecurityChange::SecondFactorOn);
    Ok((RecoveryCodes { recovery_codes }, session::rotate(state, caller).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpRemoval {
    /// A current code from the authenticator app, or one of the recovery codes:
    /// whoever turns the factor off must hold it.
    #[schema(format = Password)]
    pub code: String,
}

/// Turns multi-factor sign-in off (needs the password proven in this session
/// within 10 minutes, a current code or a recovery code, and a credential not
/// limited to one account). Accounts that require it stay closed to the user
/// until it is on again.
#[utoipa::path(delete, path = "/api/v1/me/mfa/totp", extensions(("x-permission" = json!("signed in with a password within 10 minutes, not scoped to one account"))), tag = "auth", request_body = TotpRemoval,
    responses(
        (status = 204, description = "Off"),
        (status = 403, description = "Confirm your password first, or a credential scoped to one account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Multi-factor sign-in is not on", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a current code or an unused recovery code", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn disable_totp(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<TotpRemoval>,
) -> Result<Response, ApiError> {
    let rotated_cookie = turn_off_totp(&state, &caller, &request.code).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(cookie) = rotated_cookie {
        session::set_cookie_header(response.headers_mut(), cookie);
    }
    Ok(response)
}

/// Turns the factor off for one who holds it; answers the rotated cookie.
pub async fn turn_off_totp(state: &AppState, caller: &Caller, code: &str) -> Result<Option<String>, ApiError> {
    caller.require_sign_in_change()?;
    let mfa = state.store.mfa_state(caller.user_id).await?;
    let (Some(sealed), Some(_)) = (mfa.mfa_secret_sealed, mfa.mfa_enabled_at) else {
        return Err(ApiError::new(ErrorCode::Conflict, "Multi-factor sign-in is not on."));
    };
    let now = Utc::now();
    if !factor_is_held(state, caller, &sealed, code, now).await? {
        return Err(ApiError::validation(vec![FieldError {
            field: "code".into(),
            message: "is neither the current code nor an unused recovery code".into(),
        }]));
    }
    state.store.disable_totp(caller.user_id, now).await?;
    audit::record(&state.store, caller.audit_event("mfa.disabled").target("user", caller.user_id)).await?;
    security::tell(state, caller, SecurityChange::SecondFactorOff);
    Ok(session::rotate(state, caller).await?)
}

/// A current TOTP code (for a step not used before) or an unused recovery code
/// (used up by this).
async fn factor_is_held(
    state: &AppState,
    caller: &Caller,
    sealed_secret: &[u8],
    code: &str,
    now: chrono::DateTime<Utc>,
) -> Result<bool, ApiError> {
    let secret = state.cipher.open(sealed_secret, &totp_context(caller.user_id)).map_err(ApiError::internal)?;
    if let Some(step) = totp::verify(&secret, code, now.timestamp() as u64) {
        return Ok(state.store.claim_totp_step(caller.user_id, step as i64).await?);
    }
    let code_hash = hash_token(&totp::normalize_recovery_code(code));
    Ok(state.store.claim_recovery_code(caller.user_id, &code_hash, now).await?)
}
