//! Credentials limited to one account (an account's SSO sign-in, an account-scoped
//! API token) never reach past it: not by minting a wider credential, not by
//! changing how the person signs in, not through caller-only routes. Each test
//! has a person who belongs to two accounts, A and B, and a credential scoped to A.

use chrono::Utc;
use portico::auth::permissions::StaffRole;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp, raw_sql, spawn_app};

/// A person who is owner of A and of B, signed in with a password.
struct TwoAccounts {
    a: Uuid,
    b: Uuid,
    person: Session,
}

async fn owner_of_two_accounts(app: &TestApp) -> TwoAccounts {
    let staff = app.staff(StaffRole::Admin).await;
    let a = app.create_account(&staff, "Acme").await;
    let b = app.create_account(&staff, "Globex").await;
    let person = app.member(&staff, a, "owner").await;
    let invite = json!({ "email": person.email, "role": "owner" });
    let invitation: Value = app.post_json(&format!("/api/v1/accounts/{b}/invitations"), Some(&staff), &invite).await;
    let joined = app
        .request(Method::POST, "/api/v1/invitations/accept-as-me", Some(&person))
        .json(&json!({ "token": invitation["token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), 200, "joining B");
    TwoAccounts { a, b, person }
}

/// A new session of `person` as if begun through account `account`'s identity
/// provider: scoped to it, and having proven no password.
async fn sso_session(app: &TestApp, person: &Session, account: Uuid) -> Session {
    let session = app.sign_in(&person.email, &person.password).await;
    let statement =
        "UPDATE sessions SET scoped_account_id = $1, auth_method = 'sso', proved_at = NULL, second_factor_at = NULL
                     WHERE id = (SELECT id FROM sessions WHERE user_id = $2 ORDER BY created_at DESC, id DESC LIMIT 1)";
    raw_sql(&app.db, statement, |query| query.bind(account).bind(person.user_id)).await;
    session
}

async fn api_token(app: &TestApp, session: &Session, account: Option<Uuid>) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/me/tokens", Some(session))
        .json(&json!({ "name": "integration", "account_id": account }))
        .send()
        .await
        .unwrap()
}

async fn code_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or_default();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

fn bearer(app: &TestApp, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    app.client.request(method, app.url(path)).bearer_auth(token)
}

#[tokio::test]
async fn an_sso_session_steps_up_only_with_a_password_and_never_mints_a_wider_credential() {
    let app = spawn_app().await;
    let TwoAccounts { a, b, person } = owner_of_two_accounts(&app).await;
    let sso = sso_session(&app, &person, a).await;

    // A young session proves nothing by its age.
    let (status, code) = code_of(api_token(&app, &sso, Some(a)).await).await;
    assert_eq!((status, code.as_str()), (403, "reauthentication_required"));

    let reauthenticate = |password: &str| {
        app.request(Method::POST, "/api/v1/auth/reauthenticate", Some(&sso))
            .json(&json!({ "password": password }))
            .send()
    };
    assert_eq!(reauthenticate("not the password at all").await.unwrap().status(), 401);
    assert_eq!(reauthenticate(&person.password).await.unwrap().status(), 204);

    // Stepped up, it still speaks for A only.
    let (status, code) = code_of(api_token(&app, &sso, Some(b)).await).await;
    assert_eq!((status, code.as_str()), (403, "scoped_credential"), "a token for B from an A-scoped session");
    let (status, code) = code_of(api_token(&app, &sso, None).await).await;
    assert_eq!((status, code.as_str()), (403, "scoped_credential"), "an unscoped token from an A-scoped session");
    let for_a = api_token(&app, &sso, Some(a)).await;
    assert_eq!(for_a.status(), 201);
    let token: Value = for_a.json().await.unwrap();
    assert_eq!(token["account_id"], a.to_string());

    // Nor does it change how the person signs in.
    let attempts = [
        (Method::POST, "/api/v1/me/email", json!({ "new_email": "elsewhere@example.com" })),
        (
            Method::POST,
            "/api/v1/me/password",
            json!({ "current_password": person.password, "new_password": "an entirely new passphrase" }),
        ),
        (Method::POST, "/api/v1/me/mfa/totp", json!(null)),
        (Method::DELETE, "/api/v1/me/mfa/totp", json!({ "code": "123456" })),
        (Method::POST, "/api/v1/me/mfa/totp/confirm", json!({ "code": "123456" })),
    ];
    for (method, path, body) in attempts {
        let mut request = app.request(method.clone(), path, Some(&sso));
        if !body.is_null() {
            request = request.json(&body);
        }
        let (status, code) = code_of(request.send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), (403, "scoped_credential"), "{method} {path}");
    }
    assert_eq!(app.login(&person.email, &person.password).await.status(), 200, "the password is unchanged");

    // The same person signed in with their password reaches both.
    let unscoped = app.sign_in(&person.email, &person.password).await;
    assert_eq!(api_token(&app, &unscoped, Some(b)).await.status(), 201);
}

#[tokio::test]
async fn a_password_sessions_step_up_window_runs_from_its_last_proof() {
    let app = spawn_app().await;
    let TwoAccounts { a, person, .. } = owner_of_two_accounts(&app).await;
    let statement = "UPDATE sessions SET proved_at = $1 WHERE user_id = $2";
    let eleven_minutes_ago = Utc::now() - chrono::Duration::minutes(11);
    raw_sql(&app.db, statement, |query| query.bind(eleven_minutes_ago).bind(person.user_id)).await;
    let (status, code) = code_of(api_token(&app, &person, Some(a)).await).await;
    assert_eq!((status, code.as_str()), (403, "reauthentication_required"));
    let proven = app
        .request(Method::POST, "/api/v1/auth/reauthenticate", Some(&person))
        .json(&json!({ "password": person.password }))
        .send()
        .await
        .unwrap();
    assert_eq!(proven.status(), 204);
    assert_eq!(api_token(&app, &person, Some(a)).await.status(), 201);
}

/// A notification for `user` in `account`, written as the notifier would.
async fn notify(app: &TestApp, user: Uuid, account: Uuid, title: &'static str) {
    let statement = "INSERT INTO notifications (id, account_id, user_id, kind, title, created_at) VALUES ($1, $2, $3, 'invoices', $4, $5)";
    raw_sql(&app.db, statement, |query| {
        query.bind(Uuid::now_v7()).bind(account).bind(user).bind(title).bind(Utc::now())
    })
    .await;
}

#[tokio::test]
async fn caller_only_routes_show_a_scoped_credential_its_own_account_only() {
    let app = spawn_app().await;
    let TwoAccounts { a, b, person } = owner_of_two_accounts(&app).await;
    notify(&app, person.user_id, a, "Acme invoice issued").await;
    notify(&app, person.user_id, b, "Globex invoice issued").await;
    let token: Value = api_token(&app, &person, Some(a)).await.json().await.unwrap();
    let token = token["token"].as_str().unwrap().to_owned();

    let page: Value =
        bearer(&app, Method::GET, "/api/v1/me/notifications", &token).send().await.unwrap().json().await.unwrap();
    let titles: Vec<&str> = page["items"].as_array().unwrap().iter().map(|n| n["message"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Acme invoice issued"], "{page}");
    assert_eq!(page["unread_count"], 1);
    // Marking everything read marks A's only.
    let read = bearer(&app, Method::POST, "/api/v1/me/notifications/read", &token).send().await.unwrap();
    assert_eq!(read.status(), 204);
    let all: Value = app.get_json("/api/v1/me/notifications?unread=true", Some(&person)).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1, "B's stays unread: {all}");
    let globex_notification = all["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/me/notifications/{globex_notification}/read");
    assert_eq!(bearer(&app, Method::POST, &path, &token).send().await.unwrap().status(), 404);

    // /me lists A alone; a personal export (every account's memberships) is refused.
    let me: Value = bearer(&app, Method::GET, "/api/v1/me", &token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["accounts"].as_array().unwrap().len(), 1);
    let (status, code) = code_of(bearer(&app, Method::POST, "/api/v1/me/exports", &token).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (403, "scoped_credential"));

    // An export of B asked for with the password session is not B's to an A token.
    let asked =
        app.request(Method::POST, &format!("/api/v1/accounts/{b}/exports"), Some(&person)).send().await.unwrap();
    assert_eq!(asked.status(), 202);
    let export: Value = asked.json().await.unwrap();
    let export_id = export["id"].as_str().unwrap();
    for path in [format!("/api/v1/exports/{export_id}"), format!("/api/v1/exports/{export_id}/download")] {
        assert_eq!(bearer(&app, Method::GET, &path, &token).send().await.unwrap().status(), 404, "{path}");
    }
    // One archive of an account at a time.
    let again =
        app.request(Method::POST, &format!("/api/v1/accounts/{b}/exports"), Some(&person)).send().await.unwrap();
    assert!(matches!(again.status().as_u16(), 202 | 409), "{}", again.status());
}

#[tokio::test]
async fn an_owner_removed_from_the_account_loses_its_export() {
    let app = spawn_app().await;
    let staff = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&staff, "Acme").await;
    let owner = app.member(&staff, account, "owner").await;
    let _other_owner = app.member(&staff, account, "owner").await;

    let asked = app.request(Method::POST, &format!("/api/v1/accounts/{account}/exports"), Some(&owner)).send().await;
    let export: Value = asked.unwrap().json().await.unwrap();
    let status_path = format!("/api/v1/exports/{}", export["id"].as_str().unwrap());
    let ready = crate::helpers::eventually("the export", std::time::Duration::from_secs(30), || async {
        let export: Value = app.get_json(&status_path, Some(&owner)).await;
        (export["status"] == "ready").then_some(export)
    })
    .await;
    let download = ready["download_url"].as_str().unwrap().to_owned();
    assert_eq!(app.request(Method::GET, &download, Some(&owner)).send().await.unwrap().status(), 200);

    let removed = app
        .request(Method::DELETE, &format!("/api/v1/accounts/{account}/members/{}", owner.user_id), Some(&staff))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    assert_eq!(app.request(Method::GET, &download, Some(&owner)).send().await.unwrap().status(), 404);
    assert_eq!(app.request(Method::GET, &status_path, Some(&owner)).send().await.unwrap().status(), 404);
    // Even were they to come back, the export they asked for before is over.
    let row = app.store.export(ready["id"].as_str().unwrap().parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(row.status, "failed");
}

#[tokio::test]
async fn an_export_asked_for_by_someone_who_has_since_left_is_not_built() {
    let app = spawn_app().await;
    let staff = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&staff, "Acme").await;
    let owner = app.member(&staff, account, "owner").await;
    // Asked while an owner; the role is gone by the time a worker gets to it.
    let export_id = app
        .store
        .create_export(Some(account), None, owner.user_id, Utc::now(), Utc::now() + chrono::Duration::hours(1))
        .await
        .unwrap();
    let statement = "UPDATE memberships SET role = 'viewer' WHERE account_id = $1 AND user_id = $2";
    raw_sql(&app.db, statement, |query| query.bind(account).bind(owner.user_id)).await;
    app.queue.enqueue(portico::exports::ExportJob { export_id }, &app.settings.jobs).await.unwrap();
    let row = crate::helpers::eventually("the job to judge it", std::time::Duration::from_secs(30), || async {
        let row = app.store.export(export_id).await.unwrap().unwrap();
        (row.status == "failed").then_some(row)
    })
    .await;
    assert!(row.error.unwrap().contains("no longer"), "refused for the right reason");
}

const SCOPE_MATRIX: &str = include_str!("scope_matrix.txt");

/// One row of `scope_matrix.txt`: what an operation answers a credential scoped
/// to A (an account-scoped API token, and an SSO session of A's provider) when
/// it names B's things, or names nothing.
struct ScopeRow {
    line: usize,
    method: Method,
    path: String,
    token: u16,
    session: u16,
}

fn parse_scope_matrix() -> Vec<ScopeRow> {
    SCOPE_MATRIX
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .map(|(index, line)| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields.len(), 4, "line {}: method path token-status session-status", index + 1);
            ScopeRow {
                line: index + 1,
                method: fields[0].parse().unwrap(),
                path: fields[1].to_owned(),
                token: fields[2].parse().unwrap(),
                session: fields[3].parse().unwrap(),
            }
        })
        .collect()
}

/// B's things, named so that any answer mentioning one is caught.
struct AccountB {
    id: Uuid,
    name: &'static str,
    other_member: Session,
    invitee: &'static str,
    invitation: Uuid,
    notification_title: &'static str,
    notification: Uuid,
    export: Uuid,
    token_id: Uuid,
    token: String,
}

impl AccountB {
    fn markers(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.to_owned(),
            self.other_member.email.clone(),
            self.other_member.user_id.to_string(),
            self.invitee.to_owned(),
            self.invitation.to_string(),
            self.notification_title.to_owned(),
            self.notification.to_string(),
            self.export.to_string(),
            self.token_id.to_string(),
        ]
    }

    fn concrete(&self, path: &str, a: Uuid) -> String {
        path.split('/')
            .map(|segment| match segment {
                "{A}" => a.to_string(),
                "{B}" => self.id.to_string(),
                "{b_member}" => self.other_member.user_id.to_string(),
                "{b_invitation}" => self.invitation.to_string(),
                "{b_notification}" => self.notification.to_string(),
                "{b_export}" => self.export.to_string(),
                "{b_token}" => self.token_id.to_string(),
                placeholder if placeholder.starts_with('{') => Uuid::new_v4().to_string(),
                other => other.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}

async fn build_account_b(app: &TestApp, person: &Session, b: Uuid) -> AccountB {
    let other_member = app.member(person, b, "member").await;
    let name = "Globex Scope Marker";
    let renamed = "UPDATE accounts SET name = $1 WHERE id = $2";
    raw_sql(&app.db, renamed, |query| query.bind(name).bind(b)).await;
    let invitee = "globex-invitee@example.com";
    let invite = json!({ "email": invitee, "role": "viewer" });
    let invited: Value = app.post_json(&format!("/api/v1/accounts/{b}/invitations"), Some(person), &invite).await;
    let notification_title = "Globex-only notice";
    notify(app, person.user_id, b, notification_title).await;
    let notifications: Value = app.get_json("/api/v1/me/notifications", Some(person)).await;
    let notification = notifications["items"].as_array().unwrap().iter().find(|n| n["message"] == notification_title);
    let notification = notification.unwrap()["id"].as_str().unwrap().parse().unwrap();
    let export: Value = app
        .request(Method::POST, &format!("/api/v1/accounts/{b}/exports"), Some(person))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token: Value = api_token(app, person, Some(b)).await.json().await.unwrap();
    AccountB {
        token_id: token["token_id"].as_str().unwrap().parse().unwrap(),
        token: token["token"].as_str().unwrap().to_owned(),
        id: b,
        name,
        other_member,
        invitee,
        invitation: invited["invitation_id"].as_str().unwrap().parse().unwrap(),
        notification_title,
        notification,
        export: export["id"].as_str().unwrap().parse().unwrap(),
    }
}

/// The body, or as much of it as arrives in `limit` (the live stream never ends).
async fn body_within(mut response: reqwest::Response, limit: std::time::Duration) -> String {
    let mut body = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, response.chunk()).await {
        body.extend_from_slice(&chunk);
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// Every documented operation, driven with credentials scoped to A by a person
/// who is also B's owner: nothing of B is ever answered or changed.
#[tokio::test]
async fn no_route_lets_a_credential_scoped_to_one_account_reach_another() {
    let app = spawn_app().await;
    let TwoAccounts { a, b, person } = owner_of_two_accounts(&app).await;
    let world_b = build_account_b(&app, &person, b).await;
    let token: Value = api_token(&app, &person, Some(a)).await.json().await.unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let mut sso = sso_session(&app, &person, a).await;
    let markers = world_b.markers();

    let rows = parse_scope_matrix();
    let document: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let covered: std::collections::BTreeSet<(String, String)> =
        rows.iter().map(|row| (row.method.as_str().to_owned(), crate::authorization::template_of(&row.path))).collect();
    let mut missing = Vec::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            if !covered.contains(&(method.to_uppercase(), path.clone())) {
                missing.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(missing.is_empty(), "operations without a row in scope_matrix.txt: {missing:?}");

    let mut failures = Vec::new();
    for row in &rows {
        let path = world_b.concrete(&row.path, a);
        let body = crate::authorization::body_for(&row.method, &crate::authorization::template_of(&row.path));
        for (credential, expected) in [("token", row.token), ("session", row.session)] {
            let mut request = match credential {
                "token" => bearer(&app, row.method.clone(), &path, &token).header("origin", crate::helpers::PUBLIC_URL),
                _ => app.request(row.method.clone(), &path, Some(&sso)),
            };
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            // A problem's `instance` echoes the path asked for: that is not B's data.
            let text = body_within(response, std::time::Duration::from_secs(2)).await.replace(&path, "");
            if status != expected {
                failures.push(format!(
                    "line {}: {credential} {} {} → {status}, expected {expected}",
                    row.line, row.method, row.path
                ));
            }
            if let Some(marker) = markers.iter().find(|marker| text.contains(marker.as_str())) {
                failures.push(format!(
                    "line {}: {credential} {} {} answered B's {marker:?}",
                    row.line, row.method, row.path
                ));
            }
        }
        // Signing out ends the scoped session: begin another for the rows after.
        if row.path == "/api/v1/auth/logout" {
            sso = sso_session(&app, &person, a).await;
        }
    }
    assert!(failures.is_empty(), "scoped credentials reached past their account:\n{}", failures.join("\n"));

    // And B is as it was: its invitation pending, its notification unread, its
    // export there, its members the same.
    let invitations: Value = app.get_json(&format!("/api/v1/accounts/{b}/invitations"), Some(&person)).await;
    assert!(invitations.to_string().contains(&world_b.invitation.to_string()), "{invitations}");
    let unread: Value = app.get_json("/api/v1/me/notifications?unread=true", Some(&person)).await;
    assert!(unread.to_string().contains(world_b.notification_title), "{unread}");
    let export = app.store.export(world_b.export).await.unwrap().expect("B's export is still there");
    assert_ne!(export.status, "failed", "B's export was not ended");
    let members: Value = app.get_json(&format!("/api/v1/accounts/{b}/members"), Some(&person)).await;
    assert_eq!(members.as_array().unwrap().len(), 2, "{members}");
    let account: Value = app.get_json(&format!("/api/v1/accounts/{b}"), Some(&person)).await;
    assert_eq!(account["name"], world_b.name);
    let with_b_token = bearer(&app, Method::GET, &format!("/api/v1/accounts/{b}"), &world_b.token).send().await;
    assert_eq!(with_b_token.unwrap().status(), 200, "B's token still works");
}
