//! A person's in-portal notifications: list (newest first, only of the accounts
//! this credential may act in now), mark one or all read.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Caller, access};
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::pagination::page_size;
use crate::server::problem::ApiError;
use crate::store::{NotificationRow, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_notifications)).routes(routes!(mark_read)).routes(routes!(mark_all_read))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// Only unread ones.
    #[serde(default)]
    pub unread: bool,
    /// The `next_before` of the previous page.
    pub before: Option<Uuid>,
    /// 1 to 200 (default 50).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    pub items: Vec<NotificationRow>,
    pub unread_count: i64,
    /// Pass as `before` for the next page; absent on the last one.
    pub next_before: Option<Uuid>,
}

/// One's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/me/notifications", extensions(("x-permission" = json!("signed in"))), tag = "auth",
    params(NotificationQuery),
    responses(
        (status = 200, description = "A page of notifications", body = NotificationPage),
        (status = 401, description = "Not signed in", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_notifications(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<NotificationQuery>,
) -> Result<Json<NotificationPage>, ApiError> {
    let limit = page_size(query.limit)?;
    let accounts = access::open_account_ids(&state.store, &caller, &state.settings).await?;
    let items = state.store.user_notifications(caller.user_id, &accounts, query.unread, query.before, limit).await?;
    let next_before = (items.len() as i64 == limit).then(|| items.last().map(|item| item.id)).flatten();
    let unread_count = state.store.unread_notification_count(caller.user_id, &accounts).await?;
    Ok(Json(NotificationPage { items, unread_count, next_before }))
}

/// Marks one notification read.
#[utoipa::path(post, path = "/api/v1/me/notifications/{notification_id}/read", extensions(("x-permission" = json!("signed in"))), tag = "auth",
    params(("notification_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Read"),
        (status = 404, description = "No such notification of yours", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn mark_read(
    State(state): State<AppState>,
    caller: Caller,
    Path(notification_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let accounts = access::open_account_ids(&state.store, &caller, &state.settings).await?;
    if !state.store.has_notification(caller.user_id, &accounts, notification_id).await? {
        return Err(StoreError::NotFound.into());
    }
    state.store.mark_notifications_read(caller.user_id, &accounts, Some(notification_id), Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Marks every notification read.
#[utoipa::path(post, path = "/api/v1/me/notifications/read", extensions(("x-permission" = json!("signed in"))), tag = "auth",
    responses((status = 204, description = "All read")))]
pub async fn mark_all_read(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    let accounts = access::open_account_ids(&state.store, &caller, &state.settings).await?;
    state.store.mark_notifications_read(caller.user_id, &accounts, None, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
