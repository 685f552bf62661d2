//! Rules every request's address is held to before any route sees it: the
//! decoded path and query carry no control characters ([`crate::core::text`]),
//! so a `%00` in a search term or a folder name is a clear 400, never a database
//! error on one engine and a stored value on the other.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::core::text::has_control_characters;
use crate::server::problem::{ApiError, ErrorCode};

pub async fn refuse_control_characters_in_address(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let path = percent_encoding::percent_decode_str(uri.path()).decode_utf8_lossy();
    let query_has_them = uri.query().is_some_and(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .any(|(name, value)| has_control_characters(&name) || has_control_characters(&value))
    });
    if has_control_characters(&path) || query_has_them {
        return ApiError::new(
            ErrorCode::BadRequest,
            "The address holds a control character; remove it from the path or query.",
        )
        .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn status_of(uri: &str) -> u16 {
        let app = Router::new()
            .route("/{*rest}", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn(refuse_control_characters_in_address));
        let response = app.oneshot(axum::http::Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
        response.status().as_u16()
    }

    #[tokio::test]
    async fn encoded_control_characters_in_path_or_query_are_refused() {
        assert_eq!(status_of("/records?q=abc%00def").await, 400);
        assert_eq!(status_of("/records?folder=a%1Fb").await, 400);
        assert_eq!(status_of("/records/%00").await, 400);
        assert_eq!(status_of("/records?q=%C2%85").await, 400, "a C1 control");
        assert_eq!(status_of("/records?q=caf%C3%A9+%E6%9D%B1").await, 200);
        assert_eq!(status_of("/records?q=%FF%FE").await, 200, "not UTF-8 is the route's to judge");
    }
}
