//! The business's own staff: invited by staff admins (`staff.manage`) with a
//! staff role, accepted through the same single-use link as customer invitations.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::json::Json;
use super::problem::{ApiError, FieldError};
use crate::audit;
use crate::auth::StaffCaller;
use crate::auth::permissions::{StaffPermission, StaffRole};
use crate::auth::tokens::generate_token;
use crate::store::NewInvitation;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(invite_staff))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffInvitationRequest {
    pub email: String,
    pub role: StaffRole,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffInvitationCreated {
    pub invitation_id: Uuid,
    pub email: String,
    pub role: StaffRole,
    pub expires_at: DateTime<Utc>,
    /// The single-use token, shown only in this response.
    pub token: String,
    pub accept_url: String,
}

/// Invites a new member of staff (`staff.manage`; needs a sign-in within 10 minutes).
#[utoipa::path(post, path = "/api/v1/staff/invitations", tag = "accounts", request_body = StaffInvitationRequest,
    responses(
        (status = 201, description = "Invitation created; the link is shown once", body = StaffInvitationCreated),
        (status = 403, description = "Missing staff.manage, or sign in again first", body = super::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn invite_staff(
    State(state): State<AppState>,
    staff: StaffCaller,
    Json(request): Json<StaffInvitationRequest>,
) -> Result<Response, ApiError> {
    staff.require(StaffPermission::StaffManage, &state).await?;
    staff.caller.require_recent_sign_in()?;
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
        account_id: None,
        role: request.role.as_str().to_owned(),
        invited_by: staff.caller.user_id,
        created_at: now,
        expires_at,
    };
    let invitation_id = state.store.create_invitation(&invitation).await?;
    let event = staff
        .caller
        .audit_event("staff_invitation.created")
        .target("invitation", invitation_id)
        .details(serde_json::json!({ "email": email, "role": request.role.as_str() }));
    audit::record(&state.store, event).await?;
    let accept_url = super::invitations::accept_url(&state.settings, &token);
    let created = StaffInvitationCreated { invitation_id, email, role: request.role, expires_at, token, accept_url };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}
