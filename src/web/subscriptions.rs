//! The account's subscriptions: what the customer pays for, how much each
//! period, and when it renews or ends. The same `record_page` as
//! `GET /api/v1/accounts/{id}/subscriptions`, under `invoices.view` (a
//! subscription is billing, like an invoice).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use uuid::Uuid;

use super::page::{self, Page};
use super::records::{RecordRow, row};
use crate::api::portal::records::{ListQuery, PortalRecord, record_page};
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::problem::ApiError;

pub struct SubscriptionRow {
    pub record: RecordRow,
    /// "€49.00 a month".
    pub price: String,
    /// "Renews on 19 Dec 2026", "Ends on …", or "Ended on …".
    pub renewal: String,
}

fn subscription_row(page: &Page, record: &PortalRecord) -> SubscriptionRow {
    let data = &record.data;
    let price = match (record.amount_minor, record.currency.as_deref()) {
        (Some(amount), Some(currency)) => {
            let money = page.format.money(amount, currency);
            let interval = data["interval"].as_str().unwrap_or_default();
            let key = format!("subscription-every-{interval}");
            let worded = page.t_with(&key, "price", &money);
            if worded == key { money } else { worded }
        }
        _ => String::new(),
    };
    let date = |pointer: &str| {
        data.pointer(pointer)
            .and_then(|value| serde_json::from_value::<chrono::DateTime<chrono::Utc>>(value.clone()).ok())
            .map(|at| page.format.date(at))
    };
    let renewal = if let Some(ended) = date("/canceled_at").filter(|_| record.status.as_deref() == Some("canceled")) {
        page.t_with("subscription-ended", "date", &ended)
    } else if let Some(end) = date("/current_period_end") {
        let key = if data["cancel_at_period_end"].as_bool() == Some(true) {
            "subscription-ends"
        } else {
            "subscription-renews"
        };
        page.t_with(key, "date", &end)
    } else {
        String::new()
    };
    SubscriptionRow { record: row(page, String::new(), record), price, renewal }
}

#[derive(Template)]
#[template(path = "subscriptions.html")]
struct SubscriptionsPage {
    page: Page,
    rows: Vec<SubscriptionRow>,
}

pub async fn list(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(_account_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let query = ListQuery { limit: Some(100), ..Default::default() };
    let records = record_page(&state, &access, Permission::InvoicesView, "subscription", query).await?;
    let page = Page::for_caller(&state, &access.caller, "subscriptions").await?.in_account(&access);
    let rows = records.items.iter().map(|record| subscription_row(&page, record)).collect();
    page::ok(&SubscriptionsPage { rows, page })
}
