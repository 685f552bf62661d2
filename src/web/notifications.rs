//! The bell and the person's notifications: what changed in their accounts
//! (under their preferences), newest first, with a link to the record, marked
//! read one by one or all at once. The same list and rules as
//! `GET /api/v1/me/notifications`; the bell's count follows the change feed.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use uuid::Uuid;

use super::page::{self, Page};
use crate::api::portal::notifications::{self, NotificationQuery};
use crate::auth::Caller;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::ApiError;

/// A notification as a line of the list.
struct NotificationLine {
    id: Uuid,
    message: String,
    account: String,
    when: String,
    href: Option<String>,
    unread: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    page: Page,
    lines: Vec<NotificationLine>,
    only_unread: bool,
    next_before: Option<Uuid>,
}

#[derive(Template)]
#[template(path = "bell.html")]
struct Bell {
    page: Page,
}

/// Where a notification's record is shown: its own page, or its list.
fn record_href(account_id: Uuid, record_type: Option<&str>, record_id: Option<Uuid>) -> Option<String> {
    let base = format!("/accounts/{account_id}");
    match (record_type?, record_id) {
        ("invoice", Some(id)) => Some(format!("{base}/invoices/{id}")),
        ("ticket", Some(id)) => Some(format!("{base}/tickets/{id}")),
        ("document", _) => Some(format!("{base}/documents")),
        ("task", _) => Some(format!("{base}/tasks")),
        _ => Some(base),
    }
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<NotificationQuery>,
) -> Result<Response, ApiError> {
    let only_unread = query.unread;
    let Json(found) = notifications::list_notifications(State(state.clone()), caller.clone(), Query(query)).await?;
    let mut page = Page::for_caller(&state, &caller, "notifications").await?;
    page.unread_notifications = found.unread_count;
    let lines = found
        .items
        .into_iter()
        .map(|item| NotificationLine {
            id: item.id,
            account: page
                .accounts
                .iter()
                .find(|account| account.id == item.account_id)
                .map(|account| account.name.clone())
                .unwrap_or_default(),
            when: page.format.relative(item.created_at, page.now),
            href: record_href(item.account_id, item.record_type.as_deref(), item.record_id),
            unread: item.read_at.is_none(),
            message: item.message,
        })
        .collect();
    page::ok(&NotificationsPage { page, lines, only_unread, next_before: found.next_before })
}

/// The bell alone, for the live refresh of its count.
pub async fn bell(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let page = Page::for_caller(&state, &caller, "notifications").await?;
    page::ok(&Bell { page })
}

pub async fn mark_read(
    State(state): State<AppState>,
    caller: Caller,
    Path(notification_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    notifications::mark_read(State(state), caller, Path(notification_id)).await?;
    Ok(Redirect::to("/notifications").into_response())
}

pub async fn mark_all_read(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    notifications::mark_all_read(State(state), caller).await?;
    Ok(Redirect::to("/notifications").into_response())
}
