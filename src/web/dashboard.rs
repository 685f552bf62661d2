//! `/`: where a signed-in person lands (their account, or a choice of accounts);
//! `/accounts/{id}`: the account's dashboard, each part only for those who may
//! see it (the same `Dashboard` the API answers).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::page::{self, Page};
use crate::api::portal::dashboard;
use crate::auth::permissions::Permission;
use crate::auth::{AccountAccess, Caller};
use crate::server::AppState;
use crate::server::problem::ApiError;

#[derive(Template)]
#[template(path = "choose_account.html")]
struct ChooseAccount {
    page: Page,
}

#[derive(Debug, Deserialize)]
pub struct Switch {
    /// The account switcher without JavaScript: the chosen account's path.
    account: Option<String>,
}

pub async fn home(
    State(state): State<AppState>,
    caller: Caller,
    Query(switch): Query<Switch>,
) -> Result<Response, ApiError> {
    if let Some(target) = switch.account.as_deref().and_then(super::errors::safe_next) {
        return Ok(Redirect::to(target).into_response());
    }
    let page = Page::for_caller(&state, &caller, "dashboard").await?;
    match page.accounts.as_slice() {
        [only] => Ok(Redirect::to(&format!("/accounts/{}", only.id)).into_response()),
        // The business's staff work in the console (a member of accounts too chooses).
        [] if page.staff => Ok(Redirect::to("/console").into_response()),
        _ => page::ok(&ChooseAccount { page }),
    }
}

/// One line of the open-invoices summary.
pub struct Totals {
    pub open: String,
    pub overdue: Option<String>,
}

/// A record in a short list: title, status, when, where from.
pub struct RecordLine {
    pub title: String,
    pub href: Option<String>,
    pub status: Option<String>,
    pub freshness: String,
    pub pending: bool,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    page: Page,
    account_name: String,
    invoices: Option<Vec<Totals>>,
    invoices_href: String,
    open_tickets: Option<i64>,
    new_documents: Option<i64>,
    tasks_due: Option<i64>,
    recent: Vec<RecordLine>,
    /// A first visit: what this person can do here, until they dismiss it.
    greeting: Vec<String>,
}

pub async fn page(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(account_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let dashboard = dashboard::build(&state, &access).await?;
    let page = Page::for_caller(&state, &access.caller, "dashboard").await?.in_account(&access);
    let invoices = dashboard.invoices.map(|totals| {
        totals
            .iter()
            .map(|total| Totals {
                open: page.format.money(total.open_amount_minor, &total.currency),
                overdue: (total.overdue_amount_minor > 0).then(|| {
                    page.t_with(
                        "dashboard-overdue",
                        "amount",
                        &page.format.money(total.overdue_amount_minor, &total.currency),
                    )
                }),
            })
            .collect()
    });
    let recent = dashboard
        .recent_changes
        .iter()
        .map(|record| RecordLine {
            title: record.title.clone(),
            // Only the collections with a page of their own are links, for those who may open them.
            href: match record.record_type.as_str() {
                "invoice" if access.holds(Permission::InvoicesView) => {
                    Some(format!("/accounts/{account_id}/invoices/{}", record.id))
                }
                "ticket" if access.holds(Permission::TicketsView) => {
                    Some(format!("/accounts/{account_id}/tickets/{}", record.id))
                }
                "task" if access.holds(Permission::TasksView) => Some(format!("/accounts/{account_id}/tasks")),
                "document" if access.holds(Permission::DocumentsView) => {
                    Some(format!("/accounts/{account_id}/documents"))
                }
                _ => None,
            },
            status: record.status.as_deref().map(|status| page.status_label(status)),
            freshness: page.freshness(record),
            pending: record.pending,
        })
        .collect();
    let account_name = page.account.as_ref().map(|account| account.name.clone()).unwrap_or_default();
    let greeting = if state.store.welcomed_at(access.caller.user_id).await?.is_none() {
        page.sections.iter().skip(1).map(|section| page.t(&format!("greeting-{}", section.id))).collect()
    } else {
        Vec::new()
    };
    page::ok(&DashboardPage {
        greeting,
        account_name,
        invoices,
        invoices_href: format!("/accounts/{account_id}/invoices"),
        open_tickets: dashboard.open_tickets,
        new_documents: dashboard.new_documents.map(|documents| documents.count),
        tasks_due: dashboard.tasks_due.map(|tasks| tasks.count),
        recent,
        page,
    })
}

#[derive(Debug, Deserialize)]
pub struct Dismissal {
    #[serde(default)]
    next: String,
}

/// "Got it": the greeting is not shown again, on any device.
pub async fn dismiss_greeting(
    State(state): State<AppState>,
    caller: Caller,
    crate::server::form::Form(form): crate::server::form::Form<Dismissal>,
) -> Result<Response, ApiError> {
    state.store.mark_welcomed(caller.user_id, chrono::Utc::now()).await?;
    Ok(Redirect::to(super::errors::safe_next(&form.next).unwrap_or("/")).into_response())
}
