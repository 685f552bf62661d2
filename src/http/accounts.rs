//! Customer accounts, their members, and invitations into them.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::json::Json;
use super::pagination::page_size;
use super::problem::{ApiError, ErrorCode, FieldError};
use crate::audit::{self, ActorKind, AuditEvent};
use crate::auth::permissions::{AccountRole, Permission, StaffPermission};
use crate::auth::session::{session_cookie, set_cookie_header};
use crate::auth::tokens::{generate_token, hash_token};
use crate::auth::{AccountAccess, ClientAddress, StaffCaller};
use crate::core::password::{check_password_policy, hash_password};
use crate::store::{Account, MemberRecord, NewInvitation, NewSession, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_account, list_accounts))
        .routes(routes!(get_account))
        .routes(routes!(list_members))
        .routes(routes!(create_invitation))
        .routes(routes!(accept_invitation))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Shown to people: 1 to 200 characters.
    pub name: String,
    /// Lower-case letters, digits and hyphens, 2 to 64 characters; unique.
    pub slug: String,
}

/// Creates a customer account (staff with `accounts.manage`).
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = NewAccount,
    responses(
        (status = 201, description = "Created", body = Account),
        (status = 409, description = "The slug is taken", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name or slug", body = super::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_account(
    State(state): State<AppState>,
    staff: StaffCaller,
    Json(request): Json<NewAccount>,
) -> Result<Response, ApiError> {
    staff.require(StaffPermission::AccountsManage, &state).await?;
    let name = request.name.trim();
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError { field: "name".into(), message: "must be 1 to 200 characters".into() });
    }
    let slug_ok = (2..=64).contains(&request.slug.len())
        && request.slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !slug_ok {
        errors.push(FieldError { field: "slug".into(), message: "must be 2 to 64 of a-z, 0-9 and -".into() });
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let account = state.store.create_account(name, &request.slug).await?;
    let event = staff.caller.audit_event("account.created").account(account.id).target("account", account.id);
    audit::record(&state.store, event).await?;
    Ok((StatusCode::CREATED, Json(account)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Return items after this id (the last id of the previous page).
    pub after: Option<Uuid>,
    /// At most this many items, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// Every customer account (staff with `accounts.view`).
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", params(Page),
    responses((status = 200, description = "Accounts, oldest first", body = Vec<Account>)))]
pub async fn list_accounts(
    State(state): State<AppState>,
    staff: StaffCaller,
    Query(page): Query<Page>,
) -> Result<Json<Vec<Account>>, ApiError> {
    staff.require(StaffPermission::AccountsView, &state).await?;
    Ok(Json(state.store.list_accounts(page.after, page_size(page.limit)?).await?))
}

/// One account, to anyone with any access to it.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}", tag = "accounts",
    params(("account_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The account", body = Account),
        (status = 404, description = "No such account, or none of yours", body = super::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_account(State(state): State<AppState>, access: AccountAccess) -> Result<Json<Account>, ApiError> {
    let account = state.store.account(access.account_id).await?.ok_or(StoreError::NotFound)?;
    Ok(Json(account))
}

/// The account's members (`team.view`).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/members", tag = "accounts",
    params(("account_id" = Uuid, Path)),
    responses(
        (status = 200, description = "Members", body = Vec<MemberRecord>),
        (status = 403, description = "Missing team.view", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account, or none of yours", body = super::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_members(
    State(state): State<AppState>,
    access: AccountAccess,
) -> Result<Json<Vec<MemberRecord>>, ApiError> {
    let scope = access.require(Permission::TeamView, &state).await?;
    Ok(Json(state.store.account_members(scope.account_id()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    pub email: String,
    pub role: AccountRole,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationCreated {
    pub invitation_id: Uuid,
    pub email: String,
    pub role: AccountRole,
    pub expires_at: DateTime<Utc>,
    /// The single-use token, shown only in this response.
    pub token: String,
    /// The link to send the invitee (until email delivery is configured).
    pub accept_url: String,
}

/// Invites someone into the account with a role (`team.invite`; only owners
/// invite owners). The response carries the link, shown once.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/invitations", tag = "accounts",
    params(("account_id" = Uuid, Path)), request_body = InvitationRequest,
    responses(
        (status = 201, description = "Invitation created", body = InvitationCreated),
        (status = 403, description = "Missing team.invite", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account, or none of yours", body = super::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_invitation(
    State(state): State<AppState>,
    access: AccountAccess,
    Json(request): Json<InvitationRequest>,
) -> Result<Response, ApiError> {
    let scope = access.require(Permission::TeamInvite, &state).await?;
    // Inviting an owner hands over the account: owners (and staff admins) only.
    if request.role == AccountRole::Owner {
        access.require(Permission::AccountEditSettings, &state).await?;
        access.caller.require_recent_sign_in()?;
    }
    let email = super::auth::normalize_email(&request.email);
    if !crate::cli::looks_like_email(&email) {
        return Err(ApiError::validation(vec![FieldError {
            field: "email".into(),
            message: "not an email address".into(),
        }]));
    }
    let (token, token_hash) = generate_token();
    let now = Utc::now();
    let expires_at = now + Duration::seconds(state.settings.auth.invitation_ttl_secs as i64);
    let invitation = NewInvitation {
        token_hash,
        email: email.clone(),
        account_id: Some(scope.account_id()),
        role: request.role.as_str().to_owned(),
        invited_by: access.caller.user_id,
        created_at: now,
        expires_at,
    };
    let invitation_id = state.store.create_invitation(&invitation).await?;
    let event = access
        .caller
        .audit_event("invitation.created")
        .account(scope.account_id())
        .target("invitation", invitation_id)
        .details(serde_json::json!({ "email": email, "role": request.role.as_str() }));
    audit::record(&state.store, event).await?;
    let accept_url = format!("{}/invitations/accept#token={token}", state.settings.public_url.trim_end_matches('/'));
    let created = InvitationCreated { invitation_id, email, role: request.role, expires_at, token, accept_url };
    Ok((StatusCode::CREATED, Json(created)).into_response())
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
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "accounts", request_body = AcceptInvitation,
    responses(
        (status = 201, description = "Account created and signed in", body = InvitationAccepted),
        (status = 404, description = "No such invitation", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Password too weak", body = super::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    ClientAddress(ip_address): ClientAddress,
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
            other => other.into(),
        })?;
    let (token, token_hash) = generate_token();
    let session = NewSession {
        token_hash,
        user_id: accepted.user_id,
        user_agent: None,
        ip_address: ip_address.clone(),
        created_at: now,
        expires_at: now + Duration::seconds(state.settings.auth.session_absolute_timeout_secs as i64),
    };
    state.store.create_session(&session).await?;
    let mut event = AuditEvent::new("invitation.accepted", ActorKind::User)
        .actor(accepted.user_id)
        .ip_address(ip_address)
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
