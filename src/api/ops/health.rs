//! Liveness and readiness, for load balancers and orchestrators.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode, FieldError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    /// Each dependency checked, and `ok`.
    pub checks: Vec<ReadinessCheck>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessCheck {
    pub name: &'static str,
    pub status: &'static str,
}

/// The process is alive. Checks nothing else, so a slow database never gets a
/// healthy process restarted.
#[utoipa::path(get, path = "/healthz", extensions(("x-permission" = json!("public"))), tag = "operations",
    responses((status = 200, description = "The process is alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok", version: env!("CARGO_PKG_VERSION") })
}

/// The database and the job queue answer; 503 (problem+json naming the failing
/// checks) otherwise, so traffic is held back until they do.
#[utoipa::path(get, path = "/readyz", extensions(("x-permission" = json!("public"))), tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "A dependency is unreachable", body = crate::server::problem::Problem,
            content_type = "application/problem+json"),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let (database, queue) = tokio::join!(state.store.ping(), state.queue.ping());
    let mut failures = Vec::new();
    if let Err(error) = database {
        tracing::warn!(error = %crate::server::problem::error_chain(&error), "readiness: database unreachable");
        failures.push(FieldError { field: "database".into(), message: "unreachable".into() });
    }
    if let Err(error) = queue {
        tracing::warn!(error = %crate::server::problem::error_chain(&error), "readiness: job queue unreachable");
        failures.push(FieldError { field: "queue".into(), message: "unreachable".into() });
    }
    if failures.is_empty() {
        let checks =
            vec![ReadinessCheck { name: "database", status: "ok" }, ReadinessCheck { name: "queue", status: "ok" }];
        return (StatusCode::OK, Json(Readiness { status: "ok", checks })).into_response();
    }
    let mut error = ApiError::new(ErrorCode::NotReady, "A dependency of the service is unreachable.");
    error.set_field_errors(failures);
    error.into_response()
}
