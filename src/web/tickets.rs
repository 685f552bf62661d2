//! The account's tickets (requests): the list, a new one, and one with its
//! thread, where a message can be added and the ticket closed. The same
//! handlers as the API (`create_ticket`, `comment_on_ticket`, `close_ticket`):
//! a new ticket or message shows at once as pending, until its system confirms.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::page::{self, Page};
use super::records::{FormProblem, RecordRow, row};
use crate::api::portal::records::{ListQuery, record_detail, record_page};
use crate::api::portal::tickets::{self, NewCommentRequest, NewTicketRequest};
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::ApiError;

#[derive(Template)]
#[template(path = "tickets.html")]
struct TicketsPage {
    page: Page,
    rows: Vec<RecordRow>,
    new_href: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(account_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let query = ListQuery { limit: Some(100), ..Default::default() };
    let records = record_page(&state, &access, Permission::TicketsView, "ticket", query).await?;
    let page = Page::for_caller(&state, &access.caller, "tickets").await?.in_account(&access);
    let rows = records
        .items
        .iter()
        .map(|record| row(&page, format!("/accounts/{account_id}/tickets/{}", record.id), record))
        .collect();
    let new_href = access.holds(Permission::TicketsCreate).then(|| format!("/accounts/{account_id}/tickets/new"));
    page::ok(&TicketsPage { page, rows, new_href })
}

#[derive(Template)]
#[template(path = "ticket_new.html")]
struct NewTicketPage {
    page: Page,
    action: String,
    subject: String,
    description: String,
    priority: String,
    priorities: Vec<(&'static str, String)>,
    problem: FormProblem,
}

fn priorities(page: &Page) -> Vec<(&'static str, String)> {
    ["low", "medium", "high", "urgent"].into_iter().map(|value| (value, page.t(&format!("priority-{value}")))).collect()
}

pub async fn new_form(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(account_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    access.require(Permission::TicketsCreate, &state).await?;
    let page = Page::for_caller(&state, &access.caller, "tickets").await?.in_account(&access);
    page::ok(&NewTicketPage {
        action: format!("/accounts/{account_id}/tickets"),
        subject: String::new(),
        description: String::new(),
        priority: "medium".into(),
        priorities: priorities(&page),
        problem: FormProblem::default(),
        page,
    })
}

#[derive(Debug, Deserialize)]
pub struct NewTicketForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    priority: String,
}

pub async fn create(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(account_id): Path<Uuid>,
    Form(form): Form<NewTicketForm>,
) -> Result<Response, ApiError> {
    let page = Page::for_caller(&state, &access.caller, "tickets").await?.in_account(&access);
    let request = NewTicketRequest {
        subject: form.subject.clone(),
        description: Some(form.description.clone()).filter(|text| !text.trim().is_empty()),
        priority: Some(form.priority.clone()).filter(|priority| !priority.is_empty()),
    };
    match tickets::create_ticket(State(state), access, Path(account_id), Json(request)).await {
        Ok((_, Json(created))) => {
            Ok(Redirect::to(&format!("/accounts/{account_id}/tickets/{}", created.record_id)).into_response())
        }
        Err(error) => {
            let problem = FormProblem::from_error(error)?;
            let page = NewTicketPage {
                action: format!("/accounts/{account_id}/tickets"),
                subject: form.subject,
                description: form.description,
                priority: form.priority,
                priorities: priorities(&page),
                problem,
                page,
            };
            page::render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// A message of the thread.
pub struct Message {
    pub author: String,
    pub body: String,
    pub when: String,
    pub pending: bool,
}

#[derive(Template)]
#[template(path = "ticket.html")]
struct TicketPage {
    page: Page,
    ticket: RecordRow,
    description: String,
    messages: Vec<Message>,
    comment_action: Option<String>,
    close_action: Option<String>,
    list_href: String,
    comment: String,
    problem: FormProblem,
}

async fn ticket_page(
    state: &AppState,
    access: &AccountAccess,
    account_id: Uuid,
    ticket_id: Uuid,
    comment: String,
    problem: FormProblem,
) -> Result<TicketPage, ApiError> {
    let detail = record_detail(state, access, Permission::TicketsView, "ticket", ticket_id).await?;
    let page = Page::for_caller(state, &access.caller, "tickets").await?.in_account(access);
    let base = format!("/accounts/{account_id}/tickets/{ticket_id}");
    let messages = detail
        .messages
        .iter()
        .flatten()
        .map(|message| Message {
            author: message.data["author_name"].as_str().unwrap_or_default().to_owned(),
            body: message.data["body"].as_str().unwrap_or_default().to_owned(),
            when: message.occurred_at.map(|at| page.format.date_time(at)).unwrap_or_default(),
            pending: message.pending,
        })
        .collect();
    let closed = matches!(detail.record.status.as_deref(), Some("closed" | "solved" | "Closed"));
    Ok(TicketPage {
        ticket: row(&page, base.clone(), &detail.record),
        description: detail.record.data["description"].as_str().unwrap_or_default().to_owned(),
        messages,
        // A ticket still on its way to its system takes messages once it arrives.
        comment_action: (access.holds(Permission::TicketsComment) && !detail.record.pending)
            .then(|| format!("{base}/comments")),
        close_action: (access.holds(Permission::TicketsClose) && !closed && !detail.record.pending)
            .then(|| format!("{base}/close")),
        list_href: format!("/accounts/{account_id}/tickets"),
        comment,
        problem,
        page,
    })
}

pub async fn detail(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((account_id, ticket_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    page::ok(&ticket_page(&state, &access, account_id, ticket_id, String::new(), FormProblem::default()).await?)
}

#[derive(Debug, Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    body: String,
}

pub async fn comment(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((account_id, ticket_id)): Path<(Uuid, Uuid)>,
    Form(form): Form<CommentForm>,
) -> Result<Response, ApiError> {
    let request = NewCommentRequest { body: form.body.clone() };
    let caller = access.caller.clone();
    match tickets::comment_on_ticket(State(state.clone()), access, Path((account_id, ticket_id)), Json(request)).await {
        Ok(_) => Ok(Redirect::to(&format!("/accounts/{account_id}/tickets/{ticket_id}#messages")).into_response()),
        Err(error) => {
            let problem = FormProblem::from_error(error)?;
            let access = AccountAccess::resolve(&state, caller, account_id).await?;
            let page = ticket_page(&state, &access, account_id, ticket_id, form.body, problem).await?;
            page::render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

pub async fn close(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((account_id, ticket_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    tickets::close_ticket(State(state), access, Path((account_id, ticket_id))).await?;
    Ok(Redirect::to(&format!("/accounts/{account_id}/tickets/{ticket_id}")).into_response())
}
