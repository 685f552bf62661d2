//! Cross-site request forgery protection for cookie-authenticated writes.
//!
//! Browsers attach the session cookie to cross-site requests; they also say where
//! a request comes from (`Sec-Fetch-Site`, `Origin`), and scripts cannot forge
//! either. An unsafe request carrying the session cookie must come from our own
//! origin by one of those headers, or it is refused. Requests without the cookie
//! (API clients with bearer tokens) are not at risk and pass, except that a
//! browser-declared cross-site write is refused everywhere, which also stops
//! login CSRF.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::session::token_from_headers;
use crate::config::Settings;
use crate::server::AppState;
use crate::server::problem::{ApiError, ErrorCode};

pub async fn reject_cross_site_writes(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if is_safe(request.method()) {
        return next.run(request).await;
    }
    match verdict(request.headers(), &state.settings) {
        Ok(()) => next.run(request).await,
        Err(reason) => {
            tracing::warn!(reason, path = %request.uri().path(), "refused a cross-site write");
            ApiError::new(ErrorCode::Forbidden, format!("Cross-site request refused: {reason}.")).into_response()
        }
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn verdict(headers: &HeaderMap, settings: &Settings) -> Result<(), &'static str> {
    let fetch_site = headers.get("sec-fetch-site").and_then(|value| value.to_str().ok());
    if fetch_site == Some("cross-site") {
        return Err("the browser reports a cross-site request");
    }
    if token_from_headers(headers, settings).is_none() {
        return Ok(());
    }
    if matches!(fetch_site, Some("same-origin" | "none")) {
        return Ok(());
    }
    match headers.get("origin").and_then(|value| value.to_str().ok()) {
        Some(origin) if origin == public_origin(settings) => Ok(()),
        Some(_) => Err("the Origin is not this service"),
        None => Err("a cookie-authenticated write must carry Origin or Sec-Fetch-Site"),
    }
}

/// `scheme://host[:port]` of the public URL, as browsers send it in `Origin`.
fn public_origin(settings: &Settings) -> String {
    url::Url::parse(&settings.public_url).map(|url| url.origin().ascii_serialization()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn cookie_writes_need_our_origin() {
        let mut settings = Settings::defaults();
        settings.public_url = "https://portal.example.com/".into();
        let cookie = ("cookie", "__Host-portico_session=t");
        assert!(verdict(&headers(&[cookie]), &settings).is_err());
        assert!(verdict(&headers(&[cookie, ("origin", "https://evil.example")]), &settings).is_err());
        assert!(verdict(&headers(&[cookie, ("origin", "https://portal.example.com")]), &settings).is_ok());
        assert!(verdict(&headers(&[cookie, ("sec-fetch-site", "same-origin")]), &settings).is_ok());
        assert!(verdict(&headers(&[cookie, ("sec-fetch-site", "same-site")]), &settings).is_err());
    }

    #[test]
    fn writes_without_the_cookie_pass_unless_declared_cross_site() {
        let settings = Settings::defaults();
        assert!(verdict(&headers(&[]), &settings).is_ok());
        assert!(verdict(&headers(&[("sec-fetch-site", "cross-site")]), &settings).is_err());
    }
}
