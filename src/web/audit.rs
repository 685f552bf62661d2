//! The account's audit log for its owners and admins (`audit.view`): what
//! happened, who did it and when, narrowed by kind of action, person and dates,
//! and downloaded (CSV or JSON Lines) with the same filters through the API's
//! export. The same `AuditQuery` and scoped store read as
//! `GET /api/v1/accounts/{id}/audit-events`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::page::{self, Page};
use super::records::FormProblem;
use crate::api::portal::audit::AuditQuery;
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::problem::ApiError;
use crate::store::AccountData;

/// Kinds of action a person picks from, each the prefix its actions share.
/// (Signing in is a person's, not an account's: it is in no account's log.)
const KINDS: [&str; 9] =
    ["document.", "invoice.", "ticket.", "task.", "membership.", "invitation.", "account.", "sso.", "export."];

const PAGE_SIZE: i64 = 50;

/// What the filter form sends: every field optional, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct AuditForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    who: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    before: Option<i64>,
}

pub struct AuditRow {
    pub when: String,
    pub who: String,
    pub what: String,
    pub address: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    page: Page,
    rows: Vec<AuditRow>,
    kinds: Vec<(&'static str, String)>,
    people: Vec<(String, String)>,
    form: AuditForm,
    problem: FormProblem,
    older_href: Option<String>,
    /// The export's address with the same filters, without its format.
    export_href: String,
    filtered: bool,
}

/// A `YYYY-MM-DD` day in the reader's time zone as the instant it starts.
fn day_start(page: &Page, text: &str) -> Option<Result<DateTime<Utc>, ()>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let start = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|day| day.and_hms_opt(0, 0, 0)).and_then(
        |midnight| page.format.time_zone.from_local_datetime(&midnight).earliest().map(|at| at.with_timezone(&Utc)),
    );
    Some(start.ok_or(()))
}

/// The days typed in a filter as `[from, until)` ("until" a day includes that
/// day), adding what is wrong with them to `problem`. The portal's activity log
/// and the console's audit log read their dates with it.
pub(crate) fn period_of(
    page: &Page,
    from: &str,
    until: &str,
    problem: &mut FormProblem,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let mut day = |field: &str, text: &str| match day_start(page, text) {
        None => None,
        Some(Ok(at)) => Some(at),
        Some(Err(())) => {
            problem.fields.insert(field.into(), page.t("audit-date-invalid"));
            None
        }
    };
    let from = day("from", from);
    let until = day("until", until).map(|at| at + Duration::days(1));
    if let (Some(from), Some(until)) = (from, until)
        && from >= until
    {
        problem.fields.insert("until".into(), page.t("audit-range-invalid"));
    }
    (from, until)
}

/// The form as the API's filter, or what is wrong with it.
fn filter_of(page: &Page, form: &AuditForm) -> Result<AuditQuery, FormProblem> {
    let mut problem = FormProblem::default();
    let action = KINDS.iter().find(|kind| **kind == form.kind).map(|kind| (*kind).to_owned());
    let actor = match form.who.trim() {
        "" => None,
        who => Uuid::parse_str(who).ok().or_else(|| {
            problem.fields.insert("who".into(), page.t("audit-who-unknown"));
            None
        }),
    };
    let (from, until) = period_of(page, &form.from, &form.until, &mut problem);
    if problem.fields.is_empty() {
        Ok(AuditQuery { action, actor, from, until })
    } else {
        problem.summary = Some(page.t("audit-filter-problem"));
        Err(problem)
    }
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub async fn list(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(account_id): Path<Uuid>,
    Query(form): Query<AuditForm>,
) -> Result<Response, ApiError> {
    let scope = access.require(Permission::AuditView, &state).await?;
    let page = Page::for_caller(&state, &access.caller, "audit").await?.in_account(&access);
    let data = AccountData::of(&state.store, &scope);
    let members = data.members().await?;
    let (query, problem) = match filter_of(&page, &form) {
        Ok(query) => (Some(query), FormProblem::default()),
        Err(problem) => (None, problem),
    };
    let events = match &query {
        Some(query) => data.audit_events(&query.filter()?, form.before, PAGE_SIZE).await?,
        None => Vec::new(),
    };
    let names: HashMap<Uuid, String> = members
        .iter()
        .map(|member| {
            let name = if member.display_name.trim().is_empty() { &member.email } else { &member.display_name };
            (member.user_id, name.clone())
        })
        .collect();
    let rows = events
        .iter()
        .map(|event| {
            let who = match (event.actor_user_id.and_then(|id| names.get(&id)), event.actor_kind.as_str()) {
                (Some(name), _) => name.clone(),
                (None, "staff") => page.t_with("audit-actor-staff", "business", &page.business),
                (None, "system") => page.t("audit-actor-system"),
                (None, _) => page.t("audit-actor-former"),
            };
            let key = format!("audit-action-{}", event.action.replace('.', "-"));
            let worded = page.t(&key);
            AuditRow {
                when: page.format.date_time(event.occurred_at),
                who,
                what: if worded == key { event.action.clone() } else { worded },
                address: event.ip_address.clone().unwrap_or_default(),
            }
        })
        .collect();
    let filters = format!(
        "kind={}&who={}&from={}&until={}",
        encode(&form.kind),
        encode(&form.who),
        encode(&form.from),
        encode(&form.until)
    );
    let older_href = events
        .last()
        .filter(|_| events.len() as i64 == PAGE_SIZE)
        .map(|event| format!("?{filters}&before={}", event.id));
    // The filters as the API reads them (unset ones left out).
    let export_query = query.as_ref().map(serde_urlencoded::to_string).transpose().map_err(ApiError::internal)?;
    let export_href = format!("/api/v1/accounts/{account_id}/audit-events/export?{}", export_query.unwrap_or_default());
    let kinds =
        KINDS.iter().map(|kind| (*kind, page.t(&format!("audit-kind-{}", kind.trim_end_matches('.'))))).collect();
    let people = members
        .iter()
        .map(|member| (member.user_id.to_string(), names.get(&member.user_id).cloned().unwrap_or_default()))
        .collect();
    page::ok(&AuditPage {
        rows,
        kinds,
        people,
        filtered: !form.kind.is_empty() || !form.who.is_empty() || !form.from.is_empty() || !form.until.is_empty(),
        form,
        problem,
        older_href,
        export_href,
        page,
    })
}
