//! An account's team: who is in it, with which role.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::json::Json;
use super::problem::{ApiError, ErrorCode};
use crate::audit;
use crate::auth::AccountAccess;
use crate::auth::permissions::{AccountRole, Permission};
use crate::store::{MemberChange, MemberRecord};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_members)).routes(routes!(change_member_role, remove_member))
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
pub struct RoleChange {
    pub role: AccountRole,
}

/// Owners alone make or unmake owners.
async fn require_owner_rights_if_touching_owners(
    access: &AccountAccess,
    state: &AppState,
    roles: &[Option<AccountRole>],
) -> Result<(), ApiError> {
    if roles.contains(&Some(AccountRole::Owner)) {
        access.require(Permission::AccountEditSettings, state).await?;
    }
    Ok(())
}

fn member_change_error(change: MemberChange) -> ApiError {
    match change {
        MemberChange::NoSuchMember => ApiError::from_code(ErrorCode::NotFound),
        MemberChange::LastOwner => ApiError::new(ErrorCode::Conflict, "An account needs at least one owner."),
        MemberChange::Done { .. } => unreachable!("not an error"),
    }
}

/// Changes a member's role (`team.change_role`; only owners grant or take the
/// owner role; the last owner stays an owner).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/members/{user_id}", tag = "accounts",
    params(("account_id" = Uuid, Path), ("user_id" = Uuid, Path)), request_body = RoleChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 403, description = "Missing team.change_role, or owner rights", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such member", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Would leave no owner", body = super::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_member_role(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((_, user_id)): Path<(Uuid, Uuid)>,
    Json(request): Json<RoleChange>,
) -> Result<StatusCode, ApiError> {
    let scope = access.require(Permission::TeamChangeRole, &state).await?;
    let current = state.store.membership_role(scope.account_id(), user_id).await?;
    let current = current.as_deref().and_then(AccountRole::parse);
    require_owner_rights_if_touching_owners(&access, &state, &[current, Some(request.role)]).await?;
    match state.store.set_member_role(scope.account_id(), user_id, request.role.as_str()).await? {
        MemberChange::Done { previous_role } => {
            let event = access
                .caller
                .audit_event("membership.role_changed")
                .account(scope.account_id())
                .target("user", user_id)
                .details(serde_json::json!({ "from": previous_role, "to": request.role.as_str() }));
            audit::record(&state.store, event).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        other => Err(member_change_error(other)),
    }
}

/// Removes a member from the account (`team.remove`; only owners remove owners;
/// never the last owner).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/members/{user_id}", tag = "accounts",
    params(("account_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Missing team.remove, or owner rights", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such member", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Would leave no owner", body = super::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_member(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((_, user_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let scope = access.require(Permission::TeamRemove, &state).await?;
    let current = state.store.membership_role(scope.account_id(), user_id).await?;
    require_owner_rights_if_touching_owners(&access, &state, &[current.as_deref().and_then(AccountRole::parse)])
        .await?;
    match state.store.remove_member(scope.account_id(), user_id).await? {
        MemberChange::Done { previous_role } => {
            let event = access
                .caller
                .audit_event("membership.removed")
                .account(scope.account_id())
                .target("user", user_id)
                .details(serde_json::json!({ "role": previous_role }));
            audit::record(&state.store, event).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        other => Err(member_change_error(other)),
    }
}
