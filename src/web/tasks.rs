//! The account's tasks: what is asked of the customer, with its due date. A task
//! to do gets "Mark as done"; one that asks for a decision (approve a quote,
//! sign off a deliverable) is approved or declined with a comment. For those who
//! may complete tasks, through the same functions as the API (`complete_task`,
//! `decide_on_task`: the outbox, pending until the system confirms).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::page::{self, Page};
use super::records::{FormProblem, RecordRow, row};
use crate::api::portal::records::{ListQuery, record_page};
use crate::api::portal::tasks::{self, Decision, DecisionRequest};
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::{ApiError, FieldError};

/// A task that asks for a decision, with what it is about.
struct Approval {
    row: RecordRow,
    description: String,
    /// The comment given with the decision, once decided.
    comment: String,
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    page: Page,
    approvals: Vec<Approval>,
    rows: Vec<RecordRow>,
    may_complete: bool,
    action_base: String,
    show_all: bool,
    /// A refused decision: the task it was about, the comment as typed, why.
    refused_task: String,
    comment: String,
    problem: FormProblem,
}

#[derive(Debug, Default, Deserialize)]
pub struct TaskFilter {
    /// `all` shows completed and decided tasks too; open ones otherwise.
    #[serde(default)]
    show: String,
}

async fn tasks_page(
    state: &AppState,
    access: &AccountAccess,
    account_id: Uuid,
    show_all: bool,
    refused: Option<(Uuid, String, FormProblem)>,
) -> Result<TasksPage, ApiError> {
    let query = ListQuery { status: (!show_all).then(|| "open".to_owned()), limit: Some(100), ..Default::default() };
    let records = record_page(state, access, Permission::TasksView, "task", query).await?;
    let page = Page::for_caller(state, &access.caller, "tasks").await?.in_account(access);
    let (decisions, todos): (Vec<_>, Vec<_>) =
        records.items.iter().partition(|record| record.data["kind"] == "approval");
    let text = |record: &crate::api::portal::records::PortalRecord, field: &str| {
        record.data[field].as_str().unwrap_or_default().to_owned()
    };
    let approvals = decisions
        .into_iter()
        .map(|record| Approval {
            row: row(&page, String::new(), record),
            description: text(record, "description"),
            comment: text(record, "decision_comment"),
        })
        .collect();
    let rows = todos.into_iter().map(|record| row(&page, String::new(), record)).collect();
    let (refused_task, comment, problem) = match refused {
        Some((task_id, comment, problem)) => (task_id.to_string(), comment, problem),
        None => Default::default(),
    };
    Ok(TasksPage {
        approvals,
        rows,
        may_complete: access.holds(Permission::TasksComplete),
        action_base: format!("/accounts/{account_id}/tasks"),
        show_all,
        refused_task,
        comment,
        problem,
        page,
    })
}

pub async fn list(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(account_id): Path<Uuid>,
    Query(filter): Query<TaskFilter>,
) -> Result<Response, ApiError> {
    page::ok(&tasks_page(&state, &access, account_id, filter.show == "all", None).await?)
}

pub async fn complete(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((account_id, task_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    tasks::complete_task(State(state), access, Path((account_id, task_id))).await?;
    Ok(Redirect::to(&format!("/accounts/{account_id}/tasks")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    /// The button pressed: `approve` or `decline`.
    #[serde(default)]
    decision: String,
    #[serde(default)]
    comment: String,
}

pub async fn decide(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((account_id, task_id)): Path<(Uuid, Uuid)>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, ApiError> {
    // The refused form's page is drawn with the same access (the handler takes its own).
    let kept = access.clone();
    let decided = async {
        let decision = match form.decision.as_str() {
            "approve" => Decision::Approve,
            "decline" => Decision::Decline,
            _ => {
                let error = FieldError { field: "decision".into(), message: "approve or decline".into() };
                return Err(ApiError::validation(vec![error]));
            }
        };
        let request = DecisionRequest { decision, comment: form.comment.clone() };
        tasks::decide_on_task(State(state.clone()), access, Path((account_id, task_id)), Json(request)).await
    };
    match decided.await {
        Ok(_) => Ok(Redirect::to(&format!("/accounts/{account_id}/tasks")).into_response()),
        Err(error) => {
            let status = error.code().status();
            let problem = FormProblem::from_error(error)?;
            let access = kept;
            let refused = Some((task_id, form.comment, problem));
            let page = tasks_page(&state, &access, account_id, false, refused).await?;
            page::render(if status.is_client_error() { status } else { StatusCode::UNPROCESSABLE_ENTITY }, &page)
        }
    }
}
