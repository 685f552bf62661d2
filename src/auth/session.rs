//! The session cookie: HttpOnly, SameSite=Lax, and on https deployments Secure
//! with the `__Host-` prefix (which browsers only accept from a secure origin, for
//! the whole host, with no Domain attribute).

use axum::http::HeaderMap;
use axum::http::header::{COOKIE, SET_COOKIE};
use cookie::{Cookie, SameSite};

use crate::config::Settings;

const PLAIN_NAME: &str = "portico_session";
const HOST_PREFIXED_NAME: &str = "__Host-portico_session";

pub fn cookie_name(settings: &Settings) -> &'static str {
    if settings.uses_https() { HOST_PREFIXED_NAME } else { PLAIN_NAME }
}

/// The session token a request carries in its cookie, if any.
pub fn token_from_headers(headers: &HeaderMap, settings: &Settings) -> Option<String> {
    let name = cookie_name(settings);
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

/// `Set-Cookie` for one of Portico's own cookies: HttpOnly, SameSite=Lax, the
/// whole site, Secure on https; `max_age` zero removes it.
pub fn own_cookie(settings: &Settings, name: &'static str, value: String, max_age: cookie::time::Duration) -> String {
    Cookie::build((name, value))
        .http_only(true)
        .secure(settings.uses_https())
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(max_age)
        .build()
        .to_string()
}

/// `Set-Cookie` for a new session token, living as long as the session may.
pub fn session_cookie(settings: &Settings, token: &str) -> String {
    let lifetime = cookie::time::Duration::seconds(settings.auth.session_absolute_timeout_secs as i64);
    own_cookie(settings, cookie_name(settings), token.to_owned(), lifetime)
}

/// `Set-Cookie` that removes the session cookie from the browser.
pub fn clearing_cookie(settings: &Settings) -> String {
    own_cookie(settings, cookie_name(settings), String::new(), cookie::time::Duration::ZERO)
}

/// After a privilege change (multi-factor sign-in turned on or off, a new
/// password), the session keeps going under a new token, so a copy of the old
/// cookie taken before the change is worthless. Returns the `Set-Cookie` to send,
/// or None for callers without a session (API tokens).
pub async fn rotate(
    state: &crate::server::AppState,
    caller: &crate::auth::Caller,
) -> Result<Option<String>, crate::store::StoreError> {
    let Some(session_id) = caller.session_id() else { return Ok(None) };
    let (token, token_hash) = crate::auth::tokens::generate_token();
    if !state.store.rotate_session_token(session_id, &token_hash).await? {
        return Ok(None);
    }
    Ok(Some(session_cookie(&state.settings, &token)))
}

pub fn set_cookie_header(headers: &mut HeaderMap, value: String) {
    headers.append(SET_COOKIE, value.parse().expect("cookie strings are valid header values"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_cookie_is_httponly_lax_and_not_secure() {
        let settings = Settings::defaults();
        let cookie = session_cookie(&settings, "abc");
        assert!(cookie.starts_with("portico_session=abc"), "{cookie}");
        assert!(cookie.contains("HttpOnly"));
        assert!(cookie.contains("SameSite=Lax"));
        assert!(cookie.contains("Path=/"));
        assert!(!cookie.contains("Secure"));
    }

    #[test]
    fn https_cookie_is_secure_and_host_prefixed() {
        let mut settings = Settings::defaults();
        settings.public_url = "https://portal.example.com".into();
        let cookie = session_cookie(&settings, "abc");
        assert!(cookie.starts_with("__Host-portico_session=abc"), "{cookie}");
        assert!(cookie.contains("Secure"));
        assert!(!cookie.contains("Domain"));
    }

    #[test]
    fn token_is_found_among_other_cookies() {
        let settings = Settings::defaults();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, "theme=dark; portico_session=tok123; other=1".parse().unwrap());
        assert_eq!(token_from_headers(&headers, &settings).as_deref(), Some("tok123"));
    }
}
