//! Security headers on every page and asset: no inline script or style runs
//! (`script-src 'self'`, `style-src 'self'`), nothing frames the portal, the
//! browser sniffs no types and sends no referrer off the site, and features a
//! portal never needs are off.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' https: data:; connect-src 'self'; font-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: &'static str, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    // A response with a policy of its own (a document's sandboxed preview) keeps it.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(headers, "content-security-policy", CONTENT_SECURITY_POLICY);
        set(headers, "x-frame-options", "DENY");
    }
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "same-origin");
    set(headers, "permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
    set(headers, "cross-origin-opener-policy", "same-origin");
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Pages hold a person's data: never kept by a shared cache.
        set(headers, "cache-control", "private, no-cache");
    }
    response
}
