//! A server killed mid-stream of webhook deliveries loses nothing it answered 2xx
//! to: 10,000 signed deliveries from concurrent senders that retry whatever got no
//! 2xx, the real `portico serve` SIGKILLed part-way and restarted on the same port.
//! Afterwards every delivery is in the inbox exactly once and applied exactly once.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use portico::config::MasterKey;
use portico::core::crypto::SecretCipher;
use portico::store::{DeliveryFilter, Store, WebhookEndpointFields};
use portico::webhooks::endpoint::create_endpoint;
use portico_testkit::signing::standard_webhooks_headers;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{PorticoProcess, TestDatabase, eventually, free_port, portico_command, run_portico};
use crate::sync_recovery::stripe_instance;

const DELIVERIES: usize = 10_000;
const SENDERS: usize = 32;
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A Stripe connector (its events carry customers) with a Standard Webhooks endpoint.
async fn endpoint(db: &TestDatabase, store: &Store) -> (Uuid, Uuid) {
    let settings = db.settings();
    let cipher = SecretCipher::new(&MasterKey::resolve(&settings).unwrap());
    // Nothing is fetched: the events carry their objects.
    let instance = stripe_instance(db, store, "http://127.0.0.1:9", "Stripe", "sk_test_crash").await;
    let endpoint = WebhookEndpointFields {
        name: "relay".into(),
        scheme: "standard-webhooks".into(),
        scheme_settings: None,
        tolerance_secs: 300,
        body_limit_bytes: 1 << 20,
        allowed_sources: None,
        enabled: true,
    };
    let endpoint_id = create_endpoint(store, &cipher, instance, &endpoint, SECRET.into()).await.unwrap();
    (instance, endpoint_id)
}

fn delivery(index: usize) -> (String, Vec<u8>) {
    let id = format!("msg_{index:05}");
    let body = json!({
        "id": format!("evt_{index:05}"), "object": "event", "type": "customer.created", "created": 1_700_000_000,
        "data": {"object": {"id": format!("cus_{index:05}"), "object": "customer", "name": format!("Customer {index}"),
            "email": null, "created": 1_700_000_000}},
    });
    (id, body.to_string().into_bytes())
}

fn serve(db: &TestDatabase, port: u16) -> PorticoProcess {
    let mut command = portico_command(db, &["serve", "--listen", &format!("127.0.0.1:{port}")]);
    // Deliveries the killed process had taken for processing are taken again once
    // its claim lapses; short here so the test need not wait the default minute.
    command.env("PORTICO_WEBHOOKS__CLAIM_SECS", "3");
    let mut server = PorticoProcess::start(command);
    server.wait_for_listen_address();
    server
}

#[tokio::test]
async fn deliveries_answered_2xx_survive_a_sigkill_and_are_applied_once() {
    let db = TestDatabase::new().await;
    let (code, _, stderr) = run_portico(portico_command(&db, &["migrate"]), None);
    assert_eq!(code, 0, "{stderr}");
    let (store, _queue) = db.open().await;
    let (instance, endpoint_id) = endpoint(&db, &store).await;
    let port = free_port();
    let mut server = serve(&db, port);
    let started = std::time::Instant::now();

    let url = format!("http://127.0.0.1:{port}/webhooks/{endpoint_id}");
    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut senders = Vec::new();
    for _ in 0..SENDERS {
        let (client, url, next, acknowledged) = (client.clone(), url.clone(), next.clone(), acknowledged.clone());
        senders.push(tokio::spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= DELIVERIES {
                    return;
                }
                let (id, body) = delivery(index);
                // Like any sender: retry until a 2xx, re-signing each attempt.
                loop {
                    let mut request = client.post(&url).body(body.clone());
                    for (name, value) in standard_webhooks_headers(SECRET, &id, Utc::now().timestamp(), &body) {
                        request = request.header(name, value);
                    }
                    match request.send().await {
                        Ok(response) if response.status().is_success() => break,
                        Ok(response) => assert!(response.status().is_server_error(), "refused: {}", response.status()),
                        Err(_) => {}
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                acknowledged.lock().unwrap().push(id);
            }
        }));
    }

    // Kill the server part-way, with deliveries in flight.
    eventually("a third of the deliveries answered", Duration::from_secs(120), || async {
        (acknowledged.lock().unwrap().len() >= DELIVERIES / 3).then_some(())
    })
    .await;
    server.sigkill();
    let acknowledged_before_kill: HashSet<String> = acknowledged.lock().unwrap().iter().cloned().collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _restarted = serve(&db, port);
    for sender in senders {
        sender.await.unwrap();
    }
    assert_eq!(acknowledged.lock().unwrap().len(), DELIVERIES);
    eprintln!("all acknowledged after {:?}", started.elapsed());

    // Every delivery stored once: nothing acknowledged before the kill is missing.
    let mut stored = Vec::new();
    let mut before = None;
    loop {
        let filter = DeliveryFilter { status: None, before, limit: 200 };
        let page = store.list_deliveries(endpoint_id, &filter).await.unwrap();
        let Some(last) = page.last() else { break };
        before = Some((last.received_at, last.id));
        stored.extend(page);
    }
    let stored_ids: HashSet<&str> = stored.iter().map(|delivery| delivery.delivery_id.as_str()).collect();
    assert_eq!(stored.len(), DELIVERIES, "one row per delivery");
    assert_eq!(stored_ids.len(), DELIVERIES);
    let lost: Vec<&String> = acknowledged_before_kill.iter().filter(|id| !stored_ids.contains(id.as_str())).collect();
    assert!(lost.is_empty(), "acknowledged before the kill, then lost: {lost:?}");

    // And each applied once: every customer exists, none was written twice.
    eventually("every delivery processed", Duration::from_secs(120), || async {
        (store.delivery_backlog().await.unwrap() == 0).then_some(())
    })
    .await;
    eprintln!("all processed after {:?}", started.elapsed());
    let processed = stored.len()
        - store
            .list_deliveries(endpoint_id, &DeliveryFilter { status: Some("dead".into()), before: None, limit: 10 })
            .await
            .unwrap()
            .len();
    assert_eq!(processed, DELIVERIES, "none dead");
    let mut customers = 0;
    let mut after = None;
    loop {
        let page = store.instance_records(instance, Some("contact"), after, 200).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for record in &page {
            assert!(
                store.record_history(record.id, 1).await.unwrap().is_empty(),
                "{} written twice",
                record.external_id
            );
        }
        customers += page.len();
    }
    assert_eq!(customers, DELIVERIES);
}
