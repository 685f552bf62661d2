//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use std::sync::Arc;

use axum::Extension;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::json::Json;
use super::problem::{ErrorCode, FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(title = "Portico", description = "Integration-sync gateway and customer portal."),
    components(schemas(Problem, ErrorCode, FieldError)),
    modifiers(&CallerCredentials),
    tags(
        (name = "operations", description = "Health, readiness, metrics and this document"),
        (name = "auth", description = "Sign-in, sessions, and the signed-in user"),
        (name = "accounts", description = "Customer accounts, members and invitations"),
        (name = "audit", description = "The tamper-evident audit log"),
    )
)]
pub struct ApiDoc;

/// Declares how callers authenticate: the session cookie browsers get from
/// `POST /api/v1/auth/login`, or an API token as a bearer credential. Which
/// permission each operation needs is in its description.
struct CallerCredentials;

impl Modify for CallerCredentials {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut cookie = ApiKeyValue::new("portico_session");
        cookie.description = Some(
            "Session cookie set by sign-in (`__Host-portico_session` on https). Writes also need a same-origin \
             `Origin` or `Sec-Fetch-Site`."
                .into(),
        );
        components.add_security_scheme("session_cookie", SecurityScheme::ApiKey(ApiKey::Cookie(cookie)));
        components.add_security_scheme("api_token", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", extensions(("x-permission" = json!("public"))), tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json(
    Extension(document): Extension<Arc<utoipa::openapi::OpenApi>>,
) -> Json<Arc<utoipa::openapi::OpenApi>> {
    Json(document)
}
