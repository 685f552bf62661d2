//! What someone without a credential can make Portico do: guess passwords no
//! faster than the throttle allows, however they send them, and grow nothing
//! permanent by sending large or repeated input.

use portico::auth::permissions::StaffRole;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{Session, TestApp, raw_count, session_cookie_from, spawn_app, spawn_app_with};

#[tokio::test]
async fn parallel_wrong_passwords_are_held_to_the_limit() {
    let app = spawn_app().await;
    let user = app.staff(StaffRole::Support).await;
    let limit = app.settings.auth.login_failures_per_account as usize;

    let guesses = (0..40).map(|guess| {
        let app = &app;
        let email = user.email.clone();
        async move {
            let response = app.login(&email, &format!("guess number {guess}")).await;
            response.status().as_u16()
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    let verified = statuses.iter().filter(|status| **status == 401).count();
    let throttled = statuses.iter().filter(|status| **status == 429).count();
    assert!(verified <= limit, "{verified} passwords were checked; the limit is {limit}: {statuses:?}");
    assert_eq!(verified + throttled, 40, "{statuses:?}");
    // Whatever the burst left over is checked one by one, up to the limit exactly.
    let mut checked = verified;
    loop {
        match app.login(&user.email, "one more guess").await.status().as_u16() {
            401 => checked += 1,
            429 => break,
            other => panic!("unexpected {other}"),
        }
        assert!(checked <= limit, "more than {limit} passwords checked");
    }
    assert_eq!(checked, limit);
    assert_eq!(app.login(&user.email, &user.password).await.status(), 429, "the right one waits too");

    // One audit event per throttled subject (the email, then the address, whose
    // limit 40 attempts pass too), not one per refused attempt.
    let throttled_events =
        raw_count(&app.db, "SELECT COUNT(*) FROM audit_events WHERE action = 'auth.login.throttled'").await;
    assert!((1..=2).contains(&throttled_events), "{throttled_events} throttle events");
}

#[tokio::test]
async fn an_address_longer_than_any_can_be_is_refused_before_anything_is_written() {
    let app = spawn_app().await;
    let huge = format!("{}@example.com", "a".repeat(900_000));
    for path in ["/api/v1/auth/login", "/api/v1/auth/password-reset"] {
        for _ in 0..3 {
            let body = json!({ "email": huge, "password": "whatever it is" });
            let body = if path.ends_with("reset") { json!({ "email": huge }) } else { body };
            let response = app.request(Method::POST, path, None).json(&body).send().await.unwrap();
            assert_eq!(response.status(), 422, "{path}");
            let problem: serde_json::Value = response.json().await.unwrap();
            assert!(problem["detail"].as_str().unwrap().contains("email"), "{problem}");
        }
    }
    assert_eq!(raw_count(&app.db, "SELECT COUNT(*) FROM audit_events").await, 0);
    assert_eq!(raw_count(&app.db, "SELECT COUNT(*) FROM login_failures").await, 0);
}

async fn status_with_token(app: &TestApp, token: &str) -> u16 {
    app.client.get(app.url("/api/v1/me")).bearer_auth(token).send().await.unwrap().status().as_u16()
}

async fn change_password(app: &TestApp, session: &Session, current: &str, new: &str, keep: bool) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/me/password", Some(session))
        .json(&json!({ "current_password": current, "new_password": new, "keep_api_tokens": keep }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_new_password_ends_api_tokens_and_pending_links_unless_tokens_are_kept() {
    let app = spawn_app().await;
    let staff = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&staff, "Acme").await;
    let owner = app.member(&staff, account, "owner").await;
    let response = app
        .request(Method::POST, "/api/v1/me/tokens", Some(&owner))
        .json(&json!({ "name": "ci", "account_id": account }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let token: serde_json::Value = response.json().await.unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let email_change = app
        .request(Method::POST, "/api/v1/me/email", Some(&owner))
        .json(&json!({ "new_email": "new-home@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(email_change.status(), 202);
    let mail = app.mailbox().last().unwrap().clone();
    // Mail with links in it is for its owner's eyes only.
    for entry in std::fs::read_dir(app.settings.data_dir.join("mail")).unwrap() {
        use std::os::unix::fs::PermissionsExt;
        let mode = entry.unwrap().metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "mail files are private");
    }
    let link = mail.split("#token=").nth(1).unwrap().lines().next().unwrap().trim().to_owned();

    let changed = change_password(&app, &owner, &owner.password, "a first new passphrase", true).await;
    assert_eq!(changed.status(), 204);
    let owner = Session { cookie: session_cookie_from(&changed).unwrap(), ..owner.clone() };
    assert_eq!(status_with_token(&app, &token).await, 200, "kept by choice");
    let confirm = app
        .request(Method::POST, "/api/v1/auth/confirm-email-change", None)
        .json(&json!({ "token": link }))
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 404, "the pending email-change link ended with the old password");

    let changed = change_password(&app, &owner, "a first new passphrase", "a second new passphrase", false).await;
    assert_eq!(changed.status(), 204);
    assert_eq!(status_with_token(&app, &token).await, 401, "revoked by default");
}

#[tokio::test]
async fn control_characters_are_refused_alike_on_both_engines_naming_the_field() {
    let app = spawn_app().await;
    let staff = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&staff, "Acme").await;
    let member = app.member(&staff, account, "member").await;
    let owner = app.member(&staff, account, "owner").await;

    let cases = [
        (None, "/api/v1/auth/login", json!({ "email": "a\u{0}@example.com", "password": "whatever it is" }), "/email"),
        (None, "/api/v1/auth/password-reset", json!({ "email": "nul\u{0}@example.com" }), "/email"),
        (Some(&staff), "/api/v1/accounts", json!({ "name": "Bad\u{0}Name", "slug": "bad-name" }), "/name"),
        (
            Some(&member),
            &*format!("/api/v1/accounts/{account}/tickets"),
            json!({ "subject": "ok", "description": "bell\u{7}" }),
            "/description",
        ),
        // Refused before the task is looked for: no task needs to exist.
        (
            Some(&member),
            &*format!("/api/v1/accounts/{account}/tasks/{}/decision", uuid::Uuid::now_v7()),
            json!({ "decision": "approve", "comment": "fine\u{0}" }),
            "/comment",
        ),
    ];
    for (session, path, body, field) in cases {
        let response = app.request(Method::POST, path, session).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 422, "{path}");
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    // Tab and newline are text (here the ticket goes no further for want of a
    // connected system: 409, not 422).
    let ticket = app
        .request(Method::POST, &format!("/api/v1/accounts/{account}/tickets"), Some(&member))
        .json(&json!({ "subject": "two lines", "description": "first\n\tsecond" }))
        .send()
        .await
        .unwrap();
    assert_eq!(ticket.status(), 409, "{:?}", ticket.text().await);

    // A NUL, or too long: named before any provider is asked.
    let sso_settings = [
        ("client_id", json!("portal\u{0}"), "/client_id"),
        ("client_id", json!("c".repeat(256)), "client_id"),
        ("issuer", json!(format!("https://{}.example.com", "i".repeat(2_048))), "issuer"),
        ("client_secret", json!("s".repeat(1_025)), "client_secret"),
    ];
    for (name, value, field) in sso_settings {
        let mut body = json!({
            "issuer": "https://id.example.com", "client_id": "portal", "client_secret": "s", "default_role": "member"
        });
        body[name] = value;
        let response = app
            .request(Method::PUT, &format!("/api/v1/accounts/{account}/sso"), Some(&owner))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{field}");
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }

    for query in ["?q=abc%00def", "?folder=x%00y", "?q=%1B%5B0m"] {
        let path = format!("/api/v1/accounts/{account}/documents{query}");
        let response = app.request(Method::GET, &path, Some(&member)).send().await.unwrap();
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }
}

async fn login_from(app: &TestApp, email: &str, forwarded_for: &str) -> u16 {
    app.request(Method::POST, "/api/v1/auth/login", None)
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "email": email, "password": "a wrong passphrase" }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_per_address_limit_uses_the_forwarded_client_only_behind_a_trusted_proxy() {
    let limits = |settings: &mut portico::config::Settings| {
        settings.auth.login_failures_per_address = 3;
        settings.auth.login_failures_per_account = 100;
    };
    let behind_proxy = spawn_app_with(|settings| {
        limits(settings);
        settings.http.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    for attempt in 0..3 {
        assert_eq!(login_from(&behind_proxy, &format!("x{attempt}@example.com"), "198.51.100.1").await, 401);
    }
    assert_eq!(login_from(&behind_proxy, "x9@example.com", "198.51.100.1").await, 429, "that client is throttled");
    assert_eq!(login_from(&behind_proxy, "x9@example.com", "198.51.100.2").await, 401, "another client is not");
    // A client's own claim further left changes nothing.
    assert_eq!(login_from(&behind_proxy, "x9@example.com", "203.0.113.5, 198.51.100.1").await, 429);

    // Without a trusted proxy the header is the client's word, and ignored.
    let direct = spawn_app_with(limits).await;
    for attempt in 0..3 {
        assert_eq!(
            login_from(&direct, &format!("y{attempt}@example.com"), &format!("198.51.100.{attempt}")).await,
            401
        );
    }
    assert_eq!(login_from(&direct, "y9@example.com", "198.51.100.77").await, 429, "all from the one TCP peer");
}
