//! Runs `authorization_matrix.txt` over HTTP: every (caller, method, path) row must
//! answer the expected status, and every operation in the OpenAPI document must
//! have at least one row. Also probes that one account's data never shows up in
//! another's answers.

use std::collections::{BTreeSet, HashMap};

use portico::auth::permissions::StaffRole;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp, session_cookie_from, spawn_app};

const MATRIX: &str = include_str!("authorization_matrix.txt");

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

/// The OpenAPI path template a matrix path stands for: each placeholder (or
/// deliberately malformed id) is named after the collection it follows.
pub(crate) fn template_of(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    segments
        .iter()
        .enumerate()
        .map(|(index, segment)| {
            if !(segment.starts_with('{') || *segment == "not-an-id") {
                return segment.to_string();
            }
            match segments[index - 1] {
                "accounts" => "{account_id}",
                "members" | "users" | "staff" => "{user_id}",
                "invitations" => "{invitation_id}",
                "sessions" => "{session_id}",
                "tokens" => "{token_id}",
                "roles" => "{role_id}",
                "sso" => "{connection_id}",
                "connectors" => "{connector_id}",
                "runs" => "{run_id}",
                "outbox" => "{outbox_id}",
                "webhook-endpoints" | "webhooks" => "{endpoint_id}",
                "deliveries" => "{delivery_id}",
                "exports" => "{export_id}",
                "notifications" => "{notification_id}",
                "secrets" => "{secret_id}",
                "invoices" | "payments" | "subscriptions" | "documents" | "tickets" | "orders" | "tasks" => {
                    "{record_id}"
                }
                other => panic!("no placeholder name after /{other}/"),
            }
            .to_owned()
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The concrete path for a row: {A} and {B} are the two accounts, {caller} a
/// caller's user id, any other `{placeholder}` a fresh random id.
pub(crate) fn concrete_path(path: &str, world: &World) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{A}" => world.account_a.to_string(),
            "{B}" => world.account_b.to_string(),
            placeholder if placeholder.starts_with('{') => {
                let name = placeholder.trim_matches(['{', '}']);
                match world.sessions.get(name) {
                    Some(session) => session.user_id.to_string(),
                    None => Uuid::new_v4().to_string(),
                }
            }
            other => other.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A body that is valid for the route, so that only authorization decides.
pub(crate) fn body_for(method: &Method, template: &str) -> Option<Value> {
    let unique = Uuid::new_v4().simple().to_string();
    match (method.as_str(), template) {
        ("POST", "/api/v1/auth/login") => {
            Some(json!({ "email": "nobody@example.com", "password": "not anybody's passphrase" }))
        }
        ("POST", "/api/v1/accounts") => Some(json!({ "name": "Matrix", "slug": format!("matrix-{unique}") })),
        ("POST", "/api/v1/accounts/{account_id}/invitations") => {
            Some(json!({ "email": format!("invitee-{unique}@example.com"), "role": "viewer" }))
        }
        ("POST", "/api/v1/me/password") => {
            Some(json!({ "current_password": "not my passphrase", "new_password": "a perfectly strong passphrase" }))
        }
        ("POST", "/api/v1/me/tokens") => Some(json!({ "name": "matrix" })),
        ("POST", "/api/v1/auth/email-code") => Some(json!({ "email": "nobody@example.com" })),
        ("POST", "/api/v1/auth/email-code/sign-in") => {
            Some(json!({ "email": "nobody@example.com", "code": "12345678" }))
        }
        ("PUT", "/api/v1/accounts/{account_id}/sso") => Some(json!({
            "issuer": "http://127.0.0.1:1", "client_id": "c", "client_secret": "s", "default_role": "viewer"
        })),
        ("PUT", "/api/v1/staff/sso") => Some(json!({
            "issuer": "http://127.0.0.1:1", "client_id": "c", "client_secret": "s", "default_role": "auditor"
        })),
        ("POST", "/api/v1/accounts/{account_id}/roles") => {
            Some(json!({ "name": format!("Readers {unique}"), "permissions": ["documents.view"] }))
        }
        ("PATCH", "/api/v1/staff/{user_id}") => Some(json!({ "role": "support" })),
        ("POST", "/api/v1/staff/invitations") => {
            Some(json!({ "email": format!("staff-{unique}@example.com"), "role": "auditor" }))
        }
        ("POST", "/api/v1/auth/password-reset") => Some(json!({ "email": "somebody@example.com" })),
        ("POST", "/api/v1/auth/password-reset/confirm") => {
            Some(json!({ "token": unique, "new_password": "a perfectly strong passphrase" }))
        }
        ("POST", "/api/v1/auth/verify-email") => Some(json!({ "token": unique })),
        ("POST", "/api/v1/auth/confirm-email-change") => Some(json!({ "token": unique })),
        ("POST", "/api/v1/me/email") => Some(json!({ "new_email": format!("moved-{unique}@example.com") })),
        ("PATCH", "/api/v1/accounts/{account_id}/members/{user_id}") => Some(json!({ "role": "viewer" })),
        ("PATCH", "/api/v1/accounts/{account_id}") => Some(json!({ "require_mfa": false })),
        ("POST", "/api/v1/me/mfa/totp/confirm") => Some(json!({ "code": "000000" })),
        ("DELETE", "/api/v1/me/mfa/totp") => Some(json!({ "code": "000000" })),
        ("POST", "/api/v1/auth/reauthenticate") => Some(json!({ "password": "not my passphrase" })),
        ("POST", "/api/v1/invitations/accept-as-me") => Some(json!({ "token": unique })),
        ("POST", "/api/v1/invitations/accept") => Some(json!({
            "token": unique, "password": "a perfectly strong passphrase", "display_name": "Nobody"
        })),
        ("POST", "/api/v1/admin/connectors") => Some(json!({ "kind": "nope", "name": "matrix", "settings": {} })),
        ("PATCH", "/api/v1/admin/connectors/{connector_id}") => Some(json!({ "enabled": false })),
        ("POST", "/api/v1/admin/connectors/{connector_id}/sync") => Some(json!({})),
        ("POST", "/api/v1/accounts/{account_id}/tickets") => Some(json!({ "subject": "matrix" })),
        ("PATCH", "/api/v1/me/profile") => Some(json!({ "locale": "en" })),
        ("POST", "/api/v1/accounts/{account_id}/tickets/{record_id}/comments") => Some(json!({ "body": "matrix" })),
        ("POST", "/api/v1/accounts/{account_id}/tasks/{record_id}/decision") => {
            Some(json!({ "decision": "approve", "comment": "matrix" }))
        }
        ("POST", "/api/v1/admin/connectors/{connector_id}/webhook-endpoints") => {
            Some(json!({ "name": "matrix", "scheme": "stripe" }))
        }
        ("PATCH", "/api/v1/admin/webhook-endpoints/{endpoint_id}") => Some(json!({ "enabled": false })),
        ("POST", "/api/v1/admin/webhook-endpoints/{endpoint_id}/secrets") => Some(json!({})),
        ("POST", "/api/v1/admin/webhook-endpoints/{endpoint_id}/replay") => Some(json!({
            "received_from": "2026-01-01T00:00:00Z", "received_until": "2026-01-02T00:00:00Z"
        })),
        ("PUT", "/api/v1/admin/connectors/{connector_id}/mappings") => {
            Some(json!({ "account_ref": "cus_1", "account_id": Uuid::new_v4() }))
        }
        _ => None,
    }
}

pub(crate) struct World {
    pub sessions: HashMap<&'static str, Session>,
    pub account_a: Uuid,
    pub account_b: Uuid,
}

pub(crate) async fn build_world(app: &TestApp) -> World {
    let staff_admin = app.staff(StaffRole::Admin).await;
    let account_a = app.create_account(&staff_admin, "Alpha").await;
    let account_b = app.create_account(&staff_admin, "Beta").await;
    let a_owner = app.member(&staff_admin, account_a, "owner").await;
    let mut sessions = HashMap::new();
    sessions.insert("a_admin", app.member(&a_owner, account_a, "admin").await);
    sessions.insert("a_billing", app.member(&a_owner, account_a, "billing").await);
    sessions.insert("a_member", app.member(&a_owner, account_a, "member").await);
    sessions.insert("a_viewer", app.member(&a_owner, account_a, "viewer").await);
    sessions.insert("b_owner", app.member(&staff_admin, account_b, "owner").await);
    sessions.insert("staff_support", app.staff(StaffRole::Support).await);
    sessions.insert("staff_auditor", app.staff(StaffRole::Auditor).await);
    sessions.insert("staff_admin", staff_admin);
    sessions.insert("a_owner", a_owner);
    World { sessions, account_a, account_b }
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_matrix_says() {
    let app = spawn_app().await;
    let mut world = build_world(&app).await;
    let rows = parse_matrix();

    let mut failures = Vec::new();
    for row in &rows {
        let path = concrete_path(&row.path, &world);
        let session = match row.caller.as_str() {
            "anonymous" => None,
            caller => Some(world.sessions.get(caller).unwrap_or_else(|| panic!("line {}: unknown caller", row.line))),
        };
        let mut request = app.request(row.method.clone(), &path, session);
        if let Some(body) = body_for(&row.method, &template_of(&row.path)) {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        // Like a browser, keep a session cookie the server replaces (privilege changes rotate it).
        let replaced_cookie = session_cookie_from(&response).filter(|cookie| !cookie.ends_with('='));
        if status != row.expected {
            failures.push(format!(
                "line {}: {} {} {} → {status}, expected {}",
                row.line, row.caller, row.method, row.path, row.expected
            ));
        }
        if let Some(cookie) = replaced_cookie
            && let Some(session) = session
        {
            let caller: &'static str = world.sessions.keys().copied().find(|name| *name == row.caller).unwrap();
            world.sessions.insert(caller, Session { cookie, ..session.clone() });
            continue;
        }
        // Signing out ends the caller's session: sign them in again for later rows.
        if row.path == "/api/v1/auth/logout"
            && let Some(session) = session
        {
            let renewed = app.sign_in(&session.email, &session.password).await;
            let caller: &'static str = world.sessions.keys().copied().find(|name| *name == row.caller).unwrap();
            world.sessions.insert(caller, renewed);
        }
    }
    assert!(failures.is_empty(), "authorization matrix mismatches:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn every_documented_operation_is_in_the_matrix() {
    let app = spawn_app().await;
    let document: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let covered: BTreeSet<(String, String)> =
        parse_matrix().iter().map(|row| (row.method.as_str().to_owned(), template_of(&row.path))).collect();
    let mut missing = Vec::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let requirement = operation["x-permission"].as_str().unwrap_or_default();
            assert!(!requirement.is_empty(), "{method} {path} documents no x-permission");
            let key = (method.to_uppercase(), path.clone());
            if !covered.contains(&key) {
                missing.push(format!("{} {}", key.0, key.1));
            }
        }
    }
    assert!(missing.is_empty(), "operations without a row in authorization_matrix.txt: {missing:?}");

    // And no row tests an operation that is not documented (a stale or mistyped row).
    let documented: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, operations)| {
            operations.as_object().unwrap().keys().map(|method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let undocumented: Vec<_> = covered.difference(&documented).collect();
    assert!(undocumented.is_empty(), "matrix rows for undocumented operations: {undocumented:?}");
}

#[tokio::test]
async fn one_accounts_data_never_appears_in_anothers_answers() {
    let app = spawn_app().await;
    let world = build_world(&app).await;
    let b_owner = &world.sessions["b_owner"];
    let a_owner = &world.sessions["a_owner"];

    // B's owner sees only B in /me.
    let me: Value = app.get_json("/api/v1/me", Some(b_owner)).await;
    let accounts: Vec<&str> =
        me["accounts"].as_array().unwrap().iter().map(|a| a["account_id"].as_str().unwrap()).collect();
    assert_eq!(accounts, [world.account_b.to_string()]);

    // B's member list and audit log mention none of A's people or events.
    let members: Value = app.get_json(&format!("/api/v1/accounts/{}/members", world.account_b), Some(b_owner)).await;
    let emails: Vec<&str> = members.as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap()).collect();
    assert_eq!(emails, [b_owner.email.as_str()]);
    let events: Value =
        app.get_json(&format!("/api/v1/accounts/{}/audit-events", world.account_b), Some(b_owner)).await;
    for event in events.as_array().unwrap() {
        assert_eq!(event["account_id"], world.account_b.to_string(), "{event}");
    }
    assert!(!events.to_string().contains(&a_owner.email));

    // A denial inside one's own account is recorded in that account's audit log.
    let viewer = &world.sessions["a_viewer"];
    let denied = app
        .request(Method::GET, &format!("/api/v1/accounts/{}/members", world.account_a), Some(viewer))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    let a_events: Value =
        app.get_json(&format!("/api/v1/accounts/{}/audit-events", world.account_a), Some(a_owner)).await;
    let denial = a_events.as_array().unwrap().iter().find(|event| event["action"] == "permission.denied");
    let denial = denial.expect("the denial is in A's audit log");
    assert_eq!(denial["actor_user_id"], viewer.user_id.to_string());
    assert_eq!(denial["details"]["permission"], "team.view");
}
