//! Single sign-on with OpenID Connect: an account's owners (or staff admins, for
//! staff) point Portico at their identity provider; people then sign in there,
//! arriving just in time with the connection's default role.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::{self, ActorKind, AuditEvent};
use crate::auth::domain_proof::ProofRecord;
use crate::auth::oidc::{self, AuthorizationRequest, CodeExchange};
use crate::auth::permissions::{AccountRole, Permission, StaffPermission, StaffRole};
use crate::auth::session::{session_cookie, set_cookie_header};
use crate::auth::tokens::{generate_token, hash_token};
use crate::auth::{AccountAccess, Caller, ClientInfo, StaffCaller};
use crate::core::email::{MAX_EMAIL_DOMAINS, normalize_email, parse_email_domain};
use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode, FieldError};
use crate::store::{NewSession, NewSsoConnection, SignInMethod, SsoProvision, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_account_sso, get_account_sso, delete_account_sso))
        .routes(routes!(discover_sso))
        .routes(routes!(put_staff_sso, get_staff_sso, delete_staff_sso))
        .routes(routes!(start_sso))
        .routes(routes!(sso_callback))
}

/// A sign-in at the provider must come back within this long.
const LOGIN_TTL_SECS: i64 = 600;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoSettings<Role> {
    /// The provider's issuer URL (discovery is at `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    /// Stored encrypted; never shown again. Left out when changing a
    /// connection: the stored one is kept.
    #[schema(value_type = Option<String>, format = Password)]
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// The role people get on their first sign-in.
    pub default_role: Role,
    /// Email domains (`example.com`) whose people the sign-in page offers this
    /// provider, at most 20. A domain belongs to one connection. An account's
    /// owner adds one by proving it with a TXT record (the refusal names it);
    /// the business's staff add any. Left out, the connection's domains stay.
    #[serde(default)]
    pub email_domains: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SsoConnection {
    pub connection_id: Uuid,
    pub issuer: String,
    pub client_id: String,
    pub default_role: String,
    /// Where people start signing in.
    pub login_url: String,
    /// The redirect URI to register at the provider.
    pub redirect_uri: String,
    /// Email domains whose people are offered this provider when signing in.
    pub email_domains: Vec<String>,
}

/// What the sign-in page offers an address at a domain.
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoDiscovery {
    pub connection_id: Uuid,
    /// Where signing in with the provider starts.
    pub login_url: String,
    /// The account whose provider it is (absent: the business's own staff).
    pub account_name: Option<String>,
}

pub(crate) fn redirect_uri(state: &AppState) -> String {
    format!("{}/api/v1/auth/sso/callback", state.settings.public_url.trim_end_matches('/'))
}

/// Checks the provider answers discovery, then stores the connection.
/// A connection's settings as a request gives them, before they are checked.
pub(crate) struct ConnectionRequest<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// `None` keeps the stored secret.
    pub client_secret: Option<&'a SecretString>,
    pub default_role: &'a str,
    /// `None` keeps the connection's domains.
    pub email_domains: Option<&'a [String]>,
}

/// Checks the settings and that the provider answers discovery, then stores the
/// connection. `claimant` is whoever sets the email domains (see [`email_domains`]).
pub(crate) async fn put_connection(
    state: &AppState,
    claimant: &Caller,
    account_id: Option<Uuid>,
    request: ConnectionRequest<'_>,
) -> Result<SsoConnection, ApiError> {
    let invalid =
        |field: &str, message: String| ApiError::validation(vec![FieldError { field: field.into(), message }]);
    if request.client_id.trim().is_empty() || request.client_id.len() > 255 {
        return Err(invalid("client_id", "required, at most 255 bytes".into()));
    }
    if request.issuer.len() > 2048 {
        return Err(invalid("issuer", "at most 2048 bytes".into()));
    }
    let stored = state.store.sso_connection_of_scope(&scope_of(account_id)).await?;
    let client_secret = match (request.client_secret, &stored) {
        (Some(secret), _) if secret.expose_secret().len() > 1024 => {
            return Err(invalid("client_secret", "at most 1024 bytes".into()));
        }
        (Some(secret), _) if !secret.expose_secret().is_empty() => secret.clone(),
        // A secret is the client's at one provider: kept only while it stays.
        (_, Some((connection, _))) if connection.issuer == request.issuer.trim_end_matches('/') => {
            open_secret(state, account_id, &connection.client_secret_sealed)?
        }
        (_, Some(_)) => return Err(invalid("client_secret", "required for a new provider".into())),
        (_, None) => return Err(invalid("client_secret", "required".into())),
    };
    let current = stored.map(|(_, domains)| domains).unwrap_or_default();
    let email_domains = match request.email_domains {
        Some(raw) => email_domains(state, claimant, account_id, raw, &current).await?,
        None => current,
    };
    oidc::discover(&state.outbound, request.issuer).await.map_err(|error| invalid("issuer", error.to_string()))?;
    let connection = NewSsoConnection {
        scope: scope_of(account_id),
        account_id,
        issuer: request.issuer.trim_end_matches('/').to_owned(),
        client_id: request.client_id.to_owned(),
        client_secret_sealed: state.cipher.seal(client_secret.expose_secret().as_bytes(), &sealing_context(account_id)),
        default_role: request.default_role.to_owned(),
        email_domains,
        created_at: Utc::now(),
    };
    let connection_id = state.store.put_sso_connection(&connection).await.map_err(|error| match error {
        StoreError::Conflict(message) => invalid("email_domains", message.into()),
        other => other.into(),
    })?;
    Ok(connection_view(
        state,
        connection_id,
        connection.issuer,
        connection.client_id,
        connection.default_role,
        connection.email_domains,
    ))
}

/// The domains of a request, normalized and distinct. A domain leads everyone
/// at it to this provider, so one confirmed address at it proves nothing (an
/// owner at gmail.com would otherwise claim gmail.com): an account's owner adds
/// a domain by proving it in its DNS ([`crate::auth::domain_proof`]); the business's staff,
/// who know their customers, add any. Kept or removed domains need nothing.
async fn email_domains(
    state: &AppState,
    claimant: &Caller,
    account_id: Option<Uuid>,
    raw: &[String],
    current: &[String],
) -> Result<Vec<String>, ApiError> {
    let invalid = |message: String| ApiError::validation(vec![FieldError { field: "email_domains".into(), message }]);
    if raw.len() > MAX_EMAIL_DOMAINS {
        return Err(invalid(format!("at most {MAX_EMAIL_DOMAINS} domains")));
    }
    let mut domains =
        raw.iter().map(|domain| parse_email_domain(domain)).collect::<Result<Vec<_>, _>>().map_err(invalid)?;
    domains.sort();
    domains.dedup();
    if let Some(account_id) = account_id.filter(|_| claimant.staff_role.is_none()) {
        for added in domains.iter().filter(|domain| !current.contains(domain)) {
            let proved = state.domain_proofs.holds(account_id, added).await.map_err(|error| {
                invalid(format!("{added}: {error}; try again in a moment, or ask the business's staff to add it"))
            })?;
            if !proved {
                let record = ProofRecord::for_account(account_id, added);
                return Err(invalid(format!(
                    "{added}: to show it is yours, add a TXT record named {} with the value {} to its DNS, \
                     then save again (or ask the business's staff to add it)",
                    record.name, record.value
                )));
            }
        }
    }
    let held = state.store.sso_domains_held_elsewhere(&scope_of(account_id), &domains).await?;
    if !held.is_empty() {
        return Err(invalid(format!("{} already signs in through another connection", held.join(", "))));
    }
    Ok(domains)
}

fn scope_of(account_id: Option<Uuid>) -> String {
    account_id.map_or_else(|| "staff".to_owned(), |account_id| account_id.to_string())
}

fn login_url(state: &AppState, connection_id: Uuid) -> String {
    format!("{}/api/v1/auth/sso/{connection_id}/start", state.settings.public_url.trim_end_matches('/'))
}

fn connection_view(
    state: &AppState,
    connection_id: Uuid,
    issuer: String,
    client_id: String,
    default_role: String,
    email_domains: Vec<String>,
) -> SsoConnection {
    SsoConnection {
        connection_id,
        issuer,
        client_id,
        default_role,
        login_url: login_url(state, connection_id),
        redirect_uri: redirect_uri(state),
        email_domains,
    }
}

/// The account's provider as its settings show it (never its secret).
pub(crate) async fn account_connection(state: &AppState, account_id: Uuid) -> Result<Option<SsoConnection>, ApiError> {
    connection_of(state, Some(account_id)).await
}

/// The provider of an account, or of the staff (`None`), never with its secret.
async fn connection_of(state: &AppState, account_id: Option<Uuid>) -> Result<Option<SsoConnection>, ApiError> {
    let connection = state.store.sso_connection_of_scope(&scope_of(account_id)).await?;
    Ok(connection.map(|(record, domains)| {
        connection_view(state, record.id, record.issuer, record.client_id, record.default_role, domains)
    }))
}

fn open_secret(state: &AppState, account_id: Option<Uuid>, sealed: &[u8]) -> Result<SecretString, ApiError> {
    let secret = state.cipher.open(sealed, &sealing_context(account_id)).map_err(ApiError::internal)?;
    Ok(SecretString::from(String::from_utf8(secret).map_err(ApiError::internal)?))
}

fn sealing_context(account_id: Option<Uuid>) -> String {
    match account_id {
        Some(account_id) => format!("sso:{account_id}:client_secret"),
        None => "sso:staff:client_secret".into(),
    }
}

/// Sets the account's identity provider (`account.edit_settings`, signed in
/// within 10 minutes). New users get `default_role` (never owner).
#[utoipa::path(put, path = "/api/v1/accounts/{account_id}/sso", extensions(("x-permission" = json!("account.edit_settings, signed in within 10 minutes"))), tag = "auth",
    params(("account_id" = Uuid, Path)), request_body = SsoSettings<AccountRole>,
    responses(
        (status = 200, description = "Connected", body = SsoConnection),
        (status = 403, description = "Missing account.edit_settings, or sign in again", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The provider does not answer discovery, owner as default, a secret missing for a new provider, a field too long, or an email domain not proved by its TXT record or held by another connection", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_account_sso(
    State(state): State<AppState>,
    access: AccountAccess,
    Json(request): Json<SsoSettings<AccountRole>>,
) -> Result<Json<SsoConnection>, ApiError> {
    let scope = access.require(Permission::AccountEditSettings, &state).await?;
    access.caller.require_recent_sign_in()?;
    if request.default_role == AccountRole::Owner {
        let error = FieldError { field: "default_role".into(), message: "owners are made, not provisioned".into() };
        return Err(ApiError::validation(vec![error]));
    }
    let settings = ConnectionRequest {
        issuer: &request.issuer,
        client_id: &request.client_id,
        client_secret: request.client_secret.as_ref(),
        default_role: request.default_role.as_str(),
        email_domains: request.email_domains.as_deref(),
    };
    Ok(Json(configure_account_sso(&state, &access.caller, scope.account_id(), settings).await?))
}

/// Connects the account's provider and audits it: the API's and the settings page's one way.
pub(crate) async fn configure_account_sso(
    state: &AppState,
    caller: &Caller,
    account_id: Uuid,
    settings: ConnectionRequest<'_>,
) -> Result<SsoConnection, ApiError> {
    let connection = put_connection(state, caller, Some(account_id), settings).await?;
    let event = caller
        .audit_event("sso.configured")
        .account(account_id)
        .target("sso_connection", connection.connection_id)
        .details(serde_json::json!({
            "issuer": connection.issuer,
            "default_role": connection.default_role,
            "email_domains": connection.email_domains,
        }));
    audit::record(&state.store, event).await?;
    Ok(connection)
}

/// The account's identity provider (`account.edit_settings`); 404 when it has none.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/sso", extensions(("x-permission" = json!("account.edit_settings"))), tag = "auth",
    params(("account_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The connection (its secret is never shown)", body = SsoConnection),
        (status = 403, description = "Missing account.edit_settings", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account, or it has no provider", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_account_sso(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(_account_id): Path<Uuid>,
) -> Result<Json<SsoConnection>, ApiError> {
    let scope = access.require(Permission::AccountEditSettings, &state).await?;
    let connection = account_connection(&state, scope.account_id()).await?;
    Ok(Json(connection.ok_or_else(|| ApiError::from_code(ErrorCode::NotFound))?))
}

/// Removes the account's identity provider (`account.edit_settings`, signed in
/// within 10 minutes): its people keep their accounts and sign in otherwise.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/sso", extensions(("x-permission" = json!("account.edit_settings, signed in within 10 minutes"))), tag = "auth",
    params(("account_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Missing account.edit_settings, or sign in again", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account, or it has no provider", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_account_sso(
    State(state): State<AppState>,
    access: AccountAccess,
    Path(_account_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let scope = access.require(Permission::AccountEditSettings, &state).await?;
    access.caller.require_recent_sign_in()?;
    remove_account_sso(&state, &access.caller, scope.account_id()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes the account's provider and audits it (404 when there is none).
pub(crate) async fn remove_account_sso(state: &AppState, caller: &Caller, account_id: Uuid) -> Result<(), ApiError> {
    remove_connection(state, caller, Some(account_id)).await
}

/// Removes the provider of an account, or of the staff (`None`), and audits it
/// (404 when there is none).
async fn remove_connection(state: &AppState, caller: &Caller, account_id: Option<Uuid>) -> Result<(), ApiError> {
    if !state.store.delete_sso_connection(&scope_of(account_id)).await? {
        return Err(ApiError::from_code(ErrorCode::NotFound));
    }
    let mut event = caller.audit_event("sso.removed");
    if let Some(account_id) = account_id {
        event = event.account(account_id);
    }
    audit::record(&state.store, event).await?;
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiscoverQuery {
    /// The domain of the address being signed in (only the domain: the address
    /// itself is never sent, so nothing here tells whether it exists).
    pub domain: String,
}

/// The identity provider the sign-in page offers an address at `domain`; 404
/// when it signs in with a password or a mailed code. Limited per source address.
#[utoipa::path(get, path = "/api/v1/auth/sso/discover", extensions(("x-permission" = json!("public"))), tag = "auth",
    params(DiscoverQuery),
    responses(
        (status = 200, description = "People at this domain may sign in with this provider", body = SsoDiscovery),
        (status = 404, description = "No provider holds the domain", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many lookups from this address", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn discover_sso(
    State(state): State<AppState>,
    client: ClientInfo,
    Query(query): Query<DiscoverQuery>,
) -> Result<Json<SsoDiscovery>, ApiError> {
    let offer = sso_offer(&state, &client, &query.domain).await?;
    Ok(Json(offer.ok_or_else(|| ApiError::from_code(ErrorCode::NotFound))?))
}

/// The provider offered to addresses at `domain` (anything not shaped like a
/// domain holds none), counted against the source address's lookups.
pub(crate) async fn sso_offer(
    state: &AppState,
    client: &ClientInfo,
    domain: &str,
) -> Result<Option<SsoDiscovery>, ApiError> {
    if let Err(wait) = state.anonymous.sso_lookups.check(client.ip_address.as_deref().unwrap_or_default()) {
        return Err(ApiError::rate_limited(wait.as_secs().max(1)));
    }
    let Ok(domain) = parse_email_domain(domain) else { return Ok(None) };
    let offer = state.store.sso_offer_for_domain(&domain).await?;
    Ok(offer.map(|offer| SsoDiscovery {
        connection_id: offer.connection_id,
        login_url: login_url(state, offer.connection_id),
        account_name: offer.account_name,
    }))
}

/// Sets the staff's identity provider (`staff.manage`, signed in within 10 minutes).
#[utoipa::path(put, path = "/api/v1/staff/sso", extensions(("x-permission" = json!("staff: staff.manage, signed in within 10 minutes"))), tag = "auth",
    request_body = SsoSettings<StaffRole>,
    responses(
        (status = 200, description = "Connected", body = SsoConnection),
        (status = 403, description = "Missing staff.manage, or sign in again", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The provider does not answer discovery, a secret missing for a new provider, a field too long, or an email domain held by another connection", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_staff_sso(
    State(state): State<AppState>,
    staff: StaffCaller,
    Json(request): Json<SsoSettings<StaffRole>>,
) -> Result<Json<SsoConnection>, ApiError> {
    staff.require(StaffPermission::StaffManage, &state).await?;
    staff.caller.require_recent_sign_in()?;
    let settings = ConnectionRequest {
        issuer: &request.issuer,
        client_id: &request.client_id,
        client_secret: request.client_secret.as_ref(),
        default_role: request.default_role.as_str(),
        email_domains: request.email_domains.as_deref(),
    };
    Ok(Json(configure_staff_sso(&state, &staff.caller, settings).await?))
}

/// Connects the staff's provider and audits it: the API's and the console's one way.
pub(crate) async fn configure_staff_sso(
    state: &AppState,
    caller: &Caller,
    settings: ConnectionRequest<'_>,
) -> Result<SsoConnection, ApiError> {
    let connection = put_connection(state, caller, None, settings).await?;
    let event = caller.audit_event("sso.configured").target("sso_connection", connection.connection_id).details(
        serde_json::json!({
            "issuer": connection.issuer,
            "default_role": connection.default_role,
            "email_domains": connection.email_domains,
        }),
    );
    audit::record(&state.store, event).await?;
    Ok(connection)
}

/// The staff's identity provider (`staff.manage`); 404 when there is none.
#[utoipa::path(get, path = "/api/v1/staff/sso", extensions(("x-permission" = json!("staff: staff.manage"))), tag = "auth",
    responses(
        (status = 200, description = "The connection (its secret is never shown)", body = SsoConnection),
        (status = 403, description = "Missing staff.manage", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "The staff have no provider", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_staff_sso(State(state): State<AppState>, staff: StaffCaller) -> Result<Json<SsoConnection>, ApiError> {
    staff.require(StaffPermission::StaffManage, &state).await?;
    Ok(Json(staff_connection(&state).await?.ok_or_else(|| ApiError::from_code(ErrorCode::NotFound))?))
}

/// The staff's provider as the console shows it (never its secret).
pub(crate) async fn staff_connection(state: &AppState) -> Result<Option<SsoConnection>, ApiError> {
    connection_of(state, None).await
}

/// Removes the staff's identity provider (`staff.manage`, signed in within 10
/// minutes): staff who joined through it keep their role and sign in otherwise.
#[utoipa::path(delete, path = "/api/v1/staff/sso", extensions(("x-permission" = json!("staff: staff.manage, signed in within 10 minutes"))), tag = "auth",
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Missing staff.manage, or sign in again", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "The staff have no provider", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_staff_sso(State(state): State<AppState>, staff: StaffCaller) -> Result<StatusCode, ApiError> {
    staff.require(StaffPermission::StaffManage, &state).await?;
    staff.caller.require_recent_sign_in()?;
    remove_staff_sso(&state, &staff.caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes the staff's provider and audits it (404 when there is none).
pub(crate) async fn remove_staff_sso(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    remove_connection(state, caller, None).await
}

fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_owned())]).into_response()
}

/// The cookie that binds a sign-in's `state` to the browser that started it, so
/// a callback carried to someone else's browser (login CSRF) is refused. Lax: the
/// provider sends the browser back with a top-level GET from its own site.
fn state_cookie_name(state: &AppState) -> &'static str {
    if state.settings.uses_https() { "__Secure-portico_sso_state" } else { "portico_sso_state" }
}

fn state_cookie(state: &AppState, value: &str, max_age_secs: i64) -> String {
    cookie::Cookie::build((state_cookie_name(state), value.to_owned()))
        .http_only(true)
        .secure(state.settings.uses_https())
        .same_site(cookie::SameSite::Lax)
        .path("/api/v1/auth/sso/callback")
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build()
        .to_string()
}

/// Whether the request carries the state cookie for `expected` (compared in
/// constant time: it is a secret of the browser's).
fn browser_started(state: &AppState, headers: &HeaderMap, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    let name = state_cookie_name(state);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|cookie| cookie.name() == name)
        .any(|cookie| bool::from(cookie.value().as_bytes().ct_eq(expected.as_bytes())))
}

/// Starts signing in with a connection's provider: redirects there, with a
/// short-lived cookie binding the sign-in to this browser. Limited per source
/// address, and the provider's discovery document is reused for a few minutes.
#[utoipa::path(get, path = "/api/v1/auth/sso/{connection_id}/start", extensions(("x-permission" = json!("public"))), tag = "auth",
    params(("connection_id" = Uuid, Path)),
    responses(
        (status = 303, description = "To the identity provider"),
        (status = 404, description = "No such connection", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many sign-ins started from this address", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 502, description = "The identity provider could not be discovered", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn start_sso(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(connection_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    if let Err(wait) = state.anonymous.sso_starts.check(client.ip_address.as_deref().unwrap_or_default()) {
        return Err(ApiError::rate_limited(wait.as_secs().max(1)));
    }
    let connection =
        state.store.sso_connection(connection_id).await?.ok_or_else(|| ApiError::from_code(ErrorCode::NotFound))?;
    let metadata = state.anonymous.discovery.discover(&state.outbound, &connection.issuer).await.map_err(|error| {
        tracing::warn!(error = %error, connection = %connection_id, "single sign-on discovery failed");
        ApiError::new(ErrorCode::BadGateway, "The identity provider could not be reached; try again shortly.")
    })?;
    let (sso_state, code_verifier, nonce) = (oidc::random_value(), oidc::random_value(), oidc::random_value());
    let verifier_sealed = state.cipher.seal(code_verifier.as_bytes(), &format!("sso_login:{connection_id}"));
    let expires_at = Utc::now() + Duration::seconds(LOGIN_TTL_SECS);
    state.store.create_sso_login(&hash_token(&sso_state), connection_id, &verifier_sealed, &nonce, expires_at).await?;
    let redirect_uri = redirect_uri(&state);
    let request = AuthorizationRequest {
        client_id: &connection.client_id,
        redirect_uri: &redirect_uri,
        state: &sso_state,
        nonce: &nonce,
        code_verifier: &code_verifier,
    };
    let url = oidc::authorization_url(&metadata, &request).map_err(ApiError::internal)?;
    let mut response = see_other(url.as_str());
    set_cookie_header(response.headers_mut(), state_cookie(&state, &sso_state, LOGIN_TTL_SECS));
    Ok(response)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    /// Set by the provider when sign-in failed there.
    pub error: Option<String>,
}

/// Where the provider sends the browser back: checks everything, provisions a
/// first-time user with the connection's role, signs in, and redirects home.
#[utoipa::path(get, path = "/api/v1/auth/sso/callback", extensions(("x-permission" = json!("public, with the provider's answer"))), tag = "auth",
    params(CallbackQuery),
    responses(
        (status = 303, description = "Signed in; to the portal"),
        (status = 401, description = "The sign-in did not check out, or another browser started it", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address belongs to a user who signs in otherwise", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn sso_callback(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let refused = |why: &str| ApiError::new(ErrorCode::Unauthenticated, format!("Single sign-on failed: {why}."));
    if let Some(error) = &query.error {
        return Err(refused(&format!("the provider said {error}")));
    }
    let (Some(code), Some(sso_state)) = (&query.code, &query.state) else { return Err(refused("incomplete answer")) };
    if !browser_started(&state, &headers, sso_state) {
        return Err(refused("this browser did not start the sign-in"));
    }
    let now = Utc::now();
    let pending = state
        .store
        .take_sso_login(&hash_token(sso_state), now)
        .await?
        .ok_or_else(|| refused("unknown or expired sign-in"))?;
    let connection = state
        .store
        .sso_connection(pending.connection_id)
        .await?
        .ok_or_else(|| refused("the connection was removed"))?;
    let code_verifier = state
        .cipher
        .open(&pending.code_verifier_sealed, &format!("sso_login:{}", connection.id))
        .map_err(ApiError::internal)?;
    let client_secret = state
        .cipher
        .open(&connection.client_secret_sealed, &sealing_context(connection.account_id))
        .map_err(ApiError::internal)?;
    let metadata =
        state.anonymous.discovery.discover(&state.outbound, &connection.issuer).await.map_err(ApiError::internal)?;
    let redirect_uri = redirect_uri(&state);
    let exchange = CodeExchange {
        client_id: &connection.client_id,
        client_secret: &String::from_utf8_lossy(&client_secret),
        redirect_uri: &redirect_uri,
        code,
        code_verifier: &String::from_utf8_lossy(&code_verifier),
        nonce: &pending.nonce,
    };
    let claims = oidc::exchange_code(&state.outbound, &metadata, &exchange).await.map_err(|error| {
        tracing::warn!(error = %error, connection = %connection.id, "single sign-on refused");
        refused("the provider's answer did not check out")
    })?;

    let user_id = match state.store.user_for_identity(connection.id, &claims.sub).await? {
        Some(user_id) => user_id,
        None => {
            let email = claims.email.as_deref().map(normalize_email).filter(|_| claims.email_verified);
            let email = email.ok_or_else(|| refused("the provider vouches for no email address"))?;
            let provision = SsoProvision {
                connection_id: connection.id,
                subject: claims.sub.clone(),
                display_name: claims.name.clone().unwrap_or_default(),
                email,
                account_id: connection.account_id,
                role: connection.default_role.clone(),
                now,
            };
            let user_id = state.store.provision_sso_user(&provision).await.map_err(|error| match error {
                StoreError::Conflict(_) => ApiError::new(
                    ErrorCode::Conflict,
                    "A user with this address already signs in with a password; ask an administrator to link them.",
                ),
                other => other.into(),
            })?;
            let mut event = AuditEvent::new("sso.user_provisioned", ActorKind::System)
                .target("user", user_id)
                .details(serde_json::json!({ "email": provision.email, "role": provision.role }));
            if let Some(account_id) = connection.account_id {
                event = event.account(account_id);
            }
            audit::record(&state.store, event).await?;
            user_id
        }
    };

    let (token, token_hash) = generate_token();
    let session = NewSession {
        token_hash,
        user_id,
        // The provider vouches for its own account only (staff providers: everything).
        scoped_account_id: connection.account_id,
        method: SignInMethod::Sso,
        second_factor: claims.vouches_for_second_factor(),
        user_agent: client.user_agent.clone(),
        ip_address: client.ip_address.clone(),
        created_at: now,
        expires_at: now + Duration::seconds(state.settings.auth.session_absolute_timeout_secs as i64),
    };
    let session_id = state.store.create_session(&session).await?;
    let event = AuditEvent::new("auth.login.succeeded", ActorKind::User)
        .actor(user_id)
        .target("session", session_id)
        .ip_address(client.ip_address)
        .user_agent(client.user_agent)
        .details(serde_json::json!({ "method": "sso", "connection_id": connection.id }));
    audit::record(&state.store, event).await?;
    let mut response = see_other(&format!("{}/", state.settings.public_url.trim_end_matches('/')));
    set_cookie_header(response.headers_mut(), session_cookie(&state.settings, &token));
    set_cookie_header(response.headers_mut(), state_cookie(&state, "", 0));
    Ok(response)
}
