//! The account's tasks: what is asked of the customer, with its due date, and
//! "Mark as done" on open ones for those who may complete them (the same
//! `complete_task` as the API: through the outbox, pending until the system
//! confirms).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::page::{self, Page};
use super::records::{RecordRow, row};
use crate::api::portal::records::{ListQuery, record_page};
use crate::api::portal::tasks;
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::problem::ApiError;

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    page: Page,
    rows: Vec<RecordRow>,
    may_complete: bool,
    action_base: String,
    show_all: bool,
}

#[derive(Debug, Deserialize)]
pub struct TaskFilter {
    /// `all` shows completed tasks too; open ones otherwise.
    #[serde(default)]
    show: String,
}

pub async fn list(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(account_id): Path<Uuid>,
    Query(filter): Query<TaskFilter>,
) -> Result<Response, ApiError> {
    let show_all = filter.show == "all";
    let query = ListQuery { status: (!show_all).then(|| "open".to_owned()), limit: Some(100), ..Default::default() };
    let records = record_page(&state, &access, Permission::TasksView, "task", query).await?;
    let page = Page::for_caller(&state, &access.caller, "tasks").await?.in_account(&access);
    let rows = records.items.iter().map(|record| row(&page, String::new(), record)).collect();
    page::ok(&TasksPage {
        rows,
        may_complete: access.holds(Permission::TasksComplete),
        action_base: format!("/accounts/{account_id}/tasks"),
        show_all,
        page,
    })
}

pub async fn complete(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((account_id, task_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    tasks::complete_task(State(state), access, Path((account_id, task_id))).await?;
    Ok(Redirect::to(&format!("/accounts/{account_id}/tasks")).into_response())
}
