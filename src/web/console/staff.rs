//! The business's own staff (`staff.manage`: admins): who they are and their
//! roles, a role changed or taken away (never the last admin's), and a new
//! member invited with a role (the link shown once, to pass on); and the
//! staff's single sign-on, connected, changed and removed by the API's own
//! functions. Each change needs the password confirmed in the last ten
//! minutes, as in the API.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::Console;
use crate::api::admin::staff::{self as api, StaffInvitationRequest, StaffRoleRequest};
use crate::api::identity::sso;
use crate::auth::permissions::{StaffPermission, StaffRole};
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode, FieldError};
use crate::web::page::{self, Page};
use crate::web::records::FormProblem;
use crate::web::sso_form::{SsoForm, SsoSection, chosen_role};

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
    step_up: Option<super::StepUp>,
    /// A new invitation's link, shown once.
    invitation_link: Option<String>,
    invite_email: String,
    notice: Option<String>,
    problem: FormProblem,
    sso: SsoSection,
}

/// What a page shows besides the list: a new invitation's link, or a form as typed.
#[derive(Default)]
struct Shown {
    invitation_link: Option<String>,
    invite_email: String,
    sso_form: Option<SsoForm>,
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
    shown: Shown,
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
        "sso" => Some(page.t("settings-sso-saved")),
        "sso-removed" => Some(page.t("settings-sso-removed")),
        "confirm-failed" => Some(page.t("console-confirm-failed")),
        _ => None,
    };
    let roles: Vec<(&'static str, String)> =
        ROLES.iter().map(|role| (role.as_str(), page.t(&format!("staff-role-{}", role.as_str())))).collect();
    let connection = sso::staff_connection(state).await?;
    // Someone arriving through the provider for the first time gets the least by default.
    let sso_form = shown.sso_form.unwrap_or_else(|| SsoForm::showing(connection.as_ref(), StaffRole::Auditor.as_str()));
    let sso_roles = roles.iter().map(|(value, label)| ((*value).to_owned(), label.clone())).collect();
    let words = ["console-staff-sso-intro", "console-staff-sso-none", "console-staff-sso-domains-hint"];
    let sso = SsoSection::new(state, &page, connection, sso_form, sso_roles, "/console/staff/sso".into(), words);
    Ok(StaffPage {
        roles,
        step_up: console.step_up(&page, "/console/staff".into(), "console-staff-step-up-hint", 2),
        members,
        invitation_link: shown.invitation_link,
        invite_email: shown.invite_email,
        notice,
        problem,
        sso,
        page,
    })
}

pub async fn show(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<StaffQuery>,
) -> Result<Response, ApiError> {
    page::ok(&staff_page(&state, &console, &query.done, Shown::default(), FormProblem::default()).await?)
}

/// A refusal the person can act on (step-up, the last admin, input), as the page.
async fn refused(state: &AppState, console: &Console, error: ApiError, shown: Shown) -> Result<Response, ApiError> {
    let status = error.code().status();
    let problem = FormProblem::from_refusal(error)?;
    page::render(status, &staff_page(state, console, "", shown, problem).await?)
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
            let shown = Shown { invitation_link: Some(created.accept_url), ..Default::default() };
            page::ok(&staff_page(&state, &console, "", shown, FormProblem::default()).await?)
        }
        Err(error) => refused(&state, &console, error, Shown { invite_email: form.email, ..Default::default() }).await,
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
        Err(error) => refused(&state, &console, error, Shown::default()).await,
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
        Err(error) => refused(&state, &console, error, Shown::default()).await,
    }
}

/// Connects or changes the staff's provider. The secret is asked once: left
/// empty, the one already stored is kept.
pub async fn save_sso(
    State(state): State<AppState>,
    console: Console,
    Form(form): Form<SsoForm>,
) -> Result<Response, ApiError> {
    let saved = async {
        console.staff.require(StaffPermission::StaffManage, &state).await?;
        console.staff.caller.require_recent_sign_in()?;
        let role = chosen_role(&form.default_role, StaffRole::parse)?;
        let (secret, domains) = (form.secret(), form.domains());
        sso::configure_staff_sso(&state, &console.staff.caller, form.request(role.as_str(), &secret, &domains)).await
    };
    match saved.await {
        Ok(_) => Ok(Redirect::to("/console/staff?done=sso#sso").into_response()),
        Err(error) => {
            let shown = Shown { sso_form: Some(form.refilled()), ..Default::default() };
            refused(&state, &console, error, shown).await
        }
    }
}

/// Removes the staff's provider: who joined through it keeps their role.
pub async fn remove_sso(State(state): State<AppState>, console: Console) -> Result<Response, ApiError> {
    match sso::delete_staff_sso(State(state.clone()), console.staff.clone()).await {
        Ok(_) => Ok(Redirect::to("/console/staff?done=sso-removed#sso").into_response()),
        Err(error) if error.code() == ErrorCode::NotFound => Err(error),
        Err(error) => refused(&state, &console, error, Shown::default()).await,
    }
}
