//! The business's own staff: invited by staff admins (`staff.manage`) with a
//! staff role, accepted through the same single-use link as customer invitations.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::portal::invitations::InvitationCreated;
use crate::audit;
use crate::auth::StaffCaller;
use crate::auth::permissions::{StaffPermission, StaffRole};
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode};
use crate::store::{StaffMember, StaffRoleChange};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invite_staff))
        .routes(routes!(list_staff))
        .routes(routes!(change_staff_role, remove_staff))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffInvitationRequest {
    pub email: String,
    pub role: StaffRole,
}

/// Invites a new member of staff (`staff.manage`; needs a sign-in within 10 minutes).
#[utoipa::path(post, path = "/api/v1/staff/invitations", extensions(("x-permission" = json!("staff: staff.manage, signed in within 10 minutes"))), tag = "accounts", request_body = StaffInvitationRequest,
    responses(
        (status = 201, description = "Invitation created; the link is shown once", body = InvitationCreated<StaffRole>),
        (status = 403, description = "Missing staff.manage, or sign in again first", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn invite_staff(
    State(state): State<AppState>,
    staff: StaffCaller,
    Json(request): Json<StaffInvitationRequest>,
) -> Result<Response, ApiError> {
    let created = invite_to_staff(&state, &staff, request).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Invites a new member of staff for `staff` (the API's and the console's one way in).
pub async fn invite_to_staff(
    state: &AppState,
    staff: &StaffCaller,
    request: StaffInvitationRequest,
) -> Result<InvitationCreated<StaffRole>, ApiError> {
    staff.require(StaffPermission::StaffManage, state).await?;
    staff.caller.require_recent_sign_in()?;
    let issued = crate::api::portal::invitations::issue_invitation(
        state,
        &staff.caller,
        &request.email,
        None,
        request.role.as_str(),
        "staff_invitation.created",
    )
    .await?;
    Ok(InvitationCreated::new(issued, request.role))
}

/// The business's staff with their roles (`staff.manage`).
#[utoipa::path(get, path = "/api/v1/staff", extensions(("x-permission" = json!("staff: staff.manage"))), tag = "accounts",
    responses(
        (status = 200, description = "Staff by address", body = Vec<StaffMember>),
        (status = 403, description = "Missing staff.manage", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_staff(State(state): State<AppState>, staff: StaffCaller) -> Result<Json<Vec<StaffMember>>, ApiError> {
    staff.require(StaffPermission::StaffManage, &state).await?;
    Ok(Json(state.store.staff_members().await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffRoleRequest {
    pub role: StaffRole,
}

/// Turns a change of a staff role into the answer: 404 for someone not on the
/// staff, 409 when no active staff admin would be left.
fn staff_change(outcome: StaffRoleChange) -> Result<String, ApiError> {
    match outcome {
        StaffRoleChange::Changed { previous } => Ok(previous),
        StaffRoleChange::NotStaff => Err(ApiError::from_code(ErrorCode::NotFound)),
        StaffRoleChange::LastAdmin => {
            Err(ApiError::new(ErrorCode::Conflict, "Portico needs at least one staff admin; make another one first."))
        }
    }
}

/// Gives a member of staff another role (`staff.manage`; needs a sign-in within
/// 10 minutes). Their sessions hold the new role from their next request on.
#[utoipa::path(patch, path = "/api/v1/staff/{user_id}", extensions(("x-permission" = json!("staff: staff.manage, signed in within 10 minutes"))), tag = "accounts",
    params(("user_id" = Uuid, Path)), request_body = StaffRoleRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 403, description = "Missing staff.manage, or sign in again first", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not a member of staff", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "It would leave no staff admin", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_staff_role(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(user_id): Path<Uuid>,
    Json(request): Json<StaffRoleRequest>,
) -> Result<StatusCode, ApiError> {
    staff.require(StaffPermission::StaffManage, &state).await?;
    staff.caller.require_recent_sign_in()?;
    let previous = staff_change(state.store.change_staff_role(user_id, Some(request.role.as_str())).await?)?;
    let event = staff.caller.audit_event("staff.role_changed").target("user", user_id).details(serde_json::json!({
        "from": previous, "to": request.role.as_str(),
    }));
    audit::record(&state.store, event).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes a member of staff's role away (`staff.manage`; needs a sign-in within
/// 10 minutes): their staff rights end with their next request; the person's
/// own sign-in and any customer memberships stay.
#[utoipa::path(delete, path = "/api/v1/staff/{user_id}", extensions(("x-permission" = json!("staff: staff.manage, signed in within 10 minutes"))), tag = "accounts",
    params(("user_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Removed from the staff"),
        (status = 403, description = "Missing staff.manage, or sign in again first", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not a member of staff", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "It would leave no staff admin", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_staff(
    State(state): State<AppState>,
    staff: StaffCaller,
    Path(user_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    staff.require(StaffPermission::StaffManage, &state).await?;
    staff.caller.require_recent_sign_in()?;
    let previous = staff_change(state.store.change_staff_role(user_id, None).await?)?;
    let event = staff
        .caller
        .audit_event("staff.removed")
        .target("user", user_id)
        .details(serde_json::json!({"role": previous}));
    audit::record(&state.store, event).await?;
    Ok(StatusCode::NO_CONTENT)
}
