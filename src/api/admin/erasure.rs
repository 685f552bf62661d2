//! `POST /api/v1/users/{user_id}/erasure`: staff erase a person (the right to
//! erasure). Their personal data is anonymised, their sessions and tokens end,
//! their memberships go; the records the business must keep stay with their
//! accounts. The erasure itself is audited (by user id only).

use axum::extract::{Path, State};
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit;
use crate::auth::StaffCaller;
use crate::auth::permissions::StaffPermission;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode};
use crate::store::{Erasure, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(erase_user))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Erased {
    pub user_id: Uuid,
    #[serde(flatten)]
    pub erasure: Erasure,
}

/// Erases a user (`accounts.manage`; signed in within 10 minutes). Irreversible.
#[utoipa::path(post, path = "/api/v1/users/{user_id}/erasure",
    extensions(("x-permission" = json!("staff: accounts.manage, signed in within 10 minutes"))), tag = "accounts",
    params(("user_id" = Uuid, Path)),
    responses(
        (status = 200, description = "Erased", body = Erased),
        (status = 403, description = "Missing accounts.manage, or sign in again first", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user (or already erased)", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Staff cannot erase themselves", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn erase_user(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(user_id): Path<Uuid>,
) -> Result<Json<Erased>, ApiError> {
    staff.require(StaffPermission::AccountsManage, &state).await?;
    staff.caller.require_recent_sign_in()?;
    if user_id == staff.caller.user_id {
        return Err(ApiError::new(ErrorCode::Conflict, "Another admin must erase you."));
    }
    let erasure = state.store.erase_user(user_id, Utc::now()).await?.ok_or(StoreError::NotFound)?;
    let event = staff.caller.audit_event("user.erased").target("user", user_id).details(serde_json::json!({
        "memberships_removed": erasure.memberships_removed,
        "sessions_ended": erasure.sessions_ended,
        "tokens_revoked": erasure.tokens_revoked,
    }));
    audit::record(&state.store, event).await?;
    Ok(Json(Erased { user_id, erasure }))
}
