//! Customer accounts in the console (`accounts.view`; creating one
//! `accounts.manage`): found by name or slug, opened in the portal as staff
//! see it, their part of the audit log one link away.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Console;
use crate::api::admin::accounts::{self as api, NewAccount, Page as AccountsPage};
use crate::auth::permissions::StaffPermission;
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::ApiError;
use crate::web::page::{self, Page};
use crate::web::records::FormProblem;

const PAGE_SIZE: i64 = 50;

pub struct AccountLine {
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
        .map(|account| AccountLine {
            created: page.format.date(account.created_at),
            portal_href: format!("/accounts/{}", account.id),
            audit_href: format!("/console/audit?account={}", account.id),
            name: account.name,
            slug: account.slug,
        })
        .collect();
    Ok(AccountsListPage {
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
