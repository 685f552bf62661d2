//! Multi-factor sign-in with an authenticator app, recovery codes, and accounts
//! that demand it.

use portico::auth::permissions::StaffRole;
use reqwest::Method;
use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret};

use crate::helpers::{Session, TestApp, session_cookie_from, spawn_app};

async fn body(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

/// What the user's authenticator app shows `offset_secs` from now.
pub fn code(secret_base32: &str, offset_secs: i64) -> String {
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_secret(Secret::try_from_base32(secret_base32).unwrap())
        .build()
        .unwrap();
    totp.generate((chrono::Utc::now().timestamp() + offset_secs) as u64).to_string()
}

/// Turns MFA on for the session's user; returns the secret, the recovery codes,
/// and the session under its new cookie (the old one stops working).
pub async fn enroll(app: &TestApp, session: &Session) -> (String, Vec<String>, Session) {
    let started = app.request(Method::POST, "/api/v1/me/mfa/totp", Some(session)).send().await.unwrap();
    assert_eq!(started.status(), 201);
    let started = body(started).await;
    let secret = started["secret"].as_str().unwrap().to_owned();
    assert!(started["otpauth_url"].as_str().unwrap().starts_with("otpauth://totp/Portico:"));
    let confirmed = app
        .request(Method::POST, "/api/v1/me/mfa/totp/confirm", Some(session))
        .json(&json!({ "code": code(&secret, 0) }))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    let rotated = Session { cookie: session_cookie_from(&confirmed).expect("a new session cookie"), ..session.clone() };
    assert_ne!(rotated.cookie, session.cookie);
    let old_cookie = app.request(Method::GET, "/api/v1/me", Some(session)).send().await.unwrap();
    assert_eq!(old_cookie.status(), 401, "the pre-change cookie is worthless");
    let codes = body(confirmed).await["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes, rotated)
}

async fn login_with(app: &TestApp, session: &Session, second_factor: Value) -> reqwest::Response {
    let mut request = json!({ "email": session.email, "password": session.password });
    request.as_object_mut().unwrap().extend(second_factor.as_object().unwrap().clone());
    app.request(Method::POST, "/api/v1/auth/login", None).json(&request).send().await.unwrap()
}

#[tokio::test]
async fn once_on_sign_in_needs_a_fresh_code_or_an_unused_recovery_code() {
    let app = spawn_app().await;
    let user = app.staff(StaffRole::Support).await;
    let wrong_confirm = {
        app.request(Method::POST, "/api/v1/me/mfa/totp", Some(&user)).send().await.unwrap();
        app.request(Method::POST, "/api/v1/me/mfa/totp/confirm", Some(&user))
            .json(&json!({ "code": "12" }))
            .send()
            .await
            .unwrap()
    };
    assert_eq!(wrong_confirm.status(), 422);
    let (secret, recovery_codes, user) = enroll(&app, &user).await;
    assert_eq!(recovery_codes.len(), 10);
    let me = body(app.request(Method::GET, "/api/v1/me", Some(&user)).send().await.unwrap()).await;
    assert_eq!(me["mfa_enabled"], true);

    let without = login_with(&app, &user, json!({})).await;
    assert_eq!(without.status(), 401);
    assert_eq!(body(without).await["code"], "mfa_required");
    assert_eq!(login_with(&app, &user, json!({ "totp": "000000" })).await.status(), 401);

    // The confirmation used this time step; the next step's code signs in, once.
    let next = code(&secret, 30);
    assert_eq!(login_with(&app, &user, json!({ "totp": next })).await.status(), 200);
    assert_eq!(login_with(&app, &user, json!({ "totp": next })).await.status(), 401, "a code works once");

    let recovery = recovery_codes[0].to_uppercase();
    assert_eq!(login_with(&app, &user, json!({ "recovery_code": recovery })).await.status(), 200);
    assert_eq!(login_with(&app, &user, json!({ "recovery_code": recovery })).await.status(), 401, "used up");
    assert_eq!(login_with(&app, &user, json!({ "recovery_code": recovery_codes[1] })).await.status(), 200);

    // Enrolling again while on is refused; turning it off restores password-only sign-in.
    let fresh = app.sign_in_with_recovery_code(&user, &recovery_codes[2]).await;
    assert_eq!(app.request(Method::POST, "/api/v1/me/mfa/totp", Some(&fresh)).send().await.unwrap().status(), 409);
    // Turning it off takes the factor itself, not just the session.
    let turn_off = |code: &str| {
        app.request(Method::DELETE, "/api/v1/me/mfa/totp", Some(&fresh)).json(&json!({ "code": code })).send()
    };
    let without_code = app.request(Method::DELETE, "/api/v1/me/mfa/totp", Some(&fresh)).send().await.unwrap();
    assert_eq!(without_code.status(), 415, "a code must be sent");
    let wrong = turn_off("000000").await.unwrap();
    assert_eq!(wrong.status(), 422);
    assert_eq!(body(wrong).await["errors"][0]["field"], "code");
    assert_eq!(turn_off(&recovery_codes[3]).await.unwrap().status(), 204);
    assert_eq!(login_with(&app, &user, json!({})).await.status(), 200);
}

#[tokio::test]
async fn an_account_can_demand_mfa_of_its_members() {
    let app = spawn_app().await;
    let staff = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&staff, "Strict").await;
    let owner = app.member(&staff, account, "owner").await;
    let viewer = app.member(&owner, account, "viewer").await;
    let require = |session| {
        app.request(Method::PATCH, &format!("/api/v1/accounts/{account}"), Some(session))
            .json(&json!({ "require_mfa": true }))
            .send()
    };
    assert_eq!(require(&owner).await.unwrap().status(), 409, "not before the owner has it on");
    let (_, _, owner) = enroll(&app, &owner).await;
    let updated = require(&owner).await.unwrap();
    assert_eq!(updated.status(), 200);
    assert_eq!(body(updated).await["require_mfa"], true);

    let refused = app.request(Method::GET, &format!("/api/v1/accounts/{account}"), Some(&viewer)).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(body(refused).await["code"], "mfa_enrollment_required");
    assert_eq!(
        app.request(Method::GET, &format!("/api/v1/accounts/{account}"), Some(&owner)).send().await.unwrap().status(),
        200
    );

    // The viewer can still enroll (their own settings are not behind the account), and is then let in.
    let other_device = app.sign_in(&viewer.email, &viewer.password).await;
    let (secret, _, viewer) = enroll(&app, &viewer).await;
    assert_eq!(
        app.request(Method::GET, &format!("/api/v1/accounts/{account}"), Some(&viewer)).send().await.unwrap().status(),
        200
    );
    // A session opened before enrolment never proved the factor: it stays out.
    let before = app.request(Method::GET, &format!("/api/v1/accounts/{account}"), Some(&other_device)).send().await;
    let before = before.unwrap();
    assert_eq!(before.status(), 403);
    assert_eq!(body(before).await["code"], "mfa_enrollment_required");
    let with_code = login_with(&app, &viewer, json!({ "totp": code(&secret, 30) })).await;
    let signed_in = Session { cookie: session_cookie_from(&with_code).unwrap(), ..viewer.clone() };
    let after = app.request(Method::GET, &format!("/api/v1/accounts/{account}"), Some(&signed_in)).send().await;
    assert_eq!(after.unwrap().status(), 200, "a sign-in with the code is let in");
}
