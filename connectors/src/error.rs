//! How a connector says what went wrong, so the engine knows whether to retry,
//! wait, or stop.

use std::time::Duration;

/// What the engine should do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Transient: 5xx, timeouts, connection resets. Retry with backoff.
    Retryable,
    /// The upstream asked us to slow down (429, or a rate-limit header). Retry no
    /// sooner than `retry_after`.
    RateLimited,
    /// Credentials refused (401/403). Retrying will not help until an admin acts.
    Unauthorized,
    /// Anything else: bad settings, a 4xx, a payload that does not map.
    Permanent,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ConnectorError {
    pub class: ErrorClass,
    /// How long the upstream asked us to wait, when it said.
    pub retry_after: Option<Duration>,
    /// Safe to log and show admins: never contains credentials.
    pub message: String,
}

impl ConnectorError {
    pub fn retryable(message: impl Into<String>) -> Self {
        Self { class: ErrorClass::Retryable, retry_after: None, message: message.into() }
    }

    pub fn rate_limited(retry_after: Option<Duration>, message: impl Into<String>) -> Self {
        Self { class: ErrorClass::RateLimited, retry_after, message: message.into() }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self { class: ErrorClass::Unauthorized, retry_after: None, message: message.into() }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self { class: ErrorClass::Permanent, retry_after: None, message: message.into() }
    }

    /// Worth trying again (after `retry_after`, or a backoff).
    pub fn is_retryable(&self) -> bool {
        matches!(self.class, ErrorClass::Retryable | ErrorClass::RateLimited)
    }
}
