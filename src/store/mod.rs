//! The store: Portico's own data on SQLite (embedded default) or PostgreSQL.
//!
//! Callers see one typed interface, [`Store`]. SQL that reads the same on both engines
//! is written once in `portable/` and compiled for each; SQL that differs lives in
//! `sqlite/` and `postgres/`, beside each engine's connection settings, mirroring
//! `migrations/{sqlite,postgres}/`. There is deliberately no `sqlx::Any`: each engine
//! keeps its own types (UUID and TIMESTAMPTZ on PostgreSQL; blob ids and text times
//! on SQLite) and checked, typed binds.

#[macro_use]
mod portable;
mod account_data;
mod postgres;
mod sqlite;
mod staff_data;
mod sync_rows;
mod webhook_rows;

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use crate::auth::permissions::StaffRole;
use crate::config::{ConfigError, Engine, Settings};

pub use account_data::AccountData;
pub use portable::sign_in_codes::{EmailCodePolicy, LiveSignInCode, MAX_CODE_ATTEMPTS};
pub use portable::{
    ACCOUNT_RECORD_SELECT, ActivityTotals, AdoptionRow, ChangeFeedRow, CurrencyTotals, EmailChanged, Erasure,
    ExportRow, FailedMail, LoginFailureCounts, MemberChange, NewNotification, NotificationMail, NotificationRow,
    PasswordChanged, ProfileRow, RECORD_COLUMNS, Recipient, SeedAccount, SeedBatch, SeedRecord, StaffMember,
    StaffRoleChange, UserLabel,
};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use sqlite::{SetupLock as SqliteSetupLock, connect_options as sqlite_connect_options};
pub use staff_data::StaffData;
pub use sync_rows::*;
pub use webhook_rows::*;

/// Name of our migration history table. Not sqlx's default `_sqlx_migrations`:
/// apalis-sqlite keeps its own history there in the same database file.
pub const MIGRATIONS_TABLE: &str = "portico_migrations";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or in-use conflict, said in a sentence safe to show clients.
    #[error("{0}")]
    Conflict(&'static str),
    #[error("not found")]
    NotFound,
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("could not take the migration lock")]
    SetupLock(#[from] std::io::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The application store; cheap to clone (it holds a connection pool).
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

/// Runs the same call on whichever engine this store uses.
macro_rules! on_engine {
    ($store:expr, $engine:ident => $call:expr) => {
        match $store {
            Store::Sqlite($engine) => $call,
            Store::Postgres($engine) => $call,
        }
    };
}

impl Store {
    /// Connects (creating the SQLite file and its folder if needed). A database that
    /// cannot be reached is a configuration error about `database_url`.
    pub async fn connect(settings: &Settings) -> Result<Self, ConfigError> {
        let unreachable =
            |error: sqlx::Error| ConfigError::new("database_url", format!("cannot connect to the database: {error}"));
        match settings.engine() {
            Engine::Sqlite => Ok(Store::Sqlite(SqliteStore::connect(settings).await.map_err(unreachable)?)),
            Engine::Postgres => Ok(Store::Postgres(PostgresStore::connect(settings).await.map_err(unreachable)?)),
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            Store::Sqlite(_) => Engine::Sqlite,
            Store::Postgres(_) => Engine::Postgres,
        }
    }

    /// Applies pending migrations; safe to run from several processes at once.
    pub async fn migrate(&self) -> Result<()> {
        on_engine!(self, store => store.migrate().await)
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        on_engine!(self, store => store.ping().await)
    }

    pub async fn close(&self) {
        on_engine!(self, store => store.close().await)
    }
}

#[derive(Debug, Clone)]
pub struct NewStaffUser {
    /// Stored lower-cased; uniqueness ignores case.
    pub email: String,
    pub password_hash: String,
    pub role: StaffRole,
}

/// One execution of a queue probe job.
#[derive(Debug, Clone)]
pub struct QueueProbeRun {
    pub run_id: Uuid,
    pub worker: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `None` while running, or forever if the run was cut off.
    pub outcome: Option<ProbeOutcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeOutcome {
    Succeeded,
    Failed,
}

impl ProbeOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeOutcome::Succeeded => "succeeded",
            ProbeOutcome::Failed => "failed",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "succeeded" => Some(ProbeOutcome::Succeeded),
            "failed" => Some(ProbeOutcome::Failed),
            _ => None,
        }
    }
}

/// A write transaction. On SQLite it also holds this process's write gate: SQLite
/// allows one writer at a time, and a writer that finds the lock taken polls for it
/// with growing sleeps (up to 100 ms each), which under load turns into long tail
/// latencies; queueing on the gate instead hands the lock over the moment it is free.
pub struct WriteTransaction<DB: sqlx::Database> {
    transaction: sqlx::Transaction<'static, DB>,
    _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl<DB: sqlx::Database> WriteTransaction<DB> {
    fn new(transaction: sqlx::Transaction<'static, DB>, gate: Option<tokio::sync::OwnedMutexGuard<()>>) -> Self {
        Self { transaction, _gate: gate }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.transaction.commit().await
    }
}

impl<DB: sqlx::Database> std::ops::Deref for WriteTransaction<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        &self.transaction
    }
}

impl<DB: sqlx::Database> std::ops::DerefMut for WriteTransaction<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.transaction
    }
}

/// True when the error is a unique-constraint violation (same meaning on both engines).
fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// A new id: time-ordered (UUIDv7), so fresh rows land together in indexes.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// What a sign-in needs to know about the user it names.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoginUser {
    pub id: Uuid,
    pub password_hash: Option<String>,
    pub status: String,
    pub mfa_secret_sealed: Option<Vec<u8>>,
    pub mfa_enabled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the cookie token.
    pub token_hash: Vec<u8>,
    pub user_id: Uuid,
    /// Limits the session to one account (sign-in through that account's SSO).
    pub scoped_account_id: Option<Uuid>,
    pub method: SignInMethod,
    /// Whether a second factor was proven at sign-in (a TOTP or recovery code, or
    /// the identity provider's `amr`).
    pub second_factor: bool,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// How a session began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMethod {
    /// Email and password (and the second factor, when enrolled): a proof of both.
    Password,
    /// Through an identity provider: proves nothing Portico can check again.
    Sso,
    /// Accepting an invitation, which sets the password in the same request.
    Invitation,
    /// A one-time code mailed to the address: proves the mailbox, not the password.
    EmailCode,
}

impl SignInMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::Password => "password",
            SignInMethod::Sso => "sso",
            SignInMethod::Invitation => "invitation",
            SignInMethod::EmailCode => "email_code",
        }
    }

    /// Whether the sign-in itself proved the password (the start of step-up's window).
    pub fn proves_password(self) -> bool {
        matches!(self, SignInMethod::Password | SignInMethod::Invitation)
    }
}

/// A live session and the user behind it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRecord {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub staff_role: Option<String>,
    pub last_seen_at: DateTime<Utc>,
    /// The last password proof in this session (sign-in or re-authentication), for
    /// step-up checks; None for a session that never proved one (SSO).
    pub proved_at: Option<DateTime<Utc>>,
    /// Whether a second factor was proven in this session.
    pub second_factor_proven: bool,
    pub scoped_account_id: Option<Uuid>,
    pub mfa_enabled: bool,
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SessionSummary {
    pub session_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub token_hash: Vec<u8>,
    pub name: String,
    /// Scoped to one account, or (None) to the creator's staff rights.
    pub account_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A live API token and the user it acts for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiTokenRecord {
    pub token_id: Uuid,
    pub account_id: Option<Uuid>,
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub staff_role: Option<String>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub mfa_enabled: bool,
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ApiTokenSummary {
    pub token_id: Uuid,
    pub name: String,
    pub account_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Account {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub status: String,
    /// Members must sign in with a second factor to reach this account.
    pub require_mfa: bool,
    /// Mailed one-time sign-in codes: `allowed`, `required` or `off`.
    pub email_codes: String,
    pub created_at: DateTime<Utc>,
}

/// A membership as stored: a built-in role name, or `custom` with its role's
/// permissions, or `partner` with its record types.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MembershipRow {
    pub account_id: Uuid,
    pub account_name: String,
    pub role: String,
    pub custom_role_id: Option<Uuid>,
    pub custom_role_name: Option<String>,
    pub custom_permissions: Option<sqlx::types::Json<Vec<String>>>,
    pub record_types: Option<sqlx::types::Json<Vec<String>>>,
    /// The account demands multi-factor sign-in of its members.
    pub account_requires_mfa: bool,
}

/// An account with the caller's membership in it, if they have one.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountAccessRow {
    pub account_id: Uuid,
    pub account_name: String,
    pub account_requires_mfa: bool,
    /// NULL when the caller is not a member.
    pub role: Option<String>,
    pub custom_role_id: Option<Uuid>,
    pub custom_role_name: Option<String>,
    pub custom_permissions: Option<sqlx::types::Json<Vec<String>>>,
    pub record_types: Option<sqlx::types::Json<Vec<String>>>,
}

impl AccountAccessRow {
    pub fn membership(&self) -> Option<MembershipRow> {
        Some(MembershipRow {
            account_id: self.account_id,
            account_name: self.account_name.clone(),
            role: self.role.clone()?,
            custom_role_id: self.custom_role_id,
            custom_role_name: self.custom_role_name.clone(),
            custom_permissions: self.custom_permissions.clone(),
            record_types: self.record_types.clone(),
            account_requires_mfa: self.account_requires_mfa,
        })
    }
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CustomRoleRecord {
    pub role_id: Uuid,
    pub name: String,
    #[schema(value_type = Vec<String>)]
    pub permissions: sqlx::types::Json<Vec<String>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct MemberRecord {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub token_hash: Vec<u8>,
    pub email: String,
    /// None for a staff invitation.
    pub account_id: Option<Uuid>,
    pub role: String,
    pub invited_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct AcceptedInvitation {
    pub invitation_id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub account_id: Option<Uuid>,
    pub role: String,
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct InvitationSummary {
    pub invitation_id: Uuid,
    pub email: String,
    pub role: String,
    pub invited_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A user's multi-factor state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MfaState {
    pub mfa_secret_sealed: Option<Vec<u8>>,
    pub mfa_enabled_at: Option<DateTime<Utc>>,
}

/// What a mailed single-use link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserTokenPurpose {
    PasswordReset,
    EmailVerification,
    EmailChange,
}

impl UserTokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            UserTokenPurpose::PasswordReset => "password_reset",
            UserTokenPurpose::EmailVerification => "email_verification",
            UserTokenPurpose::EmailChange => "email_change",
        }
    }
}

/// Rows removed by one housekeeping pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeCounts {
    pub login_failures: u64,
    pub sessions: u64,
    pub user_tokens: u64,
    pub outbox: u64,
    pub sync_runs: u64,
}

#[derive(Debug, Clone)]
pub struct NewSsoConnection {
    /// The account id as text, or `staff`.
    pub scope: String,
    pub account_id: Option<Uuid>,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_sealed: Vec<u8>,
    pub default_role: String,
    /// Normalized, distinct domains (`example.com`) whose addresses are offered this provider.
    pub email_domains: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// A provider the sign-in page offers an address at one of its domains.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SsoOffer {
    pub connection_id: Uuid,
    /// The account whose provider it is (None: the staff's).
    pub account_name: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SsoConnectionRecord {
    pub id: Uuid,
    pub account_id: Option<Uuid>,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_sealed: Vec<u8>,
    pub default_role: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingSsoLogin {
    pub connection_id: Uuid,
    pub code_verifier_sealed: Vec<u8>,
    pub nonce: String,
}

#[derive(Debug, Clone)]
pub struct SsoProvision {
    pub connection_id: Uuid,
    pub subject: String,
    pub email: String,
    pub display_name: String,
    pub account_id: Option<Uuid>,
    pub role: String,
    pub now: DateTime<Utc>,
}

/// A LIKE pattern matching titles that contain `term` (`%` and `_` in it are
/// literal; the statement says `ESCAPE '\'`).
pub(crate) fn contains_pattern(term: &str) -> String {
    let escaped = term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}
