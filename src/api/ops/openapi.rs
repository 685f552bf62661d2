//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use std::sync::Arc;

use axum::Extension;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::server::AppState;
use crate::server::json::Json;
use crate::server::problem::{ErrorCode, FieldError, Problem};

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

/// Documents on every operation the answers the shared layers give, whichever
/// handler runs: a control character in the address or an unreadable id (400),
/// no or another's credential (401, 403: a cross-site write with a cookie is 403
/// too), an unknown id in the path (404), a request too slow (408), and for a
/// body: too large (413), of another type (415), not valid for the operation
/// (422). Each handler's own annotations say what is particular to it.
pub fn document_shared_answers(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::response::ResponseBuilder;
    use utoipa::openapi::{Content, Ref, RefOr, Response};
    let problem = |description: &str| -> RefOr<Response> {
        let content = Content::new(Some(Ref::from_schema_name("Problem")));
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(crate::server::problem::PROBLEM_CONTENT_TYPE, content)
                .build(),
        )
    };
    for (path, item) in document.paths.paths.iter_mut() {
        let in_path = path.contains('{');
        let operations = [
            (false, &mut item.get),
            (false, &mut item.head),
            (true, &mut item.post),
            (true, &mut item.put),
            (true, &mut item.patch),
            (true, &mut item.delete),
        ];
        for (writes, operation) in operations {
            let Some(operation) = operation.as_mut() else { continue };
            let permission = operation
                .extensions
                .as_ref()
                .and_then(|extensions| serde_json::to_value(extensions).ok())
                .and_then(|value| value.get("x-permission").and_then(|p| p.as_str()).map(str::to_owned))
                .unwrap_or_default();
            let public = permission.starts_with("public");
            let body_types: Vec<String> = operation
                .request_body
                .as_ref()
                .map(|body| match body {
                    RefOr::T(body) => body.content.keys().cloned().collect(),
                    RefOr::Ref(_) => vec!["application/json".to_owned()],
                })
                .unwrap_or_default();
            let mut shared = vec![
                ("400", "The address holds a control character, or a value in it cannot be read"),
                ("408", "The request took too long"),
            ];
            if !public {
                shared.push(("401", "Not signed in, or the credential is no longer valid"));
                shared.push(("403", "Not allowed for this credential"));
            } else if writes {
                shared.push(("403", "A write from another site with a session cookie"));
            }
            if in_path {
                shared.push(("404", "Nothing of this caller's at this address"));
            }
            if !body_types.is_empty() {
                shared.push(("413", "The body is larger than allowed"));
                shared.push(("415", "The body's type is not one this operation takes"));
            }
            let has_query = operation.parameters.iter().flatten().any(|parameter| match parameter {
                RefOr::T(parameter) => parameter.parameter_in == utoipa::openapi::path::ParameterIn::Query,
                RefOr::Ref(_) => false,
            });
            if has_query || body_types.iter().any(|content_type| content_type.contains("json")) {
                shared.push(("422", "A query value or the body is not valid for this operation (the fields say why)"));
            }
            for (status, description) in shared {
                operation.responses.responses.entry(status.to_owned()).or_insert_with(|| problem(description));
            }
        }
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
