//! What the JSON API and the pages share, below both of them: the state every
//! handler reaches, problem+json errors, the extractors (JSON bodies with the
//! text rule, paging) and the guard on request addresses. Nothing here knows a
//! route: `auth`, `webhooks` and `events` import from here, never from a router.

pub mod form;
pub mod input;
pub mod json;
pub mod pagination;
pub mod problem;

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderName;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Settings;
use crate::core::crypto::SecretCipher;
use crate::jobs::JobQueue;
use crate::store::Store;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub queue: JobQueue,
    /// Seals and opens secrets at rest (connector credentials, signing secrets).
    pub cipher: SecretCipher,
    pub connectors: crate::sync::ConnectorHost,
    pub mailer: crate::mail::Mailer,
    /// For every call to another system: refuses internal addresses unless allowed.
    pub outbound: crate::core::outbound::OutboundClient,
    pub metrics: PrometheusHandle,
    /// Webhook ingress: endpoint cache and the inbox's group commit.
    pub webhooks: crate::webhooks::WebhookGateway,
    /// Record and access changes as they are written, for live updates.
    pub feed: crate::events::ChangeFeed,
    /// Sessions' and API tokens' last use, written in batches.
    pub usage: crate::auth::usage::UsageRecorder,
    /// What anonymous sign-in steps may cost: cached provider discovery and a
    /// per-address limit on starting single sign-on and asking for resets.
    pub anonymous: AnonymousLimits,
    /// DNS lookups proving an account holds an email domain.
    pub domain_proofs: crate::auth::domain_proof::DomainProofs,
}

/// Bounds on what a caller without a credential can make Portico do.
#[derive(Debug, Clone)]
pub struct AnonymousLimits {
    pub discovery: crate::auth::oidc::DiscoveryCache,
    pub sso_starts: crate::auth::rate::RateLimiter,
    /// Looking up which provider an email domain signs in with, per source address.
    pub sso_lookups: crate::auth::rate::RateLimiter,
    pub password_resets: crate::auth::rate::RateLimiter,
    /// Requests for mailed sign-in codes, per source address.
    pub sign_in_codes: crate::auth::rate::RateLimiter,
    /// Counting an address's recent codes and adding one happen one at a time.
    pub code_mails: Arc<tokio::sync::Mutex<()>>,
    /// Counting a mailbox's recent links and adding one happen one at a time
    /// (in this process), so bursts cannot slip past the per-address limit.
    pub reset_links: Arc<tokio::sync::Mutex<()>>,
}

impl Default for AnonymousLimits {
    fn default() -> Self {
        let minute = Duration::from_secs(60);
        Self {
            discovery: Default::default(),
            sso_starts: crate::auth::rate::RateLimiter::new(30, minute),
            sso_lookups: crate::auth::rate::RateLimiter::new(60, minute),
            password_resets: crate::auth::rate::RateLimiter::new(10, minute),
            sign_in_codes: crate::auth::rate::RateLimiter::new(10, minute),
            code_mails: Arc::default(),
            reset_links: Arc::default(),
        }
    }
}

/// A response body from a stream of chunks. Fused, because the layers a body
/// passes through (compression among them) may poll it again after its end, and
/// an `unfold` stream panics when they do: a gzip-accepting client then got a
/// cut-off body.
pub fn streamed_body<S, E>(chunks: S) -> axum::body::Body
where
    S: futures::Stream<Item = Result<axum::body::Bytes, E>> + Send + 'static,
    E: Into<axum::BoxError>,
{
    use futures::StreamExt;
    axum::body::Body::from_stream(chunks.fuse())
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::post;
    use tower::ServiceExt;

    use super::json::Json;
    use super::problem;

    async fn echo(Json(value): Json<serde_json::Value>) -> Json<serde_json::Value> {
        Json(value)
    }

    /// The JSON extractor's rejections, through the same error normalization the
    /// server uses. (No endpoint takes JSON yet; the server-level suite covers
    /// each one as it arrives.)
    async fn post_json(body: &'static str, content_type: &str) -> (u16, serde_json::Value) {
        let app =
            axum::Router::new().route("/echo", post(echo)).layer(axum::middleware::from_fn(problem::normalize_errors));
        let request = Request::post("/echo").header("content-type", content_type).body(Body::from(body)).unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        assert_eq!(response.headers()["content-type"], problem::PROBLEM_CONTENT_TYPE);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn malformed_json_is_a_400_problem() {
        let (status, body) = post_json("{\"a\": ", "application/json").await;
        assert_eq!(status, 400);
        assert_eq!(body["code"], "malformed_json");
        assert_eq!(body["instance"], "/echo");
    }

    #[tokio::test]
    async fn wrong_content_type_is_a_415_problem() {
        let (status, body) = post_json("{}", "text/plain").await;
        assert_eq!(status, 415);
        assert_eq!(body["code"], "unsupported_media_type");
    }
}
