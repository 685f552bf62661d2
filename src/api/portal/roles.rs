//! An account's custom roles: named sets of permissions its admins define.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit;
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode, FieldError};
use crate::store::AccountData;
use crate::store::CustomRoleRecord;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_roles, create_role)).routes(routes!(delete_role))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomRole {
    /// 1 to 100 characters, unique in the account.
    pub name: String,
    /// At least one; never more than the one creating the role holds.
    pub permissions: BTreeSet<Permission>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomRoleCreated {
    pub role_id: Uuid,
    pub name: String,
    pub permissions: BTreeSet<Permission>,
}

/// The account's custom roles (`team.view`).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/roles", extensions(("x-permission" = json!("team.view"))), tag = "accounts",
    params(("account_id" = Uuid, Path)),
    responses(
        (status = 200, description = "Custom roles by name", body = Vec<CustomRoleRecord>),
        (status = 403, description = "Missing team.view", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account, or none of yours", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_roles(
    State(state): State<AppState>,
    access: AccountAccess,
) -> Result<Json<Vec<CustomRoleRecord>>, ApiError> {
    let scope = access.require(Permission::TeamView, &state).await?;
    Ok(Json(AccountData::of(&state.store, &scope).custom_roles().await?))
}

/// Defines a custom role (`team.change_role`). Its permissions must be ones the
/// creator holds, so a role can never be a way up.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/roles", extensions(("x-permission" = json!("team.change_role (never beyond one's own permissions)"))), tag = "accounts",
    params(("account_id" = Uuid, Path)), request_body = NewCustomRole,
    responses(
        (status = 201, description = "Created", body = CustomRoleCreated),
        (status = 403, description = "Missing team.change_role or a permission in the role", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name or no permissions", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_role(
    State(state): State<AppState>,
    access: AccountAccess,
    Json(request): Json<NewCustomRole>,
) -> Result<Response, ApiError> {
    let scope = access.require(Permission::TeamChangeRole, &state).await?;
    let name = request.name.trim().to_owned();
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError { field: "name".into(), message: "must be 1 to 100 characters".into() });
    }
    if request.permissions.is_empty() {
        errors.push(FieldError { field: "permissions".into(), message: "at least one".into() });
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    for permission in &request.permissions {
        access.require(*permission, &state).await?;
    }
    let names: Vec<String> = request.permissions.iter().map(|permission| permission.as_str().to_owned()).collect();
    let role_id = AccountData::of(&state.store, &scope).create_custom_role(&name, &names, Utc::now()).await?;
    let event = access
        .caller
        .audit_event("custom_role.created")
        .account(scope.account_id())
        .target("custom_role", role_id)
        .details(serde_json::json!({ "name": name, "permissions": names }));
    audit::record(&state.store, event).await?;
    let created = CustomRoleCreated { role_id, name, permissions: request.permissions };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Deletes a custom role nobody holds (`team.change_role`).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/roles/{role_id}", extensions(("x-permission" = json!("team.change_role"))), tag = "accounts",
    params(("account_id" = Uuid, Path), ("role_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such role", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Members still hold it", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_role(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((_, role_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let scope = access.require(Permission::TeamChangeRole, &state).await?;
    if !AccountData::of(&state.store, &scope).delete_custom_role(role_id).await? {
        return Err(ApiError::from_code(ErrorCode::NotFound));
    }
    let event =
        access.caller.audit_event("custom_role.deleted").account(scope.account_id()).target("custom_role", role_id);
    audit::record(&state.store, event).await?;
    Ok(StatusCode::NO_CONTENT)
}
