//! The account's tickets (requests): the list, a new one, and one with its
//! thread, where a message can be added, a file attached and the ticket closed.
//! The same handlers as the API (`create_ticket`, `comment_on_ticket`,
//! `attach_to_ticket`, `close_ticket`): a new ticket, message or file shows at
//! once as pending, until its system confirms.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::documents::{DocumentRow, UploadForm, document_row};
use super::page::{self, Page};
use super::records::{FormProblem, RecordRow, row};
use crate::api::portal::documents::UploadQuery;
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
    /// The files attached, for those who may see the account's documents.
    attachments: Option<Vec<DocumentRow>>,
    /// Attaching a file, for those who may write in the thread.
    upload: Option<UploadForm>,
}

/// What the ticket's page shows after a refused form: the message as typed and
/// why, or why a file was not attached.
#[derive(Default)]
struct Outcome {
    comment: String,
    problem: FormProblem,
    upload_problem: FormProblem,
}

async fn ticket_page(
    state: &AppState,
    access: &AccountAccess,
    account_id: Uuid,
    ticket_id: Uuid,
    outcome: Outcome,
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
    let may_download = access.holds(Permission::DocumentsDownload);
    let attachments = detail
        .attachments
        .as_ref()
        .map(|files| files.iter().map(|file| document_row(&page, account_id, file, may_download)).collect::<Vec<_>>());
    // A ticket still on its way to its system takes messages and files once it arrives.
    let writable = access.holds(Permission::TicketsComment) && !detail.record.pending;
    let upload = writable.then(|| {
        let words = ["ticket-attach", "ticket-attach-button", "ticket-attached"];
        UploadForm::new(state, &page, format!("{base}/attachments"), words, outcome.upload_problem)
    });
    Ok(TicketPage {
        ticket: row(&page, base.clone(), &detail.record),
        description: detail.record.data["description"].as_str().unwrap_or_default().to_owned(),
        messages,
        comment_action: writable.then(|| format!("{base}/comments")),
        close_action: (access.holds(Permission::TicketsClose) && !closed && !detail.record.pending)
            .then(|| format!("{base}/close")),
        list_href: format!("/accounts/{account_id}/tickets"),
        comment: outcome.comment,
        problem: outcome.problem,
        attachments,
        upload,
        page,
    })
}

pub async fn detail(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((account_id, ticket_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    page::ok(&ticket_page(&state, &access, account_id, ticket_id, Outcome::default()).await?)
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
    // The refused form's page is drawn with the same access (the handler takes its own).
    let kept = access.clone();
    match tickets::comment_on_ticket(State(state.clone()), access, Path((account_id, ticket_id)), Json(request)).await {
        Ok(_) => Ok(Redirect::to(&format!("/accounts/{account_id}/tickets/{ticket_id}#messages")).into_response()),
        Err(error) => {
            let problem = FormProblem::from_error(error)?;
            let access = kept;
            let outcome = Outcome { comment: form.body, problem, ..Default::default() };
            let page = ticket_page(&state, &access, account_id, ticket_id, outcome).await?;
            page::render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// Attaches the file of the page's upload form (multipart, as a browser sends
/// it without JavaScript; with it, the same request with a progress bar).
pub async fn attach(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((account_id, ticket_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // The refused form's page is drawn with the same access (the handler takes its own).
    let kept = access.clone();
    let path = Path((account_id, ticket_id));
    let query = Query(UploadQuery { name: None });
    match tickets::attach_to_ticket(State(state.clone()), access, path, query, headers, body).await {
        Ok(_) => Ok(Redirect::to(&format!("/accounts/{account_id}/tickets/{ticket_id}#attachments")).into_response()),
        Err(error) => {
            let status = error.code().status();
            let outcome = Outcome { upload_problem: FormProblem::from_error(error)?, ..Default::default() };
            let access = kept;
            let page = ticket_page(&state, &access, account_id, ticket_id, outcome).await?;
            page::render(if status.is_client_error() { status } else { StatusCode::UNPROCESSABLE_ENTITY }, &page)
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
