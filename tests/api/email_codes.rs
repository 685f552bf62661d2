//! Signing in with a one-time code mailed to the address: the same answer for
//! every address, a code that works once and briefly, limits on asking and on
//! guessing, and the account's choice to allow, require or forbid it.

use std::time::Duration;

use portico::auth::permissions::StaffRole;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, eventually, session_cookie_from, spawn_app, spawn_app_with};

/// The digits of the newest code mailed to `email`.
async fn mailed_code(app: &TestApp, email: &str, nth: usize) -> String {
    let mail = eventually("the code's mail", Duration::from_secs(10), || async {
        let codes: Vec<String> = app
            .mailbox()
            .into_iter()
            .filter(|mail| mail.contains(&format!("To: {email}\r\n")) && mail.contains("sign-in code"))
            .collect();
        (codes.len() >= nth).then(|| codes[nth - 1].clone())
    })
    .await;
    let line = mail.lines().find(|line| line.starts_with("    ") && line.trim().len() == 9).expect("the code's line");
    line.trim().replace(' ', "")
}

async fn ask(app: &TestApp, email: &str) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/auth/email-code", None).json(&json!({ "email": email })).send().await.unwrap()
}

async fn try_code(app: &TestApp, email: &str, code: &str) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/auth/email-code/sign-in", None)
        .json(&json!({ "email": email, "code": code }))
        .send()
        .await
        .unwrap()
}

async fn set_email_codes(app: &TestApp, owner: &Session, account: uuid::Uuid, policy: &str) {
    let response = app
        .request(Method::PATCH, &format!("/api/v1/accounts/{account}"), Some(owner))
        .json(&json!({ "email_codes": policy }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

#[tokio::test]
async fn a_mailed_code_signs_a_customer_in_once_and_says_nothing_of_unknown_addresses() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let member = app.member(&admin, account, "member").await;

    // Known and unknown addresses get the same answer; only the known one gets mail.
    assert_eq!(ask(&app, &member.email.to_uppercase()).await.status(), 202);
    assert_eq!(ask(&app, "nobody@example.com").await.status(), 202);
    let code = mailed_code(&app, &member.email, 1).await;
    assert_eq!(code.len(), 8);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.mailbox().iter().filter(|mail| mail.contains("sign-in code")).count(), 1);

    // A wrong code, then the right one: signed in; the code works once.
    let wrong = if code == "00000000" { "11111111" } else { "00000000" };
    let refused = try_code(&app, &member.email, wrong).await;
    assert_eq!(refused.status(), 401);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "unauthenticated", "{problem}");
    let spaced = format!("{} {}", &code[..4], &code[4..]);
    let signed_in = try_code(&app, &member.email, &spaced).await;
    assert_eq!(signed_in.status(), 200);
    let cookie = session_cookie_from(&signed_in).expect("a session cookie");
    let session = Session { cookie, ..member.clone() };
    let me: Value = app.get_json("/api/v1/me", Some(&session)).await;
    assert_eq!(me["email"], member.email);
    assert_eq!(try_code(&app, &member.email, &code).await.status(), 401, "used once");
    // A mailbox proves no password: changes that need one ask for it first.
    let token = app
        .request(Method::POST, "/api/v1/me/tokens", Some(&session))
        .json(&json!({ "name": "x", "account_id": account }))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 403);
    let problem: Value = token.json().await.unwrap();
    assert_eq!(problem["code"], "reauthentication_required", "{problem}");
    // Staff never sign in this way.
    assert_eq!(ask(&app, &admin.email).await.status(), 202);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!app.mailbox().iter().any(|mail| mail.contains(&format!("To: {}\r\n", admin.email))));
}

#[tokio::test]
async fn codes_are_limited_per_address_retired_by_newer_ones_and_worn_out_by_guesses() {
    let app = spawn_app_with(|settings| settings.auth.login_failures_per_account = 100).await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let member = app.member(&admin, account, "viewer").await;

    // A newer code retires the older one.
    ask(&app, &member.email).await;
    let first = mailed_code(&app, &member.email, 1).await;
    ask(&app, &member.email).await;
    let second = mailed_code(&app, &member.email, 2).await;
    if first != second {
        assert_eq!(try_code(&app, &member.email, &first).await.status(), 401, "retired");
    }
    // Five wrong tries wear a code out: the right one no longer works.
    for _ in 0..5 {
        let wrong = if second == "00000000" { "11111111" } else { "00000000" };
        assert_eq!(try_code(&app, &member.email, wrong).await.status(), 401);
    }
    assert_eq!(try_code(&app, &member.email, &second).await.status(), 401, "worn out");

    // Three codes a quarter hour per address; more are silently not sent.
    for _ in 0..3 {
        assert_eq!(ask(&app, &member.email).await.status(), 202);
    }
    let third = mailed_code(&app, &member.email, 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = app.mailbox().iter().filter(|mail| mail.contains("sign-in code")).count();
    assert_eq!(sent, 3, "three codes a quarter hour, not five");
    assert_eq!(try_code(&app, &member.email, &third).await.status(), 200, "the newest still works");
}

#[tokio::test]
async fn an_account_requires_codes_or_turns_them_off_and_a_second_factor_still_counts() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let owner = app.member(&admin, account, "owner").await;
    let member = app.member(&owner, account, "member").await;

    // Refused settings change nothing.
    let response = app
        .request(Method::PATCH, &format!("/api/v1/accounts/{account}"), Some(&owner))
        .json(&json!({ "email_codes": "sometimes" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);

    // Off: members get no code.
    set_email_codes(&app, &owner, account, "off").await;
    ask(&app, &member.email).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!app.mailbox().iter().any(|mail| mail.contains("sign-in code")));

    // Required: the password no longer signs members in; a code does.
    set_email_codes(&app, &owner, account, "required").await;
    let response = app.login(&member.email, &member.password).await;
    assert_eq!(response.status(), 403, "a password is refused");
    let problem: Value = response.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("code sent by email"), "{problem}");
    ask(&app, &member.email).await;
    let code = mailed_code(&app, &member.email, 1).await;
    assert_eq!(try_code(&app, &member.email, &code).await.status(), 200);
    let account_now: Value = app.get_json(&format!("/api/v1/accounts/{account}"), Some(&owner)).await;
    assert_eq!(account_now["email_codes"], "required");

    // With an authenticator, the code alone is not enough; with its code it is.
    set_email_codes(&app, &owner, account, "allowed").await;
    let (secret, _, _) = crate::mfa::enroll(&app, &owner).await;
    ask(&app, &owner.email).await;
    let code = mailed_code(&app, &owner.email, 1).await;
    let response = try_code(&app, &owner.email, &code).await;
    assert_eq!(response.status(), 401);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "mfa_required", "{problem}");
    let response = app
        .request(Method::POST, "/api/v1/auth/email-code/sign-in", None)
        .json(&json!({ "email": owner.email, "code": code, "totp": crate::mfa::code(&secret, 30) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}
