//! An account's records, by collection: invoices, payments, documents, tickets,
//! orders and tasks, each behind its view permission: lists, details and (with
//! `history`) versions. Filtered in the query (the
//! account and type lead every condition), paged by an opaque keyset cursor in a
//! stable order (most recently changed first), each record with its source and how
//! fresh that source is, and an `ETag` so polling clients get 304s.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::portal::history::{HistoryPage, RecordHistory, history};
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::server::AppState;
use crate::server::pagination::page_size;
use crate::server::problem::{ApiError, FieldError};
use crate::store::{AccountData, AccountRecordRow, RecordListFilter};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_invoices))
        .routes(routes!(invoice_detail))
        .routes(routes!(invoice_history))
        .routes(routes!(list_payments))
        .routes(routes!(payment_detail))
        .routes(routes!(payment_history))
        .routes(routes!(list_documents))
        .routes(routes!(document_detail))
        .routes(routes!(document_history))
        .routes(routes!(list_tickets))
        .routes(routes!(ticket_detail))
        .routes(routes!(ticket_history))
        .routes(routes!(list_subscriptions))
        .routes(routes!(subscription_detail))
        .routes(routes!(subscription_history))
        .routes(routes!(list_orders))
        .routes(routes!(order_detail))
        .routes(routes!(order_history))
        .routes(routes!(list_tasks))
        .routes(routes!(task_detail))
        .routes(routes!(task_history))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only records with this status (`open`, `paid`, ...).
    pub status: Option<String>,
    /// Text the title contains, without case (an invoice's number, a ticket's subject).
    pub q: Option<String>,
    /// Only records dated (an invoice issued, a ticket opened, ...) at or after this time ...
    pub from: Option<DateTime<Utc>>,
    /// ... and before this one.
    pub until: Option<DateTime<Utc>>,
    /// Only documents in this folder (`contracts`, `uploads`, ...).
    pub folder: Option<String>,
    /// Only documents with this tag (any case).
    pub tag: Option<String>,
    /// Only records due (invoices, tasks) at or after this time ...
    pub due_from: Option<DateTime<Utc>>,
    /// ... and before this one.
    pub due_until: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordSource {
    pub connector_id: Uuid,
    /// The connector kind: `stripe`, `hubspot`, `files`, `rest`.
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PortalRecord {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub record_type: String,
    pub title: String,
    pub status: Option<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    /// When it is due (invoices, tasks) or renews (subscriptions).
    pub due_at: Option<DateTime<Utc>>,
    /// The record in the common model.
    #[schema(value_type = Object)]
    pub data: Value,
    pub source: RecordSource,
    /// When its source last confirmed the data (a sync or an event): "as of 2
    /// minutes ago, from Stripe".
    pub synced_at: Option<DateTime<Utc>>,
    /// When the source system last changed it.
    pub source_updated_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Written here, not yet confirmed by the source (an upload or a new ticket
    /// waiting in the outbox).
    pub pending: bool,
}

impl From<AccountRecordRow> for PortalRecord {
    fn from(row: AccountRecordRow) -> Self {
        let record = row.record;
        // The stream's last sync or event, but never before the record itself changed.
        let synced_at = [row.last_success_at, row.last_event_at, Some(record.updated_at)].into_iter().flatten().max();
        PortalRecord {
            pending: record.external_id.starts_with("pending:"),
            id: record.id,
            record_type: record.record_type,
            title: record.title,
            status: record.status,
            amount_minor: record.amount_minor,
            currency: record.currency,
            occurred_at: record.occurred_at,
            due_at: record.due_at,
            data: record.data.0,
            source: RecordSource {
                connector_id: record.source_instance_id,
                kind: row.source_kind,
                name: row.source_name,
            },
            synced_at,
            source_updated_at: record.source_updated_at,
            updated_at: record.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordPage {
    pub items: Vec<PortalRecord>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordDetail {
    #[serde(flatten)]
    pub record: PortalRecord,
    /// An invoice's payments, oldest first (for callers with `payments.view`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payments: Option<Vec<PortalRecord>>,
    /// A ticket's attached documents, newest first (for callers with `documents.view`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<PortalRecord>>,
    /// A ticket's messages, oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<PortalRecord>>,
}

/// A JSON answer with an `ETag` over its bytes, or 304 when the client has it.
pub(super) fn with_etag<T: Serialize>(value: &T, headers: &HeaderMap) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value).map_err(ApiError::internal)?;
    let etag = format!("\"{}\"", URL_SAFE_NO_PAD.encode(&Sha256::digest(&body)[..16]));
    let matches = headers.get(header::IF_NONE_MATCH).and_then(|value| value.to_str().ok()).is_some_and(|tags| {
        tags.split(',').any(|tag| tag.trim().trim_start_matches("W/") == etag || tag.trim() == "*")
    });
    let etag = HeaderValue::from_str(&etag).expect("base64 is a valid header value");
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Ok(([(header::ETAG, etag), (header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body)
        .into_response())
}

async fn detail(
    state: &AppState,
    access: &AccountAccess,
    permission: Permission,
    record_type: &str,
    record_id: Uuid,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    with_etag(&record_detail(state, access, permission, record_type, record_id).await?, headers)
}

/// One record with what belongs to it, as the caller may see it (the API's answer
/// and the page's content).
pub(crate) async fn record_detail(
    state: &AppState,
    access: &AccountAccess,
    permission: Permission,
    record_type: &str,
    record_id: Uuid,
) -> Result<RecordDetail, ApiError> {
    let scope = access.require(permission, state).await?;
    let account = AccountData::of(&state.store, &scope);
    let row = account.record_with_source(record_type, record_id).await?.ok_or(crate::store::StoreError::NotFound)?;
    let (instance, external_id) = (row.record.source_instance_id, row.record.external_id.clone());
    let children = |child_type: &'static str| {
        let account = account.clone();
        let external_id = external_id.clone();
        async move {
            let rows = account.record_children(child_type, instance, &external_id).await?;
            Ok::<_, ApiError>(rows.into_iter().map(PortalRecord::from).collect::<Vec<_>>())
        }
    };
    let payments = match record_type {
        // Payments only for those who may see them: a billing view, not a member's.
        "invoice" if access.holds(Permission::PaymentsView) => Some(children("payment").await?),
        _ => None,
    };
    let messages = match record_type {
        "ticket" => Some(children("ticket_message").await?),
        _ => None,
    };
    let attachments = match record_type {
        "ticket" if access.holds(Permission::DocumentsView) => {
            // Attachments live in the ticket's own folder of the account's documents.
            let filter = RecordListFilter {
                folder: Some(format!("tickets/{record_id}")),
                limit: crate::server::pagination::MAX_PAGE_SIZE,
                ..Default::default()
            };
            let rows = account.records("document", &filter).await?;
            Some(rows.into_iter().map(PortalRecord::from).collect())
        }
        _ => None,
    };
    if record_type == "document" {
        // Who looked at which document is the account's to know (its audit log).
        let event =
            access.caller.audit_event("document.viewed").account(scope.account_id()).target("record", record_id);
        crate::audit::record(&state.store, event).await?;
    }
    Ok(RecordDetail { record: row.into(), payments, attachments, messages })
}

/// The cursor is opaque to clients: the position (time and id) of the last item.
/// Times keep every digit the store holds (SQLite: nanoseconds), or the next page
/// would compare against a rounded time and skip or repeat records.
fn encode_cursor(record: &PortalRecord) -> String {
    let nanos = record.updated_at.timestamp_nanos_opt().unwrap_or(i64::MAX);
    URL_SAFE_NO_PAD.encode(format!("{nanos}_{}", record.id))
}

fn decode_cursor(cursor: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (nanos, id) = text.split_once('_')?;
    Some((DateTime::from_timestamp_nanos(nanos.parse().ok()?), id.parse().ok()?))
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::validation(vec![FieldError { field: field.into(), message: message.into() }])
}

async fn list(
    state: &AppState,
    access: &AccountAccess,
    permission: Permission,
    record_type: &str,
    query: ListQuery,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    // The tag is the page's content: a client polling an unchanged page gets 304.
    with_etag(&record_page(state, access, permission, record_type, query).await?, headers)
}

/// A page of the account's records of one type, as the caller may see them (the
/// API's answer and the page's content).
pub(crate) async fn record_page(
    state: &AppState,
    access: &AccountAccess,
    permission: Permission,
    record_type: &str,
    query: ListQuery,
) -> Result<RecordPage, ApiError> {
    let scope = access.require(permission, state).await?;
    let limit = page_size(query.limit)?;
    let after = match query.cursor.as_deref() {
        Some(cursor) => Some(decode_cursor(cursor).ok_or_else(|| invalid("cursor", "is not a cursor from this list"))?),
        None => None,
    };
    if query.q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(invalid("q", "must be at most 100 characters"));
    }
    if query.status.as_ref().is_some_and(|status| status.is_empty() || status.len() > 50) {
        return Err(invalid("status", "must be 1 to 50 characters"));
    }
    if let (Some(from), Some(until)) = (query.from, query.until)
        && until <= from
    {
        return Err(invalid("until", "must be after from"));
    }
    if query.folder.as_ref().is_some_and(|folder| folder.is_empty() || folder.len() > 200) {
        return Err(invalid("folder", "must be 1 to 200 characters"));
    }
    if query.tag.as_ref().is_some_and(|tag| tag.trim().is_empty() || tag.chars().count() > 100) {
        return Err(invalid("tag", "must be 1 to 100 characters"));
    }
    if let (Some(from), Some(until)) = (query.due_from, query.due_until)
        && until <= from
    {
        return Err(invalid("due_until", "must be after due_from"));
    }
    let filter = RecordListFilter {
        status: query.status,
        search: query.q.filter(|q| !q.trim().is_empty()),
        occurred_from: query.from,
        occurred_until: query.until,
        folder: query.folder,
        tag: query.tag.map(|tag| tag.trim().to_owned()),
        due_from: query.due_from,
        due_until: query.due_until,
        after,
        limit,
    };
    let rows = AccountData::of(&state.store, &scope).records(record_type, &filter).await?;
    let items: Vec<PortalRecord> = rows.into_iter().map(PortalRecord::from).collect();
    let next_cursor = (items.len() as i64 == limit).then(|| items.last().map(encode_cursor)).flatten();
    Ok(RecordPage { items, next_cursor })
}

/// The list, detail and history endpoints of one record collection, each guarded
/// by the collection's view permission: the one place that pairs a collection
/// with its record type and permission.
macro_rules! collection_endpoints {
    ($collection:literal, $record_type:literal, $permission:expr, $permission_name:literal,
     list: $list:ident, detail: $detail:ident, history: $history:ident) => {
        #[doc = concat!("The account's ", $collection, ", most recently changed first (`", $permission_name, "`).")]
        #[utoipa::path(get, path = concat!("/api/v1/accounts/{account_id}/", $collection),
            extensions(("x-permission" = json!($permission_name))), tag = "records",
            params(("account_id" = Uuid, Path), ListQuery),
            responses(
                (status = 200, description = "A page of records (with an ETag)", body = RecordPage),
                (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
                (status = 403, description = concat!("Missing ", $permission_name), body = crate::server::problem::Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such account (for this caller)", body = crate::server::problem::Problem, content_type = "application/problem+json"),
                (status = 422, description = "A bad cursor, limit or filter", body = crate::server::problem::Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $list(
            State(state): State<AppState>,
            access: AccountAccess,
            Path(_account_id): Path<Uuid>,
            Query(query): Query<ListQuery>,
            headers: HeaderMap,
        ) -> Result<Response, ApiError> {
            list(&state, &access, $permission, $record_type, query, &headers).await
        }

        #[doc = concat!("One of the account's ", $collection, " (`", $permission_name, "`): an invoice with its payments, a ticket with its messages.")]
        #[utoipa::path(get, path = concat!("/api/v1/accounts/{account_id}/", $collection, "/{record_id}"),
            extensions(("x-permission" = json!($permission_name))), tag = "records",
            params(("account_id" = Uuid, Path), ("record_id" = Uuid, Path)),
            responses(
                (status = 200, description = "The record (with an ETag)", body = RecordDetail),
                (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
                (status = 403, description = concat!("Missing ", $permission_name), body = crate::server::problem::Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such record in this account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $detail(
            State(state): State<AppState>,
            access: AccountAccess,
            Path((_account_id, record_id)): Path<(Uuid, Uuid)>,
            headers: HeaderMap,
        ) -> Result<Response, ApiError> {
            detail(&state, &access, $permission, $record_type, record_id, &headers).await
        }

        #[doc = concat!("Versions of one of the account's ", $collection, ", newest first (`", $permission_name, "`).")]
        #[utoipa::path(get, path = concat!("/api/v1/accounts/{account_id}/", $collection, "/{record_id}/history"),
            extensions(("x-permission" = json!($permission_name))), tag = "records",
            params(("account_id" = Uuid, Path), ("record_id" = Uuid, Path), HistoryPage),
            responses(
                (status = 200, description = "The record's versions", body = RecordHistory),
                (status = 403, description = concat!("Missing ", $permission_name), body = crate::server::problem::Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such record in this account", body = crate::server::problem::Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $history(
            State(state): State<AppState>,
            access: AccountAccess,
            Path((_account_id, record_id)): Path<(Uuid, Uuid)>,
            Query(page): Query<HistoryPage>,
        ) -> Result<crate::server::json::Json<RecordHistory>, ApiError> {
            history(&state, &access, $permission, $record_type, record_id, page).await
        }
    };
}

collection_endpoints!("invoices", "invoice", Permission::InvoicesView, "invoices.view",
    list: list_invoices, detail: invoice_detail, history: invoice_history);
collection_endpoints!("payments", "payment", Permission::PaymentsView, "payments.view",
    list: list_payments, detail: payment_detail, history: payment_history);
collection_endpoints!("documents", "document", Permission::DocumentsView, "documents.view",
    list: list_documents, detail: document_detail, history: document_history);
collection_endpoints!("tickets", "ticket", Permission::TicketsView, "tickets.view",
    list: list_tickets, detail: ticket_detail, history: ticket_history);
collection_endpoints!("subscriptions", "subscription", Permission::InvoicesView, "invoices.view",
    list: list_subscriptions, detail: subscription_detail, history: subscription_history);
collection_endpoints!("orders", "order", Permission::OrdersView, "orders.view",
    list: list_orders, detail: order_detail, history: order_history);
collection_endpoints!("tasks", "task", Permission::TasksView, "tasks.view",
    list: list_tasks, detail: task_detail, history: task_history);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let at = DateTime::from_timestamp_nanos(1_764_000_000_123_456_789);
        let id = Uuid::now_v7();
        let text = URL_SAFE_NO_PAD.encode(format!("{}_{id}", at.timestamp_nanos_opt().unwrap()));
        assert_eq!(decode_cursor(&text), Some((at, id)));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("12_not-a-uuid")), None);
    }
}
