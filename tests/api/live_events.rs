//! Live updates over Server-Sent Events: each stream carries the changes its user
//! may see and nothing else, notices role changes and sign-outs, resumes from
//! `Last-Event-ID`, and (through the database's change feed) carries changes
//! written by any process to streams on any server process.

use std::time::Duration;

use portico::auth::permissions::StaffRole;
use portico::jobs::Job;
use portico::startup::Roles;
use portico_testkit::FakeStripe;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{PorticoProcess, Session, TestApp, portico_command, spawn_app, spawn_app_with_roles};
use crate::sync::{create_connector, map_account, sync_to_end};

/// One parsed Server-Sent Event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

/// An open event stream, read over real HTTP.
pub struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    pub async fn open(base_url: &str, session: &Session, last_event_id: Option<&str>) -> Self {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut request = client.get(format!("{base_url}/api/v1/events")).header("cookie", &session.cookie);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "opening the stream");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        Self { response, buffer: String::new() }
    }

    /// The next event (heartbeat comments skipped), or `None` if none comes in time
    /// or the stream ends.
    pub async fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, "message".to_owned(), String::new());
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("id:") {
                        id = Some(value.trim().to_owned());
                    } else if let Some(value) = line.strip_prefix("event:") {
                        event = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim());
                    }
                }
                if data.is_empty() && id.is_none() {
                    continue; // a comment (heartbeat)
                }
                return Some(SseEvent { id, event, data: serde_json::from_str(&data).unwrap_or(Value::Null) });
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(Ok(None)) | Ok(Err(_)) | Err(_) => return None,
            }
        }
    }

    /// Record events until `count` have arrived (panics if they do not in time).
    pub async fn records(&mut self, count: usize, timeout: Duration) -> Vec<SseEvent> {
        let mut seen = Vec::new();
        while seen.len() < count {
            match self.next(timeout).await {
                Some(event) if event.event == "record" => seen.push(event),
                Some(_) => {}
                None => panic!("only {} of {count} record events arrived: {seen:?}", seen.len()),
            }
        }
        seen
    }

    /// Every event arriving within `quiet` of the previous one.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<SseEvent> {
        let mut seen = Vec::new();
        while let Some(event) = self.next(quiet).await {
            seen.push(event);
        }
        seen
    }
}

fn ids_of(events: &[SseEvent]) -> Vec<String> {
    let mut ids: Vec<String> = events.iter().map(|event| event.data["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

/// The ids of the account's invoices, as the portal lists them.
async fn invoice_ids(app: &TestApp, session: &Session, account: Uuid) -> Vec<String> {
    let path = format!("/api/v1/accounts/{account}/invoices?limit=200");
    let body: Value = app.get_json(&path, Some(session)).await;
    let mut ids: Vec<String> =
        body["items"].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

/// Two customers with invoices at a fake Stripe, each mapped to an account.
struct Billing {
    stripe: FakeStripe,
    admin: Session,
    connector: Value,
    acme: Uuid,
    globex: Uuid,
    acme_invoices: Vec<String>,
    globex_invoices: Vec<String>,
}

async fn two_customers(app: &TestApp) -> Billing {
    let stripe = FakeStripe::start("sk_test_events").await;
    let acme_customer = stripe.add_customer("Acme", "billing@acme.test");
    let globex_customer = stripe.add_customer("Globex", "ap@globex.test");
    let acme_invoices = (1..=3).map(|n| stripe.add_invoice(&acme_customer, &[n * 1000])).collect();
    let globex_invoices = vec![stripe.add_invoice(&globex_customer, &[9900])];
    let admin = app.staff(StaffRole::Admin).await;
    let acme = app.create_account(&admin, "Acme").await;
    let globex = app.create_account(&admin, "Globex").await;
    let settings = json!({"base_url": stripe.base_url()});
    let connector =
        create_connector(app, &admin, "stripe", settings, json!({"api_key": "sk_test_events"}), json!({})).await;
    map_account(app, &admin, &connector, &acme_customer, acme).await;
    map_account(app, &admin, &connector, &globex_customer, globex).await;
    Billing { stripe, admin, connector, acme, globex, acme_invoices, globex_invoices }
}

#[tokio::test]
async fn each_stream_carries_only_what_its_user_may_see_and_resumes_after_its_last_event() {
    let app = spawn_app().await;
    let billing = two_customers(&app).await;
    let acme_billing = app.member(&billing.admin, billing.acme, "billing").await;
    let acme_viewer = app.member(&billing.admin, billing.acme, "viewer").await;
    let globex_billing = app.member(&billing.admin, billing.globex, "billing").await;
    let mut acme_stream = EventStream::open(&app.address, &acme_billing, None).await;
    let mut viewer_stream = EventStream::open(&app.address, &acme_viewer, None).await;
    let mut globex_stream = EventStream::open(&app.address, &globex_billing, None).await;

    sync_to_end(&app, &billing.admin, &billing.connector, &["invoices"], "full").await;

    // Each billing user gets their own account's invoices, and only those.
    let acme_events = acme_stream.records(3, Duration::from_secs(10)).await;
    assert_eq!(ids_of(&acme_events), invoice_ids(&app, &acme_billing, billing.acme).await);
    for event in &acme_events {
        assert_eq!(event.data["account_id"], billing.acme.to_string());
        assert_eq!(event.data["type"], "invoice");
        assert_eq!(event.data["change"], "created");
        assert!(event.id.as_ref().unwrap().parse::<i64>().is_ok(), "{event:?}");
    }
    let globex_events = globex_stream.records(1, Duration::from_secs(10)).await;
    assert_eq!(globex_events[0].data["account_id"], billing.globex.to_string());
    let extra = globex_stream.drain(Duration::from_millis(700)).await;
    assert!(extra.iter().all(|event| event.event != "record"), "Globex saw more: {extra:?}");
    // A viewer of Acme may not see invoices: nothing, though the account changed.
    let viewer_events = viewer_stream.drain(Duration::from_millis(700)).await;
    assert!(viewer_events.is_empty(), "a viewer saw {viewer_events:?}");
    assert_eq!(billing.acme_invoices.len(), 3);
    assert_eq!(billing.globex_invoices.len(), 1);

    // Disconnected, an invoice is paid; reconnecting after the last event seen
    // replays exactly that change.
    let last_seen = acme_events.last().unwrap().id.clone().unwrap();
    drop(acme_stream);
    billing.stripe.pay_invoice(&billing.acme_invoices[0]);
    sync_to_end(&app, &billing.admin, &billing.connector, &["invoices"], "full").await;
    let mut resumed = EventStream::open(&app.address, &acme_billing, Some(&last_seen)).await;
    let replayed = resumed.records(1, Duration::from_secs(10)).await;
    assert_eq!(replayed[0].data["status"], "paid", "{replayed:?}");
    assert!(replayed[0].id.as_ref().unwrap().parse::<i64>().unwrap() > last_seen.parse::<i64>().unwrap());
    let more = resumed.drain(Duration::from_millis(500)).await;
    assert!(more.iter().all(|event| event.event != "record"), "replayed more than was missed: {more:?}");

    // An id the feed never had: told to reload rather than silently missing things.
    let mut confused = EventStream::open(&app.address, &acme_billing, Some("999999999")).await;
    let reset = confused.next(Duration::from_secs(5)).await.expect("an event");
    assert_eq!(reset.event, "reset");
    let response = app
        .request(Method::GET, "/api/v1/events", Some(&acme_billing))
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(app.get("/api/v1/events").await.status(), 401);
}

#[tokio::test]
async fn a_role_change_stops_what_the_role_no_longer_sees_and_signing_out_ends_the_stream() {
    let app = spawn_app().await;
    let billing = two_customers(&app).await;
    let owner = app.member(&billing.admin, billing.acme, "owner").await;
    let acme_billing = app.member(&owner, billing.acme, "billing").await;
    let mut stream = EventStream::open(&app.address, &acme_billing, None).await;
    sync_to_end(&app, &billing.admin, &billing.connector, &["invoices"], "full").await;
    stream.records(3, Duration::from_secs(10)).await;

    // Now a viewer: invoice changes stop at once, on the open stream.
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/accounts/{}/members/{}", billing.acme, acme_billing.user_id),
            Some(&owner),
        )
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "{}", response.text().await.unwrap());
    // The owner's stream shows the change happened and when it is delivered.
    let mut owner_stream = EventStream::open(&app.address, &owner, None).await;
    billing.stripe.pay_invoice(&billing.acme_invoices[1]);
    sync_to_end(&app, &billing.admin, &billing.connector, &["invoices"], "full").await;
    let paid = owner_stream.records(1, Duration::from_secs(10)).await;
    assert_eq!(paid[0].data["status"], "paid");
    let after_demotion = stream.drain(Duration::from_millis(700)).await;
    assert!(after_demotion.iter().all(|event| event.event != "record"), "a viewer got {after_demotion:?}");

    // Signing out ends the stream with `revoked`.
    let response = app.request(Method::POST, "/api/v1/auth/logout", Some(&acme_billing)).send().await.unwrap();
    assert!(response.status().is_success());
    let revoked = stream.next(Duration::from_secs(10)).await.expect("an event before the end");
    assert_eq!(revoked.event, "revoked");
    assert!(stream.next(Duration::from_secs(5)).await.is_none(), "the stream ends");
}

#[tokio::test]
async fn a_change_written_by_a_worker_process_reaches_streams_on_every_server_process() {
    // This process only serves the admin API (no workers): the sync runs in a
    // separate `portico worker`, and the streams are on two `portico serve
    // --no-workers` processes, all sharing one database.
    let app = spawn_app_with_roles(Roles::HTTP_ONLY, |_| {}).await;
    let billing = two_customers(&app).await;
    let acme_billing = app.member(&billing.admin, billing.acme, "billing").await;
    let globex_billing = app.member(&billing.admin, billing.globex, "billing").await;

    let serve = || {
        let mut command = portico_command(&app.db, &["serve", "--no-workers", "--listen", "127.0.0.1:0"]);
        command.env("PORTICO_EVENTS__POLL_MS", "100");
        PorticoProcess::start(command)
    };
    let (mut first, mut second) = (serve(), serve());
    let first_address = first.wait_for_listen_address();
    let second_address = second.wait_for_listen_address();
    let mut worker = PorticoProcess::start(portico_command(&app.db, &["worker"]));
    worker.wait_for_worker(portico::sync::SyncJob::QUEUE);

    let mut acme_on_first = EventStream::open(&first_address, &acme_billing, None).await;
    let mut acme_on_second = EventStream::open(&second_address, &acme_billing, None).await;
    let mut globex_on_second = EventStream::open(&second_address, &globex_billing, None).await;

    sync_to_end(&app, &billing.admin, &billing.connector, &["invoices"], "full").await;
    let expected = invoice_ids(&app, &acme_billing, billing.acme).await;
    assert_eq!(ids_of(&acme_on_first.records(3, Duration::from_secs(15)).await), expected);
    assert_eq!(ids_of(&acme_on_second.records(3, Duration::from_secs(15)).await), expected);
    let globex = globex_on_second.records(1, Duration::from_secs(15)).await;
    assert_eq!(globex[0].data["account_id"], billing.globex.to_string());
    let extra = globex_on_second.drain(Duration::from_millis(700)).await;
    assert!(extra.iter().all(|event| event.event != "record"), "Globex saw more: {extra:?}");
    drop((first, second, worker));
}

#[tokio::test]
async fn a_person_holds_only_so_many_streams_and_a_closed_one_frees_its_place() {
    let app = crate::helpers::spawn_app_with(|settings| {
        settings.events.max_streams_per_user = 2;
        settings.events.heartbeat_secs = 1;
    })
    .await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let member = app.member(&admin, account, "member").await;
    let first = EventStream::open(&app.address, &member, None).await;
    let _second = EventStream::open(&app.address, &member, None).await;
    let third = app.request(Method::GET, "/api/v1/events", Some(&member)).send().await.unwrap();
    assert_eq!(third.status(), 429);
    assert_eq!(third.json::<Value>().await.unwrap()["code"], "rate_limited");
    // Someone else is not affected.
    let _other = EventStream::open(&app.address, &admin, None).await;

    drop(first);
    crate::helpers::eventually("the closed stream's place freed", Duration::from_secs(10), || async {
        let response = app.request(Method::GET, "/api/v1/events", Some(&member)).send().await.unwrap();
        (response.status() == 200).then_some(())
    })
    .await;
}
