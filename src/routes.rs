//! The whole HTTP surface under one middleware stack: the JSON API (`api/`), the
//! webhook ingress and the pages (`web/`).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::middleware;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::api;
use crate::server::{AppState, REQUEST_ID_HEADER, input, problem};
use crate::web::i18n::Lang;

/// The complete application: routes, fallback and the middleware stack.
///
/// Layers listed last run first. From the outside in: a request id is assigned,
/// a tracing span opened, the id echoed on the response, the response compressed,
/// errors normalized to problem+json, panics caught, slow requests cut off, large
/// bodies refused, and finally each request timed by route.
pub fn router(state: AppState) -> Router {
    let (routes, ingress, document) = api::api_routes();
    let http = &state.settings.http;
    routes
        .layer(DefaultBodyLimit::max(http.body_limit_bytes))
        .layer(RequestBodyLimitLayer::new(http.body_limit_bytes))
        .merge(ingress)
        .merge(crate::web::router())
        .fallback(not_found)
        .layer(middleware::from_fn(api::ops::metrics::time_requests))
        .layer(axum::Extension(Arc::new(document)))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(http.request_timeout_secs),
        ))
        .layer(middleware::from_fn_with_state(state.clone(), crate::auth::csrf::reject_cross_site_writes))
        .layer(middleware::from_fn(input::refuse_control_characters_in_address))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn(problem::normalize_errors))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID_HEADER))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let request_id = request
                        .headers()
                        .get(REQUEST_ID_HEADER)
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!("http", method = %request.method(), path = %request.uri().path(), request_id)
                })
                // One line per response at INFO, with status and latency.
                .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Millis)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID_HEADER, MakeRequestUuid))
        .with_state(state)
}

/// Nothing here: a page for a browser asking for one outside the API, a problem
/// for everyone else.
async fn not_found(request: axum::extract::Request) -> axum::response::Response {
    let path = request.uri().path();
    let wants_page = request
        .headers()
        .get(axum::http::header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if path.starts_with("/api/") || path.starts_with("/webhooks/") || !wants_page {
        return axum::response::IntoResponse::into_response(problem::route_not_found().await);
    }
    let accept = request.headers().get(axum::http::header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok());
    crate::web::errors::error_page(Lang::from_locale(accept.unwrap_or("")), StatusCode::NOT_FOUND, None)
}
