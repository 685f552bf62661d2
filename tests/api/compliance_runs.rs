//! The connector compliance suite, whole runs: every connector kind, synced by the
//! engine through a proxy that can make its upstream misbehave, must
//!
//! - fail a run whose upstream repeats itself (the same answer whatever the page
//!   asked for) with the reason, after a page or two, not thousands of requests;
//! - fail a run whose upstream hands back a cursor that cannot be read, instead of
//!   ending it as complete (every kind whose upstream hands out cursors);
//! - stop a run an admin cancels at its next page, and say so;
//! - stop a running run when its connector is disabled, or deleted.

use std::time::Duration;

use portico::auth::permissions::StaffRole;
use portico_testkit::proxy::{Mode, Proxy};
use portico_testkit::rest::{API_KEY as REST_API_KEY, CLIENT_ID, CLIENT_SECRET};
use portico_testkit::s3::{ACCESS_KEY, REGION, SECRET_KEY};
use portico_testkit::{FakeHubSpot, FakeRest, FakeStripe, MotoS3};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, eventually, spawn_app};
use crate::sync::{create_connector, finished_run, start_sync};

/// A kind under test: how to point a connector of it at a base URL.
struct Kind {
    kind: &'static str,
    stream: &'static str,
    settings: Box<dyn Fn(&str) -> Value + Send + Sync>,
    credentials: Value,
    /// How long the proxy holds each upstream request: long enough that a run seen
    /// with its first page committed is still under way when it is stopped.
    upstream_delay: Duration,
}

async fn connector_at(app: &TestApp, admin: &Session, kind: &Kind, base_url: &str) -> Value {
    create_connector(app, admin, kind.kind, (kind.settings)(base_url), kind.credentials.clone(), json!({})).await
}

async fn run_once(app: &TestApp, admin: &Session, connector: &Value, stream: &str) -> Value {
    let started = start_sync(app, admin, connector, &[stream], "full").await;
    let run_id = started[0]["run_id"].as_str().unwrap().to_owned();
    finished_run(app, admin, connector, &run_id, Duration::from_secs(60)).await
}

/// The upstream answers every request to a path with its first answer there.
async fn check_repeating_upstream(app: &TestApp, admin: &Session, kind: &Kind, upstream: &str) {
    let proxy = Proxy::start(upstream, Mode::ReplayFirstAnswer).await;
    let connector = connector_at(app, admin, kind, &proxy.base_url()).await;
    let run = run_once(app, admin, &connector, kind.stream).await;
    let name = kind.kind;
    assert_eq!(run["status"], "failed", "{name}: {run}");
    assert!(run["error"].as_str().unwrap().starts_with("upstream repeated"), "{name}: {run}");
    assert!(run["pages"].as_i64().unwrap() <= 2, "{name}: stopped at the first repeat: {run}");
    assert!(proxy.requests() < 10, "{name}: {} requests", proxy.requests());
}

/// Starts a slow full run and waits until it has committed a page.
async fn a_run_under_way(app: &TestApp, admin: &Session, connector: &Value, stream: &str) -> String {
    let started = start_sync(app, admin, connector, &[stream], "full").await;
    let run_id = started[0]["run_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/admin/connectors/{}/runs/{run_id}", connector["id"].as_str().unwrap());
    eventually("a page committed", Duration::from_secs(30), || async {
        let run: Value = app.get_json(&path, Some(admin)).await;
        assert!(matches!(run["status"].as_str(), Some("queued" | "running")), "still going when it is stopped: {run}");
        (run["pages"].as_i64().unwrap() >= 1).then_some(())
    })
    .await;
    run_id
}

/// No request reaches the upstream any more (one in flight may still land).
async fn upstream_goes_quiet(proxy: &Proxy, what: &str) {
    tokio::time::sleep(Duration::from_millis(800)).await;
    let settled = proxy.requests();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(proxy.requests(), settled, "{what}: the run kept pulling");
}

async fn check_stopping_runs(app: &TestApp, admin: &Session, kind: &Kind, upstream: &str) {
    let name = kind.kind;
    let proxy = Proxy::start(upstream, Mode::Delay(kind.upstream_delay)).await;

    // An admin cancels: the run stops at its next page and says so.
    let connector = connector_at(app, admin, kind, &proxy.base_url()).await;
    let connector_id = connector["id"].as_str().unwrap().to_owned();
    let run_id = a_run_under_way(app, admin, &connector, kind.stream).await;
    let cancel = format!("/api/v1/admin/connectors/{connector_id}/runs/{run_id}/cancel");
    let response = app.request(Method::POST, &cancel, Some(admin)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{name}");
    let cancelled: Value = response.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled", "{name}: {cancelled}");
    assert_eq!(cancelled["error"], "cancelled by an admin", "{name}: {cancelled}");
    upstream_goes_quiet(&proxy, name).await;
    let run: Value = app.get_json(&format!("/api/v1/admin/connectors/{connector_id}/runs/{run_id}"), Some(admin)).await;
    assert_eq!(run["status"], "cancelled", "{name}: {run}");
    assert_eq!(run["pages"], cancelled["pages"], "{name}: nothing committed after the cancel: {run}");
    let response = app.request(Method::POST, &cancel, Some(admin)).send().await.unwrap();
    assert_eq!(response.status(), 409, "{name}: an ended run cannot be cancelled again");

    // Disabling the connector stops its running run.
    let run_id = a_run_under_way(app, admin, &connector, kind.stream).await;
    let response = app
        .request(Method::PATCH, &format!("/api/v1/admin/connectors/{connector_id}"), Some(admin))
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{name}");
    upstream_goes_quiet(&proxy, name).await;
    let run: Value = app.get_json(&format!("/api/v1/admin/connectors/{connector_id}/runs/{run_id}"), Some(admin)).await;
    assert_eq!(
        (run["status"].as_str(), run["error"].as_str()),
        (Some("cancelled"), Some("the connector was disabled"))
    );

    // Deleting a connector stops its running run with it.
    let connector = connector_at(app, admin, kind, &proxy.base_url()).await;
    let connector_id = connector["id"].as_str().unwrap().to_owned();
    a_run_under_way(app, admin, &connector, kind.stream).await;
    let response = app
        .request(Method::DELETE, &format!("/api/v1/admin/connectors/{connector_id}"), Some(admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "{name}");
    upstream_goes_quiet(&proxy, name).await;
}

async fn check_unreadable_cursor(app: &TestApp, admin: &Session, kind: &Kind, upstream: &str, reason: &str) {
    let connector = connector_at(app, admin, kind, upstream).await;
    let run = run_once(app, admin, &connector, kind.stream).await;
    assert_eq!(run["status"], "failed", "{}: {run}", kind.kind);
    assert!(run["error"].as_str().unwrap().contains(reason), "{}: {run}", kind.kind);
}

fn stripe() -> Kind {
    Kind {
        kind: "stripe",
        stream: "customers",
        settings: Box::new(|base| json!({"base_url": base})),
        credentials: json!({"api_key": "sk_compliance"}),
        upstream_delay: Duration::from_millis(250),
    }
}

fn hubspot() -> Kind {
    Kind {
        kind: "hubspot",
        stream: "companies",
        settings: Box::new(|base| json!({"base_url": base})),
        credentials: json!({"access_token": "pat-compliance"}),
        upstream_delay: Duration::from_millis(250),
    }
}

fn rest_projects() -> Kind {
    Kind {
        kind: "rest",
        stream: "projects",
        settings: Box::new(|base| {
            let manifest = include_str!("../../connectors/manifests/projects.yaml");
            json!({"manifest": manifest.replace("https://projects.example.com", base)})
        }),
        credentials: json!({"api_key": REST_API_KEY}),
        upstream_delay: Duration::from_millis(250),
    }
}

fn rest_helpdesk() -> Kind {
    Kind {
        kind: "rest",
        stream: "tickets",
        settings: Box::new(|base| {
            let manifest = include_str!("../../connectors/manifests/helpdesk.yaml");
            json!({"manifest": manifest.replace("https://helpdesk.example.com", base)})
        }),
        credentials: json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}),
        upstream_delay: Duration::from_millis(250),
    }
}

fn s3_files() -> Kind {
    Kind {
        kind: "files",
        stream: "documents",
        settings: Box::new(
            |base| json!({"store": {"type": "s3", "bucket": "runs", "region": REGION, "endpoint": base}, "prefix": "acme"}),
        ),
        credentials: json!({"access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY}),
        // 500 keys a page: the 600 files are two pages, so after the first only one
        // request is left to catch the run in (at 250 ms a loaded CI machine missed it).
        upstream_delay: Duration::from_millis(1_500),
    }
}

#[tokio::test]
async fn stripe_runs_stop_when_they_must() {
    let upstream = FakeStripe::start("sk_compliance").await;
    upstream.generate_customers(1_000);
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    check_repeating_upstream(&app, &admin, &stripe(), &upstream.base_url()).await;
    check_stopping_runs(&app, &admin, &stripe(), &upstream.base_url()).await;
    let unreadable = FakeStripe::start("sk_compliance").await;
    unreadable.answer_has_more_without_objects();
    check_unreadable_cursor(&app, &admin, &stripe(), &unreadable.base_url(), "no cursor to continue from").await;
}

#[tokio::test]
async fn hubspot_runs_stop_when_they_must() {
    let upstream = FakeHubSpot::start("pat-compliance").await;
    for n in 0..1_000 {
        upstream.add_company(&format!("Company{n}"));
    }
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    check_repeating_upstream(&app, &admin, &hubspot(), &upstream.base_url()).await;
    check_stopping_runs(&app, &admin, &hubspot(), &upstream.base_url()).await;
    let unreadable = FakeHubSpot::start("pat-compliance").await;
    unreadable.add_company("Acme");
    unreadable.answer_list_cursor(json!(["not", "a", "cursor"]));
    check_unreadable_cursor(&app, &admin, &hubspot(), &unreadable.base_url(), "unreadable list cursor").await;
}

#[tokio::test]
async fn rest_runs_stop_when_they_must() {
    let upstream = FakeRest::start().await;
    for n in 1..=500 {
        upstream.add_project(json!({"id": n, "client_id": "c", "name": format!("P{n}"), "phase": "x", "updated": n}));
    }
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    // Page numbers advance whatever the upstream answers: the repeated records give it away.
    check_repeating_upstream(&app, &admin, &rest_projects(), &upstream.base_url()).await;
    check_stopping_runs(&app, &admin, &rest_projects(), &upstream.base_url()).await;
    // Cursors come from the answer: one that is not text or a number cannot be read.
    upstream.add_ticket(json!({"id": "T1", "organization": {"id": "org-1"}, "subject": "Hello", "status": "open",
        "created_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-01T10:00:00Z"}));
    upstream.answer_ticket_cursor(json!({"next": "c100"}));
    check_unreadable_cursor(
        &app,
        &admin,
        &rest_helpdesk(),
        &upstream.base_url(),
        "unreadable cursor at /meta/next_cursor",
    )
    .await;
}

/// Files keep their own position (the last key listed; S3's continuation tokens
/// stay inside the storage client), so there is no upstream cursor to be unreadable.
#[tokio::test]
async fn files_runs_stop_when_they_must() {
    let s3 = tokio::task::spawn_blocking(|| {
        let s3 = MotoS3::start();
        s3.create_bucket("runs");
        s3.put_many("runs", "acme/file-", 600);
        s3
    })
    .await
    .unwrap();
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    check_repeating_upstream(&app, &admin, &s3_files(), &s3.endpoint()).await;
    check_stopping_runs(&app, &admin, &s3_files(), &s3.endpoint()).await;
}

#[tokio::test]
async fn an_operator_cancels_a_run_from_the_command_line() {
    let upstream = FakeStripe::start("sk_compliance").await;
    upstream.generate_customers(1_000);
    let proxy = Proxy::start(&upstream.base_url(), Mode::Delay(Duration::from_millis(400))).await;
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector = connector_at(&app, &admin, &stripe(), &proxy.base_url()).await;
    let name = connector["name"].as_str().unwrap().to_owned();
    let run_id = a_run_under_way(&app, &admin, &connector, "customers").await;

    let command = crate::helpers::portico_command(&app.db, &["connectors", "cancel", &name, "--stream", "customers"]);
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || crate::helpers::run_portico(command, None)).await.unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&format!("customers: run {run_id} cancelled after")), "{stdout}");
    upstream_goes_quiet(&proxy, "cli").await;
    let path = format!("/api/v1/admin/connectors/{}/runs/{run_id}", connector["id"].as_str().unwrap());
    let run: Value = app.get_json(&path, Some(&admin)).await;
    assert_eq!(
        (run["status"].as_str(), run["error"].as_str()),
        (Some("cancelled"), Some("cancelled from the command line"))
    );
    let audit: Value = app.get_json("/api/v1/audit-events", Some(&admin)).await;
    assert!(audit.to_string().contains(&run_id), "the cancel is audited: {audit}");

    // Nothing left to cancel: said, not an error.
    let command = crate::helpers::portico_command(&app.db, &["connectors", "cancel", &name]);
    let (code, stdout, _) =
        tokio::task::spawn_blocking(move || crate::helpers::run_portico(command, None)).await.unwrap();
    assert_eq!(code, 0);
    assert!(stdout.contains("no queued, running or waiting run to cancel"), "{stdout}");
}
