//! In-portal notifications, made from the change feed by the workers: each member
//! told what they may see and asked to hear about, once.

use std::time::Duration;

use portico::auth::permissions::StaffRole;
use portico_testkit::FakeStripe;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, eventually, spawn_app_with};
use crate::sync::{create_connector, map_account, sync_to_end};

async fn notifications(app: &TestApp, session: &Session, query: &str) -> Value {
    let path = format!("/api/v1/me/notifications{query}");
    let response = app.request(Method::GET, &path, Some(session)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn members_are_told_of_new_and_paid_invoices_if_they_may_see_them_and_want_to() {
    let stripe = FakeStripe::start("sk_test_notify").await;
    let acme = stripe.add_customer("Acme", "billing@acme.test");
    let invoice = stripe.add_invoice(&acme, &[1200]);
    // Each mail at once (gathering is `mail::`'s test).
    let app = spawn_app_with(|settings| settings.notifications.digest_minutes = 0).await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let billing = app.member(&admin, account, "billing").await;
    let quiet = app.member(&admin, account, "billing").await;
    let viewer = app.member(&admin, account, "viewer").await;
    for (session, preferences) in [(&quiet, json!({"invoices": false})), (&billing, json!({"email": true}))] {
        let response = app
            .request(Method::PATCH, "/api/v1/me/profile", Some(session))
            .json(&json!({"notification_preferences": preferences}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let connector = create_connector(
        &app,
        &admin,
        "stripe",
        json!({"base_url": stripe.base_url()}),
        json!({"api_key": "sk_test_notify"}),
        json!({}),
    )
    .await;
    map_account(&app, &admin, &connector, &acme, account).await;
    sync_to_end(&app, &admin, &connector, &["invoices"], "full").await;

    let issued = eventually("the issued invoice told", Duration::from_secs(15), || async {
        let page = notifications(&app, &billing, "").await;
        (page["items"].as_array().unwrap().len() == 1).then_some(page)
    })
    .await;
    let told = &issued["items"][0];
    assert_eq!(told["kind"], "invoices");
    assert!(told["message"].as_str().unwrap().ends_with("was issued"), "{told}");
    assert_eq!(told["account_id"], account.to_string());
    // Billing chose email as well: the same news is mailed to them, and only to them.
    let mail = eventually("the issued invoice mailed", Duration::from_secs(15), || async {
        let mailbox = app.mailbox();
        (!mailbox.is_empty()).then_some(mailbox)
    })
    .await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0].contains(&format!("To: {}\r\n", billing.email)), "{}", mail[0]);
    let subject = format!("Subject: Acme: {}\r\n", told["message"].as_str().unwrap());
    assert!(mail[0].contains(&subject), "{}", mail[0]);

    stripe.pay_invoice(&invoice);
    sync_to_end(&app, &admin, &connector, &["invoices"], "incremental").await;
    let paid = eventually("the payment told", Duration::from_secs(15), || async {
        let page = notifications(&app, &billing, "?unread=true").await;
        (page["items"].as_array().unwrap().len() == 2).then_some(page)
    })
    .await;
    assert!(paid["items"][0]["message"].as_str().unwrap().ends_with("is paid"), "newest first: {paid}");
    eventually("the payment mailed", Duration::from_secs(15), || async { (app.mailbox().len() == 2).then_some(()) })
        .await;
    assert_eq!(paid["unread_count"], 2);

    // A sync that changes nothing tells nothing more.
    sync_to_end(&app, &admin, &connector, &["invoices"], "full").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(notifications(&app, &billing, "").await["items"].as_array().unwrap().len(), 2);
    // Not wanted, not allowed: nothing.
    assert!(notifications(&app, &quiet, "").await["items"].as_array().unwrap().is_empty());
    assert!(notifications(&app, &viewer, "").await["items"].as_array().unwrap().is_empty());

    // Read one, then all; someone else's cannot be touched.
    let first = paid["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/me/notifications/{first}/read");
    assert_eq!(app.request(Method::POST, &path, Some(&viewer)).send().await.unwrap().status(), 404);
    assert_eq!(app.request(Method::POST, &path, Some(&billing)).send().await.unwrap().status(), 204);
    assert_eq!(notifications(&app, &billing, "").await["unread_count"], 1);
    let all = "/api/v1/me/notifications/read";
    assert_eq!(app.request(Method::POST, all, Some(&billing)).send().await.unwrap().status(), 204);
    let page = notifications(&app, &billing, "?unread=true").await;
    assert_eq!(page["unread_count"], 0);
    assert!(page["items"].as_array().unwrap().is_empty());
}
