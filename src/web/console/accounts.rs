//! Customer accounts in the console (`accounts.view`; creating one
//! `accounts.manage`): found by name or slug, opened in the portal as staff
//! see it, their part of the audit log one link away.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use uuid::Uuid;

use super::Console;
use crate::api::admin::accounts::{self as api, NewAccount, Page as AccountsPage};
use crate::api::portal::{invitations as invitations_api, members as members_api, roles as roles_api};
use crate::audit;
use crate::auth::AccountAccess;
use crate::auth::permissions::{AccountRole, RecordType, StaffPermission};
use crate::auth::session::set_cookie_header;
use crate::auth::view_as::{self, ChosenRole, ViewedRole, ViewingAs};
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode, FieldError};
use crate::store::StaffData;
use crate::web::page::{self, Page};
use crate::web::records::FormProblem;

const PAGE_SIZE: i64 = 50;

pub struct AccountLine {
    pub view_as_href: String,
    pub field_id: String,
    pub name: String,
    pub slug: String,
    pub created: String,
    pub portal_href: String,
    pub audit_href: String,
}

#[derive(Template)]
#[template(path = "console/accounts.html")]
struct AccountsListPage {
    page: Page,
    search: String,
    accounts: Vec<AccountLine>,
    more_href: Option<String>,
    may_create: bool,
    /// (value, label) of the roles an account may be viewed as.
    roles: Vec<(String, String)>,
    new_account: NewAccountForm,
    created: String,
    problem: FormProblem,
}

#[derive(Debug, Default, Deserialize)]
pub struct AccountsQuery {
    #[serde(default)]
    q: String,
    after: Option<uuid::Uuid>,
    #[serde(default)]
    created: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct NewAccountForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
}

async fn accounts_page(
    state: &AppState,
    console: &Console,
    query: AccountsQuery,
    new_account: NewAccountForm,
    problem: FormProblem,
) -> Result<AccountsListPage, ApiError> {
    let search = query.q.trim().to_owned();
    let Json(found) = api::list_accounts(
        State(state.clone()),
        console.staff.clone(),
        Query(AccountsPage {
            after: query.after,
            limit: Some(PAGE_SIZE),
            q: Some(search.clone()).filter(|text| !text.is_empty()),
        }),
    )
    .await?;
    let page = console.page(state, "accounts").await?;
    let more_href = found.last().filter(|_| found.len() as i64 == PAGE_SIZE).map(|last| {
        let query = serde_urlencoded::to_string([("q", search.as_str())]).unwrap_or_default();
        format!("?{query}&after={}", last.id)
    });
    let accounts = found
        .into_iter()
        .enumerate()
        .map(|(index, account)| AccountLine {
            view_as_href: format!("/console/accounts/{}/view-as", account.id),
            field_id: format!("view-as-{index}"),
            created: page.format.date(account.created_at),
            portal_href: format!("/console/accounts/{}", account.id),
            audit_href: format!("/console/audit?account={}", account.id),
            name: account.name,
            slug: account.slug,
        })
        .collect();
    let roles = builtin_roles().iter().map(|role| (role.form_value(), page.viewed_role_label(role))).collect();
    Ok(AccountsListPage {
        roles,
        may_create: console.staff.holds(StaffPermission::AccountsManage),
        created: query.created,
        search,
        accounts,
        more_href,
        new_account,
        problem,
        page,
    })
}

pub async fn list(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<AccountsQuery>,
) -> Result<Response, ApiError> {
    page::ok(&accounts_page(&state, &console, query, NewAccountForm::default(), FormProblem::default()).await?)
}

pub async fn create(
    State(state): State<AppState>,
    console: Console,
    Form(form): Form<NewAccountForm>,
) -> Result<Response, ApiError> {
    let request = NewAccount { name: form.name.clone(), slug: form.slug.trim().to_owned() };
    match api::create_account(State(state.clone()), console.staff.clone(), Json(request)).await {
        Ok(_) => {
            let query = serde_urlencoded::to_string([("q", form.slug.trim()), ("created", form.name.trim())])
                .map_err(ApiError::internal)?;
            Ok(Redirect::to(&format!("/console/accounts?{query}")).into_response())
        }
        Err(error) => {
            let problem = FormProblem::from_error(error)?;
            let page = accounts_page(&state, &console, AccountsQuery::default(), form, problem).await?;
            page::render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ViewAsForm {
    #[serde(default)]
    role: String,
}

/// Opens the account's portal as one of its roles sees it: read-only, with a
/// banner, every page recorded in the account's audit log (see `auth::view_as`).
pub async fn view_as(
    State(state): State<AppState>,
    console: Console,
    Path(account_id): Path<Uuid>,
    Form(form): Form<ViewAsForm>,
) -> Result<Response, ApiError> {
    console.staff.require(StaffPermission::AccountsView, &state).await?;
    let account = state.store.account(account_id).await?.ok_or_else(|| ApiError::from_code(ErrorCode::NotFound))?;
    let not_a_role = || ApiError::validation(vec![FieldError { field: "role".into(), message: "not a role".into() }]);
    let role = match ViewedRole::parse(&form.role).ok_or_else(not_a_role)? {
        ChosenRole::Ready(role) => role,
        ChosenRole::Custom(role_id) => {
            let custom =
                custom_roles(&state, &console, account_id).await?.into_iter().find(|role| role.role_id == role_id);
            let custom = custom.ok_or_else(not_a_role)?;
            ViewedRole::Custom { role_id, name: custom.name }
        }
    };
    let Some(session_id) = console.staff.caller.session_id() else {
        return Err(ApiError::new(ErrorCode::BadRequest, "Viewing as a customer needs a signed-in browser."));
    };
    let event = console
        .staff
        .caller
        .audit_event("staff.view_as_started")
        .account(account_id)
        .details(serde_json::json!({"role": role.audit_name()}));
    let viewing = ViewingAs::new(session_id, account.id, account.name, role, Utc::now());
    audit::record(&state.store, event).await?;
    let mut response = Redirect::to(&format!("/accounts/{account_id}")).into_response();
    set_cookie_header(response.headers_mut(), view_as::cookie(&state.settings, &state.cipher, &viewing));
    Ok(response)
}

/// Back to the console as oneself.
pub async fn stop_viewing(State(state): State<AppState>, console: Console) -> Result<Response, ApiError> {
    if let Some(viewing) = &console.staff.caller.viewing_as {
        let event = console.staff.caller.audit_event("staff.view_as_ended").account(viewing.account_id);
        audit::record(&state.store, event).await?;
    }
    let mut response = Redirect::to("/console/accounts").into_response();
    set_cookie_header(response.headers_mut(), view_as::clearing_cookie(&state.settings));
    Ok(response)
}

pub struct MemberLine {
    pub name: String,
    pub email: String,
    pub role: String,
    pub since: String,
}

pub struct CountLine {
    pub connector: String,
    pub connector_href: String,
    pub record_type: String,
    pub count: i64,
}

#[derive(Template)]
#[template(path = "console/account.html")]
struct AccountPage {
    page: Page,
    account: crate::store::Account,
    members: Vec<MemberLine>,
    invitations: Vec<MemberLine>,
    counts: Vec<CountLine>,
    team_href: String,
    audit_href: String,
    view_as_href: String,
    /// The roles it may be viewed as, grouped: (group, [(value, label)]).
    role_groups: Vec<(String, Vec<(String, String)>)>,
}

/// The built-in roles an account may be viewed as.
fn builtin_roles() -> Vec<ViewedRole> {
    AccountRole::ALL.iter().map(|role| ViewedRole::Role { role: *role }).collect()
}

/// The account as the staff member themselves (in the console staff act as
/// themselves, even while viewing this account as a customer).
async fn as_staff(state: &AppState, console: &Console, account_id: Uuid) -> Result<AccountAccess, ApiError> {
    let mut caller = console.staff.caller.clone();
    caller.viewing_as = None;
    AccountAccess::resolve(state, caller, account_id).await
}

async fn custom_roles(
    state: &AppState,
    console: &Console,
    account_id: Uuid,
) -> Result<Vec<crate::store::CustomRoleRecord>, ApiError> {
    let access = as_staff(state, console, account_id).await?;
    Ok(roles_api::list_roles(State(state.clone()), access).await?.0)
}

/// One account: its members and invitations waiting, what each connector
/// brought into it, and the ways to its team page, its audit log and viewing it
/// as a customer.
pub async fn show(
    State(state): State<AppState>,
    console: Console,
    Path(account_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let scope = console.staff.require(StaffPermission::AccountsView, &state).await?;
    let access = as_staff(&state, &console, account_id).await?;
    let Json(custom) = roles_api::list_roles(State(state.clone()), access.clone()).await?;
    let Json(account) = api::get_account(State(state.clone()), access.clone()).await?;
    let Json(members) = members_api::list_members(State(state.clone()), access.clone()).await?;
    let Json(invitations) = invitations_api::list_invitations(State(state.clone()), access).await?;
    let counts = StaffData::of(&state.store, &scope).account_record_counts(account_id).await?;
    let page = console.page(&state, "accounts").await?;
    let role = |role: &str| page.t(&format!("role-{role}"));
    let members = members
        .into_iter()
        .map(|member| MemberLine {
            role: role(&member.role),
            since: page.format.date(member.joined_at),
            name: member.display_name,
            email: member.email,
        })
        .collect();
    let invitations = invitations
        .into_iter()
        .map(|invitation| MemberLine {
            role: role(&invitation.role),
            since: page.format.date(invitation.created_at),
            name: String::new(),
            email: invitation.email,
        })
        .collect();
    let counts = counts
        .into_iter()
        .map(|(connector_id, connector, record_type, count)| CountLine {
            connector_href: format!("/console/connectors/{connector_id}/records?record_type={record_type}"),
            connector,
            record_type,
            count,
        })
        .collect();
    let options = |roles: Vec<ViewedRole>| -> Vec<(String, String)> {
        roles.iter().map(|role| (role.form_value(), page.viewed_role_label(role))).collect()
    };
    let role_groups = vec![
        (page.t("view-as-builtin-roles"), options(builtin_roles())),
        (
            page.t("view-as-custom-roles"),
            options(
                custom.into_iter().map(|role| ViewedRole::Custom { role_id: role.role_id, name: role.name }).collect(),
            ),
        ),
        (
            page.t("view-as-partners"),
            options(
                RecordType::ALL.iter().map(|record_type| ViewedRole::Partner { record_type: *record_type }).collect(),
            ),
        ),
    ]
    .into_iter()
    .filter(|(_, options)| !options.is_empty())
    .collect();
    page::ok(&AccountPage {
        team_href: format!("/accounts/{account_id}/team"),
        audit_href: format!("/console/audit?account={account_id}"),
        view_as_href: format!("/console/accounts/{account_id}/view-as"),
        account,
        members,
        invitations,
        counts,
        role_groups,
        page,
    })
}
