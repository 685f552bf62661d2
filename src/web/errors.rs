//! The API's answers as pages: handlers and extractors fail with the same
//! problem (+json) as the JSON API, and this turns it into HTML with the same
//! status: 404 for another account's ids, 403 for a section the role does not
//! include. Not signed in (401) sends the person to the sign-in page, to come
//! back afterwards.

use askama::Template;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::i18n::{Lang, message};
use crate::server::problem::PROBLEM_CONTENT_TYPE;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    lang: &'static str,
    title: String,
    body: String,
    home: String,
    status: u16,
    css: String,
}

/// Where to come back to after signing in: a path on this site only.
pub fn safe_next(next: &str) -> Option<&str> {
    (next.starts_with('/') && !next.starts_with("//") && !next.contains('\\')).then_some(next)
}

pub async fn html_errors(request: Request, next: Next) -> Response {
    let accept = request.headers().get(header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let lang = Lang::from_locale(accept);
    let method = request.method().clone();
    let path_and_query = request.uri().path_and_query().map(|pq| pq.as_str().to_owned()).unwrap_or_default();
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(PROBLEM_CONTENT_TYPE.as_bytes()));
    if !is_problem {
        return response;
    }
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED {
        let back = if method == Method::GET { safe_next(&path_and_query) } else { None };
        let target = match back {
            Some(back) => format!(
                "/sign-in?next={}",
                percent_encoding::utf8_percent_encode(back, percent_encoding::NON_ALPHANUMERIC)
            ),
            None => "/sign-in".to_owned(),
        };
        return Redirect::to(&target).into_response();
    }
    error_page(lang, status, response.headers().get(header::RETRY_AFTER).cloned())
}

pub fn error_page(lang: Lang, status: StatusCode, retry_after: Option<HeaderValue>) -> Response {
    let kind = match status.as_u16() {
        403 => "403",
        404 => "404",
        _ => "other",
    };
    let page = ErrorPage {
        lang: lang.code(),
        title: message(lang, &format!("error-title-{kind}"), &[]),
        body: message(lang, &format!("error-body-{kind}"), &[]),
        home: message(lang, "error-home", &[]),
        status: status.as_u16(),
        css: super::assets::path("app.css"),
    };
    let html = page.render().unwrap_or_else(|_| "<!doctype html><title>Error</title>".to_owned());
    let mut response =
        (status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], Body::from(html))
            .into_response();
    if let Some(retry_after) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, retry_after);
    }
    response
}
