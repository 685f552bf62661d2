//! The page of a notification mail's unsubscribe link: what it stops, and a
//! button that stops it. A mail provider's one-click POST (RFC 8058) reaches the
//! same address and does the same, without a page. Nobody signs in: the link's
//! sealed token names the person and the kind ([`crate::notifications::unsubscribe`]).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::page::{self, Page};
use crate::notifications::unsubscribe;
use crate::server::AppState;
use crate::server::problem::{ApiError, ErrorCode};

#[derive(Debug, Deserialize)]
pub struct UnsubscribeQuery {
    #[serde(default)]
    token: String,
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    page: Page,
    /// The kind, in words ("invoices").
    kind: String,
    token: String,
    done: bool,
}

fn link(state: &AppState, query: &UnsubscribeQuery) -> Result<unsubscribe::Unsubscribe, ApiError> {
    unsubscribe::open(&state.cipher, &query.token).ok_or_else(|| ApiError::from_code(ErrorCode::NotFound))
}

fn render(state: &AppState, headers: &HeaderMap, kind: &str, token: String, done: bool) -> Result<Response, ApiError> {
    let page = Page::anonymous(state, headers, "unsubscribe");
    let kind = page.t(&format!("unsubscribe-kind-{kind}"));
    page::ok(&UnsubscribePage { page, kind, token, done })
}

/// What the link stops, and the button (a link scanner's GET changes nothing).
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<UnsubscribeQuery>,
) -> Result<Response, ApiError> {
    let unsubscribe = link(&state, &query)?;
    render(&state, &headers, &unsubscribe.kind, query.token, false)
}

/// Stops the mail: from the page's button, or the provider's one-click POST
/// (its body, `List-Unsubscribe=One-Click`, needs no reading).
pub async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<UnsubscribeQuery>,
) -> Result<Response, ApiError> {
    let unsubscribe = link(&state, &query)?;
    if !unsubscribe::apply(&state.store, &unsubscribe).await? {
        return Err(ApiError::from_code(ErrorCode::NotFound));
    }
    render(&state, &headers, &unsubscribe.kind, String::new(), true)
}
