//! Mail over SMTP to a real server (aiosmtpd, started by the test): a message
//! arrives with its headers and both parts; TLS is required unless relaxed;
//! notification mail a server turns away for now (421) is tried again, and one
//! it refuses for good (550) is failed with the server's words.

use std::time::Duration;

use portico::auth::permissions::StaffRole;
use portico::config::{MailTransport, SmtpTls};
use portico_testkit::{FakeStripe, SmtpServer};
use reqwest::Method;
use serde_json::json;

use crate::browser::{Browser, Viewport};
use crate::helpers::{Session, TestApp, eventually, raw_count, raw_sql, spawn_app_with};
use crate::pages::assert_accessible;

/// The header's value in a raw message (first occurrence, unfolded).
fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let head = message.split("\r\n\r\n").next()?;
    head.lines().find_map(|line| line.strip_prefix(&format!("{name}: ")))
}

/// A service that mails through `server`, a relay on this machine (no STARTTLS),
/// gathering notification mail over `digest_minutes`.
async fn mailing_app(server: &SmtpServer, digest_minutes: u64) -> TestApp {
    spawn_app_with(|settings| {
        settings.mail.transport = MailTransport::Smtp;
        settings.mail.smtp.url = server.url();
        settings.mail.smtp.tls = SmtpTls::None;
        settings.notifications.digest_minutes = digest_minutes;
    })
    .await
}

/// The member chooses notifications by email.
async fn choose_email(app: &TestApp, member: &Session) {
    let response = app
        .request(Method::PATCH, "/api/v1/me/profile", Some(member))
        .json(&json!({"notification_preferences": {"email": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// A Stripe connector whose `customer` is `account`, its invoices synced in full.
async fn stripe_invoices_of(
    app: &TestApp,
    admin: &Session,
    (stripe, api_key): (&FakeStripe, &str),
    customer: &str,
    account: uuid::Uuid,
) -> serde_json::Value {
    let connector = crate::sync::create_connector(
        app,
        admin,
        "stripe",
        json!({"base_url": stripe.base_url()}),
        json!({"api_key": api_key}),
        json!({}),
    )
    .await;
    crate::sync::map_account(app, admin, &connector, customer, account).await;
    crate::sync::sync_to_end(app, admin, &connector, &["invoices"], "full").await;
    connector
}

#[tokio::test]
async fn a_password_reset_reaches_the_mail_server_with_its_headers_and_both_parts() {
    let server = SmtpServer::start();
    let app = mailing_app(&server, 10).await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let member = app.member(&admin, account, "billing").await;
    let asked = app
        .request(Method::POST, "/api/v1/auth/password-reset", None)
        .json(&json!({"email": member.email}))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 202);
    let messages = eventually("the reset to arrive", Duration::from_secs(15), || async {
        let messages = server.messages();
        (!messages.is_empty()).then_some(messages)
    })
    .await;
    let message = &messages[0];
    assert_eq!(header(message, "To"), Some(member.email.as_str()), "{message}");
    assert_eq!(header(message, "Subject"), Some("Reset your Portico password"));
    assert!(header(message, "From").is_some_and(|from| from.contains("portico@")), "{message}");
    assert!(header(message, "Message-ID").is_some_and(|id| id.starts_with('<') && id.ends_with('>')));
    assert!(header(message, "Date").is_some());
    assert!(header(message, "Content-Type").is_some_and(|value| value.starts_with("multipart/alternative")));
    assert!(message.contains("Content-Type: text/plain; charset=utf-8"), "{message}");
    assert!(message.contains("Content-Type: text/html; charset=utf-8"), "{message}");
    assert!(message.contains("/reset-password#token="), "the link, whole: {message}");
    assert!(header(message, "List-Unsubscribe").is_none(), "security mail cannot be turned off");
}

#[tokio::test]
async fn a_server_without_starttls_is_refused_unless_the_configuration_relaxes_it() {
    let server = SmtpServer::start();
    let mut settings = portico::config::Settings::defaults();
    settings.mail.transport = MailTransport::Smtp;
    settings.mail.smtp.url = server.url();
    let mailer = portico::mail::Mailer::from_settings(&settings).unwrap();
    let message = portico::mail::Message::new("someone@example.com", "Hello", "Hello.");
    match mailer.send(&message).await {
        Err(portico::mail::MailError::Transient(why)) => assert!(why.contains("TLS"), "{why}"),
        other => panic!("sent in clear: {other:?}"),
    }
    assert!(server.messages().is_empty(), "nothing went in clear");

    settings.mail.smtp.tls = SmtpTls::None;
    let relaxed = portico::mail::Mailer::from_settings(&settings).unwrap();
    relaxed.send(&message).await.unwrap();
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn notification_mail_turned_away_for_now_is_tried_again_and_refused_mail_is_failed_with_the_answer() {
    let server = SmtpServer::start();
    let stripe = FakeStripe::start("sk_test_smtp").await;
    let customer = stripe.add_customer("Acme", "billing@acme.test");
    stripe.add_invoice(&customer, &[1200]);
    let app = mailing_app(&server, 10).await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let mut members = Vec::new();
    for local in ["ana", "busy-bob", "reject-rita"] {
        let email = format!("{local}-{}@example.com", uuid::Uuid::new_v4().simple());
        let member = app.member_at(&admin, account, "billing", &email).await;
        choose_email(&app, &member).await;
        members.push(member);
    }
    stripe_invoices_of(&app, &admin, (&stripe, "sk_test_smtp"), &customer, account).await;

    // Ana's arrives, with the one-click way out and an id made from the notification.
    let to_ana = eventually("Ana's mail", Duration::from_secs(20), || async {
        server.messages().into_iter().find(|message| header(message, "To") == Some(members[0].email.as_str()))
    })
    .await;
    assert!(header(&to_ana, "Message-ID").is_some_and(|id| id.starts_with("<notification-")), "{to_ana}");

    // Rita's address is refused for good: failed at once, with the server's words.
    eventually("Rita's mail failed", Duration::from_secs(20), || async {
        let failed = raw_count(
            &app.db,
            "SELECT COUNT(*) FROM notifications WHERE mail_status = 'failed' AND mail_error LIKE '%550%'",
        )
        .await;
        (failed == 1).then_some(())
    })
    .await;

    // Bob's server is busy: the mail waits its turn (time moved on by hand), then goes.
    let turned_away = [
        "SELECT COUNT(*) FROM notifications WHERE mail_status = 'pending' AND mail_attempts = 1 AND mail_error LIKE '%421%'",
        "SELECT COUNT(*) FROM notifications WHERE mail_status = 'pending' AND mail_attempts = 2 AND mail_error LIKE '%421%'",
    ];
    for statement in turned_away {
        eventually("Bob's mail turned away", Duration::from_secs(20), || async {
            let waiting = raw_count(&app.db, statement).await;
            (waiting == 1).then_some(())
        })
        .await;
        let past = chrono::Utc::now() - chrono::Duration::seconds(1);
        raw_sql(&app.db, "UPDATE notifications SET mail_claimed_until = $1 WHERE mail_status = 'pending'", |query| {
            query.bind(past)
        })
        .await;
    }
    eventually("Bob's mail sent in the end", Duration::from_secs(20), || async {
        server.messages().into_iter().find(|message| header(message, "To") == Some(members[1].email.as_str()))
    })
    .await;
    let log = server.log();
    assert_eq!(log.iter().filter(|line| line.starts_with("421")).count(), 2, "{log:?}");
    // Admins see the refused one on the health page, with the server's answer.
    let health = app.request(Method::GET, "/console/health", Some(&admin)).send().await.unwrap().text().await.unwrap();
    let trouble = health.split("id=\"mail-trouble\"").nth(1).unwrap().split("</section>").next().unwrap();
    assert!(
        trouble.contains("1 failed") && trouble.contains(&members[2].email) && trouble.contains("550"),
        "{trouble}"
    );
    assert_eq!(
        server.messages().iter().filter(|message| header(message, "To") == Some(members[1].email.as_str())).count(),
        1,
        "Bob's mail arrives once"
    );
}

#[tokio::test]
async fn a_mails_one_click_unsubscribe_stops_that_kind_of_mail_without_signing_in() {
    let server = SmtpServer::start();
    let stripe = FakeStripe::start("sk_test_unsubscribe").await;
    let customer = stripe.add_customer("Acme", "billing@acme.test");
    let invoice = stripe.add_invoice(&customer, &[1200]);
    let app = mailing_app(&server, 0).await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let member = app.member(&admin, account, "billing").await;
    choose_email(&app, &member).await;
    let connector = stripe_invoices_of(&app, &admin, (&stripe, "sk_test_unsubscribe"), &customer, account).await;
    let mail = eventually("the invoice mailed", Duration::from_secs(20), || async {
        server.messages().into_iter().find(|message| header(message, "To") == Some(member.email.as_str()))
    })
    .await;
    assert_eq!(header(&mail, "List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"), "{mail}");
    let link = header(&mail, "List-Unsubscribe").unwrap().trim_start_matches('<').trim_end_matches('>').to_owned();
    let path = link.strip_prefix(crate::helpers::PUBLIC_URL).unwrap_or_else(|| panic!("{link}")).to_owned();

    // A link scanner's GET changes nothing; a forged token opens nothing. The
    // page says what the link stops, at a phone's size and a desktop's.
    assert_eq!(app.get(&path).await.status(), 200);
    for viewport in [Viewport::Phone, Viewport::Desktop] {
        let browser = Browser::start(viewport).await;
        browser.goto(&app.url(&path)).await;
        assert!(browser.text("main").await.contains("Stop email about invoices?"));
        assert_accessible(&browser, &format!("unsubscribe ({viewport:?})")).await;
        browser.close().await;
    }
    let forged = path.replace("token=", "token=x");
    assert_eq!(app.client.post(app.url(&forged)).send().await.unwrap().status(), 404);
    // The mail provider's one-click POST (RFC 8058), no cookie, no Origin.
    let clicked = app
        .client
        .post(app.url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(clicked.status(), 200);
    // The page's button does the same (again is fine).
    let browser = Browser::start(Viewport::Phone).await;
    browser.goto(&app.url(&path)).await;
    browser.click_and_wait("main form button").await;
    assert!(browser.text("main .notice").await.contains("no more email about invoices"));
    assert_accessible(&browser, "unsubscribed (phone)").await;
    browser.close().await;
    let profile: serde_json::Value = app.get_json("/api/v1/me/profile", Some(&member)).await;
    assert_eq!(profile["notification_preferences"]["email_off"], json!(["invoices"]), "{profile}");
    assert_eq!(profile["notification_preferences"]["email"], true, "other kinds still mailed");

    // The invoice is paid: told in the portal, not mailed.
    stripe.pay_invoice(&invoice);
    crate::sync::sync_to_end(&app, &admin, &connector, &["invoices"], "incremental").await;
    eventually("the payment told in the portal", Duration::from_secs(15), || async {
        let page: serde_json::Value = app.get_json("/api/v1/me/notifications", Some(&member)).await;
        (page["items"].as_array().unwrap().len() == 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mailed =
        server.messages().iter().filter(|message| header(message, "To") == Some(member.email.as_str())).count();
    assert_eq!(mailed, 1, "no mail about invoices any more");
    let audit: Vec<serde_json::Value> =
        app.get_json("/api/v1/audit-events?action=notifications.email_unsubscribed", Some(&admin)).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    // The profile page shows it, and saving the page keeps it.
    let browser = Browser::start(Viewport::Desktop).await;
    crate::pages::sign_in(&browser, &app.address, &member.email, &member.password).await;
    browser.wait_for_path(&format!("/accounts/{account}")).await;
    browser.goto(&app.url("/profile")).await;
    let ticked = |name: &'static str| {
        let browser = &browser;
        async move {
            let checked: serde_json::Value = browser
                .client
                .execute("return document.querySelector(`input[name=${arguments[0]}]`).checked", vec![json!(name)])
                .await
                .unwrap();
            checked == json!(true)
        }
    };
    assert!(!ticked("email_invoices").await && ticked("email_tickets").await && ticked("email").await);
    assert_accessible(&browser, "profile with email per kind").await;
    browser.click_and_wait("form[action='/profile'] button[type=submit]").await;
    browser.goto(&app.url("/profile")).await;
    assert!(!ticked("email_invoices").await && ticked("email_tickets").await, "kept by the form");
    browser.close().await;
}

#[tokio::test]
async fn a_changed_password_and_a_new_api_token_are_told_at_once_by_mail() {
    let server = SmtpServer::start();
    let app = mailing_app(&server, 10).await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let member = app.member(&admin, account, "billing").await;
    let token = app
        .request(Method::POST, "/api/v1/me/tokens", Some(&member))
        .json(&json!({"name": "Accounting export", "account_id": account}))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 201);
    let changed = app
        .request(Method::POST, "/api/v1/me/password", Some(&member))
        .json(&json!({"current_password": member.password, "new_password": "an entirely new passphrase"}))
        .send()
        .await
        .unwrap();
    assert!(changed.status().is_success(), "{}", changed.status());
    let told = eventually("both told", Duration::from_secs(15), || async {
        let told: Vec<String> = server
            .messages()
            .into_iter()
            .filter(|message| header(message, "To") == Some(member.email.as_str()))
            .collect();
        (told.len() == 2).then_some(told)
    })
    .await;
    let subjects: Vec<&str> = told.iter().filter_map(|message| header(message, "Subject")).collect();
    assert!(subjects.iter().any(|subject| subject.ends_with("a new API token was made")), "{subjects:?}");
    assert!(subjects.iter().any(|subject| subject.ends_with("your password was changed")), "{subjects:?}");
    let token_mail = told.iter().find(|message| message.contains("Accounting export")).expect("the token named");
    assert!(token_mail.contains("/forgot-password"), "what to do if it was not them");
    assert!(told.iter().all(|message| header(message, "List-Unsubscribe").is_none()), "cannot be turned off");
}

#[tokio::test]
async fn news_within_the_digest_window_gathers_into_one_mail() {
    let server = SmtpServer::start();
    let stripe = FakeStripe::start("sk_test_digest").await;
    let customer = stripe.add_customer("Acme", "billing@acme.test");
    let first = stripe.add_invoice(&customer, &[1200]);
    let app = mailing_app(&server, 10).await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let member = app.member(&admin, account, "billing").await;
    choose_email(&app, &member).await;
    let connector = stripe_invoices_of(&app, &admin, (&stripe, "sk_test_digest"), &customer, account).await;
    let to_member = || {
        server
            .messages()
            .into_iter()
            .filter(|message| header(message, "To") == Some(member.email.as_str()))
            .collect::<Vec<_>>()
    };
    // The first news goes at once.
    eventually("the first mail", Duration::from_secs(20), || async { (to_member().len() == 1).then_some(()) }).await;

    // Two more within the window: told in the portal, mailed later, together.
    stripe.pay_invoice(&first);
    stripe.add_invoice(&customer, &[800]);
    crate::sync::sync_to_end(&app, &admin, &connector, &["invoices"], "incremental").await;
    eventually("the news told in the portal", Duration::from_secs(15), || async {
        let page: serde_json::Value = app.get_json("/api/v1/me/notifications", Some(&member)).await;
        (page["items"].as_array().unwrap().len() == 3).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(to_member().len(), 1, "nothing more within the window");
    // The window passes (time moved on by hand): one mail with both.
    let long_ago = chrono::Utc::now() - chrono::Duration::minutes(11);
    raw_sql(&app.db, "UPDATE notification_digests SET last_sent_at = $1", |query| query.bind(long_ago)).await;
    let mails = eventually("the digest", Duration::from_secs(20), || async {
        let mails = to_member();
        (mails.len() == 2).then_some(mails)
    })
    .await;
    let digest = &mails[1];
    assert_eq!(header(digest, "Subject"), Some("Acme: 2 updates"), "{digest}");
    assert!(digest.contains("is paid") && digest.contains("was issued"), "{digest}");
    assert_eq!(header(digest, "List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"));
}
