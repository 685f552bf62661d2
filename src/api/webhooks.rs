//! The webhook ingress: `POST /webhooks/{endpoint_id}`, where external systems
//! post signed deliveries (the gateway itself is `crate::webhooks`).

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::server::AppState;

/// Outside the API's body limit: each endpoint has its own.
pub fn ingress_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(crate::webhooks::ingress::receive))
}
