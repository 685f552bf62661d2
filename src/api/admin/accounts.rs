//! Customer accounts: created and listed by staff, read by anyone with access.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit;
use crate::auth::permissions::{Permission, StaffPermission};
use crate::auth::{AccountAccess, StaffCaller};
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::pagination::page_size;
use crate::server::problem::{ApiError, ErrorCode, FieldError};
use crate::store::{Account, AccountData, StaffData, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_account, list_accounts))
        .routes(routes!(get_account, update_account_settings))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Shown to people: 1 to 200 characters.
    pub name: String,
    /// Lower-case letters, digits and hyphens, 2 to 64 characters; unique.
    pub slug: String,
}

/// Creates a customer account (staff with `accounts.manage`).
#[utoipa::path(post, path = "/api/v1/accounts", extensions(("x-permission" = json!("staff: accounts.manage"))), tag = "accounts", request_body = NewAccount,
    responses(
        (status = 201, description = "Created", body = Account),
        (status = 409, description = "The slug is taken", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name or slug", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_account(
    State(state): State<AppState>,
    staff: StaffCaller,
    Json(request): Json<NewAccount>,
) -> Result<Response, ApiError> {
    staff.require(StaffPermission::AccountsManage, &state).await?;
    let name = request.name.trim();
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError { field: "name".into(), message: "must be 1 to 200 characters".into() });
    }
    let slug_ok = (2..=64).contains(&request.slug.len())
        && request.slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !slug_ok {
        errors.push(FieldError { field: "slug".into(), message: "must be 2 to 64 of a-z, 0-9 and -".into() });
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let account = state.store.create_account(name, &request.slug).await?;
    let event = staff.caller.audit_event("account.created").account(account.id).target("account", account.id);
    audit::record(&state.store, event).await?;
    Ok((StatusCode::CREATED, Json(account)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Return items after this id (the last id of the previous page).
    pub after: Option<Uuid>,
    /// At most this many items, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Only accounts whose name or slug contains this, case aside (1 to 200 characters).
    pub q: Option<String>,
}

/// Every customer account (staff with `accounts.view`).
#[utoipa::path(get, path = "/api/v1/accounts", extensions(("x-permission" = json!("staff: accounts.view"))), tag = "accounts", params(Page),
    responses((status = 200, description = "Accounts, oldest first", body = Vec<Account>)))]
pub async fn list_accounts(
    State(state): State<AppState>,
    staff: StaffCaller,
    Query(page): Query<Page>,
) -> Result<Json<Vec<Account>>, ApiError> {
    let scope = staff.require(StaffPermission::AccountsView, &state).await?;
    let search = page.q.as_deref().map(str::trim).filter(|text| !text.is_empty());
    if search.is_some_and(|text| text.chars().count() > 200) {
        return Err(ApiError::validation(vec![FieldError {
            field: "q".into(),
            message: "must be at most 200 characters".into(),
        }]));
    }
    let limit = page_size(page.limit)?;
    Ok(Json(StaffData::of(&state.store, &scope).accounts(page.after, search, limit).await?))
}

/// One account, to anyone with any access to it.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}", extensions(("x-permission" = json!("any access to the account"))), tag = "accounts",
    params(("account_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The account", body = Account),
        (status = 404, description = "No such account, or none of yours", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_account(State(state): State<AppState>, access: AccountAccess) -> Result<Json<Account>, ApiError> {
    let account = AccountData::of(&state.store, &access.any_access()).account().await?.ok_or(StoreError::NotFound)?;
    Ok(Json(account))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    /// Demand multi-factor sign-in from every member.
    pub require_mfa: Option<bool>,
    /// Mailed one-time sign-in codes for members: `allowed` (the default),
    /// `required` (members sign in with a code, never a password) or `off`.
    pub email_codes: Option<String>,
}

/// Changes the account's settings (`account.edit_settings`: owners). Requiring
/// multi-factor sign-in needs it on for the one asking, so nobody locks
/// themselves out.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}", extensions(("x-permission" = json!("account.edit_settings"))), tag = "accounts",
    params(("account_id" = Uuid, Path)), request_body = AccountSettings,
    responses(
        (status = 200, description = "The updated account", body = Account),
        (status = 403, description = "Missing account.edit_settings", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account, or none of yours", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Turn on multi-factor sign-in yourself first", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_account_settings(
    State(state): State<AppState>,
    access: AccountAccess,
    Json(request): Json<AccountSettings>,
) -> Result<Json<Account>, ApiError> {
    let scope = access.require(Permission::AccountEditSettings, &state).await?;
    // Everything is checked before anything changes.
    if let Some(email_codes) = &request.email_codes
        && !matches!(email_codes.as_str(), "allowed" | "required" | "off")
    {
        return Err(ApiError::validation(vec![crate::server::problem::FieldError {
            field: "email_codes".into(),
            message: "allowed, required or off".into(),
        }]));
    }
    if let Some(require_mfa) = request.require_mfa {
        if require_mfa && !access.caller.mfa_enabled {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "Turn on multi-factor sign-in yourself before requiring it of everyone.",
            ));
        }
        AccountData::of(&state.store, &scope).set_require_mfa(require_mfa).await?;
        let event = access
            .caller
            .audit_event("account.settings_changed")
            .account(scope.account_id())
            .target("account", scope.account_id())
            .details(serde_json::json!({ "require_mfa": require_mfa }));
        audit::record(&state.store, event).await?;
    }
    if let Some(email_codes) = request.email_codes {
        AccountData::of(&state.store, &scope).set_email_codes(&email_codes).await?;
        let event = access
            .caller
            .audit_event("account.settings_changed")
            .account(scope.account_id())
            .target("account", scope.account_id())
            .details(serde_json::json!({ "email_codes": email_codes }));
        audit::record(&state.store, event).await?;
    }
    let account = AccountData::of(&state.store, &scope).account().await?.ok_or(StoreError::NotFound)?;
    Ok(Json(account))
}
