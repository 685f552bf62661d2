//! `GET /metrics` in the Prometheus text format, and the middleware that times
//! every request by route template (never by raw path, which would explode the
//! label set with ids).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::jobs::QUEUES;
use crate::server::AppState;
use crate::telemetry::{record_http_request, record_queue_depths};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// Prometheus metrics: request durations by route and status, jobs by queue and
/// outcome, queue depth.
#[utoipa::path(get, path = "/metrics", extensions(("x-permission" = json!("public, or the metrics bearer token when http.metrics_token is set"))), tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", body = String,
        content_type = "text/plain; version=0.0.4")))]
pub async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(expected) = &state.settings.http.metrics_token
        && !bearer_matches(&headers, expected)
    {
        return crate::server::problem::ApiError::from_code(crate::server::problem::ErrorCode::Unauthenticated)
            .into_response();
    }
    match state.queue.depth().await {
        Ok(depths) => record_queue_depths(QUEUES, &depths),
        // Still serve the other metrics; a stale depth beats no metrics at all.
        Err(error) => {
            tracing::warn!(error = %crate::server::problem::error_chain(&error), "could not read queue depth")
        }
    }
    let mut response = state.metrics.render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

pub async fn time_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    record_http_request(&method, &route, response.status().as_u16(), started.elapsed());
    response
}

/// Constant-time comparison of the request's bearer token with the configured one.
fn bearer_matches(headers: &axum::http::HeaderMap, expected: &secrecy::SecretString) -> bool {
    use secrecy::ExposeSecret;
    use subtle::ConstantTimeEq;
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    let expected = expected.expose_secret().as_bytes();
    presented.len() == expected.len() && bool::from(presented.as_bytes().ct_eq(expected))
}
