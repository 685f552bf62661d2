//! The webhook gateway over HTTP: signed deliveries from a Stripe-like sender are
//! stored before the answer, de-duplicated, verified (or refused and kept for
//! admins), and applied to the record cache through the sync path.

use std::time::Duration;

use portico::auth::permissions::StaffRole;
use portico_testkit::FakeStripe;
use portico_testkit::signing::{standard_webhooks_headers, stripe_signature};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, eventually, spawn_app};
use crate::sync::{cached_records, map_account, sync_to_end};

const SECRET: &str = "whsec_test_stripe_endpoint_secret";

pub async fn create_endpoint(app: &TestApp, admin: &Session, connector: &Value, body: Value) -> Value {
    let path = format!("/api/v1/admin/connectors/{}/webhook-endpoints", connector["id"].as_str().unwrap());
    let response = app.request(Method::POST, &path, Some(admin)).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// Posts `body` to the endpoint as Stripe would, signed now with `secret`.
async fn post_stripe(app: &TestApp, endpoint: &Value, secret: &str, body: &[u8]) -> reqwest::Response {
    post_stripe_at(app, endpoint, secret, body, chrono::Utc::now().timestamp()).await
}

async fn post_stripe_at(app: &TestApp, endpoint: &Value, secret: &str, body: &[u8], at: i64) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/webhooks/{}", endpoint["id"].as_str().unwrap())))
        .header("content-type", "application/json")
        .header("stripe-signature", stripe_signature(secret, at, body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

async fn deliveries(app: &TestApp, admin: &Session, endpoint: &Value, status: &str) -> Vec<Value> {
    let path =
        format!("/api/v1/admin/webhook-endpoints/{}/deliveries?status={status}", endpoint["id"].as_str().unwrap());
    let page: Value = app.get_json(&path, Some(admin)).await;
    page["deliveries"].as_array().cloned().unwrap_or_default()
}

/// A synced Stripe connector with one customer mapped to an account and one invoice.
struct Fixture {
    app: TestApp,
    admin: Session,
    stripe: FakeStripe,
    connector: Value,
    endpoint: Value,
    account: uuid::Uuid,
    invoice: String,
}

async fn fixture() -> Fixture {
    let stripe = FakeStripe::start("sk_test_webhooks").await;
    let customer = stripe.add_customer("Acme", "billing@acme.test");
    let invoice = stripe.add_invoice(&customer, &[1500]);
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let settings = json!({"base_url": stripe.base_url()});
    let connector = crate::sync::create_connector(
        &app,
        &admin,
        "stripe",
        settings,
        json!({"api_key": "sk_test_webhooks"}),
        json!({}),
    )
    .await;
    map_account(&app, &admin, &connector, &customer, account).await;
    sync_to_end(&app, &admin, &connector, &["customers", "invoices"], "full").await;
    let endpoint =
        create_endpoint(&app, &admin, &connector, json!({"name": "Stripe", "scheme": "stripe", "secret": SECRET}))
            .await;
    Fixture { app, admin, stripe, connector, endpoint, account, invoice }
}

async fn invoice_status(fixture: &Fixture) -> Value {
    cached_records(&fixture.app, &fixture.admin, &fixture.connector, "invoice").await[&fixture.invoice]["status"]
        .clone()
}

#[tokio::test]
async fn a_signed_event_is_stored_once_and_updates_the_invoice_with_history() {
    let fixture = fixture().await;
    let (app, admin, endpoint) = (&fixture.app, &fixture.admin, &fixture.endpoint);
    assert!(endpoint["url"].as_str().unwrap().ends_with(&format!("/webhooks/{}", endpoint["id"].as_str().unwrap())));
    assert!(endpoint.get("generated_secret").is_none(), "a given secret is never echoed");
    assert!(!endpoint.to_string().contains(SECRET));

    let event = fixture.stripe.set_invoice_status(&fixture.invoice, "paid");
    let body = serde_json::to_vec(&event).unwrap();
    let response = post_stripe(app, endpoint, SECRET, &body).await;
    assert_eq!(response.status(), 200);
    let first: Value = response.json().await.unwrap();
    assert_eq!(first["duplicate"], false);

    // Stripe retries: the same event again is answered alike and not stored again.
    let response = post_stripe(app, endpoint, SECRET, &body).await;
    assert_eq!(response.status(), 200);
    let again: Value = response.json().await.unwrap();
    assert_eq!(again, json!({"id": first["id"], "duplicate": true}));

    eventually("the event to reach the cache", Duration::from_secs(10), || async {
        (invoice_status(&fixture).await == "paid").then_some(())
    })
    .await;
    let processed = eventually("the delivery to be marked processed", Duration::from_secs(10), || async {
        deliveries(app, admin, endpoint, "processed").await.into_iter().next()
    })
    .await;
    assert_eq!(processed["id"], first["id"]);
    assert_eq!(processed["delivery_id"], event["id"]);
    assert_eq!(processed["duplicates"], 1);
    assert_eq!(processed["outcome"]["records"], 1);
    assert_eq!(deliveries(app, admin, endpoint, "duplicate").await.len(), 1);

    // The change went through the sync path: history and freshness.
    let record = &cached_records(app, admin, &fixture.connector, "invoice").await[&fixture.invoice];
    let path = format!("/api/v1/accounts/{}/invoices/{}/history", fixture.account, record["id"].as_str().unwrap());
    let history: Value = app.get_json(&path, Some(admin)).await;
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{history}");
    assert_eq!(
        (versions[0]["data"]["status"].as_str(), versions[1]["data"]["status"].as_str()),
        (Some("paid"), Some("open"))
    );
    assert!(history["last_event_at"].is_string(), "{history}");

    // The admin view of the delivery hides the signature and personal data.
    let path = format!(
        "/api/v1/admin/webhook-endpoints/{}/deliveries/{}",
        endpoint["id"].as_str().unwrap(),
        first["id"].as_str().unwrap()
    );
    let detail: Value = app.get_json(&path, Some(admin)).await;
    assert_eq!(detail["headers"]["stripe-signature"], "[redacted]");
    assert_eq!(detail["body"]["type"], "invoice.updated");
    assert_eq!(detail["body"]["data"]["object"]["id"], fixture.invoice.as_str());
    assert!(!detail.to_string().contains("billing@acme.test"));
    assert_eq!(detail["body_bytes"], body.len());
}

#[tokio::test]
async fn an_older_event_never_overwrites_newer_data() {
    let fixture = fixture().await;
    let paid = fixture.stripe.set_invoice_status(&fixture.invoice, "paid");
    let mut older = paid.clone();
    older["id"] = json!("evt_older");
    older["created"] = json!(paid["created"].as_i64().unwrap() - 60);
    older["data"]["object"]["status"] = json!("open");
    for event in [&paid, &older] {
        let response = post_stripe(&fixture.app, &fixture.endpoint, SECRET, &serde_json::to_vec(event).unwrap()).await;
        assert_eq!(response.status(), 200);
    }
    eventually("both deliveries processed", Duration::from_secs(10), || async {
        (deliveries(&fixture.app, &fixture.admin, &fixture.endpoint, "processed").await.len() == 2).then_some(())
    })
    .await;
    assert_eq!(invoice_status(&fixture).await, "paid", "the late, older event was not applied");
}

#[tokio::test]
async fn a_thin_event_fetches_its_object_and_a_vanished_one_is_deleted() {
    let fixture = fixture().await;
    fixture.stripe.set_invoice_status(&fixture.invoice, "void");
    let thin = json!({"id": "evt_thin_1", "object": "v2.core.event", "type": "v1.invoice.updated",
        "related_object": {"id": fixture.invoice, "type": "invoice", "url": format!("/v1/invoices/{}", fixture.invoice)}});
    let response = post_stripe(&fixture.app, &fixture.endpoint, SECRET, &serde_json::to_vec(&thin).unwrap()).await;
    assert_eq!(response.status(), 200);
    eventually("the fetched invoice to reach the cache", Duration::from_secs(10), || async {
        (invoice_status(&fixture).await == "void").then_some(())
    })
    .await;
    assert_eq!(fixture.stripe.retrievals(), 1);

    fixture.stripe.remove_silently("invoices", &fixture.invoice);
    let thin = json!({"id": "evt_thin_2", "object": "v2.core.event", "type": "v1.invoice.deleted",
        "related_object": {"id": fixture.invoice, "type": "invoice"}});
    let response = post_stripe(&fixture.app, &fixture.endpoint, SECRET, &serde_json::to_vec(&thin).unwrap()).await;
    assert_eq!(response.status(), 200);
    eventually("the vanished invoice to be deleted", Duration::from_secs(10), || async {
        let records = cached_records(&fixture.app, &fixture.admin, &fixture.connector, "invoice").await;
        records[&fixture.invoice]["deleted_at"].is_string().then_some(())
    })
    .await;
}

#[tokio::test]
async fn bad_signatures_stale_deliveries_and_large_bodies_are_refused_and_kept_for_admins() {
    let fixture = fixture().await;
    let (app, admin, endpoint) = (&fixture.app, &fixture.admin, &fixture.endpoint);
    let event = fixture.stripe.set_invoice_status(&fixture.invoice, "paid");
    let body = serde_json::to_vec(&event).unwrap();

    let response = post_stripe(app, endpoint, "whsec_wrong", &body).await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "invalid_signature");
    assert_eq!(problem["detail"], "The delivery could not be verified.", "no hint for an attacker");

    // Signed correctly, but ten minutes ago (a replayed capture) or in the future.
    let now = chrono::Utc::now().timestamp();
    for at in [now - 600, now + 600] {
        let response = post_stripe_at(app, endpoint, SECRET, &body, at).await;
        assert_eq!(response.status(), 401);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["detail"], "The delivery could not be verified.");
    }
    // No signature at all.
    let response = app
        .client
        .post(app.url(&format!("/webhooks/{}", endpoint["id"].as_str().unwrap())))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let rejected = deliveries(app, admin, endpoint, "rejected").await;
    let mut reasons: Vec<&str> = rejected.iter().map(|d| d["reject_reason"].as_str().unwrap()).collect();
    reasons.sort_unstable();
    assert_eq!(reasons, ["bad_signature", "malformed_signature", "stale", "stale"]);
    // Counted (the recorder is shared by every test in this process: at least ours).
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let count = |reason: &str| -> u64 {
        let prefix = format!("portico_webhook_rejected_total{{reason=\"{reason}\"}} ");
        metrics.lines().find_map(|line| line.strip_prefix(&prefix)?.parse().ok()).unwrap_or(0)
    };
    assert!(count("bad_signature") >= 1 && count("stale") >= 2, "{metrics}");

    // A refused delivery is never processed, nor replayable.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(invoice_status(&fixture).await, "open");
    let path = format!(
        "/api/v1/admin/webhook-endpoints/{}/deliveries/{}/replay",
        endpoint["id"].as_str().unwrap(),
        rejected[0]["id"].as_str().unwrap()
    );
    assert_eq!(app.request(Method::POST, &path, Some(admin)).send().await.unwrap().status(), 409);

    // Bodies over the endpoint's limit: refused by declared length, and while streaming.
    let path = format!("/api/v1/admin/webhook-endpoints/{}", endpoint["id"].as_str().unwrap());
    let response =
        app.request(Method::PATCH, &path, Some(admin)).json(&json!({"body_limit_bytes": 1024})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let big = vec![b'x'; 4096];
    let response = post_stripe(app, endpoint, SECRET, &big).await;
    assert_eq!(response.status(), 413);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "payload_too_large");
    let chunks = futures::stream::iter((0..8).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 512])));
    let response = app
        .client
        .post(app.url(&format!("/webhooks/{}", endpoint["id"].as_str().unwrap())))
        .header("stripe-signature", stripe_signature(SECRET, now, b"irrelevant"))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    // Unknown and malformed endpoint ids look alike.
    let response = post_stripe(app, &json!({"id": uuid::Uuid::new_v4()}), SECRET, &body).await;
    assert_eq!(response.status(), 404);
    let response = post_stripe(app, &json!({"id": "not-a-uuid"}), SECRET, &body).await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn concurrent_copies_of_one_delivery_are_stored_once() {
    let fixture = fixture().await;
    let event = fixture.stripe.set_invoice_status(&fixture.invoice, "paid");
    let body = serde_json::to_vec(&event).unwrap();
    let sends = (0..24).map(|_| post_stripe(&fixture.app, &fixture.endpoint, SECRET, &body));
    let answers = futures::future::join_all(sends).await;
    let mut ids = std::collections::BTreeSet::new();
    let mut new = 0;
    for response in answers {
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.unwrap();
        ids.insert(answer["id"].as_str().unwrap().to_owned());
        new += usize::from(answer["duplicate"] == false);
    }
    assert_eq!((new, ids.len()), (1, 1), "one stored, every copy pointing at it");
    let delivery = eventually("the delivery processed", Duration::from_secs(10), || async {
        deliveries(&fixture.app, &fixture.admin, &fixture.endpoint, "processed").await.into_iter().next()
    })
    .await;
    assert_eq!(delivery["duplicates"], 23);
}

#[tokio::test]
async fn rotation_keeps_the_old_secret_for_its_grace_period_and_revocation_ends_it() {
    let stripe = FakeStripe::start("sk_test_rotation").await;
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector = create_stripe_connector_with_key(&app, &admin, &stripe, "sk_test_rotation").await;
    // Standard Webhooks, with a secret Portico generates and shows once.
    let endpoint =
        create_endpoint(&app, &admin, &connector, json!({"name": "Relay", "scheme": "standard-webhooks"})).await;
    let old_secret = endpoint["generated_secret"].as_str().unwrap().to_owned();
    assert!(old_secret.starts_with("whsec_"));
    let path = format!("/api/v1/admin/webhook-endpoints/{}", endpoint["id"].as_str().unwrap());
    let shown: Value = app.get_json(&path, Some(&admin)).await;
    assert!(shown.get("generated_secret").is_none() && !shown.to_string().contains(&old_secret));

    let send = |secret: String, id: &'static str| {
        let app = &app;
        let endpoint = &endpoint;
        async move {
            let body = json!({"id": id, "type": "payout.paid", "data": {"object": {"id": "po_1", "object": "payout"}}})
                .to_string();
            let mut request =
                app.client.post(app.url(&format!("/webhooks/{}", endpoint["id"].as_str().unwrap()))).body(body.clone());
            for (name, value) in standard_webhooks_headers(&secret, id, chrono::Utc::now().timestamp(), body.as_bytes())
            {
                request = request.header(name, value);
            }
            request.send().await.unwrap().status().as_u16()
        }
    };
    assert_eq!(send(old_secret.clone(), "msg_1").await, 200);

    let rotated: Value = app
        .request(Method::POST, &format!("{path}/secrets"), Some(&admin))
        .json(&json!({"grace_secs": 3600}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_secret = rotated["generated_secret"].as_str().unwrap().to_owned();
    let secrets = rotated["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 2);
    assert!(secrets[0]["expires_at"].is_string() && secrets[1]["expires_at"].is_null());
    assert_eq!(send(old_secret.clone(), "msg_2").await, 200, "the old secret holds during the grace period");
    assert_eq!(send(new_secret.clone(), "msg_3").await, 200);

    // Revoking the old one ends it at once; the last live one cannot be revoked.
    let old_id = secrets[0]["id"].as_str().unwrap();
    let response = app.request(Method::DELETE, &format!("{path}/secrets/{old_id}"), Some(&admin)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(send(old_secret, "msg_4").await, 401);
    assert_eq!(send(new_secret, "msg_5").await, 200);
    let new_id = rotated["secrets"][1]["id"].as_str().unwrap();
    let response = app.request(Method::DELETE, &format!("{path}/secrets/{new_id}"), Some(&admin)).send().await.unwrap();
    assert_eq!(response.status(), 409);

    // A source allow-list that does not include loopback refuses the delivery.
    let response = app
        .request(Method::PATCH, &path, Some(&admin))
        .json(&json!({"allowed_sources": ["203.0.113.0/24"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let rotated_secret_still_valid = rotated["generated_secret"].as_str().unwrap().to_owned();
    assert_eq!(send(rotated_secret_still_valid.clone(), "msg_6").await, 403);
    let response = app
        .request(Method::PATCH, &path, Some(&admin))
        .json(&json!({"allowed_sources": ["127.0.0.0/8", "::1"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(send(rotated_secret_still_valid, "msg_7").await, 200);

    // Settings are validated.
    let response = app
        .request(Method::PATCH, &path, Some(&admin))
        .json(&json!({"allowed_sources": ["nowhere"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let create = format!("/api/v1/admin/connectors/{}/webhook-endpoints", connector["id"].as_str().unwrap());
    let response = app
        .request(Method::POST, &create, Some(&admin))
        .json(&json!({"name": "x", "scheme": "carrier-pigeon"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let hmac = json!({"name": "x", "scheme": "hmac", "hmac": {"header": "x-sig", "algorithm": "sha256", "encoding": "hex", "template": "{timestamp}"}});
    let response = app.request(Method::POST, &create, Some(&admin)).json(&hmac).send().await.unwrap();
    assert_eq!(response.status(), 422, "a template without the body would sign nothing that matters");
}

async fn create_stripe_connector_with_key(app: &TestApp, admin: &Session, stripe: &FakeStripe, key: &str) -> Value {
    crate::sync::create_connector(
        app,
        admin,
        "stripe",
        json!({"base_url": stripe.base_url()}),
        json!({"api_key": key}),
        json!({}),
    )
    .await
}

#[tokio::test]
async fn a_delivery_that_cannot_be_processed_is_dead_and_a_replay_reprocesses_a_range() {
    let fixture = fixture().await;
    let (app, admin, endpoint) = (&fixture.app, &fixture.admin, &fixture.endpoint);
    // Signed, but not an event: processing fails permanently.
    let response = post_stripe(app, endpoint, SECRET, b"{\"id\": \"evt_broken\", \"data\": [}").await;
    assert_eq!(response.status(), 200, "stored: it was authentic");
    let dead = eventually("the delivery to be dead", Duration::from_secs(10), || async {
        deliveries(app, admin, endpoint, "dead").await.into_iter().next()
    })
    .await;
    assert!(dead["last_error"].as_str().unwrap().contains("not a Stripe event"), "{dead}");

    let event = fixture.stripe.set_invoice_status(&fixture.invoice, "paid");
    assert_eq!(post_stripe(app, endpoint, SECRET, &serde_json::to_vec(&event).unwrap()).await.status(), 200);
    eventually("processed", Duration::from_secs(10), || async {
        (deliveries(app, admin, endpoint, "processed").await.len() == 1).then_some(())
    })
    .await;

    // The list pages with a cursor: one delivery a page, each once.
    let mut path = format!("/api/v1/admin/webhook-endpoints/{}/deliveries?limit=1", endpoint["id"].as_str().unwrap());
    let mut listed = Vec::new();
    loop {
        let page: Value = app.get_json(&path, Some(admin)).await;
        listed.extend(page["deliveries"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(next) => {
                path = format!(
                    "/api/v1/admin/webhook-endpoints/{}/deliveries?limit=1&before={next}",
                    endpoint["id"].as_str().unwrap()
                )
            }
            None => break,
        }
    }
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_ne!(listed[0], listed[1]);

    // Replay everything received in the last minute: both go through processing again.
    let path = format!("/api/v1/admin/webhook-endpoints/{}/replay", endpoint["id"].as_str().unwrap());
    let now = chrono::Utc::now();
    let range = json!({"received_from": now - chrono::Duration::minutes(1), "received_until": now + chrono::Duration::seconds(1)});
    let response = app.request(Method::POST, &path, Some(admin)).json(&range).send().await.unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(response.json::<Value>().await.unwrap()["replayed"], 2);
    eventually("the replay to finish", Duration::from_secs(10), || async {
        let processed = deliveries(app, admin, endpoint, "processed").await;
        let dead = deliveries(app, admin, endpoint, "dead").await;
        (processed.len() == 1 && dead.len() == 1 && processed[0]["attempts"] == 1).then_some(())
    })
    .await;
    // Replaying an unchanged event changes nothing: no second version.
    let record = &cached_records(app, admin, &fixture.connector, "invoice").await[&fixture.invoice];
    let path = format!("/api/v1/accounts/{}/invoices/{}/history", fixture.account, record["id"].as_str().unwrap());
    let history: Value = app.get_json(&path, Some(admin)).await;
    assert_eq!(history["versions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn housekeeping_drops_old_refused_and_processed_deliveries_but_never_unprocessed_ones() {
    // HTTP only: no worker processes (or purges) behind the test's back.
    let app = crate::helpers::spawn_app_with_roles(portico::startup::Roles::HTTP_ONLY, |_| {}).await;
    let admin = app.staff(StaffRole::Admin).await;
    let stripe = FakeStripe::start("sk_test_housekeeping").await;
    let connector = create_stripe_connector_with_key(&app, &admin, &stripe, "sk_test_housekeeping").await;
    let endpoint =
        create_endpoint(&app, &admin, &connector, json!({"name": "S", "scheme": "stripe", "secret": SECRET})).await;
    let endpoint_id: uuid::Uuid = endpoint["id"].as_str().unwrap().parse().unwrap();
    let long_ago = chrono::Utc::now() - chrono::Duration::days(40);
    let new = |delivery_id: &str, status: &'static str| portico::store::NewDelivery {
        id: uuid::Uuid::now_v7(),
        endpoint_id,
        delivery_id: delivery_id.into(),
        status,
        reject_reason: (status == "rejected").then_some("bad_signature"),
        headers: json!({}),
        body: b"{}".to_vec(),
        source_address: None,
        received_at: long_ago,
    };
    let stored = [new("evt_waiting", "verified"), new("rejected:1", "rejected"), new("evt_done", "verified")];
    app.store.insert_deliveries(&stored).await.unwrap();
    let done = portico::store::DeliveryResult::Processed { outcome: json!({}) };
    app.store.finish_deliveries(&[(stored[2].id, done)], long_ago).await.unwrap();

    let purged =
        portico::jobs::housekeeping::purge_webhook_deliveries(&app.store, &app.settings.webhooks).await.unwrap();
    assert_eq!(purged, 2);
    let left: Vec<String> = deliveries(&app, &admin, &endpoint, "verified")
        .await
        .iter()
        .map(|d| d["delivery_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(left, ["evt_waiting"], "a delivery not yet processed is never dropped");
}

#[tokio::test]
async fn an_acknowledged_delivery_holding_nul_characters_is_processed_on_every_engine() {
    let fixture = fixture().await;
    let (app, admin, endpoint) = (&fixture.app, &fixture.admin, &fixture.endpoint);
    let mut event = fixture.stripe.set_invoice_status(&fixture.invoice, "paid");
    // The sender's text is the sender's: NUL in a value and in a key.
    event["data"]["object"]["number"] = json!("INV\u{0}-0001");
    event["data"]["object"]["metadata"] = json!({ "note\u{0}": "a\u{0}b" });
    let body = serde_json::to_vec(&event).unwrap();
    assert!(String::from_utf8_lossy(&body).contains("\\u0000"));
    let response = post_stripe(app, endpoint, SECRET, &body).await;
    assert_eq!(response.status(), 200);

    eventually("the event to reach the cache", Duration::from_secs(10), || async {
        (invoice_status(&fixture).await == "paid").then_some(())
    })
    .await;
    assert!(deliveries(app, admin, endpoint, "dead").await.is_empty());
    assert!(deliveries(app, admin, endpoint, "failed").await.is_empty());
    let record = &cached_records(app, admin, &fixture.connector, "invoice").await[&fixture.invoice];
    assert!(record.to_string().contains("INV\u{fffd}-0001"), "{record}");
}
