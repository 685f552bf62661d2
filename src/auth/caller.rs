//! Extractors that resolve who is calling and what they may do, before a handler
//! runs. Handlers never look up sessions or memberships themselves: they take a
//! [`Caller`], a [`StaffCaller`] or an [`AccountAccess`], and reach account data
//! only through the [`AccountScope`] that `AccountAccess::require` hands out.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::access::{self, Refusal};
use super::grants;
use super::permissions::{Grant, Permission, StaffPermission, StaffRole};
use super::session::token_from_headers;
use super::tokens::hash_token;
use super::view_as::{self, ViewedRole, ViewingAs};
use crate::audit::{self, ActorKind, AuditEvent};
use crate::config::Settings;
use crate::core::forwarded;
use crate::server::AppState;
use crate::server::problem::{ApiError, ErrorCode};

/// Sessions are marked used at most this often, to keep reads from becoming writes.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// How long ago the password may have been proven, in this session, for step-up
/// actions (changing the password, creating API tokens, inviting owners).
pub const STEP_UP_WINDOW_SECS: i64 = 600;

/// An authenticated user, by session cookie or API token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    /// The staff role in effect for this request (never through an account-scoped token).
    pub staff_role: Option<StaffRole>,
    pub credential: Credential,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// Whether the user has multi-factor sign-in (TOTP) turned on.
    pub mfa_enabled: bool,
    /// A staff member viewing an account as one of its roles (see [`crate::auth::view_as`]).
    pub viewing_as: Option<ViewingAs>,
}

#[derive(Debug, Clone)]
pub enum Credential {
    Session {
        session_id: Uuid,
        /// The last password proof made in this session; None if it never made
        /// one (an SSO session that has not re-authenticated).
        proved_at: Option<DateTime<Utc>>,
        /// A second factor was proven in this session (at sign-in, by confirming
        /// an enrolment, or by the identity provider's word).
        second_factor_proven: bool,
        /// Begun through an account's identity provider: reaches that account only.
        scoped_account_id: Option<Uuid>,
    },
    /// Acts for its creator, inside `account_id` only when set, else with their staff rights.
    ApiToken { token_id: Uuid, account_id: Option<Uuid> },
}

impl Caller {
    pub fn actor_kind(&self) -> ActorKind {
        match (&self.credential, self.staff_role) {
            (Credential::ApiToken { .. }, _) => ActorKind::ApiToken,
            (_, Some(_)) => ActorKind::Staff,
            (_, None) => ActorKind::User,
        }
    }

    /// The one account this credential is limited to, if any.
    pub fn scoped_account_id(&self) -> Option<Uuid> {
        match self.credential {
            Credential::Session { scoped_account_id, .. } => scoped_account_id,
            Credential::ApiToken { account_id, .. } => account_id,
        }
    }

    pub fn session_id(&self) -> Option<Uuid> {
        match self.credential {
            Credential::Session { session_id, .. } => Some(session_id),
            Credential::ApiToken { .. } => None,
        }
    }

    /// Whether this credential carries a proven second factor, for accounts (and
    /// staff policy) that demand one: a session must have proven it itself; an API
    /// token, created under step-up, stands for its creator's enrolment.
    pub fn second_factor_proven(&self) -> bool {
        match self.credential {
            Credential::Session { second_factor_proven, .. } => second_factor_proven,
            Credential::ApiToken { .. } => self.mfa_enabled,
        }
    }

    /// Step-up: sensitive changes need the password proven in this very session
    /// within the last ten minutes (at sign-in or with `POST /api/v1/auth/reauthenticate`);
    /// a young session proves nothing by its age, and an API token never steps up.
    pub fn require_recent_sign_in(&self) -> Result<(), ApiError> {
        match self.credential {
            Credential::Session { proved_at: Some(proved_at), .. }
                if Utc::now() - proved_at <= Duration::seconds(STEP_UP_WINDOW_SECS) =>
            {
                Ok(())
            }
            Credential::Session { .. } => Err(ApiError::new(
                ErrorCode::ReauthenticationRequired,
                "Confirm your password first (POST /api/v1/auth/reauthenticate): this needs it within the last 10 minutes.",
            )),
            Credential::ApiToken { .. } => Err(ApiError::new(
                ErrorCode::ReauthenticationRequired,
                "An API token cannot do this: sign in with your password.",
            )),
        }
    }

    /// Refuses credentials limited to one account: they may never change how the
    /// person signs in (address, password, second factor) nor reach past their
    /// account, since whoever holds one was vouched for in that account only.
    pub fn require_unscoped(&self) -> Result<(), ApiError> {
        match self.scoped_account_id() {
            None => Ok(()),
            Some(_) => Err(ApiError::from_code(ErrorCode::ScopedCredential)),
        }
    }

    /// For changes to how the person signs in: an unscoped credential that has
    /// stepped up.
    pub fn require_sign_in_change(&self) -> Result<(), ApiError> {
        self.require_unscoped()?;
        self.require_recent_sign_in()
    }

    /// An audit event with this caller as the actor.
    pub fn audit_event(&self, action: &'static str) -> AuditEvent {
        AuditEvent::new(action, self.actor_kind())
            .actor(self.user_id)
            .ip_address(self.ip_address.clone())
            .user_agent(self.user_agent.clone())
    }
}

/// The client's address: the TCP peer, or, when the peer is one of
/// `http.trusted_proxies`, the address they forwarded ([`forwarded::client_ip`]).
pub fn client_address(parts: &Parts, settings: &Settings) -> Option<String> {
    let ConnectInfo(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>()?;
    Some(forwarded::client_ip(peer.ip(), &parts.headers, &settings.http.trusted_proxies).to_string())
}

/// The `User-Agent`, cut to a sane length, for session lists and the audit log.
pub fn client_user_agent(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|agent| agent.chars().take(300).collect())
}

/// Where a request comes from: the peer address and the user agent.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientInfo { ip_address: client_address(parts, &state.settings), user_agent: client_user_agent(parts) })
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let client =
            ClientInfo { ip_address: client_address(parts, &state.settings), user_agent: client_user_agent(parts) };
        let caller = Caller::resolve(state, &parts.headers, client).await?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// `Option<Caller>`: pages that anyone may open but that differ for someone
/// signed in (an invitation: join as oneself). No credential, or one no longer
/// live, is `None`; any other failure stays an error.
impl axum::extract::OptionalFromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        match <Caller as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(caller) => Ok(Some(caller)),
            Err(error) if error.code() == ErrorCode::Unauthenticated => Ok(None),
            Err(error) => Err(error),
        }
    }
}

impl Caller {
    /// Who the request's credential (API token, else session cookie) belongs to,
    /// if it is still live. Long-lived responses (the event stream) call it again
    /// to notice a signed-out session or a revoked token.
    pub async fn resolve(state: &AppState, headers: &HeaderMap, client: ClientInfo) -> Result<Caller, ApiError> {
        match bearer_token(headers)? {
            Some(token) => caller_from_api_token(state, &token, client).await,
            None => caller_from_session(state, headers, client).await,
        }
    }
}

/// `Authorization: Bearer <token>`, if present; any other scheme is refused.
fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else { return Ok(None) };
    let value = value.to_str().map_err(|_| ApiError::from_code(ErrorCode::Unauthenticated))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(ApiError::new(ErrorCode::Unauthenticated, "Use `Authorization: Bearer <API token>`.")),
    }
}

async fn caller_from_api_token(state: &AppState, token: &str, client: ClientInfo) -> Result<Caller, ApiError> {
    let now = Utc::now();
    let record = state
        .store
        .live_api_token(&hash_token(token), now)
        .await?
        .ok_or_else(|| ApiError::from_code(ErrorCode::Unauthenticated))?;
    if record.last_used_at.is_none_or(|used| now - used > Duration::seconds(TOUCH_INTERVAL_SECS)) {
        state.usage.token_used(record.token_id, now);
    }
    // An account-scoped token never carries its creator's staff rights.
    let staff_role =
        if record.account_id.is_some() { None } else { record.staff_role.as_deref().and_then(StaffRole::parse) };
    Ok(Caller {
        user_id: record.user_id,
        email: record.email,
        display_name: record.display_name,
        staff_role,
        credential: Credential::ApiToken { token_id: record.token_id, account_id: record.account_id },
        ip_address: client.ip_address,
        user_agent: client.user_agent,
        mfa_enabled: record.mfa_enabled,
        // Viewing as a customer is for people in a browser, never for tokens.
        viewing_as: None,
    })
}

async fn caller_from_session(state: &AppState, headers: &HeaderMap, client: ClientInfo) -> Result<Caller, ApiError> {
    let unauthenticated = || ApiError::from_code(ErrorCode::Unauthenticated);
    let token = token_from_headers(headers, &state.settings).ok_or_else(unauthenticated)?;
    let now = Utc::now();
    let idle_cutoff = now - Duration::seconds(state.settings.auth.session_idle_timeout_secs as i64);
    let session = state.store.live_session(&hash_token(&token), now, idle_cutoff).await?.ok_or_else(unauthenticated)?;
    if now - session.last_seen_at > Duration::seconds(TOUCH_INTERVAL_SECS) {
        state.usage.session_seen(session.session_id, now);
    }
    // An account-scoped session never carries staff rights.
    let staff_role =
        session.staff_role.as_deref().and_then(StaffRole::parse).filter(|_| session.scoped_account_id.is_none());
    // Only staff who may see accounts view one as a customer does.
    let viewing_as = staff_role
        .filter(|role| role.staff_permissions().contains(&StaffPermission::AccountsView))
        .and_then(|_| view_as::from_headers(headers, &state.settings, &state.cipher, session.session_id, now));
    Ok(Caller {
        user_id: session.user_id,
        email: session.email,
        display_name: session.display_name,
        staff_role,
        viewing_as,
        credential: Credential::Session {
            session_id: session.session_id,
            proved_at: session.proved_at,
            second_factor_proven: session.second_factor_proven,
            scoped_account_id: session.scoped_account_id,
        },
        ip_address: client.ip_address,
        user_agent: client.user_agent,
        mfa_enabled: session.mfa_enabled,
    })
}

/// A signed-in member of the business's staff.
#[derive(Debug, Clone)]
pub struct StaffCaller {
    pub caller: Caller,
    pub role: StaffRole,
}

impl StaffCaller {
    /// The staff scope for `permission`, or 403 (recorded in the audit log).
    pub async fn require(&self, permission: StaffPermission, state: &AppState) -> Result<StaffScope, ApiError> {
        if self.role.staff_permissions().contains(&permission) {
            return Ok(StaffScope { _private: () });
        }
        Err(deny(state, &self.caller, None, &format!("{permission:?}")).await)
    }
}

/// Proof that the caller holds a staff permission: the only way to open
/// [`crate::store::StaffData`], the reads across every account.
#[derive(Debug, Clone, Copy)]
pub struct StaffScope {
    _private: (),
}

impl FromRequestParts<AppState> for StaffCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        StaffCaller::of(caller, state).await
    }
}

impl StaffCaller {
    /// The caller as staff: 403 (recorded) for anyone else, and for staff
    /// without the second factor the configuration asks of them.
    pub async fn of(caller: Caller, state: &AppState) -> Result<Self, ApiError> {
        match caller.staff_role {
            Some(_) if state.settings.auth.require_staff_mfa && !caller.second_factor_proven() => {
                Err(mfa_enrollment_required())
            }
            Some(role) => Ok(StaffCaller { caller, role }),
            None => Err(deny(state, &caller, None, "staff").await),
        }
    }

    /// Whether this staff role holds `permission` (to offer a link or a form).
    pub fn holds(&self, permission: StaffPermission) -> bool {
        self.role.staff_permissions().contains(&permission)
    }
}

/// A caller inside the account named by the path's `{account_id}`, with the
/// permissions they hold there (their membership's role, plus their staff role's).
///
/// Anyone without any access to the account gets 404, exactly as for an account
/// that does not exist: the answer never reveals another customer's ids.
///
/// Its account and permissions are private: a handler gets at the account only
/// through the [`AccountScope`] a permission check returns ([`Self::require`], or
/// [`Self::any_access`] for what any member may see).
#[derive(Debug, Clone)]
pub struct AccountAccess {
    pub caller: Caller,
    account_id: Uuid,
    permissions: BTreeSet<Permission>,
    /// A staff member viewing the account as this role (read-only, audited).
    viewing_as: Option<ViewedRole>,
}

impl FromRequestParts<AppState> for AccountAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let not_found = || ApiError::from_code(ErrorCode::NotFound);
        let Path(params) =
            Path::<HashMap<String, String>>::from_request_parts(parts, state).await.map_err(|_| not_found())?;
        let account_id = params.get("account_id").and_then(|id| Uuid::parse_str(id).ok()).ok_or_else(not_found)?;
        let access = AccountAccess::resolve(state, caller, account_id).await?;
        if let Some(role) = &access.viewing_as {
            // Viewing as a customer changes nothing, and every page seen is on record.
            if !parts.method.is_safe() {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "Viewing an account as a customer is read-only; stop viewing to act as yourself.",
                ));
            }
            if !parts.uri.path().starts_with("/api/") {
                let event = access
                    .caller
                    .audit_event("staff.viewed_as_customer")
                    .account(account_id)
                    .details(serde_json::json!({"role": role.audit_name(), "page": parts.uri.path()}));
                audit::record(&state.store, event).await?;
            }
        }
        Ok(access)
    }
}

impl AccountAccess {
    /// The caller inside `account_id` under every rule of access, or 404 (no
    /// access, exactly as for an account that does not exist) or 403 (a second
    /// factor the account demands is missing). The extractor resolves the path's
    /// account with it; routes that name an account some other way (an export's)
    /// call it themselves.
    pub async fn resolve(state: &AppState, caller: Caller, account_id: Uuid) -> Result<Self, ApiError> {
        let not_found = || ApiError::from_code(ErrorCode::NotFound);
        // A token or session scoped to one account sees no other (before any query).
        if caller.scoped_account_id().is_some_and(|scoped_to| scoped_to != account_id) {
            return Err(not_found());
        }
        let Some(access) = state.store.account_access(account_id, caller.user_id).await? else {
            return Err(not_found());
        };
        let grant = access.membership().as_ref().and_then(grants::grant_of);
        let permissions = match access::permissions_in(
            &caller,
            account_id,
            grant.as_ref(),
            access.account_requires_mfa,
            &state.settings,
        ) {
            Ok(permissions) => permissions,
            Err(Refusal::NoAccess) => return Err(not_found()),
            Err(Refusal::MfaRequired) => return Err(mfa_enrollment_required()),
        };
        // Staff viewing this account as one of its roles hold that role's reading
        // rights and nothing of their own.
        let viewing_as = caller.viewing_as.as_ref().filter(|viewing| viewing.account_id == account_id);
        let (permissions, viewing_as) = match viewing_as {
            Some(viewing) => {
                let held = Self::viewed_permissions(state, account_id, &viewing.role).await?;
                (held.into_iter().filter(|permission| permission.is_read_only()).collect(), Some(viewing.role.clone()))
            }
            None => (permissions, None),
        };
        Ok(AccountAccess { caller, account_id, permissions, viewing_as })
    }

    /// What a member holding `role` holds in the account. A custom role is read
    /// now (a role deleted since viewing began holds nothing).
    async fn viewed_permissions(
        state: &AppState,
        account_id: Uuid,
        role: &ViewedRole,
    ) -> Result<BTreeSet<Permission>, ApiError> {
        let grant = match role {
            ViewedRole::Role { role } => Some(Grant::Role(*role)),
            ViewedRole::Partner { record_type } => {
                Some(Grant::Partner { record_types: [*record_type].into_iter().collect() })
            }
            ViewedRole::Custom { role_id, name } => {
                let permissions = state.store.custom_role_permissions(account_id, *role_id).await?;
                permissions.and_then(|names| grants::parse_names(&names)).map(|permissions| Grant::Custom {
                    role_id: *role_id,
                    name: name.clone(),
                    permissions,
                })
            }
        };
        Ok(grant.map(|grant| grant.permissions()).unwrap_or_default())
    }

    /// The role a staff member is viewing this account as, if they are.
    pub fn viewing_as(&self) -> Option<&ViewedRole> {
        self.viewing_as.as_ref()
    }

    /// Whether the caller holds `permission` here (to shape an answer; to act, use
    /// [`Self::require`], which records a denial).
    pub fn holds(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// The scope for what any access to the account shows (its name, the
    /// dashboard's frame): having been let in at all is the permission.
    pub fn any_access(&self) -> AccountScope {
        AccountScope { account_id: self.account_id }
    }

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

fn mfa_enrollment_required() -> ApiError {
    ApiError::new(
        ErrorCode::MfaEnrollmentRequired,
        "This needs multi-factor sign-in: turn it on (POST /api/v1/me/mfa/totp), or sign in again with your code.",
    )
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
