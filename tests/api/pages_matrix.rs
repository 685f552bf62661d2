//! Runs `pages_matrix.txt` over HTTP: every (caller, method, path) row of the
//! pages must answer the expected status as an HTML page, every route of
//! `src/web/mod.rs` must have a row, and a page answers each caller as the API
//! route it mirrors does (one rule, two renderings).

use std::collections::BTreeSet;

use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};

use crate::authorization::{World, build_world, concrete_path};
use crate::helpers::{Session, TestApp, session_cookie_from, spawn_app};

const MATRIX: &str = include_str!("pages_matrix.txt");
const WEB_ROUTES: &str = include_str!("../../src/web/mod.rs");

struct Row {
    line: usize,
    caller: String,
    method: Method,
    path: String,
    expected: u16,
}

fn parse_matrix() -> Vec<Row> {
    MATRIX
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .map(|(index, line)| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields.len(), 4, "line {}: caller method path status", index + 1);
            Row {
                line: index + 1,
                caller: fields[0].to_owned(),
                method: fields[1].parse().unwrap(),
                path: fields[2].to_owned(),
                expected: fields[3].parse().unwrap(),
            }
        })
        .collect()
}

/// A path with every placeholder (and a deliberately malformed id) as `{}`.
fn shape_of(path: &str) -> String {
    path.split('/')
        .map(|segment| if segment.starts_with('{') || segment == "not-an-id" { "{}" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

/// (method, path shape) of every route the web router declares.
fn declared_routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for line in WEB_ROUTES.lines().map(str::trim).filter(|line| line.starts_with(".route(\"")) {
        let path = line.trim_start_matches(".route(\"").split('"').next().unwrap();
        for method in ["get", "post"] {
            if line.contains(&format!("{method}(")) {
                routes.insert((method.to_uppercase(), shape_of(path)));
            }
        }
    }
    assert!(routes.len() > 10, "the route list in src/web/mod.rs was read: {routes:?}");
    routes
}

/// A form body a person would send to the route, so that a refusal comes from the
/// access rules and not from missing input.
fn form_for(shape: &str) -> Option<&'static str> {
    Some(match shape {
        "/sign-in" => "email=nobody%40example.com&password=wrong-password-here",
        "/forgot-password" | "/sign-in/code" => "email=nobody%40example.com",
        "/sign-in/code/check" => "email=nobody%40example.com&code=12345678",
        "/reset-password" => "token=not-a-token&new_password=a-long-new-passphrase-here",
        "/verify-email" | "/confirm-email-change" => "token=not-a-token",
        "/invitations/accept" => "token=not-a-token&display_name=Matrix&password=correct-horse-battery-staple",
        "/invitations/join" => "token=not-a-token",
        "/accounts/{}/tickets" => "subject=Matrix&body=From+the+matrix",
        "/accounts/{}/tickets/{}/comments" => "body=From+the+matrix",
        "/accounts/{}/team/invitations" => "email=matrix-invitee%40example.com&role=member",
        "/accounts/{}/team/members/{}/role" => "role=viewer",
        "/accounts/{}/settings" => "email_codes=allowed",
        "/accounts/{}/tasks/{}/decision" => "decision=approve&comment=From+the+matrix",
        "/accounts/{}/settings/sso" => "issuer=&client_id=&client_secret=&default_role=&email_domains=",
        "/welcome" => "next=%2F",
        "/profile" => "display_name=Matrix+Person&locale=de&time_zone=Europe%2FZurich&invoices=on",
        "/profile/confirm" => "confirm_password=not-my-password",
        "/profile/password" => "current_password=not-my-password&new_password=a-long-new-passphrase-here",
        "/profile/mfa/confirm" | "/profile/mfa/disable" => "code=000000",
        "/profile/tokens" => "name=Matrix&account_id=&expires_in_days=30",
        "/console/connectors" => "kind=rest&name=Matrix&settings.manifest=",
        "/console/connectors/{}" => "name=Matrix",
        "/console/connectors/{}/sync" => "stream=projects&mode=full",
        "/console/connectors/{}/mapping" => "account_ref=matrix&account_id=",
        "/console/accounts" => "name=Matrix&slug=Not+a+slug",
        "/console/connectors/{}/webhooks" => "name=Matrix&scheme=stripe&secret=matrix-secret",
        "/console/webhooks/{}" => "name=Matrix&tolerance_secs=300&body_limit_bytes=1000",
        "/console/webhooks/{}/secrets" => "secret=matrix-secret&grace_hours=1",
        "/console/webhooks/{}/replay" => "from=2026-01-01T00%3A00&until=2026-01-02T00%3A00",
        "/console/confirm" => "password=not-my-password&next=%2Fconsole%2Faudit",
        "/console/accounts/{}/view-as" => "role=billing",
        "/console/staff/invitations" => "email=not-an-address&role=support",
        "/console/staff/{}/role" => "role=support",
        "/console/staff/sso" => "issuer=&client_id=&default_role=",
        _ => return None,
    })
}

async fn send(
    app: &TestApp,
    client: &reqwest::Client,
    row: &Row,
    path: &str,
    session: Option<&Session>,
) -> reqwest::Response {
    let mut request = client
        .request(row.method.clone(), app.url(path))
        .header(ACCEPT, "text/html")
        .header("origin", crate::helpers::PUBLIC_URL);
    if let Some(session) = session {
        request = request.header("cookie", &session.cookie);
    }
    let shape = shape_of(&row.path);
    if let Some(form) = form_for(&shape) {
        request = request.header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(form);
    } else if matches!(shape.as_str(), "/accounts/{}/documents" | "/accounts/{}/tickets/{}/attachments")
        && row.method == Method::POST
    {
        request = request.header(CONTENT_TYPE, "text/plain").header("x-file-name", "matrix.txt").body("matrix");
    }
    request.send().await.unwrap()
}

/// The API read a page renders: an account's page is its dashboard; a form to
/// fill in (a new ticket) has none.
fn api_twin(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    match segments.as_slice() {
        // The console's pages read the admin API (its answers to staff; customers
        // get 404 from the console, 403 from the API, and are not compared).
        ["", "console", "connectors"] => Some("/api/v1/admin/connectors".into()),
        ["", "console", "connectors", "new"] => Some("/api/v1/admin/connector-kinds".into()),
        ["", "console", "connectors", "new", _] => None,
        ["", "console", "connectors", connector] | ["", "console", "connectors", connector, "edit"] => {
            Some(format!("/api/v1/admin/connectors/{connector}"))
        }
        ["", "console", "connectors", connector, "mapping"] => {
            Some(format!("/api/v1/admin/connectors/{connector}/parked"))
        }
        ["", "console", "connectors", connector, "runs", run] => {
            Some(format!("/api/v1/admin/connectors/{connector}/runs/{run}"))
        }
        ["", "console", "accounts"] => Some("/api/v1/accounts".into()),
        ["", "console", "accounts", account] => Some(format!("/api/v1/accounts/{account}/members")),
        ["", "console", "outbox"] => Some("/api/v1/admin/outbox".into()),
        ["", "console", "staff"] => Some("/api/v1/staff".into()),
        ["", "console", "reports", ..] => Some("/api/v1/accounts".into()),
        ["", "console", "connectors", connector, "records"] => {
            Some(format!("/api/v1/admin/connectors/{connector}/records"))
        }
        ["", "console", "connectors", _, "records", _] => None,
        ["", "console", "webhooks", endpoint] => Some(format!("/api/v1/admin/webhook-endpoints/{endpoint}")),
        ["", "console", "webhooks", endpoint, "deliveries", delivery] => {
            Some(format!("/api/v1/admin/webhook-endpoints/{endpoint}/deliveries/{delivery}"))
        }
        ["", "console", "audit"] => Some("/api/v1/audit-events".into()),
        ["", "console", ..] => None,
        ["", "accounts", _] => Some(format!("/api/v1{path}/dashboard")),
        ["", "accounts", account, "team"] => Some(format!("/api/v1/accounts/{account}/members")),
        ["", "accounts", account, "audit"] => Some(format!("/api/v1/accounts/{account}/audit-events")),
        // The settings page has no read of its own in the API (any member reads the account).
        ["", "accounts", _, "settings"] => None,
        // Nor the export page (the API asks with POST and reads one export by its id).
        ["", "accounts", _, "exports"] => None,
        // Paying is the invoice read, then on to the source.
        ["", "accounts", account, "invoices", record, "pay"] => {
            Some(format!("/api/v1/accounts/{account}/invoices/{record}"))
        }
        [.., "new"] => None,
        // A document's preview is its download, inline.
        ["", "accounts", account, "documents", record, "preview"] => {
            Some(format!("/api/v1/accounts/{account}/documents/{record}/download"))
        }
        ["", "accounts", ..] => Some(format!("/api/v1{path}")),
        _ => None,
    }
}

fn session_of<'a>(world: &'a World, row: &Row) -> Option<&'a Session> {
    match row.caller.as_str() {
        "anonymous" => None,
        caller => Some(world.sessions.get(caller).unwrap_or_else(|| panic!("line {}: unknown caller", row.line))),
    }
}

#[tokio::test]
async fn every_page_answers_every_caller_as_the_matrix_and_the_api_say() {
    let app = spawn_app().await;
    let mut world = build_world(&app).await;
    let pages = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let rows = parse_matrix();

    let mut failures = Vec::new();
    for row in &rows {
        let path = concrete_path(&row.path, &world);
        let session = session_of(&world, row);
        let response = send(&app, &pages, row, &path, session).await;
        let status = response.status().as_u16();
        let location = response.headers().get(LOCATION).and_then(|value| value.to_str().ok()).unwrap_or("").to_owned();
        let content_type =
            response.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("").to_owned();
        if status != row.expected {
            failures.push(format!(
                "line {}: {} {} {} → {status} {location}, expected {}",
                row.line, row.caller, row.method, row.path, row.expected
            ));
        } else if status == 303 && session.is_none() && !location.starts_with("/sign-in") {
            failures.push(format!("line {}: an anonymous caller was sent to {location}, not to sign-in", row.line));
        } else if !(status == 303
            || row.path.starts_with("/assets/")
            || (row.path.ends_with("/export") && status == 200)
            || content_type.starts_with("text/html"))
        {
            failures.push(format!("line {}: answered {content_type}, not a page", row.line));
        }
        // The API route the page mirrors answers the same caller alike.
        if row.method == Method::GET
            && let Some(api_path) = api_twin(&path)
            && (!row.path.starts_with("/console") || row.caller.starts_with("staff_"))
        {
            let api = app.request(Method::GET, &api_path, session).send().await.unwrap();
            let api_status = match api.status().as_u16() {
                401 => 303,
                other => other,
            };
            if api_status != status {
                failures
                    .push(format!("line {}: {} {} → page {status}, API {api_status}", row.line, row.caller, row.path));
            }
        }
        let replaced_cookie = session_cookie_from(&response).filter(|cookie| !cookie.ends_with('='));
        let caller: Option<&'static str> = world.sessions.keys().copied().find(|name| *name == row.caller);
        if let (Some(cookie), Some(session), Some(caller)) = (replaced_cookie, session, caller)
            && row.path != "/sign-out"
        {
            world.sessions.insert(caller, Session { cookie, ..session.clone() });
        } else if row.path == "/sign-out"
            && let (Some(session), Some(caller)) = (session, caller)
        {
            let renewed = app.sign_in(&session.email, &session.password).await;
            world.sessions.insert(caller, renewed);
        }
    }
    assert!(failures.is_empty(), "pages matrix mismatches:\n{}", failures.join("\n"));

    let covered: BTreeSet<(String, String)> =
        rows.iter().map(|row| (row.method.as_str().to_owned(), shape_of(&row.path))).collect();
    let missing: Vec<_> = declared_routes().difference(&covered).cloned().collect();
    assert!(missing.is_empty(), "page routes without a row in pages_matrix.txt: {missing:?}");
}
