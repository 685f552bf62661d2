//! Extractors that resolve who is calling and what they may do, before a handler
//! runs. Handlers never look up sessions or memberships themselves: they take a
//! [`Caller`], a [`StaffCaller`] or an [`AccountAccess`], and reach account data
//! only through the [`AccountScope`] that `AccountAccess::require` hands out.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::request::Parts;
use chrono::{Duration, Utc};
use uuid::Uuid;

use super::permissions::{AccountRole, Permission, StaffPermission, StaffRole};
use super::session::token_from_headers;
use super::tokens::hash_token;
use crate::audit::{self, ActorKind, AuditEvent};
use crate::http::AppState;
use crate::http::problem::{ApiError, ErrorCode};

/// Sessions are marked used at most this often, to keep reads from becoming writes.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub staff_role: Option<StaffRole>,
    pub session_id: Uuid,
    pub ip_address: Option<String>,
}

impl Caller {
    pub fn actor_kind(&self) -> ActorKind {
        if self.staff_role.is_some() { ActorKind::Staff } else { ActorKind::User }
    }

    /// An audit event with this caller as the actor.
    pub fn audit_event(&self, action: &'static str) -> AuditEvent {
        AuditEvent::new(action, self.actor_kind()).actor(self.user_id).ip_address(self.ip_address.clone())
    }
}

/// The peer address of the request (the service is meant to sit directly behind
/// a load balancer that preserves it, or be reached directly).
pub fn client_address(parts: &Parts) -> Option<String> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| address.ip().to_string())
}

/// The peer address as an extractor; absent only when served without connect info.
#[derive(Debug, Clone)]
pub struct ClientAddress(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(client_address(parts)))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let unauthenticated = || ApiError::from_code(ErrorCode::Unauthenticated);
        let token = token_from_headers(&parts.headers, &state.settings).ok_or_else(unauthenticated)?;
        let now = Utc::now();
        let idle_cutoff = now - Duration::seconds(state.settings.auth.session_idle_timeout_secs as i64);
        let session =
            state.store.live_session(&hash_token(&token), now, idle_cutoff).await?.ok_or_else(unauthenticated)?;
        if now - session.last_seen_at > Duration::seconds(TOUCH_INTERVAL_SECS) {
            state.store.touch_session(session.session_id, now).await?;
        }
        let caller = Caller {
            user_id: session.user_id,
            email: session.email,
            display_name: session.display_name,
            staff_role: session.staff_role.as_deref().and_then(StaffRole::parse),
            session_id: session.session_id,
            ip_address: client_address(parts),
        };
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// A signed-in member of the business's staff.
#[derive(Debug, Clone)]
pub struct StaffCaller {
    pub caller: Caller,
    pub role: StaffRole,
}

impl StaffCaller {
    /// 403 unless the staff role grants `permission`.
    pub async fn require(&self, permission: StaffPermission, state: &AppState) -> Result<(), ApiError> {
        if self.role.staff_permissions().contains(&permission) {
            return Ok(());
        }
        Err(deny(state, &self.caller, None, &format!("{permission:?}")).await)
    }
}

impl FromRequestParts<AppState> for StaffCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        match caller.staff_role {
            Some(role) => Ok(StaffCaller { caller, role }),
            None => Err(deny(state, &caller, None, "staff").await),
        }
    }
}

/// A caller inside the account named by the path's `{account_id}`, with the
/// permissions they hold there (their membership's role, plus their staff role's).
///
/// Anyone without any access to the account gets 404, exactly as for an account
/// that does not exist: the answer never reveals another customer's ids.
#[derive(Debug, Clone)]
pub struct AccountAccess {
    pub caller: Caller,
    pub account_id: Uuid,
    pub role: Option<AccountRole>,
    pub permissions: BTreeSet<Permission>,
}

impl FromRequestParts<AppState> for AccountAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let not_found = || ApiError::from_code(ErrorCode::NotFound);
        let Path(params) =
            Path::<HashMap<String, String>>::from_request_parts(parts, state).await.map_err(|_| not_found())?;
        let account_id = params.get("account_id").and_then(|id| Uuid::parse_str(id).ok()).ok_or_else(not_found)?;
        if state.store.account(account_id).await?.is_none() {
            return Err(not_found());
        }
        let role =
            state.store.membership_role(account_id, caller.user_id).await?.as_deref().and_then(AccountRole::parse);
        let mut permissions = role.map(AccountRole::permissions).unwrap_or_default();
        if let Some(staff_role) = caller.staff_role {
            permissions.extend(staff_role.account_permissions());
        }
        if permissions.is_empty() {
            return Err(not_found());
        }
        Ok(AccountAccess { caller, account_id, role, permissions })
    }
}

impl AccountAccess {
    /// The scope for one permission, or 403 (recorded in the account's audit log).
    pub async fn require(&self, permission: Permission, state: &AppState) -> Result<AccountScope, ApiError> {
        if self.permissions.contains(&permission) {
            return Ok(AccountScope { account_id: self.account_id });
        }
        Err(deny(state, &self.caller, Some(self.account_id), permission.as_str()).await)
    }
}

/// Proof that the caller may act in one account: the only way handlers obtain an
/// account id to query with.
#[derive(Debug, Clone, Copy)]
pub struct AccountScope {
    account_id: Uuid,
}

impl AccountScope {
    pub fn account_id(&self) -> Uuid {
        self.account_id
    }
}

/// Records the denial; the error to answer with (403, or 500 if it could not be recorded).
async fn deny(state: &AppState, caller: &Caller, account_id: Option<Uuid>, wanted: &str) -> ApiError {
    let mut event = caller.audit_event("permission.denied").details(serde_json::json!({ "permission": wanted }));
    if let Some(account_id) = account_id {
        event = event.account(account_id);
    }
    match audit::record(&state.store, event).await {
        Ok(()) => ApiError::from_code(ErrorCode::Forbidden),
        Err(error) => error.into(),
    }
}
