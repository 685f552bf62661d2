//! The account's team, for those whose role includes it: members with their
//! roles (changed or removed by those who may), pending invitations (resent or
//! revoked), and inviting someone with a role. Every action is the API's own
//! function, so the rules hold alike: only owners hand out or take the owner
//! role, nobody grants more than they hold, the last owner stays.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::page::{self, Page};
use super::records::FormProblem;
use crate::api::portal::invitations::{self, InvitationCreated, InvitationRequest};
use crate::api::portal::members::{self, RoleChange};
use crate::auth::AccountAccess;
use crate::auth::permissions::{AccountRole, Permission};
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode, FieldError};

struct MemberLine {
    user_id: Uuid,
    name: String,
    email: String,
    role: String,
    role_label: String,
    is_me: bool,
}

struct InvitationLine {
    id: Uuid,
    email: String,
    role_label: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    page: Page,
    base: String,
    members: Vec<MemberLine>,
    invitations: Vec<InvitationLine>,
    /// Roles this person may hand out, as (value, label).
    roles: Vec<(String, String)>,
    may_invite: bool,
    may_change_roles: bool,
    may_remove: bool,
    /// A link made just now, shown once to pass on.
    new_link: Option<InvitationCreated>,
    invite_email: String,
    problem: FormProblem,
}

/// What a render of the page adds: a link made, or a refusal.
#[derive(Default)]
struct Outcome {
    new_link: Option<InvitationCreated>,
    invite_email: String,
    problem: FormProblem,
}

async fn team_page(state: &AppState, access: &AccountAccess, outcome: Outcome) -> Result<TeamPage, ApiError> {
    let Json(members) = members::list_members(State(state.clone()), access.clone()).await?;
    let Json(pending) = invitations::list_invitations(State(state.clone()), access.clone()).await?;
    let page = Page::for_caller(state, &access.caller, "team").await?.in_account(access);
    // A built-in role in words; a custom role's or a partner's name as it is.
    let role_label = |role: &str| {
        let key = format!("role-{role}");
        let label = page.t(&key);
        if label == key { role.to_owned() } else { label }
    };
    let members = members
        .into_iter()
        .map(|member| MemberLine {
            is_me: member.user_id == access.caller.user_id,
            user_id: member.user_id,
            name: if member.display_name.trim().is_empty() { member.email.clone() } else { member.display_name },
            email: member.email,
            role_label: role_label(&member.role),
            role: member.role,
        })
        .collect();
    let invitations = pending
        .into_iter()
        .map(|invitation| InvitationLine {
            id: invitation.invitation_id,
            email: invitation.email,
            role_label: role_label(&invitation.role),
            expires: page.format.date(invitation.expires_at),
        })
        .collect();
    // Only owners (who may edit the account's settings) hand out the owner role.
    let roles = AccountRole::ALL
        .iter()
        .filter(|role| **role != AccountRole::Owner || access.holds(Permission::AccountEditSettings))
        .map(|role| (role.as_str().to_owned(), role_label(role.as_str())))
        .collect();
    Ok(TeamPage {
        base: format!("/accounts/{}/team", access.any_access().account_id()),
        members,
        invitations,
        roles,
        may_invite: access.holds(Permission::TeamInvite),
        may_change_roles: access.holds(Permission::TeamChangeRole),
        may_remove: access.holds(Permission::TeamRemove),
        new_link: outcome.new_link,
        invite_email: outcome.invite_email,
        problem: outcome.problem,
        page,
    })
}

pub async fn show(State(state): State<AppState>, access: AccountAccess) -> Result<Response, ApiError> {
    page::ok(&team_page(&state, &access, Outcome::default()).await?)
}

/// The page again with a refusal the person can act on; anything else stays an error.
async fn refused(
    state: &AppState,
    access: &AccountAccess,
    error: ApiError,
    email: String,
) -> Result<Response, ApiError> {
    let status = error.code().status();
    let problem = match error.code() {
        ErrorCode::ReauthenticationRequired => {
            let page = Page::for_caller(state, &access.caller, "team").await?;
            FormProblem { summary: Some(page.t("team-confirm-first")), ..Default::default() }
        }
        ErrorCode::Conflict => FormProblem { summary: Some(error.detail().to_owned()), ..Default::default() },
        _ => FormProblem::from_error(error)?,
    };
    let outcome = Outcome { problem, invite_email: email, ..Default::default() };
    page::render(status, &team_page(state, access, outcome).await?)
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(
    State(state): State<AppState>,
    access: AccountAccess,
    Form(form): Form<InviteForm>,
) -> Result<Response, ApiError> {
    let Some(role) = AccountRole::parse(form.role.trim()) else {
        let error = ApiError::validation(vec![FieldError { field: "role".into(), message: "choose a role".into() }]);
        return refused(&state, &access, error, form.email).await;
    };
    let request = InvitationRequest { email: form.email.trim().to_owned(), role };
    match invitations::invite_into_account(&state, &access, request).await {
        Ok(created) => {
            let outcome = Outcome { new_link: Some(created), ..Default::default() };
            page::render(StatusCode::CREATED, &team_page(&state, &access, outcome).await?)
        }
        Err(error) => refused(&state, &access, error, form.email).await,
    }
}

pub async fn resend(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((account_id, invitation_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let path = Path((account_id, invitation_id));
    match invitations::resend_invitation(State(state.clone()), access.clone(), path).await {
        Ok(Json(created)) => {
            let outcome = Outcome { new_link: Some(created), ..Default::default() };
            page::ok(&team_page(&state, &access, outcome).await?)
        }
        Err(error) => refused(&state, &access, error, String::new()).await,
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((account_id, invitation_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    invitations::revoke_invitation(State(state), access, Path((account_id, invitation_id))).await?;
    Ok(Redirect::to(&format!("/accounts/{account_id}/team")).into_response())
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn change_role(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((account_id, user_id)): Path<(Uuid, Uuid)>,
    Form(form): Form<RoleForm>,
) -> Result<Response, ApiError> {
    let change = RoleChange { role: form.role.trim().to_owned(), custom_role_id: None, record_types: None };
    let path = Path((account_id, user_id));
    match members::change_member_role(State(state.clone()), access.clone(), path, Json(change)).await {
        Ok(_) => Ok(Redirect::to(&format!("/accounts/{account_id}/team")).into_response()),
        Err(error) => refused(&state, &access, error, String::new()).await,
    }
}

pub async fn remove(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((account_id, user_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let path = Path((account_id, user_id));
    match members::remove_member(State(state.clone()), access.clone(), path).await {
        // Leaving the account oneself: it is no longer one's to see.
        Ok(_) if user_id == access.caller.user_id => Ok(Redirect::to("/").into_response()),
        Ok(_) => Ok(Redirect::to(&format!("/accounts/{account_id}/team")).into_response()),
        Err(error) => refused(&state, &access, error, String::new()).await,
    }
}
