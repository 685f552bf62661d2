//! The signed-in user's own ways in: their sessions, their password, their API tokens.

use crate::notifications::security::{self, SecurityChange};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit;
use crate::auth::tokens::generate_token;
use crate::auth::{Caller, session};
use crate::core::password::{check_password_policy, hash_password, verify_password};
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode, FieldError};
use crate::store::{ApiTokenSummary, NewApiToken, SessionSummary};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(change_password))
        .routes(routes!(create_api_token, list_api_tokens))
        .routes(routes!(revoke_api_token))
}

const MAX_TOKEN_DAYS: u32 = 365;
const DEFAULT_TOKEN_DAYS: u32 = 90;
/// API tokens are recognisable in logs and secret scanners by this prefix.
const API_TOKEN_PREFIX: &str = "ptk_";

#[derive(Debug, Serialize, ToSchema)]
pub struct MySession {
    #[serde(flatten)]
    pub session: SessionSummary,
    /// The session making this request.
    pub current: bool,
}

/// The user's live sessions: where and when each was used.
#[utoipa::path(get, path = "/api/v1/me/sessions", extensions(("x-permission" = json!("signed in"))), tag = "auth",
    responses((status = 200, description = "Live sessions, most recently used first", body = Vec<MySession>)))]
pub async fn list_sessions(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<MySession>>, ApiError> {
    let now = Utc::now();
    let idle_cutoff = now - Duration::seconds(state.settings.auth.session_idle_timeout_secs as i64);
    let current = caller.session_id();
    let sessions = state.store.user_sessions(caller.user_id, now, idle_cutoff).await?;
    Ok(Json(
        sessions
            .into_iter()
            .map(|session| MySession { current: Some(session.session_id) == current, session })
            .collect(),
    ))
}

/// Ends one of the user's sessions (another device, or this one).
#[utoipa::path(delete, path = "/api/v1/me/sessions/{session_id}", extensions(("x-permission" = json!("signed in"))), tag = "auth",
    params(("session_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "No such session of yours", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(session_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    if !state.store.revoke_user_session(caller.user_id, session_id, Utc::now()).await? {
        return Err(ApiError::from_code(ErrorCode::NotFound));
    }
    audit::record(&state.store, caller.audit_event("session.revoked").target("session", session_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(value_type = String, format = Password)]
    pub current_password: SecretString,
    #[schema(value_type = String, format = Password)]
    pub new_password: SecretString,
    /// Keep your API tokens working (by default a new password revokes them, as
    /// whoever knew the old one may have made some).
    #[serde(default)]
    pub keep_api_tokens: bool,
}

/// Changes the password (needs the password proven in this session within 10
/// minutes, the current password, and a credential not limited to one account)
/// and ends every other session, pending reset and email-change links, and, unless
/// asked to keep them, the API tokens.
#[utoipa::path(post, path = "/api/v1/me/password", extensions(("x-permission" = json!("signed in with a password within 10 minutes, not scoped to one account"))), tag = "auth", request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; other sessions, links and (unless kept) API tokens ended"),
        (status = 403, description = "Confirm your password first, or a credential scoped to one account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong current password or too weak a new one", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<PasswordChange>,
) -> Result<Response, ApiError> {
    let rotated_cookie = change_own_password(&state, &caller, request).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(cookie) = rotated_cookie {
        session::set_cookie_header(response.headers_mut(), cookie);
    }
    Ok(response)
}

/// The password change behind the API and the profile page; answers the
/// session's new cookie (a privilege change rotates it).
pub async fn change_own_password(
    state: &AppState,
    caller: &Caller,
    request: PasswordChange,
) -> Result<Option<String>, ApiError> {
    caller.require_sign_in_change()?;
    let field_error =
        |field: &str, message: String| ApiError::validation(vec![FieldError { field: field.into(), message }]);
    let current_hash = state.store.password_hash_of(caller.user_id).await?.unwrap_or_default();
    if !verify_password(request.current_password, current_hash).await {
        return Err(field_error("current_password", "is not your current password".into()));
    }
    check_password_policy(&request.new_password, &[&caller.email, &caller.display_name])
        .map_err(|error| field_error("new_password", error.to_string()))?;
    let new_hash = hash_password(request.new_password).await;
    let ended = state
        .store
        .change_password(caller.user_id, &new_hash, caller.session_id(), request.keep_api_tokens, Utc::now())
        .await?;
    let event = caller.audit_event("password.changed").target("user", caller.user_id).details(serde_json::json!({
        "other_sessions_ended": ended.sessions_ended,
        "links_ended": ended.links_ended,
        "api_tokens_revoked": ended.api_tokens_revoked,
    }));
    audit::record(&state.store, event).await?;
    security::tell(state, caller, SecurityChange::PasswordChanged);
    Ok(session::rotate(state, caller).await?)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiTokenRequest {
    /// What the token is for, 1 to 100 characters.
    pub name: String,
    /// Limit the token to one account you belong to; omit for a staff token. A
    /// session limited to one account makes tokens for that account only.
    pub account_id: Option<Uuid>,
    /// Days until the token expires, 1 to 365 (default 90).
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenCreated {
    pub token_id: Uuid,
    pub name: String,
    pub account_id: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    /// Send as `Authorization: Bearer <token>`. Shown only in this response.
    pub token: String,
}

/// Creates an API token acting for you: inside one of your accounts (with your
/// role's permissions there, checked on every use), or with your staff rights.
/// Needs the password proven in this session within 10 minutes; a credential
/// limited to one account makes tokens for that account only, never wider ones.
#[utoipa::path(post, path = "/api/v1/me/tokens", extensions(("x-permission" = json!("signed in with a password within 10 minutes"))), tag = "auth", request_body = ApiTokenRequest,
    responses(
        (status = 201, description = "Created; the token is shown once", body = ApiTokenCreated),
        (status = 403, description = "Confirm your password first, no staff rights for an unscoped token, or an account outside this credential's scope", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name, expiry or account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_api_token(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<ApiTokenRequest>,
) -> Result<Response, ApiError> {
    let created = mint_api_token(&state, &caller, request).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Making a token, behind the API and the profile page.
pub async fn mint_api_token(
    state: &AppState,
    caller: &Caller,
    request: ApiTokenRequest,
) -> Result<ApiTokenCreated, ApiError> {
    caller.require_recent_sign_in()?;
    let field_error = |field: &str, message: &str| {
        ApiError::validation(vec![FieldError { field: field.into(), message: message.into() }])
    };
    let name = request.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(field_error("name", "must be 1 to 100 characters"));
    }
    let days = request.expires_in_days.unwrap_or(DEFAULT_TOKEN_DAYS);
    if !(1..=MAX_TOKEN_DAYS).contains(&days) {
        return Err(field_error("expires_in_days", "must be 1 to 365"));
    }
    // A credential never mints one wider than itself.
    if let Some(scoped_to) = caller.scoped_account_id()
        && request.account_id != Some(scoped_to)
    {
        return Err(ApiError::new(
            ErrorCode::ScopedCredential,
            "This sign-in reaches one account only: a token it makes must be limited to that account.",
        ));
    }
    match request.account_id {
        Some(account_id) => {
            let membership = state.store.membership(account_id, caller.user_id).await?;
            if membership.as_ref().and_then(crate::auth::grants::grant_of).is_none() {
                return Err(field_error("account_id", "is not an account you belong to"));
            }
        }
        None if caller.staff_role.is_none() => {
            return Err(ApiError::new(ErrorCode::Forbidden, "Only staff create tokens without an account."));
        }
        None => {}
    }
    let (secret, _) = generate_token();
    let token = format!("{API_TOKEN_PREFIX}{secret}");
    let now = Utc::now();
    let new_token = NewApiToken {
        token_hash: crate::auth::tokens::hash_token(&token),
        name: name.clone(),
        account_id: request.account_id,
        created_by: caller.user_id,
        created_at: now,
        expires_at: now + Duration::days(days as i64),
    };
    let token_id = state.store.create_api_token(&new_token).await?;
    let mut event = caller.audit_event("api_token.created").target("api_token", token_id);
    if let Some(account_id) = request.account_id {
        event = event.account(account_id);
    }
    audit::record(&state.store, event).await?;
    security::tell(state, caller, SecurityChange::ApiTokenCreated { name: name.clone() });
    Ok(ApiTokenCreated { token_id, name, account_id: request.account_id, expires_at: new_token.expires_at, token })
}

/// Your API tokens (never their secrets); a credential limited to one account
/// sees those limited to it.
#[utoipa::path(get, path = "/api/v1/me/tokens", extensions(("x-permission" = json!("signed in"))), tag = "auth",
    responses((status = 200, description = "Tokens, newest first", body = Vec<ApiTokenSummary>)))]
pub async fn list_api_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ApiTokenSummary>>, ApiError> {
    Ok(Json(state.store.user_api_tokens(caller.user_id, caller.scoped_account_id()).await?))
}

/// Revokes one of your API tokens (a credential limited to one account: one
/// limited to it); it stops working at once.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{token_id}", extensions(("x-permission" = json!("signed in"))), tag = "auth",
    params(("token_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such live token of yours", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_api_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(token_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    if !state.store.revoke_api_token(caller.user_id, token_id, caller.scoped_account_id(), Utc::now()).await? {
        return Err(ApiError::from_code(ErrorCode::NotFound));
    }
    audit::record(&state.store, caller.audit_event("api_token.revoked").target("api_token", token_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
