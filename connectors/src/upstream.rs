//! The HTTP client connectors call upstreams with: the SSRF-safe outbound client,
//! the instance's rate budget, and one classification of failures for every
//! connector (so retry behaviour cannot differ between them).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use url::Url;

use crate::budget::RateBudget;
use crate::error::ConnectorError;
use crate::outbound::{OutboundClient, OutboundError};

/// Longest stretch of an upstream error body quoted in an error message.
const ERROR_EXCERPT: usize = 300;

#[derive(Debug, Clone)]
pub struct Upstream {
    client: OutboundClient,
    budget: Arc<RateBudget>,
    /// Each request's own limit, below the client's: a stalled connection is
    /// given up (and retried) after this, not after the client's whole timeout.
    request_timeout: Option<Duration>,
}

impl Upstream {
    pub fn new(client: OutboundClient, budget: Arc<RateBudget>) -> Self {
        Self { client, budget, request_timeout: None }
    }

    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    pub fn client(&self) -> &OutboundClient {
        &self.client
    }

    pub fn budget(&self) -> &Arc<RateBudget> {
        &self.budget
    }

    /// A request to finish building; refused at once for internal addresses.
    pub fn request(&self, method: Method, url: &Url) -> Result<RequestBuilder, ConnectorError> {
        let request = self.client.request(method, url).map_err(outbound_error)?;
        Ok(match self.request_timeout {
            Some(timeout) => request.timeout(timeout),
            None => request,
        })
    }

    /// Sends after the rate budget allows it; any non-2xx answer becomes a
    /// classified error (a 429 also holds the whole budget for its Retry-After).
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, ConnectorError> {
        self.budget.acquire().await;
        let response = request.send().await.map_err(transport_error)?;
        self.success(response).await
    }

    /// Sends like [`Upstream::send`], but a 404 or 410 answer (it is gone) is `None`.
    pub async fn fetch(&self, request: RequestBuilder) -> Result<Option<Response>, ConnectorError> {
        self.budget.acquire().await;
        let response = request.send().await.map_err(transport_error)?;
        if matches!(response.status(), StatusCode::NOT_FOUND | StatusCode::GONE) {
            return Ok(None);
        }
        self.success(response).await.map(Some)
    }

    /// The response if it is a 2xx; else its classified error.
    async fn success(&self, response: Response) -> Result<Response, ConnectorError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = retry_after(response.headers());
        if status == StatusCode::TOO_MANY_REQUESTS {
            // Without a Retry-After, still pause the quota briefly rather than hammer it.
            self.budget.block_for(retry_after.unwrap_or(Duration::from_secs(1)));
        }
        let body = response.text().await.unwrap_or_default();
        Err(classify_status(status, retry_after, &body))
    }

    /// Reads one object: `None` when the upstream answers 404 or 410 (it is gone).
    pub async fn fetch_json<T: serde::de::DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<Option<T>, ConnectorError> {
        let Some(response) = self.fetch(request).await? else { return Ok(None) };
        let bytes = response.bytes().await.map_err(transport_error)?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|error| ConnectorError::permanent(format!("upstream answered with unexpected JSON: {error}")))
    }

    /// Sends and parses a JSON body.
    pub async fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<T, ConnectorError> {
        let response = self.send(request).await?;
        let bytes = response.bytes().await.map_err(transport_error)?;
        serde_json::from_slice(&bytes)
            .map_err(|error| ConnectorError::permanent(format!("upstream answered with unexpected JSON: {error}")))
    }
}

/// What a non-2xx status means for retrying.
pub fn classify_status(status: StatusCode, retry_after: Option<Duration>, body: &str) -> ConnectorError {
    let excerpt: String = body.chars().take(ERROR_EXCERPT).collect();
    let message = format!("upstream answered {status}: {excerpt}");
    match status {
        StatusCode::TOO_MANY_REQUESTS => ConnectorError::rate_limited(retry_after, message),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ConnectorError::unauthorized(message),
        StatusCode::REQUEST_TIMEOUT | StatusCode::CONFLICT => ConnectorError::retryable(message),
        status if status.is_server_error() => {
            let mut error = ConnectorError::retryable(message);
            error.retry_after = retry_after;
            error
        }
        _ => ConnectorError::permanent(message),
    }
}

/// Timeouts, refused and reset connections, and cut-off bodies are transient.
pub fn transport_error(error: reqwest::Error) -> ConnectorError {
    let is_builder = error.is_builder();
    // A refused internal address comes back as a resolver error inside a connect error.
    let mut refused_address = false;
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        refused_address |= cause.to_string().contains("not a public address");
        source = cause.source();
    }
    let message = if error.is_timeout() {
        // reqwest's own words ("error sending request") hide that it timed out.
        "upstream request timed out (the connector's request_timeout_secs, or the outbound timeout)".to_owned()
    } else {
        format!("upstream request failed: {}", error.without_url())
    };
    if is_builder || refused_address {
        return ConnectorError::permanent(message);
    }
    ConnectorError::retryable(message)
}

fn outbound_error(error: OutboundError) -> ConnectorError {
    match error {
        OutboundError::Request(error) => transport_error(error),
        other => ConnectorError::permanent(other.to_string()),
    }
}

/// Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = SystemTime::now() + Duration::from_secs(120);
        headers.insert(RETRY_AFTER, httpdate::fmt_http_date(later).parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(110) && wait <= Duration::from_secs(120), "{wait:?}");
        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn statuses_are_classified() {
        use crate::error::ErrorClass::*;
        let class = |status: u16| classify_status(StatusCode::from_u16(status).unwrap(), None, "").class;
        assert_eq!(class(429), RateLimited);
        assert_eq!(class(500), Retryable);
        assert_eq!(class(503), Retryable);
        assert_eq!(class(408), Retryable);
        assert_eq!(class(401), Unauthorized);
        assert_eq!(class(403), Unauthorized);
        assert_eq!(class(400), Permanent);
        assert_eq!(class(404), Permanent);
    }
}
