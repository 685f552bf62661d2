//! Mailed single-use links: resetting a forgotten password, and proving an email
//! address. Requests answer the same whether or not the address is known.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::{self, ActorKind, AuditEvent};
use crate::auth::tokens::{generate_token, hash_token};
use crate::auth::{Caller, ClientInfo};
use crate::core::email::{EmailInput, looks_like_email};
use crate::core::password::{check_password_policy, hash_password};
use crate::mail::Message;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode, FieldError};
use crate::store::UserTokenPurpose;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_password_reset))
        .routes(routes!(confirm_password_reset))
        .routes(routes!(request_email_verification))
        .routes(routes!(confirm_email_verification))
        .routes(routes!(request_email_change))
        .routes(routes!(confirm_email_change))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[schema(value_type = String, format = Email, max_length = 254)]
    pub email: EmailInput,
}

/// Reset links one address may be sent per window (a mailbox is not a target).
const RESETS_PER_ADDRESS: i64 = 3;
const RESET_WINDOW_MINUTES: i64 = 15;

/// Mails a password-reset link if the address belongs to an active user. The
/// answer is 202 either way and is given before anything is looked up (the
/// work goes on after it), so neither its content nor its timing tells who has
/// an account. Limited per source address (429) and per address mailed (a few
/// links per quarter hour; more are silently not sent).
#[utoipa::path(post, path = "/api/v1/auth/password-reset", extensions(("x-permission" = json!("public"))), tag = "auth", request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "If the address is known, a link is on its way"),
        (status = 422, description = "An email address longer than any can be", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn request_password_reset(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(request): Json<PasswordResetRequest>,
) -> Result<StatusCode, ApiError> {
    if let Err(wait) = state.anonymous.password_resets.check(client.ip_address.as_deref().unwrap_or_default()) {
        return Err(ApiError::rate_limited(wait.as_secs().max(1)));
    }
    let email = request.email.into_string();
    tokio::spawn(async move {
        if let Err(error) = send_password_reset(&state, &client, &email).await {
            tracing::error!(error = %crate::core::error_chain(&error), "sending a password reset failed");
        }
    });
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, thiserror::Error)]
enum ResetError {
    #[error("store")]
    Store(#[from] crate::store::StoreError),
    #[error("mail")]
    Mail(#[from] crate::mail::MailError),
}

async fn send_password_reset(state: &AppState, client: &ClientInfo, email: &str) -> Result<(), ResetError> {
    let Some(user) = state.store.find_login_user(email).await?.filter(|user| user.status == "active") else {
        return Ok(());
    };
    let one_at_a_time = state.anonymous.reset_links.lock().await;
    let now = Utc::now();
    let window_start = now - Duration::minutes(RESET_WINDOW_MINUTES);
    if state.store.recent_user_tokens(user.id, UserTokenPurpose::PasswordReset, window_start).await?
        >= RESETS_PER_ADDRESS
    {
        tracing::info!(user_id = %user.id, "password reset not sent: this address had enough links for now");
        return Ok(());
    }
    let (token, token_hash) = generate_token();
    let expires_at = now + Duration::seconds(state.settings.auth.password_reset_ttl_secs as i64);
    state.store.create_user_token(user.id, UserTokenPurpose::PasswordReset, &token_hash, now, expires_at).await?;
    drop(one_at_a_time);
    let link = format!("{}/reset-password#token={token}", state.settings.public_url.trim_end_matches('/'));
    let minutes = state.settings.auth.password_reset_ttl_secs / 60;
    let message = Message {
        to: email.to_owned(),
        subject: "Reset your Portico password".into(),
        text: format!(
            "Someone asked to reset the password for {email}.\n\nTo choose a new password, open this link within {minutes} minutes:\n{link}\n\nIf it was not you, ignore this message: your password stays as it is."
        ),
        ..Default::default()
    };
    state.mailer.send(&message).await?;
    let event = AuditEvent::new("password_reset.requested", ActorKind::User)
        .actor(user.id)
        .ip_address(client.ip_address.clone())
        .user_agent(client.user_agent.clone());
    audit::record(&state.store, event).await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirmation {
    pub token: String,
    #[schema(value_type = String, format = Password)]
    pub new_password: SecretString,
}

/// Sets a new password with a reset link's token (once) and ends every session.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", extensions(("x-permission" = json!("public, with a reset link"))), tag = "auth", request_body = PasswordResetConfirmation,
    responses(
        (status = 204, description = "Password changed; sign in with it"),
        (status = 404, description = "Unknown, used or expired link", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Too weak a password", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm_password_reset(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(request): Json<PasswordResetConfirmation>,
) -> Result<StatusCode, ApiError> {
    // Strength first: a weak choice must not burn the link.
    check_password_policy(&request.new_password, &[]).map_err(|error| {
        ApiError::validation(vec![FieldError { field: "new_password".into(), message: error.to_string() }])
    })?;
    let now = Utc::now();
    let user_id = state
        .store
        .consume_user_token(UserTokenPurpose::PasswordReset, &hash_token(&request.token), now)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "This link is unknown, used or expired."))?;
    let new_hash = hash_password(request.new_password).await;
    // Whoever could use the old password may have made tokens: a reset ends them all.
    let ended = state.store.change_password(user_id, &new_hash, None, false, now).await?;
    // Receiving the link proves the address too.
    state.store.mark_email_verified(user_id, now).await?;
    let event = AuditEvent::new("password_reset.completed", ActorKind::User)
        .actor(user_id)
        .ip_address(client.ip_address)
        .user_agent(client.user_agent)
        .details(serde_json::json!({
            "sessions_ended": ended.sessions_ended,
            "links_ended": ended.links_ended,
            "api_tokens_revoked": ended.api_tokens_revoked,
        }));
    audit::record(&state.store, event).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mails the signed-in user a link that proves they read mail at their address.
#[utoipa::path(post, path = "/api/v1/me/email-verification", extensions(("x-permission" = json!("signed in"))), tag = "auth",
    responses(
        (status = 202, description = "A link is on its way"),
        (status = 409, description = "Already verified", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn request_email_verification(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    if state.store.email_verified_at(caller.user_id).await?.is_some() {
        return Err(ApiError::new(ErrorCode::Conflict, "This address is already verified."));
    }
    let (token, token_hash) = generate_token();
    let now = Utc::now();
    let expires_at = now + Duration::seconds(state.settings.auth.email_verification_ttl_secs as i64);
    state
        .store
        .create_user_token(caller.user_id, UserTokenPurpose::EmailVerification, &token_hash, now, expires_at)
        .await?;
    let link = format!("{}/verify-email#token={token}", state.settings.public_url.trim_end_matches('/'));
    let message = Message {
        to: caller.email.clone(),
        subject: "Confirm your email address for Portico".into(),
        text: format!("To confirm that {} is your address, open this link:\n{link}\n", caller.email),
        ..Default::default()
    };
    state.mailer.send(&message).await.map_err(ApiError::internal)?;
    audit::record(&state.store, caller.audit_event("email_verification.requested").target("user", caller.user_id))
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailVerification {
    pub token: String,
}

/// Confirms an email address with the mailed link's token (once).
#[utoipa::path(post, path = "/api/v1/auth/verify-email", extensions(("x-permission" = json!("public, with a verification link"))), tag = "auth", request_body = EmailVerification,
    responses(
        (status = 204, description = "Verified"),
        (status = 404, description = "Unknown, used or expired link", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm_email_verification(
    State(state): State<AppState>,
    Json(request): Json<EmailVerification>,
) -> Result<StatusCode, ApiError> {
    let now = Utc::now();
    let user_id = state
        .store
        .consume_user_token(UserTokenPurpose::EmailVerification, &hash_token(&request.token), now)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "This link is unknown, used or expired."))?;
    state.store.mark_email_verified(user_id, now).await?;
    audit::record(
        &state.store,
        AuditEvent::new("email.verified", ActorKind::User).actor(user_id).target("user", user_id),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChangeRequest {
    #[schema(value_type = String, format = Email, max_length = 254)]
    pub new_email: EmailInput,
}

/// Starts changing the sign-in address (needs the password proven in this
/// session within 10 minutes, and a credential not limited to one account): a
/// link goes to the new address, and the address changes only when it is
/// opened. The answer is the same whether or not the new address is taken.
#[utoipa::path(post, path = "/api/v1/me/email", extensions(("x-permission" = json!("signed in with a password within 10 minutes, not scoped to one account"))), tag = "auth", request_body = EmailChangeRequest,
    responses(
        (status = 202, description = "A link is on its way to the new address"),
        (status = 403, description = "Confirm your password first, or a credential scoped to one account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an email address", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn request_email_change(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<EmailChangeRequest>,
) -> Result<StatusCode, ApiError> {
    caller.require_sign_in_change()?;
    let new_email = request.new_email.into_string();
    if !looks_like_email(&new_email) || new_email == caller.email {
        let error = FieldError { field: "new_email".into(), message: "must be a different email address".into() };
        return Err(ApiError::validation(vec![error]));
    }
    audit::record(
        &state.store,
        caller.audit_event("email_change.requested").target("user", caller.user_id).details(serde_json::json!({
            "new_email": new_email
        })),
    )
    .await?;
    if state.store.find_login_user(&new_email).await?.is_some() {
        // Taken: say nothing different, send nothing.
        return Ok(StatusCode::ACCEPTED);
    }
    let (token, token_hash) = generate_token();
    let now = Utc::now();
    let expires_at = now + Duration::seconds(state.settings.auth.email_verification_ttl_secs as i64);
    state.store.create_email_change_token(caller.user_id, &new_email, &token_hash, now, expires_at).await?;
    let link = format!("{}/confirm-email-change#token={token}", state.settings.public_url.trim_end_matches('/'));
    let message = Message {
        to: new_email.clone(),
        subject: "Confirm your new email address for Portico".into(),
        text: format!("To sign in to Portico as {new_email} from now on, open this link:\n{link}\n"),
        ..Default::default()
    };
    state.mailer.send(&message).await.map_err(ApiError::internal)?;
    Ok(StatusCode::ACCEPTED)
}

/// Completes an email change with the link sent to the new address, and tells
/// the old address it happened.
#[utoipa::path(post, path = "/api/v1/auth/confirm-email-change", extensions(("x-permission" = json!("public, with an email-change link"))), tag = "auth", request_body = EmailVerification,
    responses(
        (status = 204, description = "The address changed"),
        (status = 404, description = "Unknown, used or expired link", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address was taken meanwhile", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm_email_change(
    State(state): State<AppState>,
    Json(request): Json<EmailVerification>,
) -> Result<StatusCode, ApiError> {
    let changed = state
        .store
        .apply_email_change(&hash_token(&request.token), Utc::now())
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "This link is unknown, used or expired."))?;
    let notice = Message {
        to: changed.old_email.clone(),
        subject: "Your Portico email address was changed".into(),
        text: format!(
            "The sign-in address of your Portico account changed from {} to {}.\nIf you did not ask for this, contact your administrator at once.\n",
            changed.old_email, changed.new_email
        ),
        ..Default::default()
    };
    state.mailer.send(&notice).await.map_err(ApiError::internal)?;
    let event = AuditEvent::new("email.changed", ActorKind::User)
        .actor(changed.user_id)
        .target("user", changed.user_id)
        .details(serde_json::json!({ "from": changed.old_email, "to": changed.new_email }));
    audit::record(&state.store, event).await?;
    Ok(StatusCode::NO_CONTENT)
}
