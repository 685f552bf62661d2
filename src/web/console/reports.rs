//! Whether customers use the portal (`accounts.view`): per account and overall,
//! over the last 30, 90 or 365 days, month by month: people invited, members
//! who ever signed in and in the last 30 days, sign-ins, documents downloaded,
//! invoices looked at and payments begun through the portal, requests opened;
//! the same table as CSV.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use serde::Deserialize;

use super::Console;
use crate::api::portal::audit::spreadsheet_safe;
use crate::auth::permissions::StaffPermission;
use crate::server::AppState;
use crate::server::problem::ApiError;
use crate::store::{ActivityTotals, AdoptionRow, StaffData};
use crate::web::page::{self, Page};

/// Accounts in one report, at most.
const ACCOUNTS: i64 = 1000;
const PERIODS: [i64; 3] = [30, 90, 365];
const ACTIVE_DAYS: i64 = 30;

#[derive(Debug, Default, Deserialize)]
pub struct ReportQuery {
    days: Option<i64>,
}

/// The sum of every account's figures.
fn totals(rows: &[AdoptionRow]) -> AdoptionRow {
    rows.iter().fold(AdoptionRow::default(), |sum, row| AdoptionRow {
        members: sum.members + row.members,
        invited: sum.invited + row.invited,
        signed_in_ever: sum.signed_in_ever + row.signed_in_ever,
        active: sum.active + row.active,
        sign_ins: sum.sign_ins + row.sign_ins,
        documents_downloaded: sum.documents_downloaded + row.documents_downloaded,
        invoices_viewed: sum.invoices_viewed + row.invoices_viewed,
        payments_started: sum.payments_started + row.payments_started,
        tickets_opened: sum.tickets_opened + row.tickets_opened,
        ..sum
    })
}

/// The calendar months (UTC) that meet `[from, until)`, each cut to the period.
fn months(from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut windows = Vec::new();
    let mut start = from;
    while start < until {
        let (year, month) = if start.month() == 12 { (start.year() + 1, 1) } else { (start.year(), start.month() + 1) };
        let next_month = Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single().unwrap_or(until);
        let end = next_month.min(until);
        windows.push((start, end));
        start = end;
    }
    windows
}

pub struct MonthLine {
    pub month: String,
    pub figures: ActivityTotals,
}

#[derive(Template)]
#[template(path = "console/reports.html")]
struct ReportPage {
    page: Page,
    days: i64,
    periods: Vec<i64>,
    rows: Vec<AdoptionRow>,
    total: AdoptionRow,
    by_month: Vec<MonthLine>,
    csv_href: String,
}

fn period(query: &ReportQuery) -> i64 {
    query.days.filter(|days| PERIODS.contains(days)).unwrap_or(30)
}

pub async fn show(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let scope = console.staff.require(StaffPermission::AccountsView, &state).await?;
    let days = period(&query);
    let now = Utc::now();
    let from = now - Duration::days(days);
    let active_since = now - Duration::days(ACTIVE_DAYS);
    let data = StaffData::of(&state.store, &scope);
    let rows = data.adoption_report(from, now, active_since, ACCOUNTS).await?;
    let mut by_month = Vec::new();
    for (start, end) in months(from, now) {
        let figures = data.activity_totals(start, end).await?;
        by_month.push(MonthLine { month: start.format("%Y-%m").to_string(), figures });
    }
    let page = console.page(&state, "reports").await?;
    page::ok(&ReportPage {
        total: totals(&rows),
        periods: PERIODS.to_vec(),
        csv_href: format!("/console/reports/export?days={days}"),
        days,
        rows,
        by_month,
        page,
    })
}

/// The per-account table as CSV (formula-like cells neutralised, as in the audit export).
pub async fn export(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let scope = console.staff.require(StaffPermission::AccountsView, &state).await?;
    let days = period(&query);
    let now = Utc::now();
    let rows = StaffData::of(&state.store, &scope)
        .adoption_report(now - Duration::days(days), now, now - Duration::days(ACTIVE_DAYS), ACCOUNTS)
        .await?;
    let mut csv = String::from(
        "account_id,account,members,invited,signed_in_ever,active_30_days,sign_ins,documents_downloaded,invoices_viewed,payments_started,tickets_opened\n",
    );
    for row in &rows {
        let name = spreadsheet_safe(row.account_name.clone()).replace('"', "\"\"");
        csv.push_str(&format!(
            "{},\"{name}\",{},{},{},{},{},{},{},{},{}\n",
            row.account_id,
            row.members,
            row.invited,
            row.signed_in_ever,
            row.active,
            row.sign_ins,
            row.documents_downloaded,
            row.invoices_viewed,
            row.payments_started,
            row.tickets_opened
        ));
    }
    let disposition = format!("attachment; filename=\"portal-adoption-{days}-days.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(ApiError::internal)?),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        csv,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_cut_into_its_calendar_months() {
        let from = Utc.with_ymd_and_hms(2026, 10, 20, 12, 0, 0).unwrap();
        let until = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        let windows = months(from, until);
        assert_eq!(windows.len(), 3);
        assert_eq!(windows[0], (from, Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()));
        assert_eq!(windows[2].1, until);
        let year_end = months(
            Utc.with_ymd_and_hms(2026, 12, 30, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2027, 1, 2, 0, 0, 0).unwrap(),
        );
        assert_eq!(year_end.len(), 2);
    }
}
