//! The business's own staff: invited by staff admins (`staff.manage`) with a
//! staff role, accepted through the same single-use link as customer invitations.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::portal::invitations::InvitationCreated;
use crate::auth::StaffCaller;
use crate::auth::permissions::{StaffPermission, StaffRole};
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::ApiError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(invite_staff))
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
    staff.require(StaffPermission::StaffManage, &state).await?;
    staff.caller.require_recent_sign_in()?;
    let issued = crate::api::portal::invitations::issue_invitation(
        &state,
        &staff.caller,
        &request.email,
        None,
        request.role.as_str(),
        "staff_invitation.created",
    )
    .await?;
    let created = InvitationCreated::new(issued, request.role);
    Ok((StatusCode::CREATED, Json(created)).into_response())
}
