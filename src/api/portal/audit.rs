//! Reading the audit log: an account's own events for its owners and admins, and
//! every event for staff.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::{self, StoredAuditEvent};
use crate::auth::permissions::{Permission, StaffPermission};
use crate::auth::{AccountAccess, StaffCaller};
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::pagination::page_size;
use crate::server::problem::ApiError;
use crate::server::problem::FieldError;
use crate::store::{AccountData, AuditFilter, StaffData};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(account_audit_events))
        .routes(routes!(all_audit_events))
        .routes(routes!(export_account_audit_events))
        .routes(routes!(export_all_audit_events))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditPage {
    /// Events older than this id (the last id of the previous page).
    pub before: Option<i64>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

/// Which events: by action, by who did it, by when. Every filter narrows.
#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Actions starting with this, up to 100 characters (`document.` for every
    /// document action, `auth.login` for sign-ins).
    pub action: Option<String>,
    /// Only what this user did.
    pub actor: Option<Uuid>,
    /// Only events at or after this time ...
    pub from: Option<DateTime<Utc>>,
    /// ... and before this one.
    pub until: Option<DateTime<Utc>>,
}

/// The whole log's extra filter (staff): one account's events.
#[derive(Debug, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountFilter {
    /// Only events in this account.
    pub account: Option<Uuid>,
}

impl AuditQuery {
    /// The filter, checked: a bounded action, and a range that is one (a NUL
    /// never gets this far: the address layer refuses control characters).
    pub fn filter(&self) -> Result<AuditFilter, ApiError> {
        let action = self.action.as_deref().map(str::trim).filter(|action| !action.is_empty());
        if action.is_some_and(|action| action.chars().count() > 100) {
            return Err(ApiError::validation(vec![FieldError {
                field: "action".into(),
                message: "Up to 100 characters.".into(),
            }]));
        }
        if let (Some(from), Some(until)) = (self.from, self.until)
            && from >= until
        {
            return Err(ApiError::validation(vec![FieldError {
                field: "until".into(),
                message: "Must be after `from`.".into(),
            }]));
        }
        Ok(AuditFilter {
            action: action.map(str::to_owned),
            actor_user_id: self.actor,
            from: self.from,
            until: self.until,
        })
    }
}

/// The account's audit events, newest first (`audit.view`).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/audit-events", extensions(("x-permission" = json!("audit.view"))), tag = "audit",
    params(("account_id" = Uuid, Path), AuditPage, AuditQuery),
    responses(
        (status = 200, description = "Events", body = Vec<StoredAuditEvent>),
        (status = 403, description = "Missing audit.view", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account, or none of yours", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn account_audit_events(
    State(state): State<AppState>,
    access: AccountAccess,
    Query(page): Query<AuditPage>,
    Query(filter): Query<AuditQuery>,
) -> Result<Json<Vec<StoredAuditEvent>>, ApiError> {
    let scope = access.require(Permission::AuditView, &state).await?;
    let filter = filter.filter()?;
    Ok(Json(AccountData::of(&state.store, &scope).audit_events(&filter, page.before, page_size(page.limit)?).await?))
}

/// Every audit event, newest first (staff with `audit.view_all`).
#[utoipa::path(get, path = "/api/v1/audit-events", extensions(("x-permission" = json!("staff: audit.view_all"))), tag = "audit", params(AuditPage, AuditQuery, AccountFilter),
    responses(
        (status = 200, description = "Events", body = Vec<StoredAuditEvent>),
        (status = 403, description = "Missing audit.view_all", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn all_audit_events(
    State(state): State<AppState>,
    staff: StaffCaller,
    Query(page): Query<AuditPage>,
    Query(filter): Query<AuditQuery>,
    Query(account): Query<AccountFilter>,
) -> Result<Json<Vec<StoredAuditEvent>>, ApiError> {
    let scope = staff.require(StaffPermission::AuditViewAll, &state).await?;
    let filter = filter.filter()?;
    let limit = page_size(page.limit)?;
    Ok(Json(StaffData::of(&state.store, &scope).audit_events(&filter, account.account, page.before, limit).await?))
}

/// Events fetched per page while exporting.
const EXPORT_PAGE: i64 = 500;

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// JSON Lines: one event object per line.
    #[default]
    Jsonl,
    /// CSV with a header row; `details` as a JSON string.
    Csv,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `jsonl` (default) or `csv`.
    #[param(inline)]
    pub format: Option<ExportFormat>,
}

/// The account's whole audit log as a download, newest first (`audit.view`).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/audit-events/export", extensions(("x-permission" = json!("audit.view"))), tag = "audit",
    params(("account_id" = uuid::Uuid, Path), ExportQuery, AuditQuery),
    responses(
        (status = 200, description = "JSON Lines or CSV, streamed", content((String = "application/x-ndjson"), (String = "text/csv"))),
        (status = 403, description = "Missing audit.view", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account, or none of yours", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn export_account_audit_events(
    State(state): State<AppState>,
    access: AccountAccess,
    Query(query): Query<ExportQuery>,
    Query(filter): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    let scope = access.require(Permission::AuditView, &state).await?;
    let format = query.format.unwrap_or_default();
    let filter = filter.filter()?;
    let event = access.caller.audit_event("audit.exported").account(scope.account_id()).details(serde_json::json!({
        "format": format!("{format:?}").to_lowercase()
    }));
    audit::record(&state.store, event).await?;
    Ok(export_response(AuditLog::Account(AccountData::of(&state.store, &scope)), filter, format))
}

/// Every account's audit log as a download, newest first (staff with `audit.view_all`).
#[utoipa::path(get, path = "/api/v1/audit-events/export", extensions(("x-permission" = json!("staff: audit.view_all"))), tag = "audit", params(ExportQuery, AuditQuery, AccountFilter),
    responses(
        (status = 200, description = "JSON Lines or CSV, streamed", content((String = "application/x-ndjson"), (String = "text/csv"))),
        (status = 403, description = "Missing audit.view_all", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn export_all_audit_events(
    State(state): State<AppState>,
    staff: StaffCaller,
    Query(query): Query<ExportQuery>,
    Query(filter): Query<AuditQuery>,
    Query(account): Query<AccountFilter>,
) -> Result<Response, ApiError> {
    let scope = staff.require(StaffPermission::AuditViewAll, &state).await?;
    let format = query.format.unwrap_or_default();
    let filter = filter.filter()?;
    let event = staff.caller.audit_event("audit.exported").details(serde_json::json!({
        "format": format!("{format:?}").to_lowercase()
    }));
    audit::record(&state.store, event).await?;
    Ok(export_response(AuditLog::Whole(StaffData::of(&state.store, &scope), account.account), filter, format))
}

/// Which log an export reads: one account's (through its scope) or all of it
/// (staff), perhaps narrowed to one account.
enum AuditLog {
    Account(AccountData),
    Whole(StaffData, Option<Uuid>),
}

impl AuditLog {
    async fn page(
        &self,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<StoredAuditEvent>, crate::store::StoreError> {
        match self {
            AuditLog::Account(account) => account.audit_events(filter, before, limit).await,
            AuditLog::Whole(staff, account) => staff.audit_events(filter, *account, before, limit).await,
        }
    }
}

/// Streams the log page by page, so memory stays flat however long it is.
fn export_response(log: AuditLog, filter: AuditFilter, format: ExportFormat) -> Response {
    struct Cursor {
        log: AuditLog,
        filter: AuditFilter,
        before: Option<i64>,
        first_page: bool,
        done: bool,
    }
    let cursor = Cursor { log, filter, before: None, first_page: true, done: false };
    let pages = futures::stream::unfold(cursor, move |mut cursor| async move {
        if cursor.done {
            return None;
        }
        let page = match cursor.log.page(&cursor.filter, cursor.before, EXPORT_PAGE).await {
            Ok(page) => page,
            Err(error) => {
                // Headers are sent; the truncated body is the only signal left, so log it.
                tracing::error!(error = %crate::server::problem::error_chain(&error), "audit export stopped early");
                return Some((Err(std::io::Error::other("audit export failed")), Cursor { done: true, ..cursor }));
            }
        };
        cursor.done = (page.len() as i64) < EXPORT_PAGE;
        cursor.before = page.last().map(|event| event.id);
        let chunk = render(&page, format, cursor.first_page);
        cursor.first_page = false;
        Some((Ok(Bytes::from(chunk)), cursor))
    });
    let (content_type, extension) = match format {
        ExportFormat::Jsonl => ("application/x-ndjson", "jsonl"),
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    let disposition = format!("attachment; filename=\"audit-events.{extension}\"");
    (
        [(header::CONTENT_TYPE, content_type.to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        crate::server::streamed_body(pages),
    )
        .into_response()
}

const CSV_COLUMNS: [&str; 11] = [
    "id",
    "occurred_at",
    "actor_user_id",
    "actor_kind",
    "account_id",
    "action",
    "target_type",
    "target_id",
    "ip_address",
    "user_agent",
    "details",
];

/// A cell a spreadsheet will not run: text that begins like a formula (`=`, `+`,
/// `-`, `@`, or a tab or carriage return before one) gets a leading apostrophe,
/// as OWASP advises for CSV exports. User agents and targets are caller-chosen.
pub(crate) fn spreadsheet_safe(cell: String) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell,
    }
}

fn render(events: &[StoredAuditEvent], format: ExportFormat, with_header: bool) -> Vec<u8> {
    match format {
        ExportFormat::Jsonl => events
            .iter()
            .flat_map(|event| {
                let mut line = serde_json::to_vec(event).expect("events serialize");
                line.push(b'\n');
                line
            })
            .collect(),
        ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            if with_header {
                writer.write_record(CSV_COLUMNS).expect("writing to memory");
            }
            let text = |value: &Option<String>| spreadsheet_safe(value.clone().unwrap_or_default());
            for event in events {
                writer
                    .write_record([
                        event.id.to_string(),
                        event.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                        event.actor_user_id.map(|id| id.to_string()).unwrap_or_default(),
                        spreadsheet_safe(event.actor_kind.clone()),
                        event.account_id.map(|id| id.to_string()).unwrap_or_default(),
                        spreadsheet_safe(event.action.clone()),
                        text(&event.target_type),
                        text(&event.target_id),
                        text(&event.ip_address),
                        text(&event.user_agent),
                        spreadsheet_safe(event.details.0.to_string()),
                    ])
                    .expect("writing to memory");
            }
            writer.into_inner().expect("flushing to memory")
        }
    }
}

#[cfg(test)]
mod spreadsheet_tests {
    use super::spreadsheet_safe;

    #[test]
    fn formula_prefixes_are_neutralised_and_plain_text_is_kept() {
        for formula in ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "\t=1"] {
            assert!(spreadsheet_safe(formula.into()).starts_with('\''), "{formula}");
        }
        assert_eq!(spreadsheet_safe("curl/8.0".into()), "curl/8.0");
        assert_eq!(spreadsheet_safe(String::new()), "");
    }
}
