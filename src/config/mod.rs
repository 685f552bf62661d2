//! Configuration: embedded defaults < config file < `PORTICO_*` environment < flags.
//!
//! Loading never half-succeeds: every key is typed, unknown keys are refused, and
//! every error names the key it is about so an operator can fix it at once
//! (the CLI exits with status 2 on a [`ConfigError`]).

mod secret_key;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

pub use secret_key::MasterKey;

/// The commented defaults file, compiled in so a bare binary runs.
pub const DEFAULTS_TOML: &str = include_str!("../../config/default.toml");

/// Prefix of the environment variables that set configuration keys.
pub const ENV_PREFIX: &str = "PORTICO_";

/// A configuration problem, always tied to the key that caused it.
#[derive(Debug, thiserror::Error)]
#[error("configuration key `{key}`: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Development,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub mode: Mode,
    pub listen: SocketAddr,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub public_url: String,
    #[serde(default)]
    pub secret_key: Option<SecretString>,
    pub database: DatabaseSettings,
    pub http: HttpSettings,
    pub jobs: JobSettings,
    pub sync: SyncSettings,
    pub webhooks: WebhookSettings,
    pub events: EventSettings,
    pub uploads: UploadSettings,
    pub auth: AuthSettings,
    pub outbound: OutboundSettings,
    pub mail: MailSettings,
    pub notifications: NotificationSettings,
    pub portal: PortalSettings,
    pub log: LogSettings,
}

/// The business the portal is branded for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalSettings {
    /// Shown in the top bar and every page title.
    pub name: String,
    /// An image shown beside the name (a URL, `https://` or a path on this server); none when empty.
    #[serde(default)]
    pub logo_url: String,
    /// The accent colour for links and primary actions: `#rrggbb`.
    pub accent_color: String,
    /// Where customers get help (shown in the footer); none when empty.
    #[serde(default)]
    pub support_email: String,
    #[serde(default)]
    pub support_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    pub schedule_check_secs: u64,
    pub page_attempts: u32,
    pub page_retry_base_ms: u64,
    pub page_retry_max_ms: u64,
    pub max_inline_wait_secs: u64,
    pub degrade_after_failures: u32,
    pub run_lease_secs: u64,
    pub abandoned_after_secs: u64,
    /// Pages one run may pull before it is failed: a backstop for an upstream
    /// whose cursor moves on forever without repeating.
    pub max_pages_per_run: u64,
    /// How long one upstream request (a list page, a read, a write-back) may take
    /// before it counts as failed and is retried; per instance when set there.
    pub request_timeout_secs: u64,
    pub push_attempts: u32,
    /// Requests per second per rate-budget key (a provider app's quota).
    #[serde(default)]
    pub rate_limits: std::collections::BTreeMap<String, f64>,
    /// Folders a `files` connector may serve from the server's disk.
    #[serde(default)]
    pub local_file_roots: Vec<std::path::PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    pub default_body_limit_bytes: usize,
    pub max_body_limit_bytes: usize,
    pub default_tolerance_secs: u64,
    pub group_commit_max: usize,
    pub endpoint_cache_ms: u64,
    pub rejected_retention_secs: u64,
    pub rejected_body_keep_bytes: usize,
    pub processed_retention_days: u64,
    pub process_batch: usize,
    pub process_poll_ms: u64,
    pub process_coalesce_ms: u64,
    pub process_attempts: u32,
    pub process_retry_base_ms: u64,
    pub process_retry_max_ms: u64,
    pub claim_secs: u64,
}

/// Documents uploaded through the portal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadSettings {
    /// Media types accepted, as sniffed from the file's content.
    pub allowed_types: Vec<String>,
}

/// Live updates (`GET /api/v1/events`) and the change feed behind them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSettings {
    pub poll_ms: u64,
    pub gap_wait_ms: u64,
    pub heartbeat_secs: u64,
    pub recheck_secs: u64,
    pub retention_secs: u64,
    pub replay_max: usize,
    pub max_streams_per_user: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundSettings {
    pub allow_private_addresses: bool,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub migrate_on_start: bool,
    pub max_connections: u32,
    pub connect_timeout_secs: u64,
    pub sqlite_busy_timeout_ms: u64,
    pub sqlite_synchronous: SqliteSynchronous,
}

/// Only the levels that keep acknowledged writes across a process crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSynchronous {
    Normal,
    Full,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub request_timeout_secs: u64,
    pub body_limit_bytes: usize,
    pub shutdown_grace_secs: u64,
    /// Required as a bearer token on `/metrics` when set.
    #[serde(default)]
    pub metrics_token: Option<SecretString>,
    /// Proxies (CIDRs) whose `X-Forwarded-For`/`Forwarded` name the client;
    /// from anyone else those headers are ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSettings {
    pub concurrency: usize,
    pub poll_interval_ms: u64,
    pub heartbeat_secs: u64,
    pub missed_heartbeats: usize,
    pub max_attempts: u32,
    pub retry_base_ms: u64,
    pub retry_max_secs: u64,
    pub shutdown_grace_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub session_idle_timeout_secs: u64,
    pub session_absolute_timeout_secs: u64,
    pub login_failures_per_account: u32,
    pub login_failures_per_address: u32,
    pub login_failure_window_secs: u64,
    pub invitation_ttl_secs: u64,
    pub password_reset_ttl_secs: u64,
    pub email_verification_ttl_secs: u64,
    pub require_staff_mfa: bool,
    /// Nameservers asked for the TXT records that prove an email domain (UDP);
    /// empty: the system's resolvers.
    pub domain_proof_nameservers: Vec<SocketAddr>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub from: String,
    pub transport: MailTransport,
    #[serde(default)]
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// `.eml` files under `data_dir/mail/` (development).
    Log,
    /// A mail server ([`crate::mail::smtp`]).
    Smtp,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettings {
    /// A person gets at most one notification mail per account in this many
    /// minutes: what happens meanwhile gathers into the next (0: each at once).
    pub digest_minutes: u64,
}

/// The mail server of `mail.transport = "smtp"` (see [`crate::mail::smtp`]).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    /// `smtps://host[:465]` or `smtp://host[:587]` (STARTTLS).
    pub url: String,
    /// `required` (the default) or `none`, for a plain-text relay on this machine or network.
    pub tls: SmtpTls,
    pub username: String,
    /// Never logged nor shown; `PORTICO_MAIL__SMTP__PASSWORD` keeps it out of files.
    pub password: secrecy::SecretString,
    /// How long one SMTP command may take.
    pub timeout_secs: u64,
    /// Connections kept open to the server and reused.
    pub pool_size: u32,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            url: String::new(),
            tls: SmtpTls::Required,
            username: String::new(),
            password: secrecy::SecretString::from(String::new()),
            timeout_secs: 15,
            pool_size: 4,
        }
    }
}

/// No Debug of the password.
impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SmtpSettings")
            .field("url", &self.url)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("timeout_secs", &self.timeout_secs)
            .field("pool_size", &self.pool_size)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    Required,
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Which engine a `database_url` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn of_url(database_url: &str) -> Result<Self, ConfigError> {
        let scheme = database_url.split_once("://").map(|(scheme, _)| scheme);
        match scheme {
            Some("sqlite") => Ok(Engine::Sqlite),
            Some("postgres" | "postgresql") => Ok(Engine::Postgres),
            _ => Err(ConfigError::new("database_url", "expected `sqlite://PATH` or `postgres://USER@HOST/DB`")),
        }
    }
}

/// Values given on the command line; they override everything else.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Settings {
    /// Loads the layered configuration from the process environment.
    pub fn load(config_file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load_from(config_file, Env::prefixed(ENV_PREFIX), overrides)
    }

    /// The defaults alone: what tests start from before changing fields.
    pub fn defaults() -> Self {
        Self::from_figment(Figment::from(Toml::string(DEFAULTS_TOML))).expect("the embedded defaults are valid")
    }

    fn load_from(config_file: Option<&Path>, env: Env, overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULTS_TOML));
        if let Some(path) = config_file {
            if !path.is_file() {
                return Err(ConfigError::new("config", format!("no such file: {}", path.display())));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        // `PORTICO_CONFIG` names the file rather than a key; nested keys use `__`.
        let env = env.ignore(&["config"]).split("__");
        figment = figment.merge(env).merge(Serialized::defaults(overrides));
        Self::from_figment(figment)
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract().map_err(figment_error)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what types alone cannot: ranges, URL shapes, filter syntax.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let engine = Engine::of_url(&self.database_url)?;
        if engine == Engine::Sqlite && self.database_url.contains(":memory:") {
            return Err(ConfigError::new(
                "database_url",
                "in-memory SQLite is not supported: the store and the job queue share one database file",
            ));
        }
        let public_url = url::Url::parse(&self.public_url)
            .map_err(|error| ConfigError::new("public_url", format!("not a URL: {error}")))?;
        if !matches!(public_url.scheme(), "http" | "https") {
            return Err(ConfigError::new("public_url", "must be an http or https URL"));
        }
        if self.mode == Mode::Production && self.secret_key.is_none() {
            return Err(ConfigError::new(
                "secret_key",
                "required in production mode: set PORTICO_SECRET_KEY (generate one with `portico admin generate-key`)",
            ));
        }
        if let Some(key) = &self.secret_key {
            MasterKey::from_base64(key)?;
        }
        require_positive("database.max_connections", self.database.max_connections as u64)?;
        require_positive("database.connect_timeout_secs", self.database.connect_timeout_secs)?;
        require_positive("http.request_timeout_secs", self.http.request_timeout_secs)?;
        require_positive("http.body_limit_bytes", self.http.body_limit_bytes as u64)?;
        require_positive("jobs.concurrency", self.jobs.concurrency as u64)?;
        require_positive("jobs.poll_interval_ms", self.jobs.poll_interval_ms)?;
        require_positive("jobs.heartbeat_secs", self.jobs.heartbeat_secs)?;
        // The queue stores heartbeats in whole seconds, so a window of two beats can
        // expire after little more than one: a merely slow worker would be presumed
        // dead and its jobs run twice.
        if self.jobs.missed_heartbeats < 3 {
            return Err(ConfigError::new("jobs.missed_heartbeats", "must be at least 3"));
        }
        require_positive("jobs.max_attempts", self.jobs.max_attempts as u64)?;
        require_positive("jobs.retry_base_ms", self.jobs.retry_base_ms)?;
        require_positive("auth.session_idle_timeout_secs", self.auth.session_idle_timeout_secs)?;
        require_positive("auth.session_absolute_timeout_secs", self.auth.session_absolute_timeout_secs)?;
        require_positive("auth.login_failures_per_account", self.auth.login_failures_per_account as u64)?;
        require_positive("auth.login_failures_per_address", self.auth.login_failures_per_address as u64)?;
        require_positive("auth.login_failure_window_secs", self.auth.login_failure_window_secs)?;
        require_positive("auth.invitation_ttl_secs", self.auth.invitation_ttl_secs)?;
        require_positive("outbound.timeout_secs", self.outbound.timeout_secs)?;
        if self.portal.name.trim().is_empty() || self.portal.name.chars().count() > 80 {
            return Err(ConfigError::new("portal.name", "must be 1 to 80 characters"));
        }
        let hex = self.portal.accent_color.strip_prefix('#').unwrap_or_default();
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(ConfigError::new("portal.accent_color", "must be a colour like #1f5f8b"));
        }
        let logo = &self.portal.logo_url;
        if !(logo.is_empty() || logo.starts_with("https://") || logo.starts_with('/'))
            || logo.contains(['"', '<', '>', ' '])
        {
            return Err(ConfigError::new("portal.logo_url", "must be an https:// URL or a path on this server"));
        }
        require_positive("sync.schedule_check_secs", self.sync.schedule_check_secs)?;
        require_positive("webhooks.default_body_limit_bytes", self.webhooks.default_body_limit_bytes as u64)?;
        if self.webhooks.default_body_limit_bytes > self.webhooks.max_body_limit_bytes {
            return Err(ConfigError::new(
                "webhooks.default_body_limit_bytes",
                "must not exceed webhooks.max_body_limit_bytes",
            ));
        }
        require_positive("webhooks.group_commit_max", self.webhooks.group_commit_max as u64)?;
        require_positive("webhooks.process_batch", self.webhooks.process_batch as u64)?;
        require_positive("webhooks.process_poll_ms", self.webhooks.process_poll_ms)?;
        require_positive("webhooks.process_attempts", self.webhooks.process_attempts.into())?;
        require_positive("webhooks.process_retry_base_ms", self.webhooks.process_retry_base_ms)?;
        require_positive("webhooks.claim_secs", self.webhooks.claim_secs)?;
        require_positive("events.poll_ms", self.events.poll_ms)?;
        require_positive("events.heartbeat_secs", self.events.heartbeat_secs)?;
        require_positive("events.recheck_secs", self.events.recheck_secs)?;
        require_positive("events.retention_secs", self.events.retention_secs)?;
        require_positive("events.replay_max", self.events.replay_max as u64)?;
        require_positive("events.max_streams_per_user", self.events.max_streams_per_user as u64)?;
        require_positive("sync.page_attempts", self.sync.page_attempts.into())?;
        require_positive("sync.max_pages_per_run", self.sync.max_pages_per_run)?;
        require_positive("sync.request_timeout_secs", self.sync.request_timeout_secs)?;
        require_positive("sync.push_attempts", self.sync.push_attempts.into())?;
        require_positive("sync.degrade_after_failures", self.sync.degrade_after_failures.into())?;
        for (key, rate) in &self.sync.rate_limits {
            if !(rate.is_finite() && *rate > 0.0) {
                return Err(ConfigError::new(
                    format!("sync.rate_limits.{key}"),
                    "must be a positive number of requests per second",
                ));
            }
        }
        if self.mail.transport == MailTransport::Smtp {
            crate::mail::smtp::endpoint(&self.mail.smtp)
                .map_err(|message| ConfigError::new("mail.smtp.url", message))?;
            require_positive("mail.smtp.timeout_secs", self.mail.smtp.timeout_secs)?;
            require_positive("mail.smtp.pool_size", u64::from(self.mail.smtp.pool_size))?;
        }
        self.mail
            .from
            .parse::<lettre::message::Mailbox>()
            .map_err(|error| ConfigError::new("mail.from", format!("not an address: {error}")))?;
        require_positive("auth.password_reset_ttl_secs", self.auth.password_reset_ttl_secs)?;
        require_positive("auth.email_verification_ttl_secs", self.auth.email_verification_ttl_secs)?;
        if self.jobs.retry_max_secs.saturating_mul(1000) < self.jobs.retry_base_ms {
            return Err(ConfigError::new("jobs.retry_max_secs", "must not be shorter than jobs.retry_base_ms"));
        }
        tracing_subscriber::EnvFilter::from_str(&self.log.level)
            .map_err(|error| ConfigError::new("log.level", format!("not a tracing filter: {error}")))?;
        Ok(())
    }

    pub fn engine(&self) -> Engine {
        Engine::of_url(&self.database_url).expect("validated at load")
    }

    pub fn uses_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

impl DatabaseSettings {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }
}

impl JobSettings {
    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs(self.heartbeat_secs)
    }
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

fn require_positive(key: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError::new(key, "must be greater than zero"));
    }
    Ok(())
}

/// Turns figment's error into one naming the full key and where the value came from.
fn figment_error(error: figment::Error) -> ConfigError {
    use figment::error::Kind;
    let mut path = error.path.clone();
    let field = match &error.kind {
        Kind::UnknownField(field, _) => Some(field.to_string()),
        Kind::MissingField(field) => Some(field.to_string()),
        _ => None,
    };
    // Depending on the provider, the path may or may not already end with the field.
    if let Some(field) = field
        && path.last() != Some(&field)
    {
        path.push(field);
    }
    let key = if path.is_empty() { "(root)".to_owned() } else { path.join(".") };
    let origin = match &error.metadata {
        Some(metadata) if metadata.name.contains("environment") => {
            format!(" (from environment variable {ENV_PREFIX}{})", key.to_uppercase().replace('.', "__"))
        }
        Some(metadata) => match &metadata.source {
            Some(source) => format!(" (from {} {source})", metadata.name),
            None => format!(" (from {})", metadata.name),
        },
        None => String::new(),
    };
    let message = match &error.kind {
        Kind::UnknownField(_, _) => "unknown key".to_owned(),
        other => other.to_string(),
    };
    ConfigError::new(key, format!("{message}{origin}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_use_sqlite() {
        let settings = Settings::defaults();
        assert_eq!(settings.engine(), Engine::Sqlite);
        assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.mode, Mode::Development);
    }

    #[test]
    fn engine_follows_the_url_scheme() {
        assert_eq!(Engine::of_url("sqlite://x.db").unwrap(), Engine::Sqlite);
        assert_eq!(Engine::of_url("postgres://u@h/db").unwrap(), Engine::Postgres);
        assert_eq!(Engine::of_url("postgresql://u@h/db").unwrap(), Engine::Postgres);
        let error = Engine::of_url("mysql://u@h/db").unwrap_err();
        assert_eq!(error.key, "database_url");
    }

    #[test]
    fn figment_unknown_key_is_named() {
        let figment = Figment::from(Toml::string(DEFAULTS_TOML)).merge(Toml::string("[http]\nbody_limt = 3\n"));
        let error = Settings::from_figment(figment).unwrap_err();
        assert_eq!(error.key, "http.body_limt");
        assert!(error.message.contains("unknown key"), "{error}");
    }

    #[test]
    fn malformed_value_is_named() {
        let figment = Figment::from(Toml::string(DEFAULTS_TOML)).merge(Toml::string("listen = \"nowhere\"\n"));
        let error = Settings::from_figment(figment).unwrap_err();
        assert_eq!(error.key, "listen");
    }

    #[test]
    fn production_requires_a_secret_key() {
        let figment = Figment::from(Toml::string(DEFAULTS_TOML)).merge(Toml::string("mode = \"production\"\n"));
        let error = Settings::from_figment(figment).unwrap_err();
        assert_eq!(error.key, "secret_key");
    }

    #[test]
    fn a_heartbeat_window_too_short_for_whole_second_timestamps_is_refused() {
        let figment = Figment::from(Toml::string(DEFAULTS_TOML)).merge(Toml::string("[jobs]\nmissed_heartbeats = 2\n"));
        let error = Settings::from_figment(figment).unwrap_err();
        assert_eq!(error.key, "jobs.missed_heartbeats");
    }

    #[test]
    fn zero_concurrency_is_refused() {
        let figment = Figment::from(Toml::string(DEFAULTS_TOML)).merge(Toml::string("[jobs]\nconcurrency = 0\n"));
        let error = Settings::from_figment(figment).unwrap_err();
        assert_eq!(error.key, "jobs.concurrency");
    }
}
