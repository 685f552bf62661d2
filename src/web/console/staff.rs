//! The business's own staff (`staff.manage`: admins): who they are and their
//! roles, a role changed or taken away (never the last admin's), and a new
//! member invited with a role (the link shown once, to pass on). Each change
//! needs the password confirmed in the last ten minutes, as in the API.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::Console;
use crate::api::admin::staff::{self as api, StaffInvitationRequest, StaffRoleRequest};
use crate::auth::permissions::StaffRole;
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode, FieldError};
use crate::web::page::{self, Page};
use crate::web::records::FormProblem;

const ROLES: [StaffRole; 3] = [StaffRole::Admin, StaffRole::Support, StaffRole::Auditor];

pub struct StaffLine {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub role: String,
    pub since: String,
    pub field_id: String,
    pub is_me: bool,
}

#[derive(Template)]
#[template(path = "console/staff.html")]
struct StaffPage {
    page: Page,
    members: Vec<StaffLine>,
    roles: Vec<(&'static str, String)>,
    needs_step_up: bool,
    /// A new invitation's link, shown once.
    invitation_link: Option<String>,
    invite_email: String,
    notice: Option<String>,
    problem: FormProblem,
}

#[derive(Debug, Default, Deserialize)]
pub struct StaffQuery {
    #[serde(default)]
    done: String,
}

async fn staff_page(
    state: &AppState,
    console: &Console,
    done: &str,
    invitation_link: Option<String>,
    invite_email: String,
    problem: FormProblem,
) -> Result<StaffPage, ApiError> {
    let Json(members) = api::list_staff(State(state.clone()), console.staff.clone()).await?;
    let page = console.page(state, "staff").await?;
    let members = members
        .into_iter()
        .enumerate()
        .map(|(index, member)| StaffLine {
            is_me: member.user_id == console.staff.caller.user_id,
            field_id: format!("staff-role-{index}"),
            since: page.format.date(member.granted_at),
            user_id: member.user_id,
            name: member.display_name,
            email: member.email,
            role: member.role,
        })
        .collect();
    let notice = match done {
        "changed" => Some(page.t("console-staff-changed")),
        "removed" => Some(page.t("console-staff-removed")),
        "confirm-failed" => Some(page.t("console-confirm-failed")),
        _ => None,
    };
    Ok(StaffPage {
        roles: ROLES.iter().map(|role| (role.as_str(), page.t(&format!("staff-role-{}", role.as_str())))).collect(),
        needs_step_up: console.staff.caller.require_recent_sign_in().is_err(),
        members,
        invitation_link,
        invite_email,
        notice,
        problem,
        page,
    })
}

pub async fn show(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<StaffQuery>,
) -> Result<Response, ApiError> {
    page::ok(&staff_page(&state, &console, &query.done, None, String::new(), FormProblem::default()).await?)
}

/// A refusal the person can act on (step-up, the last admin, input), as the page.
async fn refused(
    state: &AppState,
    console: &Console,
    error: ApiError,
    invite_email: String,
) -> Result<Response, ApiError> {
    let status = error.code().status();
    let problem = match error.code() {
        ErrorCode::ReauthenticationRequired | ErrorCode::Conflict => {
            FormProblem { summary: Some(error.detail().to_owned()), ..Default::default() }
        }
        _ => FormProblem::from_error(error)?,
    };
    page::render(status, &staff_page(state, console, "", None, invite_email, problem).await?)
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    email: String,
}

fn role_of(text: &str) -> Result<StaffRole, ApiError> {
    StaffRole::parse(text.trim())
        .ok_or_else(|| ApiError::validation(vec![FieldError { field: "role".into(), message: "choose a role".into() }]))
}

pub async fn invite(
    State(state): State<AppState>,
    console: Console,
    Form(form): Form<RoleForm>,
) -> Result<Response, ApiError> {
    let invited = match role_of(&form.role) {
        Ok(role) => {
            let request = StaffInvitationRequest { email: form.email.clone(), role };
            api::invite_to_staff(&state, &console.staff, request).await
        }
        Err(error) => Err(error),
    };
    match invited {
        Ok(created) => {
            let page =
                staff_page(&state, &console, "", Some(created.accept_url), String::new(), FormProblem::default())
                    .await?;
            page::ok(&page)
        }
        Err(error) => refused(&state, &console, error, form.email).await,
    }
}

pub async fn change_role(
    State(state): State<AppState>,
    console: Console,
    Path(user_id): Path<Uuid>,
    Form(form): Form<RoleForm>,
) -> Result<Response, ApiError> {
    let changed = match role_of(&form.role) {
        Ok(role) => {
            let request = Json(StaffRoleRequest { role });
            api::change_staff_role(State(state.clone()), console.staff.clone(), Path(user_id), request).await
        }
        Err(error) => Err(error),
    };
    match changed {
        Ok(_) => Ok(Redirect::to("/console/staff?done=changed").into_response()),
        Err(error) => refused(&state, &console, error, String::new()).await,
    }
}

pub async fn remove(
    State(state): State<AppState>,
    console: Console,
    Path(user_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    match api::remove_staff(State(state.clone()), console.staff.clone(), Path(user_id)).await {
        Ok(_) => Ok(Redirect::to("/console/staff?done=removed").into_response()),
        Err(error) if error.code() == ErrorCode::NotFound => Err(error),
        Err(error) => refused(&state, &console, error, String::new()).await,
    }
}
