//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use std::sync::Arc;

use axum::Extension;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::json::Json;
use super::problem::{ErrorCode, FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(title = "Portico", description = "Integration-sync gateway and customer portal."),
    components(schemas(Problem, ErrorCode, FieldError)),
    tags(
        (name = "operations", description = "Health, readiness, metrics and this document"),
        (name = "auth", description = "Sign-in, sessions, and the signed-in user"),
        (name = "accounts", description = "Customer accounts, members and invitations"),
        (name = "audit", description = "The tamper-evident audit log"),
    )
)]
pub struct ApiDoc;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json(
    Extension(document): Extension<Arc<utoipa::openapi::OpenApi>>,
) -> Json<Arc<utoipa::openapi::OpenApi>> {
    Json(document)
}
