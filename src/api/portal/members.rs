//! An account's team: who is in it, with which role.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit;
use crate::auth::AccountAccess;
use crate::auth::grants;
use crate::auth::permissions::{AccountRole, Grant, Permission, RecordType};
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode, FieldError};
use crate::store::{AccountData, MemberChange, MemberRecord};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_members)).routes(routes!(change_member_role, remove_member))
}

/// The account's members (`team.view`).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/members", extensions(("x-permission" = json!("team.view"))), tag = "accounts",
    params(("account_id" = Uuid, Path)),
    responses(
        (status = 200, description = "Members", body = Vec<MemberRecord>),
        (status = 403, description = "Missing team.view", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account, or none of yours", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_members(
    State(state): State<AppState>,
    access: AccountAccess,
) -> Result<Json<Vec<MemberRecord>>, ApiError> {
    let scope = access.require(Permission::TeamView, &state).await?;
    Ok(Json(AccountData::of(&state.store, &scope).members().await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// A built-in role, `custom` (with `custom_role_id`) or `partner` (with `record_types`).
    pub role: String,
    pub custom_role_id: Option<Uuid>,
    pub record_types: Option<Vec<RecordType>>,
}

impl RoleChange {
    /// The grant asked for, resolving a custom role within this account only.
    async fn grant(&self, account: &AccountData) -> Result<Grant, ApiError> {
        let invalid = |field: &str, message: &str| {
            ApiError::validation(vec![FieldError { field: field.into(), message: message.into() }])
        };
        match (self.role.as_str(), self.custom_role_id, &self.record_types) {
            ("custom", Some(role_id), None) => {
                let role = account.custom_role(role_id).await?;
                let role = role.ok_or_else(|| invalid("custom_role_id", "no such role in this account"))?;
                let permissions = grants::parse_names(&role.permissions.0)
                    .ok_or_else(|| ApiError::internal(std::io::Error::other("stored custom role does not parse")))?;
                Ok(Grant::Custom { role_id, name: role.name, permissions })
            }
            ("partner", None, Some(record_types)) if !record_types.is_empty() => {
                Ok(Grant::Partner { record_types: record_types.iter().copied().collect() })
            }
            ("custom", ..) => Err(invalid("custom_role_id", "required with role `custom`, alone")),
            ("partner", ..) => Err(invalid("record_types", "at least one, required with role `partner`, alone")),
            (builtin, None, None) => AccountRole::parse(builtin)
                .map(Grant::Role)
                .ok_or_else(|| invalid("role", "owner, admin, billing, member, viewer, custom or partner")),
            _ => Err(invalid("role", "custom_role_id and record_types go only with `custom` and `partner`")),
        }
    }
}

fn member_change_error(change: MemberChange) -> ApiError {
    match change {
        MemberChange::NoSuchMember => ApiError::from_code(ErrorCode::NotFound),
        MemberChange::LastOwner => ApiError::new(ErrorCode::Conflict, "An account needs at least one owner."),
        MemberChange::Done { .. } => unreachable!("not an error"),
    }
}

/// Whether the member currently holds the owner role.
async fn is_owner(state: &AppState, account_id: Uuid, user_id: Uuid) -> Result<bool, ApiError> {
    let membership = state.store.membership(account_id, user_id).await?;
    Ok(membership.as_ref().and_then(grants::grant_of).is_some_and(|grant| grant.is_owner()))
}

/// Changes what a member holds (`team.change_role`). Only owners grant or take
/// the owner role, nobody grants a permission they do not hold themselves, and
/// the last owner stays an owner.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/members/{user_id}", extensions(("x-permission" = json!("team.change_role (owner roles: account.edit_settings; never beyond one's own permissions)"))), tag = "accounts",
    params(("account_id" = Uuid, Path), ("user_id" = Uuid, Path)), request_body = RoleChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 403, description = "Missing team.change_role, owner rights, or a permission being granted", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such member", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Would leave no owner", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown role, or a custom role or record types missing", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_member_role(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((_, user_id)): Path<(Uuid, Uuid)>,
    Json(request): Json<RoleChange>,
) -> Result<StatusCode, ApiError> {
    let scope = access.require(Permission::TeamChangeRole, &state).await?;
    let grant = request.grant(&AccountData::of(&state.store, &scope)).await?;
    if grant.is_owner() || is_owner(&state, scope.account_id(), user_id).await? {
        access.require(Permission::AccountEditSettings, &state).await?;
    }
    // No escalation: a grant may not exceed what the one granting holds.
    for permission in grant.permissions() {
        access.require(permission, &state).await?;
    }
    let (custom_role_id, record_types) = match &grant {
        Grant::Custom { role_id, .. } => (Some(*role_id), None),
        Grant::Partner { record_types } => {
            (None, Some(record_types.iter().map(|record_type| record_type.as_str().to_owned()).collect::<Vec<_>>()))
        }
        Grant::Role(_) => (None, None),
    };
    let change = AccountData::of(&state.store, &scope)
        .set_member_role(user_id, grant.role_name(), custom_role_id, record_types.as_deref())
        .await?;
    match change {
        MemberChange::Done { previous_role } => {
            let event = access
                .caller
                .audit_event("membership.role_changed")
                .account(scope.account_id())
                .target("user", user_id)
                .details(serde_json::json!({
                    "from": previous_role,
                    "to": grant.role_name(),
                    "custom_role_id": custom_role_id,
                    "record_types": record_types,
                }));
            audit::record(&state.store, event).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        other => Err(member_change_error(other)),
    }
}

/// Removes a member from the account (`team.remove`; only owners remove owners;
/// never the last owner).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/members/{user_id}", extensions(("x-permission" = json!("team.remove (owners: account.edit_settings)"))), tag = "accounts",
    params(("account_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Missing team.remove, or owner rights", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such member", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Would leave no owner", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_member(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((_, user_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let scope = access.require(Permission::TeamRemove, &state).await?;
    if is_owner(&state, scope.account_id(), user_id).await? {
        access.require(Permission::AccountEditSettings, &state).await?;
    }
    match AccountData::of(&state.store, &scope).remove_member(user_id).await? {
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
