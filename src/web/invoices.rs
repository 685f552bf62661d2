//! The account's invoices: a list (status filter, number search, paging) and one
//! invoice with its lines, payments, a link to pay it at its source and its PDF
//! (through `GET /api/v1/accounts/{id}/invoices/{id}/pdf`). The same
//! `record_page` and `record_detail` as the JSON API, under `invoices.view`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::page::{self, Page};
use super::records::{TimelineStep, timeline};
use crate::api::portal::history::{HistoryPage, history};
use crate::api::portal::records::{ListQuery, PortalRecord, record_detail, record_page};
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode};

/// An invoice in the list, ready to print.
pub struct InvoiceRow {
    pub href: String,
    pub number: String,
    pub status: String,
    pub status_class: &'static str,
    pub issued: String,
    pub due: String,
    pub amount: String,
    pub pending: bool,
}

/// The status label's colour: words carry the meaning, colour repeats it.
fn status_class(status: Option<&str>, overdue: bool) -> &'static str {
    match (status, overdue) {
        (Some("open"), true) => "danger",
        (Some("open"), false) => "warning",
        (Some("paid"), _) => "success",
        _ => "neutral",
    }
}

fn row(page: &Page, account_id: Uuid, record: &PortalRecord) -> InvoiceRow {
    let overdue = record.status.as_deref() == Some("open") && record.due_at.is_some_and(|due| due < page.now);
    let status = match (record.status.as_deref(), overdue) {
        (_, true) => page.t("status-overdue"),
        (Some(status), false) => page.status_label(status),
        (None, false) => String::new(),
    };
    InvoiceRow {
        href: format!("/accounts/{account_id}/invoices/{}", record.id),
        number: record.title.clone(),
        status,
        status_class: status_class(record.status.as_deref(), overdue),
        issued: record.occurred_at.map(|at| page.format.date(at)).unwrap_or_default(),
        due: record.due_at.map(|at| page.format.date(at)).unwrap_or_default(),
        amount: match (record.amount_minor, record.currency.as_deref()) {
            (Some(amount), Some(currency)) => page.format.money(amount, currency),
            _ => String::new(),
        },
        pending: record.pending,
    }
}

#[derive(Template)]
#[template(path = "invoices.html")]
struct InvoicesPage {
    page: Page,
    rows: Vec<InvoiceRow>,
    status: String,
    q: String,
    statuses: Vec<(&'static str, String)>,
    next_href: Option<String>,
    freshness: Option<String>,
    filtered: bool,
}

#[derive(Debug, Deserialize)]
pub struct InvoiceFilter {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(account_id): Path<Uuid>,
    Query(filter): Query<InvoiceFilter>,
) -> Result<Response, ApiError> {
    let query = ListQuery {
        status: Some(filter.status.clone()).filter(|status| !status.is_empty()),
        q: Some(filter.q.clone()).filter(|q| !q.trim().is_empty()),
        cursor: filter.cursor.clone(),
        limit: Some(25),
        ..Default::default()
    };
    let records = record_page(&state, &access, Permission::InvoicesView, "invoice", query).await?;
    let page = Page::for_caller(&state, &access.caller, "invoices").await?.in_account(&access);
    let rows = records.items.iter().map(|record| row(&page, account_id, record)).collect();
    let next_href = records.next_cursor.map(|cursor| {
        let encode =
            |text: &str| percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string();
        format!("?status={}&q={}&cursor={}", encode(&filter.status), encode(&filter.q), encode(&cursor))
    });
    let statuses = ["open", "paid", "void"].into_iter().map(|status| (status, page.status_label(status))).collect();
    let freshness = records.items.first().map(|record| page.freshness(record));
    page::ok(&InvoicesPage {
        rows,
        filtered: !filter.status.is_empty() || !filter.q.trim().is_empty(),
        status: filter.status,
        q: filter.q,
        statuses,
        next_href,
        freshness,
        page,
    })
}

/// A line of an invoice.
pub struct Line {
    pub description: String,
    pub quantity: String,
    pub amount: String,
}

#[derive(Template)]
#[template(path = "invoice.html")]
struct InvoicePage {
    page: Page,
    invoice: InvoiceRow,
    lines: Vec<Line>,
    total: String,
    amount_due: Option<String>,
    pay_url: Option<String>,
    pdf_href: Option<String>,
    payments: Option<Vec<InvoiceRow>>,
    freshness: String,
    list_href: String,
    /// The invoice's story, oldest first.
    timeline: Vec<TimelineStep>,
}

pub async fn detail(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((account_id, record_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let detail = record_detail(&state, &access, Permission::InvoicesView, "invoice", record_id).await?;
    let history_page = HistoryPage { limit: Some(50) };
    let Json(history) = history(&state, &access, Permission::InvoicesView, "invoice", record_id, history_page).await?;
    let page = Page::for_caller(&state, &access.caller, "invoices").await?.in_account(&access);
    let timeline = timeline(&page, &history);
    let record = &detail.record;
    let data = &record.data;
    let currency = record.currency.clone().unwrap_or_default();
    let money = |value: &Value| value.as_i64().map(|amount| page.format.money(amount, &currency));
    let lines = data["line_items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|line| Line {
            description: line["description"].as_str().unwrap_or_default().to_owned(),
            quantity: line["quantity"].as_i64().map(|quantity| quantity.to_string()).unwrap_or_default(),
            amount: money(&line["amount_minor"]).unwrap_or_default(),
        })
        .collect();
    let open = record.status.as_deref() == Some("open");
    let pay_url = payment_page(record).map(|_| format!("/accounts/{account_id}/invoices/{record_id}/pay"));
    // A live refresh of the open page (htmx) is not another look.
    if !headers.contains_key("hx-request") {
        record_customer_activity(&state, &access, "invoice.viewed", record_id).await?;
    }
    let pdf_href = (data["pdf_url"].is_string() && access.holds(Permission::InvoicesDownload))
        .then(|| format!("/api/v1/accounts/{account_id}/invoices/{record_id}/pdf"));
    page::ok(&InvoicePage {
        invoice: row(&page, account_id, record),
        lines,
        total: money(&data["total_minor"]).unwrap_or_default(),
        amount_due: money(&data["amount_due_minor"]).filter(|_| open),
        pay_url,
        pdf_href,
        payments: detail
            .payments
            .as_ref()
            .map(|payments| payments.iter().map(|payment| row(&page, account_id, payment)).collect()),
        freshness: page.freshness(record),
        list_href: format!("/accounts/{account_id}/invoices"),
        timeline,
        page,
    })
}

/// The source's own payment page for an open invoice, over https only.
fn payment_page(record: &PortalRecord) -> Option<&str> {
    let open = record.status.as_deref() == Some("open");
    record.data["hosted_url"].as_str().filter(|url| open && url.starts_with("https://"))
}

/// A customer's own use of the portal, for the business's adoption report (the
/// account's activity log shows it too). Staff looking, or viewing as a
/// customer, are not the customer's use.
async fn record_customer_activity(
    state: &AppState,
    access: &AccountAccess,
    action: &'static str,
    record_id: Uuid,
) -> Result<(), ApiError> {
    if access.caller.staff_role.is_some() || access.viewing_as().is_some() {
        return Ok(());
    }
    let account_id = access.any_access().account_id();
    let event = access.caller.audit_event(action).account(account_id).target("invoice", record_id);
    Ok(crate::audit::record(&state.store, event).await?)
}

/// "Pay this invoice": on to the source's payment page, counted as a payment
/// begun through the portal.
pub async fn pay(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((_account_id, record_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let detail = record_detail(&state, &access, Permission::InvoicesView, "invoice", record_id).await?;
    let Some(url) = payment_page(&detail.record) else {
        return Err(ApiError::new(ErrorCode::Conflict, "This invoice cannot be paid online now."));
    };
    let url = url.to_owned();
    record_customer_activity(&state, &access, "invoice.pay_started", record_id).await?;
    Ok(Redirect::to(&url).into_response())
}
