//! Declarative REST: the shipped example manifests, pointed at a local source,
//! sync without code: page numbers, offsets, cursors and Link headers; API keys
//! and OAuth client credentials (with a revoked token refreshed); incremental
//! cursors; rate-limit headers honoured; bad manifests refused with their path.

use portico::auth::permissions::StaffRole;
use portico_testkit::FakeRest;
use portico_testkit::rest::{API_KEY, CLIENT_ID, CLIENT_SECRET};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp, spawn_app};
use crate::sync::{cached_records, sync_to_end};

const PROJECTS: &str = include_str!("../../connectors/manifests/projects.yaml");
const HELPDESK: &str = include_str!("../../connectors/manifests/helpdesk.yaml");

async fn create_rest_connector(
    app: &TestApp,
    admin: &Session,
    manifest: &str,
    credentials: Value,
) -> reqwest::Response {
    let body = json!({
        "kind": "rest",
        "name": format!("REST {}", Uuid::new_v4().simple()),
        "settings": {"manifest": manifest},
        "credentials": credentials,
        "allow_private_network": true,
    });
    app.request(Method::POST, "/api/v1/admin/connectors", Some(admin)).json(&body).send().await.unwrap()
}

async fn connector(app: &TestApp, admin: &Session, manifest: &str, credentials: Value) -> Value {
    let response = create_rest_connector(app, admin, manifest, credentials).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_projects_example_syncs_pages_and_offsets_then_only_changes() {
    let source = FakeRest::start().await;
    for n in 1..=120 {
        source
            .add_project(json!({"id": n, "client_id": "c-1", "code": format!("P-{n}"), "name": format!("Project {n}"),
            "phase": "planning", "budget": "1000.25", "updated": 1_700_000_000 + n}));
    }
    for n in 1..=230 {
        source.add_task(
            json!({"id": format!("t{n}"), "client_id": "c-1", "title": format!("Task {n}"), "state": "open"}),
        );
    }
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let manifest = PROJECTS.replace("https://projects.example.com/v1", &format!("{}/v1", source.base_url()));
    let connector = connector(&app, &admin, &manifest, json!({"api_key": API_KEY})).await;

    let runs = sync_to_end(&app, &admin, &connector, &["projects", "tasks"], "full").await;
    let projects_run = runs.iter().find(|run| run["stream"] == "projects").unwrap();
    assert_eq!(
        (projects_run["added"].as_i64(), projects_run["pages"].as_i64()),
        (Some(120), Some(3)),
        "{projects_run}"
    );
    let projects = cached_records(&app, &admin, &connector, "order").await;
    assert_eq!(projects.len(), 120);
    assert_eq!(projects["7"]["amount_minor"], 100025);
    assert_eq!(projects["7"]["data"]["kind"], "project");
    assert_eq!(projects["7"]["currency"], "EUR", "a default from the manifest");
    assert_eq!(cached_records(&app, &admin, &connector, "task").await.len(), 230);

    // The incremental run asks only for what changed after the highest `updated` seen.
    source.add_project(json!({"id": 121, "client_id": "c-2", "name": "New", "phase": "planning", "budget": 5, "updated": 1_800_000_000}));
    let runs = sync_to_end(&app, &admin, &connector, &["projects"], "incremental").await;
    assert_eq!((runs[0]["added"].as_i64(), runs[0]["unchanged"].as_i64()), (Some(1), Some(0)), "{}", runs[0]);
}

#[tokio::test]
async fn the_helpdesk_example_uses_oauth_cursors_and_rate_limit_headers() {
    let source = FakeRest::start().await;
    for n in 0..450 {
        source.add_ticket(
            json!({"id": format!("T{n:04}"), "organization": {"id": "org-1"}, "subject": format!("Ticket {n}"),
            "status": "open", "priority": "normal", "created_at": "2026-11-01T10:00:00Z",
            "updated_at": format!("2026-11-01T10:{:02}:{:02}Z", n / 60, n % 60)}),
        );
    }
    source.set_rate_window(3);
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let manifest = HELPDESK.replace("https://helpdesk.example.com", &source.base_url());
    let credentials = json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET});
    let connector = connector(&app, &admin, &manifest, credentials).await;

    let runs = sync_to_end(&app, &admin, &connector, &["tickets"], "full").await;
    assert_eq!(runs[0]["added"], 450, "{}", runs[0]);
    assert_eq!(source.requests_in_blocked_window(), 0, "no request while the window said 0 remain");
    assert_eq!(source.token_requests(), 1, "the token is cached");
    let tickets = cached_records(&app, &admin, &connector, "ticket").await;
    assert_eq!(tickets["T0007"]["account_ref"], "org-1");
    assert_eq!(tickets["T0007"]["status"], "open");

    // The provider revokes tokens early: the next call gets a 401 and refreshes once.
    source.revoke_tokens();
    source.set_rate_window(u64::MAX);
    source.update_ticket("T0449", json!({"status": "solved", "updated_at": "2026-11-02T00:00:00Z"}));
    let runs = sync_to_end(&app, &admin, &connector, &["tickets"], "incremental").await;
    assert_eq!((runs[0]["updated"].as_i64(), runs[0]["unchanged"].as_i64()), (Some(1), Some(0)), "{}", runs[0]);
    assert_eq!(cached_records(&app, &admin, &connector, "ticket").await["T0449"]["status"], "solved");
    assert_eq!(source.token_requests(), 2, "one refresh after the 401");
}

#[tokio::test]
async fn link_header_pagination_and_manifest_errors() {
    let source = FakeRest::start().await;
    for n in 1..=5 {
        source.add_client(json!({"id": n, "name": format!("Client {n}"), "email": format!("c{n}@example.test")}));
    }
    let manifest = format!(
        "name: Clients\nbase_url: {}/v1\nstreams:\n  - name: clients\n    path: /clients\n    record_selector: /clients\n    \
         pagination: {{type: link}}\n    record_type: contact\n    fields:\n      external_id: /id\n      account_ref: /id\n      \
         name: /name\n      email: /email\n",
        source.base_url()
    );
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector = connector(&app, &admin, &manifest, json!({})).await;
    let runs = sync_to_end(&app, &admin, &connector, &["clients"], "full").await;
    assert_eq!((runs[0]["added"].as_i64(), runs[0]["pages"].as_i64()), (Some(5), Some(3)), "{}", runs[0]);

    for (bad, path) in [
        (manifest.replace("type: link", "type: scroll"), "settings.manifest.streams[0].pagination.type"),
        (manifest.replace("      name: /name\n", ""), "settings.manifest.streams[0].fields"),
        (
            manifest.replace("record_selector: /clients", "record_selector: clients"),
            "settings.manifest.streams[0].record_selector",
        ),
        ("name: [unclosed".to_owned(), "settings.manifest.name"),
    ] {
        let response = create_rest_connector(&app, &admin, &bad, json!({})).await;
        assert_eq!(response.status(), 422);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], path, "{problem}");
    }
    // The auth a manifest names needs its credentials.
    let response = create_rest_connector(
        &app,
        &admin,
        &PROJECTS.replace("https://projects.example.com/v1", "http://127.0.0.1:9/v1"),
        json!({}),
    )
    .await;
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "credentials.api_key", "{problem}");
}

/// Posts an event to the endpoint signed with the projects tool's own HMAC scheme.
async fn post_signed(
    app: &TestApp,
    endpoint: &Value,
    secret: &str,
    delivery: &str,
    event: &Value,
) -> reqwest::StatusCode {
    post_signed_answer(app, endpoint, secret, delivery, event).await.status()
}

async fn post_signed_answer(
    app: &TestApp,
    endpoint: &Value,
    secret: &str,
    delivery: &str,
    event: &Value,
) -> reqwest::Response {
    let body = event.to_string();
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let signature =
        portico_testkit::signing::hmac_sha256_hex(secret.as_bytes(), &[timestamp.as_bytes(), b".", body.as_bytes()]);
    app.client
        .post(app.url(&format!("/webhooks/{}", endpoint["id"].as_str().unwrap())))
        .header("x-projects-signature", format!("sha256={signature}"))
        .header("x-projects-timestamp", timestamp)
        .header("x-projects-delivery", delivery)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn manifest_webhooks_carry_projects_and_name_tasks_to_fetch() {
    let source = FakeRest::start().await;
    source.add_project(json!({"id": 1, "client_id": "c-1", "name": "Website", "phase": "planning", "budget": 10, "updated": 1_700_000_000}));
    source.add_task(json!({"id": "t1", "client_id": "c-1", "title": "Draft", "state": "open"}));
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let manifest = PROJECTS.replace("https://projects.example.com/v1", &format!("{}/v1", source.base_url()));
    let connector = connector(&app, &admin, &manifest, json!({"api_key": API_KEY})).await;
    sync_to_end(&app, &admin, &connector, &["projects", "tasks"], "full").await;
    let hmac = json!({"header": "X-Projects-Signature", "prefix": "sha256=", "algorithm": "sha256", "encoding": "hex",
        "template": "{timestamp}.{body}", "timestamp_header": "X-Projects-Timestamp", "id_header": "X-Projects-Delivery"});
    let endpoint = crate::webhook_gateway::create_endpoint(
        &app,
        &admin,
        &connector,
        json!({"name": "Projects", "scheme": "hmac", "hmac": hmac, "secret": "projects-signing-secret"}),
    )
    .await;
    let secret = "projects-signing-secret";

    // A project event carries the project; a task event only names the task.
    let project = json!({"event": "project.updated", "project": {"id": 1, "client_id": "c-1", "name": "Website",
        "phase": "build", "budget": 10, "updated": 1_700_000_100}});
    assert_eq!(post_signed(&app, &endpoint, secret, "d-1", &project).await, 200);
    source.update_task("t1", json!({"state": "completed", "done_at": "2026-11-20T10:00:00Z"}));
    assert_eq!(
        post_signed(&app, &endpoint, secret, "d-2", &json!({"event": "task.updated", "task_id": "t1"})).await,
        200
    );
    assert_eq!(post_signed(&app, &endpoint, "wrong", "d-3", &project).await, 401);
    // The delivery header is not signed here: the same body under a new id is a
    // replay, answered as a duplicate and not applied again.
    let replayed = post_signed_answer(&app, &endpoint, secret, "d-replayed-under-a-new-id", &project).await;
    let replayed: Value = replayed.json().await.unwrap();
    assert_eq!(replayed["duplicate"], true, "{replayed}");

    crate::helpers::eventually("both changes applied", std::time::Duration::from_secs(10), || async {
        let projects = cached_records(&app, &admin, &connector, "order").await;
        let tasks = cached_records(&app, &admin, &connector, "task").await;
        (projects["1"]["status"] == "build" && tasks["t1"]["status"] == "completed").then_some(())
    })
    .await;

    // A task that is gone when fetched is deleted; a project deletion applies as sent.
    source.update_task("t1", Value::Null);
    assert_eq!(
        post_signed(&app, &endpoint, secret, "d-4", &json!({"event": "task.deleted", "task_id": "t1"})).await,
        200
    );
    assert_eq!(
        post_signed(&app, &endpoint, secret, "d-5", &json!({"event": "project.deleted", "project_id": 1})).await,
        200
    );
    crate::helpers::eventually("both deletions applied", std::time::Duration::from_secs(10), || async {
        let projects = cached_records(&app, &admin, &connector, "order").await;
        let tasks = cached_records(&app, &admin, &connector, "task").await;
        (projects["1"]["deleted_at"].is_string() && tasks["t1"]["deleted_at"].is_string()).then_some(())
    })
    .await;

    // A manifest whose webhook rule names no stream is refused with its path.
    let broken = manifest.clone() + "    - stream: invoices\n      record: /invoice\n";
    let response = create_rest_connector(&app, &admin, &broken, json!({"api_key": API_KEY})).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "settings.manifest.webhooks.events[3].stream", "{problem}");
}

/// A Portico whose projects connector has synced `source`'s tasks into the
/// account of client `c-1`.
struct TasksSynced {
    app: TestApp,
    admin: Session,
    manifest: String,
    account: uuid::Uuid,
    /// The cached tasks by their upstream id.
    tasks: std::collections::BTreeMap<String, Value>,
}

async fn tasks_synced(source: &FakeRest) -> TasksSynced {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let manifest = PROJECTS.replace("https://projects.example.com/v1", &format!("{}/v1", source.base_url()));
    let projects = connector(&app, &admin, &manifest, json!({"api_key": API_KEY})).await;
    let account = app.create_account(&admin, "Client One").await;
    crate::sync::map_account(&app, &admin, &projects, "c-1", account).await;
    sync_to_end(&app, &admin, &projects, &["tasks"], "full").await;
    let tasks = cached_records(&app, &admin, &projects, "task").await;
    TasksSynced { app, admin, manifest, account, tasks }
}

#[tokio::test]
async fn a_member_completes_a_task_in_the_system_it_lives_in() {
    let source = FakeRest::start().await;
    source.add_task(json!({"id": "t1", "client_id": "c-1", "title": "Sign the contract", "state": "open"}));
    source.add_task(json!({"id": "t2", "client_id": "c-1", "title": "Send the logo", "state": "open"}));
    let TasksSynced { app, admin, manifest, account, tasks } = tasks_synced(&source).await;
    let task_id = tasks["t1"]["id"].as_str().unwrap().to_owned();
    let complete = format!("/api/v1/accounts/{account}/tasks/{task_id}/complete");

    // A viewer may see tasks but not complete them.
    let viewer = app.member(&admin, account, "viewer").await;
    let refused = app.request(Method::POST, &complete, Some(&viewer)).send().await.unwrap();
    assert_eq!(refused.status(), 403);

    let member = app.member(&admin, account, "member").await;
    let response = app.request(Method::POST, &complete, Some(&member)).send().await.unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let queued: Value = response.json().await.unwrap();
    assert_eq!(queued["sync_status"], "pending");

    // The source gets one PATCH carrying the outbox's idempotency key; the task
    // shows completed from the source's answer, without waiting for a sync.
    let detail = format!("/api/v1/accounts/{account}/tasks/{task_id}");
    crate::helpers::eventually("the task shows completed", std::time::Duration::from_secs(10), || async {
        let task: Value = app.get_json(&detail, Some(&member)).await;
        (task["status"] == "completed").then_some(task)
    })
    .await;
    let expected_key = format!("portico-{}", queued["outbox_id"].as_str().unwrap());
    assert_eq!(source.task_writes(), vec![("t1".to_owned(), Some(expected_key))]);
    assert_eq!(tasks["t2"]["status"], "open");

    // Completing it again is refused; so is a task of a source whose manifest
    // declares no such action.
    let again = app.request(Method::POST, &complete, Some(&member)).send().await.unwrap();
    assert_eq!(again.status(), 409);
    let read_only = manifest.split("\nactions:").next().unwrap().to_owned()
        + "\nwebhooks:"
        + manifest.split("\nwebhooks:").nth(1).unwrap();
    let other = connector(&app, &admin, &read_only, json!({"api_key": API_KEY})).await;
    crate::sync::map_account(&app, &admin, &other, "c-1", account).await;
    sync_to_end(&app, &admin, &other, &["tasks"], "full").await;
    let other_tasks = cached_records(&app, &admin, &other, "task").await;
    let other_task = other_tasks["t2"]["id"].as_str().unwrap();
    let path = format!("/api/v1/accounts/{account}/tasks/{other_task}/complete");
    let response = app.request(Method::POST, &path, Some(&member)).send().await.unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "conflict");
    assert_eq!(source.task_writes().len(), 1, "nothing more was sent");
}

#[tokio::test]
async fn a_member_approves_or_declines_a_task_that_asks_for_a_decision_with_a_comment() {
    let source = FakeRest::start().await;
    let approval = |id: &str, title: &str| {
        json!({"id": id, "client_id": "c-1", "title": title, "state": "open", "kind": "approval",
               "details": "Quote Q-17: 12 licences, 1,440 EUR a year"})
    };
    source.add_task(approval("q1", "Approve the quote"));
    source.add_task(approval("q2", "Sign off the design"));
    source.add_task(json!({"id": "t1", "client_id": "c-1", "title": "Send the logo", "state": "open"}));
    let TasksSynced { app, admin, account, tasks, .. } = tasks_synced(&source).await;
    let id = |external: &str| tasks[external]["id"].as_str().unwrap().to_owned();
    assert_eq!(tasks["q1"]["data"]["kind"], "approval");
    assert_eq!(tasks["t1"]["data"]["kind"], "todo", "a task is something to do unless it says otherwise");
    let member = app.member(&admin, account, "member").await;
    let decide = |session: &Session, task: String, body: Value| {
        app.request(Method::POST, &format!("/api/v1/accounts/{account}/tasks/{task}/decision"), Some(session))
            .json(&body)
            .send()
    };

    // Only a task that asks for a decision takes one; it is not merely "done";
    // a viewer decides nothing; a comment has a limit.
    let todo = decide(&member, id("t1"), json!({"decision": "approve"})).await.unwrap();
    assert_eq!(todo.status(), 409);
    let complete = format!("/api/v1/accounts/{account}/tasks/{}/complete", id("q1"));
    assert_eq!(app.request(Method::POST, &complete, Some(&member)).send().await.unwrap().status(), 409);
    let viewer = app.member(&admin, account, "viewer").await;
    assert_eq!(decide(&viewer, id("q1"), json!({"decision": "approve"})).await.unwrap().status(), 403);
    let long = decide(&member, id("q1"), json!({"decision": "approve", "comment": "x".repeat(2_001)})).await.unwrap();
    assert_eq!(long.status(), 422);
    assert_eq!(long.json::<Value>().await.unwrap()["errors"][0]["field"], "comment");
    let unknown = decide(&member, id("q1"), json!({"decision": "maybe"})).await.unwrap();
    assert_eq!(unknown.status(), 422);
    assert!(source.task_writes().is_empty(), "nothing was sent");

    // Approved with a comment, declined without: each goes upstream once, the
    // comment where the manifest says, and the task shows the outcome.
    let approved = decide(&member, id("q1"), json!({"decision": "approve", "comment": "  Fine by us.  "})).await;
    assert_eq!(approved.unwrap().status(), 202);
    let declined = decide(&member, id("q2"), json!({"decision": "decline"})).await.unwrap();
    assert_eq!(declined.status(), 202);
    for (task, status) in [("q1", "approved"), ("q2", "declined")] {
        let detail = format!("/api/v1/accounts/{account}/tasks/{}", id(task));
        crate::helpers::eventually(&format!("{task} {status}"), std::time::Duration::from_secs(10), || async {
            let shown: Value = app.get_json(&detail, Some(&member)).await;
            (shown["status"] == status).then_some(())
        })
        .await;
    }
    let mut bodies = source.task_write_bodies();
    bodies.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        bodies,
        vec![
            ("q1".to_owned(), json!({"state": "approved", "decision": {"note": "Fine by us."}})),
            ("q2".to_owned(), json!({"state": "declined"})),
        ]
    );
    let shown: Value = app.get_json(&format!("/api/v1/accounts/{account}/tasks/{}", id("q1")), Some(&member)).await;
    assert_eq!(shown["data"]["decision_comment"], "Fine by us.");

    // Decided is decided; the task's history and the account's log keep it.
    assert_eq!(decide(&member, id("q1"), json!({"decision": "decline"})).await.unwrap().status(), 409);
    let history: Value =
        app.get_json(&format!("/api/v1/accounts/{account}/tasks/{}/history", id("q1")), Some(&member)).await;
    let statuses: Vec<&str> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|version| version["data"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.first(), Some(&"approved"), "newest first: {statuses:?}");
    assert!(statuses.contains(&"open"), "{statuses:?}");
    let owner = app.member(&admin, account, "owner").await;
    let log: Value = app.get_json(&format!("/api/v1/accounts/{account}/audit-events?action=task."), Some(&owner)).await;
    let decisions: Vec<(&str, &str)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|event| (event["action"].as_str().unwrap(), event["details"]["comment"].as_str().unwrap_or_default()))
        .collect();
    assert!(decisions.contains(&("task.approved", "Fine by us.")), "{decisions:?}");
    assert!(decisions.contains(&("task.declined", "")), "{decisions:?}");
}

#[tokio::test]
async fn two_streams_claiming_one_record_type_and_id_never_overwrite_each_other() {
    let source = FakeRest::start().await;
    for n in 1..=5 {
        source.add_client(json!({"id": n, "name": format!("Client {n}"), "email": format!("c{n}@example.test")}));
    }
    // Two endpoints whose ids overlap, both mapped as contacts (as /customers and
    // /suppliers of one system numbering each on its own would be).
    let stream = |name: &str, title: &str| {
        format!(
            "  - name: {name}\n    path: /clients\n    record_selector: /clients\n    pagination: {{type: link}}\n    \
             record_type: contact\n    fields:\n      external_id: /id\n      account_ref: /id\n      name: {title}\n"
        )
    };
    let manifest = format!(
        "name: Clients\nbase_url: {}/v1\nstreams:\n{}{}",
        source.base_url(),
        stream("customers", "/name"),
        stream("suppliers", "/email")
    );
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector = connector(&app, &admin, &manifest, json!({})).await;
    let runs = sync_to_end(&app, &admin, &connector, &["customers"], "full").await;
    assert_eq!(runs[0]["added"], 5, "{}", runs[0]);
    let runs = sync_to_end(&app, &admin, &connector, &["suppliers"], "full").await;
    assert_eq!((runs[0]["added"].as_i64(), runs[0]["updated"].as_i64()), (Some(0), Some(0)), "{}", runs[0]);
    assert_eq!(runs[0]["failed"], 5, "refused and counted, not written: {}", runs[0]);
    let contacts = cached_records(&app, &admin, &connector, "contact").await;
    assert!(contacts.values().all(|contact| contact["stream"] == "customers" && contact["title"].as_str().unwrap().starts_with("Client")));
}
