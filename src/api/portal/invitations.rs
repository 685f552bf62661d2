//! Invitations into an account: created, listed, revoked and re-sent by those who
//! may invite; accepted by the invitee with the single-use link.

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

use crate::audit::{self, ActorKind, AuditEvent};
use crate::auth::permissions::{AccountRole, Permission};
use crate::auth::session::{session_cookie, set_cookie_header};
use crate::auth::tokens::{generate_token, hash_token};
use crate::auth::{AccountAccess, ClientInfo};
use crate::config::Settings;
use crate::core::email::{looks_like_email, normalize_email};
use crate::core::password::{check_password_policy, hash_password};
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode, FieldError};
use crate::store::{AccountData, InvitationSummary, NewInvitation, NewSession, SignInMethod, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_invitation, list_invitations))
        .routes(routes!(revoke_invitation))
        .routes(routes!(resend_invitation))
        .routes(routes!(accept_invitation))
        .routes(routes!(accept_invitation_as_me))
}

/// A newly issued invitation; `token` exists only here, its hash in the store.
pub(crate) struct IssuedInvitation {
    pub invitation_id: Uuid,
    pub email: String,
    pub expires_at: DateTime<Utc>,
    pub token: String,
    pub accept_url: String,
}

/// Validates the address, stores the invitation (token hashed) and audits it as
/// `action`: the one way account and staff invitations are made.
pub(crate) async fn issue_invitation(
    state: &AppState,
    inviter: &crate::auth::Caller,
    email: &str,
    account_id: Option<Uuid>,
    role: &str,
    action: &'static str,
) -> Result<IssuedInvitation, ApiError> {
    let email = normalize_email(email);
    if !looks_like_email(&email) || email.len() > crate::core::email::MAX_EMAIL_BYTES {
        return Err(ApiError::validation(vec![FieldError {
            field: "email".into(),
            message: "not an email address (at most 254 bytes)".into(),
        }]));
    }
    let (token, token_hash) = generate_token();
    let now = Utc::now();
    let expires_at = now + Duration::seconds(state.settings.auth.invitation_ttl_secs as i64);
    let invitation = NewInvitation {
        token_hash,
        email: email.clone(),
        account_id,
        role: role.to_owned(),
        invited_by: inviter.user_id,
        created_at: now,
        expires_at,
    };
    let invitation_id = state.store.create_invitation(&invitation).await?;
    let mut event = inviter
        .audit_event(action)
        .target("invitation", invitation_id)
        .details(serde_json::json!({ "email": email, "role": role }));
    if let Some(account_id) = account_id {
        event = event.account(account_id);
    }
    audit::record(&state.store, event).await?;
    let accept_url = accept_url(&state.settings, &token);
    Ok(IssuedInvitation { invitation_id, email, expires_at, token, accept_url })
}

pub(crate) fn accept_url(settings: &Settings, token: &str) -> String {
    format!("{}/invitations/accept#token={token}", settings.public_url.trim_end_matches('/'))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    pub email: String,
    pub role: AccountRole,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationCreated<Role = AccountRole> {
    pub invitation_id: Uuid,
    pub email: String,
    /// An account role, or a staff role for a staff invitation.
    pub role: Role,
    pub expires_at: DateTime<Utc>,
    /// The single-use token, shown only in this response.
    pub token: String,
    /// The link to send the invitee (until email delivery is configured).
    pub accept_url: String,
}

impl<Role> InvitationCreated<Role> {
    pub(crate) fn new(issued: IssuedInvitation, role: Role) -> Self {
        Self {
            invitation_id: issued.invitation_id,
            email: issued.email,
            role,
            expires_at: issued.expires_at,
            token: issued.token,
            accept_url: issued.accept_url,
        }
    }
}

/// Invites someone into the account with a role (`team.invite`; only owners
/// invite owners). The response carries the link, shown once.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/invitations", extensions(("x-permission" = json!("team.invite (owners: account.edit_settings, signed in within 10 minutes)"))), tag = "accounts",
    params(("account_id" = Uuid, Path)), request_body = InvitationRequest,
    responses(
        (status = 201, description = "Invitation created", body = InvitationCreated),
        (status = 403, description = "Missing team.invite", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account, or none of yours", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_invitation(
    State(state): State<AppState>,
    access: AccountAccess,
    Json(request): Json<InvitationRequest>,
) -> Result<Response, ApiError> {
    let created = invite_into_account(&state, &access, request).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Inviting someone into the account, behind the API and the team page.
pub async fn invite_into_account(
    state: &AppState,
    access: &AccountAccess,
    request: InvitationRequest,
) -> Result<InvitationCreated, ApiError> {
    let scope = access.require(Permission::TeamInvite, state).await?;
    // Inviting an owner hands over the account: owners (and staff admins) only.
    if request.role == AccountRole::Owner {
        access.require(Permission::AccountEditSettings, state).await?;
        access.caller.require_recent_sign_in()?;
    }
    let issued = issue_invitation(
        state,
        &access.caller,
        &request.email,
        Some(scope.account_id()),
        request.role.as_str(),
        "invitation.created",
    )
    .await?;
    Ok(InvitationCreated::new(issued, request.role))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    pub token: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    pub display_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationAccepted {
    pub user_id: Uuid,
    pub account_id: Option<Uuid>,
    pub role: String,
}

/// Accepts an invitation: sets the new user's password and signs them in. An
/// unknown, used, revoked or expired token gets the same 404.
#[utoipa::path(post, path = "/api/v1/invitations/accept", extensions(("x-permission" = json!("public, with an invitation link"))), tag = "accounts", request_body = AcceptInvitation,
    responses(
        (status = 201, description = "Account created and signed in", body = InvitationAccepted),
        (status = 404, description = "No such invitation", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Password too weak", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(request): Json<AcceptInvitation>,
) -> Result<Response, ApiError> {
    let display_name = request.display_name.trim().to_owned();
    if display_name.is_empty() || display_name.chars().count() > 200 {
        let error = FieldError { field: "display_name".into(), message: "must be 1 to 200 characters".into() };
        return Err(ApiError::validation(vec![error]));
    }
    check_password_policy(&request.password, &[&display_name]).map_err(|error| {
        ApiError::validation(vec![FieldError { field: "password".into(), message: error.to_string() }])
    })?;
    let password_hash = hash_password(request.password).await;
    let now = Utc::now();
    let accepted = state
        .store
        .accept_invitation(&hash_token(&request.token), now, &password_hash, &display_name)
        .await
        .map_err(|error| match error {
            StoreError::NotFound => ApiError::new(ErrorCode::NotFound, "This invitation is unknown, used or expired."),
            StoreError::Conflict(_) => ApiError::new(
                ErrorCode::Conflict,
                "You already have an account: sign in, then accept with POST /api/v1/invitations/accept-as-me.",
            ),
            other => other.into(),
        })?;
    let (token, token_hash) = generate_token();
    let session = NewSession {
        token_hash,
        user_id: accepted.user_id,
        scoped_account_id: None,
        method: SignInMethod::Invitation,
        second_factor: false,
        user_agent: client.user_agent.clone(),
        ip_address: client.ip_address.clone(),
        created_at: now,
        expires_at: now + Duration::seconds(state.settings.auth.session_absolute_timeout_secs as i64),
    };
    state.store.create_session(&session).await?;
    let mut event = AuditEvent::new("invitation.accepted", ActorKind::User)
        .actor(accepted.user_id)
        .ip_address(client.ip_address)
        .user_agent(client.user_agent)
        .target("invitation", accepted.invitation_id)
        .details(serde_json::json!({ "email": accepted.email, "role": accepted.role }));
    if let Some(account_id) = accepted.account_id {
        event = event.account(account_id);
    }
    audit::record(&state.store, event).await?;
    let body = InvitationAccepted { user_id: accepted.user_id, account_id: accepted.account_id, role: accepted.role };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    set_cookie_header(response.headers_mut(), session_cookie(&state.settings, &token));
    Ok(response)
}

/// Pending invitations of the account (`team.view`), without their links.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/invitations", extensions(("x-permission" = json!("team.view"))), tag = "accounts",
    params(("account_id" = Uuid, Path)),
    responses(
        (status = 200, description = "Pending invitations, newest first", body = Vec<InvitationSummary>),
        (status = 403, description = "Missing team.view", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account, or none of yours", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_invitations(
    State(state): State<AppState>,
    access: AccountAccess,
) -> Result<Json<Vec<InvitationSummary>>, ApiError> {
    let scope = access.require(Permission::TeamView, &state).await?;
    Ok(Json(AccountData::of(&state.store, &scope).pending_invitations(Utc::now()).await?))
}

/// Revokes a pending invitation (`team.invite`); its link stops working.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/invitations/{invitation_id}", extensions(("x-permission" = json!("team.invite"))), tag = "accounts",
    params(("account_id" = Uuid, Path), ("invitation_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such pending invitation", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((_, invitation_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let scope = access.require(Permission::TeamInvite, &state).await?;
    if !AccountData::of(&state.store, &scope).revoke_invitation(invitation_id, Utc::now()).await? {
        return Err(ApiError::from_code(ErrorCode::NotFound));
    }
    let event =
        access.caller.audit_event("invitation.revoked").account(scope.account_id()).target("invitation", invitation_id);
    audit::record(&state.store, event).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Re-sends a pending invitation (`team.invite`; an owner's invitation as for
/// inviting one): a new link and a new expiry; the old link stops working.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/invitations/{invitation_id}/resend", extensions(("x-permission" = json!("team.invite (owners: account.edit_settings, signed in within 10 minutes)"))), tag = "accounts",
    params(("account_id" = Uuid, Path), ("invitation_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The new link, shown once", body = InvitationCreated),
        (status = 403, description = "Missing team.invite (or, for an owner's, account.edit_settings or a recent password)", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such pending invitation", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn resend_invitation(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((_, invitation_id)): Path<(Uuid, Uuid)>,
) -> Result<Json<InvitationCreated>, ApiError> {
    let scope = access.require(Permission::TeamInvite, &state).await?;
    let not_found = || ApiError::from_code(ErrorCode::NotFound);
    // Every check before the link changes: a refused resend must leave it working.
    let account = AccountData::of(&state.store, &scope);
    let pending = account.pending_invitation(invitation_id).await?.ok_or_else(not_found)?;
    let role = AccountRole::parse(&pending.role).ok_or_else(not_found)?;
    if role == AccountRole::Owner {
        access.require(Permission::AccountEditSettings, &state).await?;
        access.caller.require_recent_sign_in()?;
    }
    let (token, token_hash) = generate_token();
    let expires_at = Utc::now() + Duration::seconds(state.settings.auth.invitation_ttl_secs as i64);
    let invitation = account.reissue_invitation(invitation_id, &token_hash, expires_at).await?.ok_or_else(not_found)?;
    let event =
        access.caller.audit_event("invitation.resent").account(scope.account_id()).target("invitation", invitation_id);
    audit::record(&state.store, event).await?;
    let accept_url = accept_url(&state.settings, &token);
    let issued = IssuedInvitation { invitation_id, email: invitation.email, expires_at, token, accept_url };
    Ok(Json(InvitationCreated::new(issued, role)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationAsMe {
    pub token: String,
}

/// Accepts an invitation into the signed-in user's existing account (the
/// invitation must be for their email address): one person, several customer
/// accounts. Unknown, used, expired or someone else's invitations get the same 404.
#[utoipa::path(post, path = "/api/v1/invitations/accept-as-me", extensions(("x-permission" = json!("signed in as the invited address"))), tag = "accounts", request_body = AcceptInvitationAsMe,
    responses(
        (status = 200, description = "The membership (or staff role) is added", body = InvitationAccepted),
        (status = 401, description = "Not signed in", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invitation for you", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "You already hold a role there", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept_invitation_as_me(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    Json(request): Json<AcceptInvitationAsMe>,
) -> Result<Json<InvitationAccepted>, ApiError> {
    let accepted = state
        .store
        .accept_invitation_as(&hash_token(&request.token), caller.user_id, &caller.email, Utc::now())
        .await
        .map_err(|error| match error {
            StoreError::NotFound => {
                ApiError::new(ErrorCode::NotFound, "This invitation is unknown, used, expired or not yours.")
            }
            other => other.into(),
        })?;
    let mut event = caller
        .audit_event("invitation.accepted")
        .target("invitation", accepted.invitation_id)
        .details(serde_json::json!({ "email": accepted.email, "role": accepted.role, "existing_user": true }));
    if let Some(account_id) = accepted.account_id {
        event = event.account(account_id);
    }
    audit::record(&state.store, event).await?;
    Ok(Json(InvitationAccepted { user_id: accepted.user_id, account_id: accepted.account_id, role: accepted.role }))
}
