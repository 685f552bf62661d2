//! `GET /api/v1/me`: the signed-in user, their accounts, and what they may do.

use std::collections::BTreeSet;

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::auth::access;
use crate::auth::permissions::{Grant, Permission, RecordType, StaffPermission, StaffRole};
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::ApiError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub staff_role: Option<StaffRole>,
    /// Whether the user has proved they read mail at `email`.
    pub email_verified: bool,
    /// Whether multi-factor sign-in is on.
    pub mfa_enabled: bool,
    /// What the staff role allows outside any one account.
    pub staff_permissions: BTreeSet<StaffPermission>,
    /// Accounts the user is a member of, each with the effective permissions there.
    pub accounts: Vec<MyAccount>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyAccount {
    pub account_id: Uuid,
    pub name: String,
    /// A built-in role (`owner`, `admin`, `billing`, `member`, `viewer`), `custom` or `partner`.
    pub role: String,
    /// For `custom`: the account's name for the role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_role: Option<String>,
    /// For `partner`: the kinds of records the membership is limited to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_types: Option<BTreeSet<RecordType>>,
    pub permissions: BTreeSet<Permission>,
}

/// The signed-in user with their effective permissions in each of their accounts.
#[utoipa::path(get, path = "/api/v1/me", extensions(("x-permission" = json!("signed in"))), tag = "auth",
    responses(
        (status = 200, description = "The signed-in user", body = Me),
        (status = 401, description = "Not signed in", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    // A token or session scoped to one account speaks for that account only; an
    // account demanding a second factor this credential lacks is still listed
    // with what the person would hold there (its answers say to enrol).
    let accounts = access::member_accounts(&state.store, &caller, &state.settings)
        .await?
        .into_iter()
        .map(|account| {
            let permissions = access::held(&caller, Some(&account.grant));
            let (custom_role, record_types) = match &account.grant {
                Grant::Custom { name, .. } => (Some(name.clone()), None),
                Grant::Partner { record_types } => (None, Some(record_types.clone())),
                Grant::Role(_) => (None, None),
            };
            MyAccount {
                account_id: account.membership.account_id,
                name: account.membership.account_name,
                role: account.grant.role_name().to_owned(),
                custom_role,
                record_types,
                permissions,
            }
        })
        .collect();
    Ok(Json(Me {
        user_id: caller.user_id,
        email: caller.email,
        display_name: caller.display_name,
        staff_role: caller.staff_role,
        email_verified: state.store.email_verified_at(caller.user_id).await?.is_some(),
        mfa_enabled: caller.mfa_enabled,
        staff_permissions: caller.staff_role.map(StaffRole::staff_permissions).unwrap_or_default(),
        accounts,
    }))
}
