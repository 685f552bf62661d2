//! The account's orders and projects: a list with each one's stage, and one
//! order with its story (each stage and when, from the record's versions). A
//! REST manifest maps a project to an `order` of kind `project`, so both are
//! here. The same `record_page`, `record_detail` and `history` as the JSON API,
//! under `orders.view`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::page::{self, Page};
use super::records::{RecordRow, TimelineStep, row, timeline};
use crate::api::portal::history::{HistoryPage, history};
use crate::api::portal::records::{ListQuery, PortalRecord, record_detail, record_page};
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::ApiError;

/// An order or project in the list.
pub struct OrderRow {
    pub record: RecordRow,
    pub reference: String,
    /// "Order" or "Project".
    pub kind: String,
    pub amount: String,
}

fn order_row(page: &Page, account_id: Uuid, record: &PortalRecord) -> OrderRow {
    let kind = match record.data["kind"].as_str() {
        Some("project") => page.t("order-kind-project"),
        _ => page.t("order-kind-order"),
    };
    OrderRow {
        record: row(page, format!("/accounts/{account_id}/orders/{}", record.id), record),
        reference: record.data["reference"].as_str().unwrap_or_default().to_owned(),
        kind,
        amount: match (record.amount_minor, record.currency.as_deref()) {
            (Some(amount), Some(currency)) => page.format.money(amount, currency),
            _ => String::new(),
        },
    }
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    page: Page,
    rows: Vec<OrderRow>,
    q: String,
    next_href: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct OrderFilter {
    #[serde(default)]
    q: String,
    cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(account_id): Path<Uuid>,
    Query(filter): Query<OrderFilter>,
) -> Result<Response, ApiError> {
    let query = ListQuery {
        q: Some(filter.q.clone()).filter(|q| !q.trim().is_empty()),
        cursor: filter.cursor.clone(),
        limit: Some(25),
        ..Default::default()
    };
    let records = record_page(&state, &access, Permission::OrdersView, "order", query).await?;
    let page = Page::for_caller(&state, &access.caller, "orders").await?.in_account(&access);
    let rows = records.items.iter().map(|record| order_row(&page, account_id, record)).collect();
    let next_href = records.next_cursor.map(|cursor| {
        let encode =
            |text: &str| percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string();
        format!("?q={}&cursor={}", encode(&filter.q), encode(&cursor))
    });
    page::ok(&OrdersPage { rows, q: filter.q, next_href, page })
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    page: Page,
    order: OrderRow,
    list_href: String,
    /// The order's stages, oldest first.
    timeline: Vec<TimelineStep>,
}

pub async fn detail(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((account_id, record_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let detail = record_detail(&state, &access, Permission::OrdersView, "order", record_id).await?;
    let history_page = HistoryPage { limit: Some(50) };
    let Json(history) = history(&state, &access, Permission::OrdersView, "order", record_id, history_page).await?;
    let page = Page::for_caller(&state, &access.caller, "orders").await?.in_account(&access);
    page::ok(&OrderPage {
        order: order_row(&page, account_id, &detail.record),
        list_href: format!("/accounts/{account_id}/orders"),
        timeline: timeline(&page, &history),
        page,
    })
}
