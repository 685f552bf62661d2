//! Password reset and email verification through mailed single-use links.

use portico::auth::permissions::StaffRole;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

pub fn token_in(message: &str) -> String {
    let start = message.find("#token=").expect("a link with a token") + "#token=".len();
    message[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

async fn post(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.request(Method::POST, path, None).json(&body).send().await.unwrap()
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session() {
    let app = spawn_app().await;
    let user = app.staff(StaffRole::Support).await;

    // Known and unknown addresses get the same answer; only the known one gets mail.
    let known = post(&app, "/api/v1/auth/password-reset", json!({ "email": user.email.to_uppercase() })).await;
    let unknown = post(&app, "/api/v1/auth/password-reset", json!({ "email": "nobody@example.com" })).await;
    assert_eq!(known.status(), 202);
    assert_eq!(unknown.status(), 202);
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    // The answer comes before the work, so the mail follows it shortly.
    let mail = crate::helpers::eventually("the reset mail", std::time::Duration::from_secs(10), || async {
        let mail = app.mailbox();
        (!mail.is_empty()).then_some(mail)
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(app.mailbox().len(), 1, "only the known address gets mail");
    assert!(mail[0].contains(&format!("To: {}", user.email)));
    let token = token_in(&mail[0]);

    let confirm = |password: &'static str| {
        post(&app, "/api/v1/auth/password-reset/confirm", json!({ "token": token, "new_password": password }))
    };
    assert_eq!(confirm("password1234").await.status(), 422, "a weak choice does not use up the link");
    assert_eq!(confirm("a completely new passphrase").await.status(), 204);
    assert_eq!(confirm("another completely new one").await.status(), 404, "links work once");

    assert_eq!(app.request(Method::GET, "/api/v1/me", Some(&user)).send().await.unwrap().status(), 401);
    assert_eq!(app.login(&user.email, &user.password).await.status(), 401);
    assert_eq!(app.login(&user.email, "a completely new passphrase").await.status(), 200);
}

async fn me(app: &TestApp, session: &crate::helpers::Session) -> Value {
    app.get_json("/api/v1/me", Some(session)).await
}

#[tokio::test]
async fn an_address_is_verified_by_its_link() {
    let app = spawn_app().await;
    let user = app.staff(StaffRole::Auditor).await;
    assert_eq!(me(&app, &user).await["email_verified"], false);
    let requested = app.request(Method::POST, "/api/v1/me/email-verification", Some(&user)).send().await.unwrap();
    assert_eq!(requested.status(), 202);
    let token = token_in(app.mailbox().last().unwrap());
    assert_eq!(post(&app, "/api/v1/auth/verify-email", json!({ "token": token })).await.status(), 204);
    assert_eq!(post(&app, "/api/v1/auth/verify-email", json!({ "token": token })).await.status(), 404);
    assert_eq!(me(&app, &user).await["email_verified"], true);
    let again = app.request(Method::POST, "/api/v1/me/email-verification", Some(&user)).send().await.unwrap();
    assert_eq!(again.status(), 409);
}

#[tokio::test]
async fn an_email_change_takes_effect_only_from_the_new_address() {
    let app = spawn_app().await;
    let user = app.staff(StaffRole::Admin).await;
    let other = app.staff(StaffRole::Auditor).await;
    let change = |new_email: String| {
        app.request(Method::POST, "/api/v1/me/email", Some(&user)).json(&json!({ "new_email": new_email })).send()
    };
    // A taken address answers alike and sends nothing.
    assert_eq!(change(other.email.clone()).await.unwrap().status(), 202);
    assert!(app.mailbox().is_empty());
    assert_eq!(change("not an address".into()).await.unwrap().status(), 422);

    assert_eq!(change("moved@example.com".into()).await.unwrap().status(), 202);
    let mail = app.mailbox();
    assert!(mail[0].contains("To: moved@example.com"));
    assert_eq!(app.login(&user.email, &user.password).await.status(), 200, "nothing changes before the link");

    let token = token_in(&mail[0]);
    assert_eq!(post(&app, "/api/v1/auth/confirm-email-change", json!({ "token": token })).await.status(), 204);
    assert_eq!(post(&app, "/api/v1/auth/confirm-email-change", json!({ "token": token })).await.status(), 404);
    let notice = app.mailbox().pop().unwrap();
    assert!(notice.contains(&format!("To: {}", user.email)), "the old address is told: {notice}");
    assert_eq!(app.login(&user.email, &user.password).await.status(), 401);
    assert_eq!(app.login("moved@example.com", &user.password).await.status(), 200);
}

#[tokio::test]
async fn reset_requests_are_limited_per_source_and_per_address_mailed() {
    let app = spawn_app().await;
    let user = app.staff(StaffRole::Support).await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses
            .push(post(&app, "/api/v1/auth/password-reset", json!({ "email": user.email })).await.status().as_u16());
    }
    assert!(statuses[..10].iter().all(|status| *status == 202), "{statuses:?}");
    assert_eq!(statuses[11], 429, "one source is limited: {statuses:?}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let sent = crate::helpers::eventually("the links", std::time::Duration::from_secs(10), || async {
        let mail = app.mailbox();
        (mail.len() >= 3).then_some(mail.len())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mailbox().len(), 3, "a mailbox gets three links a quarter hour, not ten ({sent})");
}
