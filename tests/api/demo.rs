//! `portico serve --demo`: the quick start's demo business, as a newcomer meets it.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{PorticoProcess, Session, TestDatabase, eventually, portico_command, session_cookie_from};
use crate::live_events::EventStream;

#[tokio::test]
async fn the_demo_prints_working_sign_ins_and_keeps_the_live_stream_busy() {
    let db = TestDatabase::new().await;
    let mut demo = PorticoProcess::start(portico_command(&db, &["serve", "--demo", "--listen", "127.0.0.1:0"]));
    let address = demo.wait_for_listen_address();
    let line = demo.wait_for_line("owner@acme.demo.test", Duration::from_secs(5));
    let password = line.split_whitespace().last().unwrap().to_owned();
    for who in ["admin@staff.demo.test", "billing@acme.demo.test", "viewer@acme.demo.test", "owner@globex.demo.test"] {
        demo.wait_for_line(who, Duration::from_secs(5));
    }

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = client
        .post(format!("{address}/api/v1/auth/login"))
        .json(&json!({"email": "owner@acme.demo.test", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the printed sign-in works");
    let cookie = session_cookie_from(&response).unwrap();
    let session = Session { user_id: uuid::Uuid::nil(), email: String::new(), password, cookie: cookie.clone() };
    let me = get(&client, &address, &cookie, "/api/v1/me").await;
    assert_eq!(me["accounts"][0]["name"], "Acme Corp");
    let account = me["accounts"][0]["account_id"].as_str().unwrap().to_owned();

    // The first sync through the REST connector fills the portal.
    let invoices = listed(&client, &address, &cookie, &format!("/api/v1/accounts/{account}/invoices"), 6).await;
    let first = &invoices["items"][0];
    assert_eq!(first["source"]["name"], "Demo business system");
    assert!(first["data"]["line_items"].as_array().is_some_and(|lines| !lines.is_empty()), "{first}");
    // Each stream syncs on its own: wait for each to arrive.
    listed(&client, &address, &cookie, &format!("/api/v1/accounts/{account}/payments"), 1).await;
    listed(&client, &address, &cookie, &format!("/api/v1/accounts/{account}/orders"), 3).await;
    let subscriptions = format!("/api/v1/accounts/{account}/subscriptions");
    let subscription = listed(&client, &address, &cookie, &subscriptions, 1).await["items"][0].clone();
    assert_eq!((subscription["title"].as_str(), subscription["status"].as_str()), (Some("Pro plan"), Some("active")));
    let tasks = listed(&client, &address, &cookie, &format!("/api/v1/accounts/{account}/tasks?status=open"), 1).await;
    // Completing a task goes to the business system and comes back completed.
    let task = tasks["items"][0]["id"].as_str().unwrap();
    let response = client
        .post(format!("{address}/api/v1/accounts/{account}/tasks/{task}/complete"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let task_path = format!("/api/v1/accounts/{account}/tasks/{task}");
    eventually("the task completed", Duration::from_secs(30), || async {
        (get(&client, &address, &cookie, &task_path).await["status"] == "completed").then_some(())
    })
    .await;
    listed(&client, &address, &cookie, &format!("/api/v1/accounts/{account}/documents"), 3).await;
    // By tag (whole tags, any case): the signed contract, not the "sign" in "signed".
    let signed = get(&client, &address, &cookie, &format!("/api/v1/accounts/{account}/documents?tag=SIGNED")).await;
    let names: Vec<&str> =
        signed["items"].as_array().unwrap().iter().map(|item| item["title"].as_str().unwrap()).collect();
    assert_eq!(names, ["Master services agreement.pdf"]);
    assert_eq!(signed["items"][0]["data"]["tags"], json!(["contract", "signed"]));
    // Its bytes stream from the business system through the REST connector.
    let contract = signed["items"][0]["id"].as_str().unwrap();
    let download = client
        .get(format!("{address}/api/v1/accounts/{account}/documents/{contract}/download"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "application/pdf");
    assert!(download.bytes().await.unwrap().starts_with(b"%PDF-"));
    let partial = get(&client, &address, &cookie, &format!("/api/v1/accounts/{account}/documents?tag=sign")).await;
    assert!(partial["items"].as_array().unwrap().is_empty(), "{partial}");
    let tickets = listed(&client, &address, &cookie, &format!("/api/v1/accounts/{account}/tickets"), 2).await;
    let ticket = tickets["items"][0]["id"].as_str().unwrap();
    // Messages are a stream of their own, which may land after the tickets.
    let thread_path = format!("/api/v1/accounts/{account}/tickets/{ticket}");
    eventually("the ticket's messages", Duration::from_secs(30), || async {
        let thread = get(&client, &address, &cookie, &thread_path).await;
        thread["messages"].as_array().is_some_and(|messages| messages.len() >= 2).then_some(())
    })
    .await;
    // The demo's document storage takes a file attached to the ticket.
    let response = client
        .post(format!("{address}{thread_path}/attachments?name=photo%20of%20the%20damage.txt"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .body("a damaged box")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    eventually("the attachment stored and listed", Duration::from_secs(30), || async {
        let thread = get(&client, &address, &cookie, &thread_path).await;
        let attachments = thread["attachments"].as_array().cloned().unwrap_or_default();
        attachments
            .iter()
            .any(|file| file["title"] == "photo of the damage.txt" && file["pending"] == false)
            .then_some(())
    })
    .await;

    // Something changes every few seconds, and the stream says so.
    let loaded_at = chrono::Utc::now();
    let mut stream = EventStream::open(&address, &session, None).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let change = loop {
        let event = stream.records(1, deadline - tokio::time::Instant::now()).await.remove(0);
        assert_eq!(event.data["account_id"], account.as_str(), "only Acme's changes: {event:?}");
        let changed_at: chrono::DateTime<chrono::Utc> = event.data["changed_at"].as_str().unwrap().parse().unwrap();
        if changed_at > loaded_at {
            break event;
        }
    };
    assert_eq!(change.event, "record");

    // An admin who deletes the demo's connector is told once that the demo stops,
    // not every few seconds that it failed.
    let admin_line = demo.wait_for_line("admin@staff.demo.test", Duration::from_secs(5));
    let admin_password = admin_line.split_whitespace().last().unwrap();
    let response = client
        .post(format!("{address}/api/v1/auth/login"))
        .json(&json!({"email": "admin@staff.demo.test", "password": admin_password}))
        .send()
        .await
        .unwrap();
    let admin_cookie = session_cookie_from(&response).unwrap();
    let connectors = get(&client, &address, &admin_cookie, "/api/v1/admin/connectors").await;
    let rest = connectors.as_array().unwrap().iter().find(|connector| connector["kind"] == "rest").unwrap();
    let deleted = client
        .delete(format!("{address}/api/v1/admin/connectors/{}", rest["id"].as_str().unwrap()))
        .header("cookie", &admin_cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    demo.wait_for_line("the demo stops changing it", Duration::from_secs(15));
    assert!(!demo.seen.iter().any(|line| line.contains("could not sync a change")), "{:?}", demo.seen);
    demo.sigterm();
    assert_eq!(demo.wait_for_exit(Duration::from_secs(30)), 0);
}

async fn get(client: &reqwest::Client, address: &str, cookie: &str, path: &str) -> Value {
    let response = client.get(format!("{address}{path}")).header("cookie", cookie).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

/// A list once it has at least `count` items (the first sync is under way).
async fn listed(client: &reqwest::Client, address: &str, cookie: &str, path: &str, count: usize) -> Value {
    eventually(path, Duration::from_secs(30), || async {
        let page = get(client, address, cookie, path).await;
        (page["items"].as_array().unwrap().len() >= count).then_some(page)
    })
    .await
}
