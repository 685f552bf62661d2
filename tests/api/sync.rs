//! Connectors and the sync engine over HTTP, against a fake Stripe that behaves
//! like the real API (pagination, errors, 429s), on SQLite and PostgreSQL alike.

use std::collections::BTreeMap;
use std::time::Duration;

use portico::auth::permissions::StaffRole;
use portico_testkit::{FakeStripe, Faults};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp, eventually, raw_sql, spawn_app, spawn_app_with};

const API_KEY: &str = "sk_test_portico";

/// Creates a connector instance of `kind` (allowed to reach the loopback upstream)
/// with a unique name; `extra` adds or overrides fields of the request.
pub async fn create_connector(
    app: &TestApp,
    admin: &Session,
    kind: &str,
    settings: Value,
    credentials: Value,
    extra: Value,
) -> Value {
    let mut body = json!({
        "kind": kind,
        "name": format!("{kind} {}", Uuid::new_v4().simple()),
        "settings": settings,
        "credentials": credentials,
        "allow_private_network": true,
    });
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let response = app.request(Method::POST, "/api/v1/admin/connectors", Some(admin)).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

pub async fn create_stripe_connector(app: &TestApp, admin: &Session, stripe: &FakeStripe, extra: Value) -> Value {
    let settings = json!({"base_url": stripe.base_url()});
    create_connector(app, admin, "stripe", settings, json!({"api_key": API_KEY}), extra).await
}

pub async fn start_sync(app: &TestApp, admin: &Session, connector: &Value, streams: &[&str], mode: &str) -> Vec<Value> {
    let path = format!("/api/v1/admin/connectors/{}/sync", connector["id"].as_str().unwrap());
    let response = app
        .request(Method::POST, &path, Some(admin))
        .json(&json!({"streams": streams, "mode": mode}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// Waits until a run is no longer queued, running or waiting, and returns it.
pub async fn finished_run(app: &TestApp, admin: &Session, connector: &Value, run_id: &str, timeout: Duration) -> Value {
    let path = format!("/api/v1/admin/connectors/{}/runs/{run_id}", connector["id"].as_str().unwrap());
    eventually("the sync run to finish", timeout, || async {
        let run: Value = app.get_json(&path, Some(admin)).await;
        (!matches!(run["status"].as_str(), Some("queued" | "running" | "waiting"))).then_some(run)
    })
    .await
}

/// Syncs streams to the end and returns their runs, which must have succeeded or be held.
pub async fn sync_to_end(
    app: &TestApp,
    admin: &Session,
    connector: &Value,
    streams: &[&str],
    mode: &str,
) -> Vec<Value> {
    let started = start_sync(app, admin, connector, streams, mode).await;
    let mut runs = Vec::new();
    for run in started {
        let run = finished_run(app, admin, connector, run["run_id"].as_str().unwrap(), Duration::from_secs(60)).await;
        assert!(matches!(run["status"].as_str(), Some("succeeded" | "held")), "run ended badly: {run}");
        runs.push(run);
    }
    runs
}

/// Every record the connector brought in (staff view), by external id.
pub async fn cached_records(
    app: &TestApp,
    admin: &Session,
    connector: &Value,
    record_type: &str,
) -> BTreeMap<String, Value> {
    let id = connector["id"].as_str().unwrap();
    let mut records = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/admin/connectors/{id}/records?record_type={record_type}&limit=200");
        if let Some(after) = &after {
            path.push_str(&format!("&after={after}"));
        }
        let page: Vec<Value> = app.get_json(&path, Some(admin)).await;
        let Some(last) = page.last() else { break };
        after = Some(last["id"].as_str().unwrap().to_owned());
        for record in page {
            records.insert(record["external_id"].as_str().unwrap().to_owned(), record);
        }
    }
    records
}

fn live(records: &BTreeMap<String, Value>) -> Vec<&str> {
    records.iter().filter(|(_, record)| record["deleted_at"].is_null()).map(|(id, _)| id.as_str()).collect()
}

pub async fn map_account(
    app: &TestApp,
    admin: &Session,
    connector: &Value,
    account_ref: &str,
    account_id: Uuid,
) -> Value {
    let path = format!("/api/v1/admin/connectors/{}/mappings", connector["id"].as_str().unwrap());
    let response = app
        .request(Method::PUT, &path, Some(admin))
        .json(&json!({"account_ref": account_ref, "account_id": account_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn stripe_invoices_sync_into_accounts_with_history_and_unmapped_ones_are_parked() {
    let stripe = FakeStripe::start(API_KEY).await;
    let acme = stripe.add_customer("Acme", "billing@acme.test");
    let globex = stripe.add_customer("Globex", "ap@globex.test");
    let first = stripe.add_invoice(&acme, &[1500, 250]);
    let second = stripe.add_invoice(&acme, &[9900]);
    let unmapped = stripe.add_invoice(&globex, &[4200]);

    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let connector = create_stripe_connector(&app, &admin, &stripe, json!({})).await;
    assert_eq!(map_account(&app, &admin, &connector, &acme, account).await["records_claimed"], 0);

    let runs = sync_to_end(&app, &admin, &connector, &["customers", "invoices"], "full").await;
    let invoice_run = runs.iter().find(|run| run["stream"] == "invoices").unwrap();
    assert_eq!((invoice_run["added"].as_i64(), invoice_run["updated"].as_i64()), (Some(3), Some(0)));

    let invoices = cached_records(&app, &admin, &connector, "invoice").await;
    assert_eq!(invoices.len(), 3);
    let cached = &invoices[&first];
    assert_eq!(cached["account_id"], json!(account));
    assert_eq!(cached["amount_minor"], 1750);
    assert_eq!(cached["currency"], "USD");
    assert_eq!(cached["status"], "open");
    assert_eq!(cached["data"]["line_items"].as_array().unwrap().len(), 2);
    assert!(invoices[&unmapped]["account_id"].is_null(), "no mapping: parked");

    // Parked records are listed by the key that lacks a mapping, and mapping it hands them over.
    let path = format!("/api/v1/admin/connectors/{}/parked", connector["id"].as_str().unwrap());
    let parked: Vec<Value> = app.get_json(&path, Some(&admin)).await;
    assert_eq!(
        parked,
        vec![json!({
            "account_ref": globex, "records": 2, "first_parked_at": parked[0]["first_parked_at"],
            "sample_title": "Globex",
        })]
    );
    let other = app.create_account(&admin, "Globex").await;
    assert_eq!(map_account(&app, &admin, &connector, &globex, other).await["records_claimed"], 2);

    // A change upstream: the incremental run (events API) updates one invoice, keeps
    // the version it replaced, and leaves the others untouched.
    stripe.pay_invoice(&second);
    let before = cached_records(&app, &admin, &connector, "invoice").await;
    let runs = sync_to_end(&app, &admin, &connector, &["invoices"], "incremental").await;
    assert_eq!(runs[0]["updated"], 1, "{}", runs[0]);
    assert_eq!(runs[0]["added"], 0);
    let after = cached_records(&app, &admin, &connector, "invoice").await;
    assert_eq!(after[&second]["status"], "paid");
    assert_eq!(after[&first]["updated_at"], before[&first]["updated_at"], "an unchanged record keeps its updated_at");

    // A full run of unchanged data changes nothing.
    let runs = sync_to_end(&app, &admin, &connector, &["invoices"], "full").await;
    assert_eq!((runs[0]["unchanged"].as_i64(), runs[0]["updated"].as_i64()), (Some(3), Some(0)));
    let again = cached_records(&app, &admin, &connector, "invoice").await;
    assert_eq!(again[&second]["updated_at"], after[&second]["updated_at"]);

    // History: a billing member of the account sees what changed, and when.
    let owner_invite = app.member(&admin, account, "billing").await;
    let record_id = after[&second]["id"].as_str().unwrap();
    let path = format!("/api/v1/accounts/{account}/invoices/{record_id}/history");
    let response = app.request(Method::GET, &path, Some(&owner_invite)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let history: Value = response.json().await.unwrap();
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{history}");
    assert!(history["last_synced_at"].is_string(), "freshness comes with the record: {history}");
    assert_eq!(versions[0]["data"]["status"], "paid");
    assert_eq!(versions[1]["data"]["status"], "open");
    let changed: Vec<&str> =
        versions[0]["changed_fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert!(changed.contains(&"status") && changed.contains(&"amount_paid_minor"), "{changed:?}");

    // Another account's member cannot see it, not even that it exists.
    let outsider = app.member(&admin, other, "owner").await;
    let path_as_outsider = format!("/api/v1/accounts/{other}/invoices/{record_id}/history");
    let response = app.request(Method::GET, &path_as_outsider, Some(&outsider)).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let response = app.request(Method::GET, &path, Some(&outsider)).send().await.unwrap();
    assert_eq!(response.status(), 404);
    // A viewer of the right account lacks invoices.view.
    let viewer = app.member(&admin, account, "viewer").await;
    let response = app.request(Method::GET, &path, Some(&viewer)).send().await.unwrap();
    assert_eq!(response.status(), 403);

    // Freshness: the connector reports when each stream last synced.
    let detail: Value =
        app.get_json(&format!("/api/v1/admin/connectors/{}", connector["id"].as_str().unwrap()), Some(&admin)).await;
    let invoices_stream = detail["streams"].as_array().unwrap().iter().find(|s| s["name"] == "invoices").unwrap();
    assert!(invoices_stream["last_success_at"].is_string(), "{detail}");
}

#[tokio::test]
async fn credentials_are_never_returned_and_bad_ones_fail_the_connection_test() {
    let stripe = FakeStripe::start(API_KEY).await;
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector = create_stripe_connector(&app, &admin, &stripe, json!({})).await;
    let id = connector["id"].as_str().unwrap();
    assert_eq!(connector["has_credentials"], true);
    for body in [
        app.request(Method::GET, &format!("/api/v1/admin/connectors/{id}"), Some(&admin))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        app.request(Method::GET, "/api/v1/admin/connectors", Some(&admin)).send().await.unwrap().text().await.unwrap(),
    ] {
        assert!(!body.contains(API_KEY), "the API key leaked: {body}");
    }
    let stored = app.store.connector_instance(id.parse().unwrap()).await.unwrap().unwrap();
    let sealed = stored.credentials_sealed.expect("credentials are stored");
    assert!(!String::from_utf8_lossy(&sealed).contains(API_KEY), "credentials are stored encrypted");

    let test = |app: &TestApp| {
        let path = format!("/api/v1/admin/connectors/{id}/test");
        app.request(Method::POST, &path, Some(&admin)).send()
    };
    let result: Value = test(&app).await.unwrap().json().await.unwrap();
    assert_eq!(result["ok"], true, "{result}");

    let response = app
        .request(Method::PATCH, &format!("/api/v1/admin/connectors/{id}"), Some(&admin))
        .json(&json!({"credentials": {"api_key": "sk_test_wrong"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let result: Value = test(&app).await.unwrap().json().await.unwrap();
    assert_eq!(
        (result["ok"].as_bool(), result["error_class"].as_str()),
        (Some(false), Some("unauthorized")),
        "{result}"
    );
    assert!(!result.to_string().contains("sk_test_wrong"));
}

#[tokio::test]
async fn invalid_settings_are_refused_with_the_field_path() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let cases = [
        (
            json!({"kind": "stripe", "name": "x", "settings": {"base_url": "not a url"}, "credentials": {"api_key": "k"}}),
            "settings.base_url",
        ),
        (
            json!({"kind": "stripe", "name": "x", "settings": {"colour": "red"}, "credentials": {"api_key": "k"}}),
            "settings.colour",
        ),
        (json!({"kind": "stripe", "name": "x", "settings": {}, "credentials": {}}), "credentials"),
        (json!({"kind": "nope", "name": "x", "settings": {}}), "kind"),
        (
            json!({"kind": "stripe", "name": "x", "settings": {}, "credentials": {"api_key": "k"}, "delete_guard_share": 2}),
            "delete_guard_share",
        ),
    ];
    for (body, field) in cases {
        let response =
            app.request(Method::POST, "/api/v1/admin/connectors", Some(&admin)).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 422, "{body}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "validation_failed");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    // Support staff may not manage connectors.
    let support = app.staff(StaffRole::Support).await;
    let response = app.request(Method::GET, "/api/v1/admin/connectors", Some(&support)).send().await.unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn connectors_refuse_private_addresses_unless_the_instance_allows_them() {
    let stripe = FakeStripe::start(API_KEY).await;
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector = create_stripe_connector(&app, &admin, &stripe, json!({"allow_private_network": false})).await;
    let path = format!("/api/v1/admin/connectors/{}/test", connector["id"].as_str().unwrap());
    let result: Value = app.request(Method::POST, &path, Some(&admin)).send().await.unwrap().json().await.unwrap();
    assert_eq!(result["ok"], false);
    assert_eq!(result["error_class"], "permanent", "a refused address is not retried: {result}");
    assert!(result["error"].as_str().unwrap().contains("not a public address"), "{result}");
    assert_eq!(stripe.fault_report().requests, 0, "nothing reached the upstream");
}

#[tokio::test]
async fn a_full_sync_deletes_what_vanished_but_holds_a_mass_deletion_for_an_admin() {
    let stripe = FakeStripe::start(API_KEY).await;
    let customers: Vec<String> = (0..10).map(|n| stripe.add_customer(&format!("C{n}"), "c@example.test")).collect();
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector = create_stripe_connector(&app, &admin, &stripe, json!({})).await;
    sync_to_end(&app, &admin, &connector, &["customers"], "full").await;

    // One of ten vanishes without an event: within the 20% guard, deleted.
    stripe.remove_silently("customers", &customers[0]);
    let runs = sync_to_end(&app, &admin, &connector, &["customers"], "full").await;
    assert_eq!((runs[0]["status"].as_str(), runs[0]["deleted"].as_i64()), (Some("succeeded"), Some(1)), "{}", runs[0]);
    let cached = cached_records(&app, &admin, &connector, "contact").await;
    assert!(cached[&customers[0]]["deleted_at"].is_string());
    assert_eq!(live(&cached).len(), 9);

    // Four of the nine remaining vanish (44%): held, nothing deleted.
    for id in &customers[1..5] {
        stripe.remove_silently("customers", id);
    }
    let runs = sync_to_end(&app, &admin, &connector, &["customers"], "full").await;
    assert_eq!(
        (runs[0]["status"].as_str(), runs[0]["held_deletions"].as_i64()),
        (Some("held"), Some(4)),
        "{}",
        runs[0]
    );
    assert_eq!(live(&cached_records(&app, &admin, &connector, "contact").await).len(), 9);

    // Discarding keeps them; confirming a discarded run is refused.
    let run_path = format!(
        "/api/v1/admin/connectors/{}/runs/{}",
        connector["id"].as_str().unwrap(),
        runs[0]["id"].as_str().unwrap()
    );
    let response =
        app.request(Method::POST, &format!("{run_path}/discard-deletions"), Some(&admin)).send().await.unwrap();
    assert_eq!(response.status(), 204);
    let response =
        app.request(Method::POST, &format!("{run_path}/confirm-deletions"), Some(&admin)).send().await.unwrap();
    assert_eq!(response.status(), 409);

    // The next full run holds them again; this time the admin confirms.
    let runs = sync_to_end(&app, &admin, &connector, &["customers"], "full").await;
    assert_eq!(runs[0]["status"], "held");
    let run_path = format!(
        "/api/v1/admin/connectors/{}/runs/{}",
        connector["id"].as_str().unwrap(),
        runs[0]["id"].as_str().unwrap()
    );
    let response =
        app.request(Method::POST, &format!("{run_path}/confirm-deletions"), Some(&admin)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["deleted"], 4);
    let cached = cached_records(&app, &admin, &connector, "contact").await;
    assert_eq!(live(&cached), customers[5..].iter().map(String::as_str).collect::<Vec<_>>());

    // Stripe reports a deletion as an event: an incremental run applies it.
    stripe.delete("customers", &customers[9]);
    let runs = sync_to_end(&app, &admin, &connector, &["customers"], "incremental").await;
    assert_eq!(runs[0]["deleted"], 1, "{}", runs[0]);
}

#[tokio::test]
async fn a_hostile_upstream_still_ends_with_an_exact_copy_and_no_early_retries() {
    let stripe = FakeStripe::start(API_KEY).await;
    for n in 0..40 {
        let customer = stripe.add_customer(&format!("Customer {n}"), "c@example.test");
        stripe.add_invoice(&customer, &[100 * (n + 1)]);
    }
    stripe.generate_customers(3_000);
    stripe.set_faults(Faults::hostile(Duration::from_millis(1_500)));

    let app = spawn_app_with(|settings| {
        settings.outbound.timeout_secs = 1;
        settings.sync.page_attempts = 12;
        settings.sync.page_retry_base_ms = 20;
        settings.sync.page_retry_max_ms = 200;
    })
    .await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector = create_stripe_connector(&app, &admin, &stripe, json!({})).await;
    let runs = sync_to_end(&app, &admin, &connector, &["customers", "invoices"], "full").await;

    let report = stripe.fault_report();
    assert!(
        report.server_errors > 5 && report.rate_limited > 0 && report.resets > 0 && report.stalls > 0,
        "{report:?}"
    );
    assert_eq!(report.early_after_retry_after, 0, "a request went out before Retry-After had passed: {report:?}");

    let upstream_customers: Vec<String> =
        stripe.all("customers").iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect();
    let cached = cached_records(&app, &admin, &connector, "contact").await;
    let mut expected = upstream_customers.clone();
    expected.sort();
    assert_eq!(cached.keys().cloned().collect::<Vec<_>>(), expected, "the cache equals the upstream exactly");
    let customer_run = runs.iter().find(|run| run["stream"] == "customers").unwrap();
    assert_eq!(customer_run["added"].as_i64().unwrap() as usize, upstream_customers.len(), "{customer_run}");
    for upstream in stripe.all("customers").iter().take(50) {
        let id = upstream["id"].as_str().unwrap();
        assert_eq!(cached[id]["title"], upstream["name"], "mapping round-trip for {id}");
    }
    let invoices = cached_records(&app, &admin, &connector, "invoice").await;
    assert_eq!(invoices.len(), 40);

    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("portico_sync_page_retries_total"), "retries are counted");
}

#[tokio::test]
async fn repeated_failures_mark_a_connector_degraded_until_a_run_succeeds() {
    let stripe = FakeStripe::start(API_KEY).await;
    stripe.add_customer("Only", "only@example.test");
    let app = spawn_app_with(|settings| settings.sync.degrade_after_failures = 2).await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector =
        create_stripe_connector(&app, &admin, &stripe, json!({"credentials": {"api_key": "sk_test_revoked"}})).await;
    let path = format!("/api/v1/admin/connectors/{}", connector["id"].as_str().unwrap());
    for expected in ["active", "degraded"] {
        let started = start_sync(&app, &admin, &connector, &["customers"], "full").await;
        let run =
            finished_run(&app, &admin, &connector, started[0]["run_id"].as_str().unwrap(), Duration::from_secs(30))
                .await;
        assert_eq!(run["status"], "failed");
        assert!(run["error"].as_str().unwrap().contains("401"), "{run}");
        let detail: Value = app.get_json(&path, Some(&admin)).await;
        assert_eq!(detail["health"], expected, "{detail}");
    }
    let response = app
        .request(Method::PATCH, &path, Some(&admin))
        .json(&json!({"credentials": {"api_key": API_KEY}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    sync_to_end(&app, &admin, &connector, &["customers"], "full").await;
    let detail: Value = app.get_json(&path, Some(&admin)).await;
    assert_eq!((detail["health"].as_str(), detail["consecutive_failures"].as_i64()), (Some("active"), Some(0)));
}

#[tokio::test]
async fn only_one_run_per_stream_is_active_at_a_time() {
    let stripe = FakeStripe::start(API_KEY).await;
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector = create_stripe_connector(&app, &admin, &stripe, json!({"enabled": false})).await;
    let id: Uuid = connector["id"].as_str().unwrap().parse().unwrap();
    // Disabled: no worker will pick the run up, so it stays queued.
    let now = chrono::Utc::now();
    let first = app.store.create_sync_run(id, "customers", "full", "manual", now).await.unwrap();
    let second = app.store.create_sync_run(id, "customers", "incremental", "manual", now).await;
    assert!(matches!(second, Err(portico::store::StoreError::Conflict(_))), "{second:?}");
    app.store.create_sync_run(id, "invoices", "full", "manual", now).await.expect("another stream may run");
    app.store.finish_sync_run(first, "cancelled", None, 0, now).await.unwrap();
    app.store.create_sync_run(id, "customers", "full", "manual", now).await.expect("after the first ended");

    let response = app
        .request(Method::POST, &format!("/api/v1/admin/connectors/{id}/sync"), Some(&admin))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409, "a disabled connector does not sync");
}

#[tokio::test]
async fn a_scheduled_connector_syncs_every_stream_on_its_own() {
    let stripe = FakeStripe::start(API_KEY).await;
    stripe.add_customer("Acme", "a@acme.test");
    let app = spawn_app_with(|settings| settings.sync.schedule_check_secs = 1).await;
    let admin = app.staff(StaffRole::Admin).await;
    let scheduled = create_stripe_connector(&app, &admin, &stripe, json!({"schedule_interval_secs": 3600})).await;
    let paused =
        create_stripe_connector(&app, &admin, &stripe, json!({"schedule_interval_secs": 3600, "enabled": false})).await;

    let runs_of = |connector: &Value| {
        let path = format!("/api/v1/admin/connectors/{}/runs", connector["id"].as_str().unwrap());
        let request = app.request(Method::GET, &path, Some(&admin));
        async move { request.send().await.unwrap().json::<Vec<Value>>().await.unwrap() }
    };
    let runs = eventually("scheduled runs of every stream", Duration::from_secs(30), || async {
        let runs = runs_of(&scheduled).await;
        (runs.len() == 4 && runs.iter().all(|run| run["status"] == "succeeded")).then_some(runs)
    })
    .await;
    assert!(runs.iter().all(|run| run["trigger"] == "schedule" && run["mode"] == "incremental"), "{runs:?}");
    let detail: Value =
        app.get_json(&format!("/api/v1/admin/connectors/{}", scheduled["id"].as_str().unwrap()), Some(&admin)).await;
    let next: chrono::DateTime<chrono::Utc> = detail["next_sync_at"].as_str().unwrap().parse().unwrap();
    assert!(next > chrono::Utc::now() + chrono::Duration::minutes(59), "the next sync is an interval away: {next}");
    assert!(runs_of(&paused).await.is_empty(), "a disabled connector is not scheduled");
}

#[tokio::test]
async fn a_record_that_does_not_map_is_counted_and_blocks_no_other_but_stops_deletions() {
    let stripe = FakeStripe::start(API_KEY).await;
    let customer = stripe.add_customer("Acme", "a@acme.test");
    let kept = stripe.add_invoice(&customer, &[100]);
    let vanishing = stripe.add_invoice(&customer, &[200]);
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector = create_stripe_connector(&app, &admin, &stripe, json!({"delete_guard_share": 1.0})).await;
    sync_to_end(&app, &admin, &connector, &["invoices"], "full").await;

    // An invoice without a currency cannot be an invoice; another one vanished.
    stripe.add_raw("invoices", json!({"id": "in_broken", "object": "invoice", "customer": customer, "total": 5}));
    stripe.remove_silently("invoices", &vanishing);
    let runs = sync_to_end(&app, &admin, &connector, &["invoices"], "full").await;
    assert_eq!(runs[0]["status"], "succeeded");
    assert_eq!((runs[0]["failed"].as_i64(), runs[0]["deleted"].as_i64()), (Some(1), Some(0)), "{}", runs[0]);
    assert!(runs[0]["error"].as_str().unwrap().contains("no deletions"), "{}", runs[0]);
    let cached = cached_records(&app, &admin, &connector, "invoice").await;
    assert!(cached.contains_key(&kept) && !cached.contains_key("in_broken"));
    assert!(cached[&vanishing]["deleted_at"].is_null(), "not deleted while a record failed to map");
}

#[tokio::test]
async fn housekeeping_drops_old_finished_runs_but_keeps_held_ones() {
    // HTTP only: no worker's own housekeeping pass races this test's.
    let app = crate::helpers::spawn_app_with_roles(portico::startup::Roles::HTTP_ONLY, |_| {}).await;
    let admin = app.staff(StaffRole::Admin).await;
    let stripe = FakeStripe::start(API_KEY).await;
    let connector = create_stripe_connector(&app, &admin, &stripe, json!({})).await;
    let id: Uuid = connector["id"].as_str().unwrap().parse().unwrap();
    let long_ago = chrono::Utc::now() - chrono::Duration::days(40);
    let old = app.store.create_sync_run(id, "customers", "full", "manual", long_ago).await.unwrap();
    app.store.finish_sync_run(old, "succeeded", None, 0, long_ago).await.unwrap();
    let held = app.store.create_sync_run(id, "invoices", "full", "manual", long_ago).await.unwrap();
    app.store.finish_sync_run(held, "held", None, 9, long_ago).await.unwrap();
    let recent = app.store.create_sync_run(id, "charges", "full", "manual", chrono::Utc::now()).await.unwrap();
    app.store.finish_sync_run(recent, "failed", Some("x"), 0, chrono::Utc::now()).await.unwrap();

    let purged = portico::jobs::housekeeping::run_once(&app.store, &app.settings.auth).await.unwrap();
    assert_eq!(purged.sync_runs, 1);
    assert!(app.store.sync_run(old).await.unwrap().is_none());
    assert!(app.store.sync_run(held).await.unwrap().is_some(), "a held run waits for its admin");
    assert!(app.store.sync_run(recent).await.unwrap().is_some());
}

#[tokio::test]
async fn of_two_snapshots_in_one_write_the_newer_wins_whatever_their_order() {
    use portico::store::{PageWrite, PageWriteEnd, RunFence};
    use portico_connectors::Record;
    use portico_connectors::model::{CommonRecord, Contact};
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let stripe = FakeStripe::start(API_KEY).await;
    let connector = create_stripe_connector(&app, &admin, &stripe, json!({"enabled": false})).await;
    let instance: Uuid = connector["id"].as_str().unwrap().parse().unwrap();
    let run =
        app.store.create_sync_run(instance, "customers", "incremental", "manual", chrono::Utc::now()).await.unwrap();
    let lease = Uuid::new_v4();
    app.store
        .start_sync_run(run, lease, chrono::Utc::now(), chrono::Utc::now())
        .await
        .unwrap()
        .expect("the run starts");

    let snapshot = |name: &str, at: i64| {
        portico::sync::prepare::prepare(Record {
            external_id: "cus_1".into(),
            account_ref: Some("cus_1".into()),
            account_unknown: false,
            parent_external_id: None,
            source_updated_at: chrono::DateTime::from_timestamp(at, 0),
            body: CommonRecord::Contact(Contact {
                name: name.into(),
                kind: "customer".into(),
                email: None,
                phone: None,
                company: None,
            }),
            raw: json!({"id": "cus_1", "name": name}),
        })
    };
    // An event feed read newest first: the newer snapshot comes first.
    let write = PageWrite {
        instance_id: instance,
        stream: "customers",
        run: Some(RunFence { run_id: run, lease_id: lease }),
        full: false,
        pages: 2,
        failed: 0,
        records: vec![snapshot("Newer", 1_700_000_100), snapshot("Older", 1_700_000_000)],
        deletions: Vec::new(),
        end: PageWriteEnd::More(json!({})),
        deliveries: Vec::new(),
        now: chrono::Utc::now(),
    };
    let counts = app.store.apply_page(&write).await.unwrap().expect("the lease holds");
    assert_eq!(counts.added, 1);
    let cached = cached_records(&app, &admin, &connector, "contact").await;
    assert_eq!(cached["cus_1"]["title"], "Newer");

    // A later write of an older snapshot is ignored too.
    let stale =
        PageWrite { records: vec![snapshot("Oldest", 1_699_999_000)], pages: 1, now: chrono::Utc::now(), ..write };
    let counts = app.store.apply_page(&stale).await.unwrap().unwrap();
    assert_eq!((counts.updated, counts.unchanged), (0, 1));
    assert_eq!(cached_records(&app, &admin, &connector, "contact").await["cus_1"]["title"], "Newer");
    // Under a lease that is not the run's, nothing is written.
    let intruder = PageWrite {
        run: Some(RunFence { run_id: run, lease_id: Uuid::new_v4() }),
        records: vec![snapshot("Intruder", 1_800_000_000)],
        ..stale
    };
    assert!(app.store.apply_page(&intruder).await.unwrap().is_none());
    assert_eq!(cached_records(&app, &admin, &connector, "contact").await["cus_1"]["title"], "Newer");
}

#[tokio::test]
async fn changing_where_a_connector_sends_its_credentials_needs_them_again() {
    let stripe = FakeStripe::start(API_KEY).await;
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector = create_stripe_connector(&app, &admin, &stripe, json!({"allow_private_network": false})).await;
    let id = connector["id"].as_str().unwrap().to_owned();
    let patch = |body: Value| {
        app.request(Method::PATCH, &format!("/api/v1/admin/connectors/{id}"), Some(&admin)).json(&body).send()
    };

    let listener = json!({ "settings": { "base_url": "http://listener.attacker.test" } });
    let moved = patch(listener.clone()).await.unwrap();
    assert_eq!(moved.status(), 422);
    let problem: Value = moved.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "credentials", "{problem}");
    let opened_up = patch(json!({ "allow_private_network": true })).await.unwrap();
    assert_eq!(opened_up.status(), 422, "allowing private networks is a new destination too");
    assert_eq!(patch(json!({ "name": "Renamed" })).await.unwrap().status(), 200, "a rename keeps them");
    let mut with_credentials = listener;
    with_credentials["credentials"] = json!({ "api_key": "sk_test_entered_again" });
    assert_eq!(patch(with_credentials).await.unwrap().status(), 200);

    // Sealed credentials are bound to their instance: copied onto another, they do not open.
    let other = create_stripe_connector(&app, &admin, &stripe, json!({})).await;
    let statement = "UPDATE connector_instances SET credentials_sealed = (SELECT credentials_sealed FROM connector_instances WHERE id = $1) WHERE id = $2";
    let (source, target): (Uuid, Uuid) = (id.parse().unwrap(), other["id"].as_str().unwrap().parse().unwrap());
    raw_sql(&app.db, statement, |query| query.bind(source).bind(target)).await;
    let tested = app
        .request(Method::POST, &format!("/api/v1/admin/connectors/{target}/test"), Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(tested.status(), 409);
}

#[tokio::test]
async fn a_run_whose_upstream_repeats_a_page_fails_with_the_reason_instead_of_running_forever() {
    let stripe = FakeStripe::start(API_KEY).await;
    for n in 0..5 {
        stripe.add_customer(&format!("Repeat {n}"), "r@example.test");
    }
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector = create_stripe_connector(&app, &admin, &stripe, json!({})).await;
    stripe.repeat_first_page_forever();
    let started = start_sync(&app, &admin, &connector, &["customers"], "full").await;
    let run_id = started[0]["run_id"].as_str().unwrap();
    let run = finished_run(&app, &admin, &connector, run_id, Duration::from_secs(60)).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(run["error"].as_str().unwrap().starts_with("upstream repeated cursor"), "{run}");
    // It stopped at the first repeat: a handful of requests, not thousands.
    assert!(stripe.fault_report().requests < 10, "{:?}", stripe.fault_report());
}

#[tokio::test]
async fn a_run_past_the_page_backstop_fails_with_the_reason() {
    let stripe = FakeStripe::start(API_KEY).await;
    stripe.generate_customers(2_000);
    let app = spawn_app_with(|settings| settings.sync.max_pages_per_run = 3).await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector = create_stripe_connector(&app, &admin, &stripe, json!({})).await;
    let started = start_sync(&app, &admin, &connector, &["customers"], "full").await;
    let run =
        finished_run(&app, &admin, &connector, started[0]["run_id"].as_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(run["error"].as_str().unwrap().contains("more than 3 pages"), "{run}");
}

#[tokio::test]
async fn a_stalled_upstream_costs_the_connectors_request_timeout_not_the_whole_outbound_one() {
    use portico_testkit::status::{Behaviour, StatusServer};
    let stalled = StatusServer::start(Behaviour::Stall(Duration::from_secs(120))).await;
    let app = spawn_app_with(|settings| {
        settings.outbound.timeout_secs = 120;
        settings.sync.page_attempts = 2;
        settings.sync.page_retry_base_ms = 10;
        settings.sync.page_retry_max_ms = 20;
    })
    .await;
    let admin = app.staff(StaffRole::Admin).await;
    let settings = json!({"base_url": stalled.base_url()});
    for refused in [0, 301] {
        let body = json!({"kind": "stripe", "name": format!("timeout {refused}"), "settings": settings,
            "credentials": {"api_key": API_KEY}, "request_timeout_secs": refused});
        let response =
            app.request(Method::POST, "/api/v1/admin/connectors", Some(&admin)).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 422, "{refused}");
    }
    let connector = create_connector(
        &app,
        &admin,
        "stripe",
        settings,
        json!({"api_key": API_KEY}),
        json!({"request_timeout_secs": 1}),
    )
    .await;
    assert_eq!(connector["request_timeout_secs"], 1);
    let started = start_sync(&app, &admin, &connector, &["customers"], "full").await;
    // Two tries of one second each, far inside the two minutes the outbound client allows.
    let run =
        finished_run(&app, &admin, &connector, started[0]["run_id"].as_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(run["error"].as_str().unwrap().contains("timed out"), "{run}");
}
