//! Data rights: staff erase a person; the business's records stay.

use portico::auth::permissions::StaffRole;
use portico_testkit::FakeStripe;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::spawn_app;
use crate::live_events::EventStream;
use crate::sync::{create_connector, map_account, sync_to_end};

#[tokio::test]
async fn an_erased_person_is_anonymised_and_locked_out_while_the_accounts_records_stay() {
    let stripe = FakeStripe::start("sk_test_erasure").await;
    let customer = stripe.add_customer("Acme", "billing@acme.test");
    stripe.add_invoice(&customer, &[4200]);
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let connector = create_connector(
        &app,
        &admin,
        "stripe",
        json!({"base_url": stripe.base_url()}),
        json!({"api_key": "sk_test_erasure"}),
        json!({}),
    )
    .await;
    map_account(&app, &admin, &connector, &customer, account).await;
    sync_to_end(&app, &admin, &connector, &["invoices"], "full").await;
    let owner = app.member(&admin, account, "owner").await;
    let leaving = app.member(&owner, account, "billing").await;
    let mut stream = EventStream::open(&app.address, &leaving, None).await;

    // Only an admin (signed in recently) erases, and not themselves.
    let support = app.staff(StaffRole::Support).await;
    let path = format!("/api/v1/users/{}/erasure", leaving.user_id);
    assert_eq!(app.request(Method::POST, &path, Some(&support)).send().await.unwrap().status(), 403);
    assert_eq!(app.request(Method::POST, &path, Some(&owner)).send().await.unwrap().status(), 403);
    let myself = format!("/api/v1/users/{}/erasure", admin.user_id);
    assert_eq!(app.request(Method::POST, &myself, Some(&admin)).send().await.unwrap().status(), 409);

    let response = app.request(Method::POST, &path, Some(&admin)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let erased: Value = response.json().await.unwrap();
    assert_eq!(erased["memberships_removed"], 1);
    assert!(erased["sessions_ended"].as_u64().unwrap() >= 1, "{erased}");

    // Locked out at once: the session no longer works, the open stream ends.
    assert_eq!(app.request(Method::GET, "/api/v1/me", Some(&leaving)).send().await.unwrap().status(), 401);
    let revoked = stream.next(std::time::Duration::from_secs(10)).await.expect("an event");
    assert_eq!(revoked.event, "revoked");
    assert_eq!(app.login(&leaving.email, &leaving.password).await.status(), 401);
    // Anonymised: nothing of the address or name is left.
    let profile = app.store.user_profile(leaving.user_id).await.unwrap().unwrap();
    assert!(profile.email.starts_with("erased-") && profile.email.ends_with("@erased.invalid"), "{}", profile.email);
    assert_eq!(profile.display_name, "");
    let members: Value = app
        .request(Method::GET, &format!("/api/v1/accounts/{account}/members"), Some(&owner))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!members.to_string().contains(&leaving.email), "{members}");

    // The account's invoices stay for the business and its other people.
    let invoices: Value = app
        .request(Method::GET, &format!("/api/v1/accounts/{account}/invoices"), Some(&owner))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(invoices["items"].as_array().unwrap().len(), 1);

    // The erasure is audited, and a second one finds nobody.
    let events: Value =
        app.request(Method::GET, "/api/v1/audit-events", Some(&admin)).send().await.unwrap().json().await.unwrap();
    let event = events.as_array().unwrap().iter().find(|event| event["action"] == "user.erased").expect("audited");
    assert_eq!(event["target_id"], leaving.user_id.to_string());
    assert_eq!(app.request(Method::POST, &path, Some(&admin)).send().await.unwrap().status(), 404);
}
