//! A user's own sessions, password and API tokens.

use chrono::{Duration, Utc};
use portico::auth::permissions::StaffRole;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, raw_sql, session_cookie_from, spawn_app};

async fn body(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

async fn status_of_me(app: &TestApp, session: &Session) -> u16 {
    app.request(Method::GET, "/api/v1/me", Some(session)).send().await.unwrap().status().as_u16()
}

/// Makes every session of `session`'s user look `minutes` old.
async fn age_sessions(app: &TestApp, session: &Session, minutes: i64) {
    let signed_in_at = Utc::now() - Duration::minutes(minutes);
    let statement = "UPDATE sessions SET proved_at = $1 WHERE user_id = $2";
    raw_sql(&app.db, statement, |query| query.bind(signed_in_at).bind(session.user_id)).await;
}

#[tokio::test]
async fn sessions_are_listed_and_one_device_can_end_another() {
    let app = spawn_app().await;
    let laptop = app.staff(StaffRole::Support).await;
    let phone = app.sign_in(&laptop.email, &laptop.password).await;

    let sessions = body(app.request(Method::GET, "/api/v1/me/sessions", Some(&laptop)).send().await.unwrap()).await;
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(sessions.iter().all(|s| s["ip_address"] == "127.0.0.1"));
    let phone_session = sessions.iter().find(|s| s["current"] == false).unwrap()["session_id"].as_str().unwrap();

    let ended = app
        .request(Method::DELETE, &format!("/api/v1/me/sessions/{phone_session}"), Some(&laptop))
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 204);
    assert_eq!(status_of_me(&app, &phone).await, 401);
    assert_eq!(status_of_me(&app, &laptop).await, 200);
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Pw").await;
    let owner = app.member(&admin, account, "owner").await;
    let other_device = app.sign_in(&owner.email, &owner.password).await;
    let change = |current: &str, new: &str| {
        app.request(Method::POST, "/api/v1/me/password", Some(&owner))
            .json(&json!({ "current_password": current, "new_password": new }))
            .send()
    };

    let wrong_current = change("not it at all", "a brand new passphrase here").await.unwrap();
    assert_eq!(wrong_current.status(), 422);
    assert_eq!(body(wrong_current).await["errors"][0]["field"], "current_password");
    let weak = change(&owner.password, "password1234").await.unwrap();
    assert_eq!(weak.status(), 422);
    assert_eq!(body(weak).await["errors"][0]["field"], "new_password");

    let changed = change(&owner.password, "a brand new passphrase here").await.unwrap();
    assert_eq!(changed.status(), 204);
    let continued = Session { cookie: session_cookie_from(&changed).expect("a new cookie"), ..owner.clone() };
    assert_eq!(status_of_me(&app, &other_device).await, 401, "other sessions end");
    assert_eq!(status_of_me(&app, &owner).await, 401, "the old cookie of this session is worthless");
    assert_eq!(status_of_me(&app, &continued).await, 200, "this session goes on under a new cookie");
    assert_eq!(app.login(&owner.email, &owner.password).await.status(), 401);
    assert_eq!(app.login(&owner.email, "a brand new passphrase here").await.status(), 200);
}

#[tokio::test]
async fn sensitive_changes_need_a_recent_sign_in() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    age_sessions(&app, &admin, 11).await;
    let token = app
        .request(Method::POST, "/api/v1/me/tokens", Some(&admin))
        .json(&json!({ "name": "ci" }))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 403);
    assert_eq!(body(token).await["code"], "reauthentication_required");
    let password = app
        .request(Method::POST, "/api/v1/me/password", Some(&admin))
        .json(&json!({ "current_password": admin.password, "new_password": "a brand new passphrase here" }))
        .send()
        .await
        .unwrap();
    assert_eq!(password.status(), 403);

    // Signing in again opens the window.
    let fresh = app.sign_in(&admin.email, &admin.password).await;
    let token = app
        .request(Method::POST, "/api/v1/me/tokens", Some(&fresh))
        .json(&json!({ "name": "ci" }))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 201);
}

#[tokio::test]
async fn an_account_scoped_api_token_acts_only_inside_its_account() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account_a = app.create_account(&admin, "Alpha").await;
    let account_b = app.create_account(&admin, "Beta").await;
    let owner = app.member(&admin, account_a, "owner").await;

    let not_mine = app
        .request(Method::POST, "/api/v1/me/tokens", Some(&owner))
        .json(&json!({ "name": "sync", "account_id": account_b }))
        .send()
        .await
        .unwrap();
    assert_eq!(not_mine.status(), 422, "no token for an account one does not belong to");

    let created = app
        .request(Method::POST, "/api/v1/me/tokens", Some(&owner))
        .json(&json!({ "name": "sync", "account_id": account_a, "expires_in_days": 30 }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created = body(created).await;
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("ptk_"));
    let bearer = |method: Method, path: String| {
        app.client.request(method, app.url(&path)).header("authorization", format!("Bearer {token}"))
    };

    assert_eq!(
        bearer(Method::GET, format!("/api/v1/accounts/{account_a}/members")).send().await.unwrap().status(),
        200
    );
    assert_eq!(bearer(Method::GET, format!("/api/v1/accounts/{account_b}")).send().await.unwrap().status(), 404);
    // A bearer write needs no browser origin headers: there is no cookie to forge.
    let invite = bearer(Method::POST, format!("/api/v1/accounts/{account_a}/invitations"))
        .json(&json!({ "email": "bot-invitee@example.com", "role": "viewer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(invite.status(), 201);
    // Tokens cannot mint tokens or change passwords: those need a recent sign-in.
    let minted = bearer(Method::POST, "/api/v1/me/tokens".into()).json(&json!({ "name": "x" })).send().await.unwrap();
    assert_eq!(minted.status(), 403);

    // Use is recorded in batches, within a few seconds.
    let listed = crate::helpers::eventually("the token's use recorded", std::time::Duration::from_secs(10), || async {
        let listed = body(app.request(Method::GET, "/api/v1/me/tokens", Some(&owner)).send().await.unwrap()).await;
        listed[0]["last_used_at"].is_string().then_some(listed)
    })
    .await;
    assert_eq!(listed[0]["name"], "sync");
    assert!(!listed.to_string().contains(&token), "secrets are never listed");

    let token_id = created["token_id"].as_str().unwrap();
    let revoked =
        app.request(Method::DELETE, &format!("/api/v1/me/tokens/{token_id}"), Some(&owner)).send().await.unwrap();
    assert_eq!(revoked.status(), 204);
    assert_eq!(bearer(Method::GET, format!("/api/v1/accounts/{account_a}")).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn a_staff_token_carries_staff_rights_and_bad_tokens_are_refused() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let created = app
        .request(Method::POST, "/api/v1/me/tokens", Some(&admin))
        .json(&json!({ "name": "ops" }))
        .send()
        .await
        .unwrap();
    let token = body(created).await["token"].as_str().unwrap().to_owned();
    let accounts = app.client.get(app.url("/api/v1/accounts")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(accounts.status(), 200);

    let forged = app.client.get(app.url("/api/v1/accounts")).bearer_auth("ptk_forged").send().await.unwrap();
    assert_eq!(forged.status(), 401);
    let basic = app.client.get(app.url("/api/v1/me")).header("authorization", "Basic YTpi").send().await.unwrap();
    assert_eq!(basic.status(), 401);
}

#[tokio::test]
async fn sessions_end_when_idle_too_long_or_too_old() {
    let app = crate::helpers::spawn_app_with(|settings| {
        settings.auth.session_idle_timeout_secs = 600;
        settings.auth.session_absolute_timeout_secs = 3600;
    })
    .await;
    let idle = app.staff(StaffRole::Support).await;
    let old = app.staff(StaffRole::Support).await;
    assert_eq!(status_of_me(&app, &idle).await, 200);

    let eleven_minutes_ago = Utc::now() - Duration::minutes(11);
    let statement = "UPDATE sessions SET last_seen_at = $1 WHERE user_id = $2";
    raw_sql(&app.db, statement, |query| query.bind(eleven_minutes_ago).bind(idle.user_id)).await;
    assert_eq!(status_of_me(&app, &idle).await, 401, "idle past the timeout");

    let expired = Utc::now() - Duration::minutes(1);
    let statement = "UPDATE sessions SET expires_at = $1 WHERE user_id = $2";
    raw_sql(&app.db, statement, |query| query.bind(expired).bind(old.user_id)).await;
    assert_eq!(status_of_me(&app, &old).await, 401, "past the absolute lifetime, however active");
}

#[tokio::test]
async fn housekeeping_removes_only_what_has_outlived_its_use() {
    // HTTP only: no worker's own housekeeping pass races this test's.
    let app = crate::helpers::spawn_app_with_roles(portico::startup::Roles::HTTP_ONLY, |_| {}).await;
    let current = app.staff(StaffRole::Support).await;
    let long_gone = app.staff(StaffRole::Support).await;
    assert_eq!(app.login(&current.email, "wrong, and recent").await.status(), 401);
    let statement =
        "INSERT INTO login_failures (email, ip_address, failed_at) VALUES ('old@example.com', '127.0.0.1', $1)";
    raw_sql(&app.db, statement, |query| query.bind(Utc::now() - Duration::days(1))).await;
    let statement = "UPDATE sessions SET expires_at = $1 WHERE user_id = $2";
    raw_sql(&app.db, statement, |query| query.bind(Utc::now() - Duration::days(40)).bind(long_gone.user_id)).await;

    let purged = portico::jobs::housekeeping::run_once(&app.store, &app.settings.auth).await.unwrap();
    assert_eq!(purged.login_failures, 1, "only the failure older than the throttling window");
    assert_eq!(purged.sessions, 1, "only the session expired a month ago");
    assert_eq!(status_of_me(&app, &current).await, 200);
    let recent = portico::jobs::housekeeping::run_once(&app.store, &app.settings.auth).await.unwrap();
    assert_eq!(recent, portico::store::PurgeCounts::default(), "a second pass finds nothing");
}
