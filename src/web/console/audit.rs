//! The whole audit log (`audit.view_all`: admins, support, auditors): every
//! account's events and the staff's own, filtered by kind of action, account,
//! person (by address) and days, exported with the same filters through the
//! API, and the hash chain verified on request, the same walk as
//! `portico audit verify`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::Console;
use crate::api::portal::audit::{AccountFilter, AuditQuery};
use crate::audit::{ChainVerdict, verify_chain};
use crate::auth::permissions::StaffPermission;
use crate::server::AppState;
use crate::server::problem::ApiError;
use crate::store::StaffData;
use crate::web::audit::period_of;
use crate::web::page::{self, Page};
use crate::web::records::FormProblem;

const PAGE_SIZE: i64 = 50;

/// Kinds of action, each the prefix its actions share.
const KINDS: [&str; 13] = [
    "auth.",
    "account.",
    "membership.",
    "invitation.",
    "connector.",
    "webhook",
    "outbox.",
    "staff.",
    "document.",
    "invoice.",
    "ticket.",
    "task.",
    "export.",
];

#[derive(Debug, Default, Deserialize)]
pub struct ConsoleAuditForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    who: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    before: Option<i64>,
    /// Verify the chain now (a button: the walk reads the whole log).
    #[serde(default)]
    verify: String,
}

pub struct EventRow {
    pub when: String,
    pub who: String,
    pub account: String,
    pub what: String,
    pub target: String,
    pub address: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    page: Page,
    form: ConsoleAuditForm,
    kinds: Vec<&'static str>,
    accounts: Vec<(String, String)>,
    rows: Vec<EventRow>,
    older_href: Option<String>,
    export_href: String,
    verdict: Option<(bool, String)>,
    problem: FormProblem,
}

pub async fn list(
    State(state): State<AppState>,
    console: Console,
    Query(form): Query<ConsoleAuditForm>,
) -> Result<Response, ApiError> {
    let scope = console.staff.require(StaffPermission::AuditViewAll, &state).await?;
    let page = console.page(&state, "audit").await?;
    let mut problem = FormProblem::default();
    let action = KINDS.iter().find(|kind| **kind == form.kind).map(|kind| (*kind).to_owned());
    let account = match form.account.trim() {
        "" => None,
        text => Uuid::parse_str(text).ok().or_else(|| {
            problem.fields.insert("account".into(), page.t("console-audit-account-unknown"));
            None
        }),
    };
    let actor = match form.who.trim() {
        "" => None,
        email => {
            let found = state.store.user_id_by_email(email).await?;
            if found.is_none() {
                problem.fields.insert("who".into(), page.t("console-audit-who-unknown"));
            }
            found
        }
    };
    let (from, until) = period_of(&page, &form.from, &form.until, &mut problem);
    let query = AuditQuery { action, actor, from, until };
    let events = if problem.fields.is_empty() {
        StaffData::of(&state.store, &scope).audit_events(&query.filter()?, account, form.before, PAGE_SIZE).await?
    } else {
        problem.summary = Some(page.t("audit-filter-problem"));
        Vec::new()
    };
    // Names for the people and accounts on this page: one query each.
    let mut user_ids: Vec<Uuid> = events.iter().filter_map(|event| event.actor_user_id).collect();
    user_ids.sort();
    user_ids.dedup();
    let people: HashMap<Uuid, String> =
        state.store.user_labels(&user_ids).await?.into_iter().map(|user| (user.id, user.email)).collect();
    // The accounts named in the log are part of reading it (auditors too).
    let accounts = StaffData::of(&state.store, &scope).accounts(None, None, 200).await?;
    let account_names: HashMap<Uuid, String> =
        accounts.iter().map(|account| (account.id, account.name.clone())).collect();
    let rows = events
        .iter()
        .map(|event| {
            let who = match (event.actor_user_id.and_then(|id| people.get(&id)), event.actor_kind.as_str()) {
                (Some(email), _) => email.clone(),
                (None, "system") => page.t("audit-actor-system"),
                (None, _) => page.t("audit-actor-former"),
            };
            EventRow {
                when: page.format.date_time(event.occurred_at),
                who,
                account: event
                    .account_id
                    .map(|id| account_names.get(&id).cloned().unwrap_or_else(|| id.to_string()))
                    .unwrap_or_default(),
                what: event.action.clone(),
                target: match (&event.target_type, &event.target_id) {
                    (Some(kind), Some(id)) => format!("{kind} {id}"),
                    _ => String::new(),
                },
                address: event.ip_address.clone().unwrap_or_default(),
            }
        })
        .collect();
    let filters = serde_urlencoded::to_string([
        ("kind", form.kind.as_str()),
        ("account", form.account.as_str()),
        ("who", form.who.as_str()),
        ("from", form.from.as_str()),
        ("until", form.until.as_str()),
    ])
    .map_err(ApiError::internal)?;
    let older_href = events
        .last()
        .filter(|_| events.len() as i64 == PAGE_SIZE)
        .map(|event| format!("?{filters}&before={}", event.id));
    let export_query = serde_urlencoded::to_string(&query).map_err(ApiError::internal)?;
    let account_query = serde_urlencoded::to_string(AccountFilter { account }).map_err(ApiError::internal)?;
    let export_href = format!("/api/v1/audit-events/export?{export_query}&{account_query}");
    let verdict = if form.verify.is_empty() {
        None
    } else {
        Some(match verify_chain(&state.store, |_| {}).await? {
            ChainVerdict::Intact { events } => {
                (true, page.t_with("console-audit-intact", "count", &events.to_string()))
            }
            ChainVerdict::Broken { event_id, .. } => {
                (false, page.t_with("console-audit-broken", "event", &event_id.to_string()))
            }
        })
    };
    page::ok(&AuditPage {
        kinds: KINDS.to_vec(),
        accounts: accounts.into_iter().map(|account| (account.id.to_string(), account.name)).collect(),
        rows,
        older_href,
        export_href,
        verdict,
        problem,
        form,
        page,
    })
}
