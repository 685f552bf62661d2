//! Accepting an invitation in the browser: the link in the mail carries its
//! token after `#`, which browsers never send to a server (so it stays out of
//! logs and referrers); the page's script puts it in the form, and without
//! script the person pastes it. Name and password, then straight into the
//! account: the API's own `accept_invitation`.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::page::{self, Page};
use super::records::FormProblem;
use crate::api::portal::invitations::{
    AcceptInvitation, AcceptInvitationAsMe, accept_invitation, accept_invitation_as_me,
};
use crate::auth::{Caller, ClientInfo};
use crate::core::password::MIN_PASSWORD_CHARS;
use crate::server::AppState;
use crate::server::form::Form;
use crate::server::json::Json;
use crate::server::problem::{ApiError, ErrorCode};

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    page: Page,
    token: String,
    display_name: String,
    min_password: usize,
    problem: FormProblem,
}

#[derive(Template)]
#[template(path = "invitation_join.html")]
struct JoinPage {
    page: Page,
    email: String,
    token: String,
    problem: FormProblem,
}

pub async fn form(
    State(state): State<AppState>,
    caller: Option<Caller>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // Someone signed in joins as themselves: no new name or password.
    if let Some(caller) = caller {
        let page = Page::for_caller(&state, &caller, "invitation").await?;
        return page::ok(&JoinPage {
            page,
            email: caller.email,
            token: String::new(),
            problem: FormProblem::default(),
        });
    }
    let page = Page::anonymous(&state, &headers, "invitation");
    page::ok(&InvitationPage {
        page,
        token: String::new(),
        display_name: String::new(),
        min_password: MIN_PASSWORD_CHARS,
        problem: FormProblem::default(),
    })
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
}

pub async fn accept(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<AcceptForm>,
) -> Result<Response, ApiError> {
    let page = Page::anonymous(&state, &headers, "invitation");
    let request = AcceptInvitation {
        token: form.token.trim().to_owned(),
        password: SecretString::from(form.password),
        display_name: form.display_name.clone(),
    };
    let refused = |problem: FormProblem, status: StatusCode, page: Page| {
        let again = InvitationPage {
            page,
            token: form.token.clone(),
            display_name: form.display_name.clone(),
            min_password: MIN_PASSWORD_CHARS,
            problem,
        };
        page::render(status, &again)
    };
    match accept_invitation(State(state), client, Json(request)).await {
        Ok(response) => {
            // The API's answer signed the person in: its cookie goes along.
            let cookie = response.headers().get(header::SET_COOKIE).cloned();
            let body = axum::body::to_bytes(response.into_body(), 64 * 1024).await.map_err(ApiError::internal)?;
            let accepted: serde_json::Value = serde_json::from_slice(&body).map_err(ApiError::internal)?;
            let target = match accepted["account_id"].as_str() {
                Some(account_id) => format!("/accounts/{account_id}"),
                None => "/".to_owned(),
            };
            let mut redirect = Redirect::to(&target).into_response();
            if let Some(cookie) = cookie {
                redirect.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            Ok(redirect)
        }
        Err(error) if error.code() == ErrorCode::NotFound => {
            let problem = FormProblem { summary: Some(page.t("invitation-unknown")), ..Default::default() };
            refused(problem, StatusCode::NOT_FOUND, page)
        }
        Err(error) if error.code() == ErrorCode::Conflict => {
            let problem = FormProblem { summary: Some(page.t("invitation-existing-user")), ..Default::default() };
            refused(problem, StatusCode::CONFLICT, page)
        }
        Err(error) => refused(FormProblem::from_error(error)?, StatusCode::UNPROCESSABLE_ENTITY, page),
    }
}

#[derive(Deserialize)]
pub struct JoinForm {
    #[serde(default)]
    token: String,
}

/// Joining the invited account as the person signed in (the invitation must be
/// for their address): the API's own `accept_invitation_as_me`.
pub async fn join(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<JoinForm>,
) -> Result<Response, ApiError> {
    let request = AcceptInvitationAsMe { token: form.token.trim().to_owned() };
    match accept_invitation_as_me(State(state.clone()), caller.clone(), Json(request)).await {
        Ok(Json(accepted)) => {
            let target = accepted.account_id.map(|id| format!("/accounts/{id}")).unwrap_or_else(|| "/".to_owned());
            Ok(Redirect::to(&target).into_response())
        }
        Err(error) => {
            let page = Page::for_caller(&state, &caller, "invitation").await?;
            let (status, key) = match error.code() {
                ErrorCode::NotFound => (StatusCode::NOT_FOUND, "invitation-not-yours"),
                ErrorCode::Conflict => (StatusCode::CONFLICT, "invitation-already-member"),
                _ => return Err(error),
            };
            let problem = FormProblem { summary: Some(page.t(key)), ..Default::default() };
            page::render(status, &JoinPage { page, email: caller.email, token: form.token, problem })
        }
    }
}
