//! A sync survives its worker being killed: another worker resumes the run from
//! its last committed page, and the cache ends equal to the upstream — every
//! record once. Also the CLI's connector commands, on the same real binary.

use std::time::Duration;

use chrono::Utc;
use portico::config::MasterKey;
use portico::core::crypto::SecretCipher;
use portico::jobs::Job;
use portico::store::{ConnectorInstanceFields, Store};
use portico::sync::service::Trigger;
use portico::sync::{ConnectorHost, SyncJob};
use portico_connectors::SyncMode;
use portico_testkit::status::Behaviour;
use portico_testkit::{FakeStripe, Faults};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{PorticoProcess, TestDatabase, eventually, portico_command, run_portico};

const API_KEY: &str = "sk_test_recovery";

/// A Stripe connector instance created straight in the store, at `base_url`.
pub async fn stripe_instance(db: &TestDatabase, store: &Store, base_url: &str, name: &str, api_key: &str) -> Uuid {
    // Sealed with the same development key the child processes read from the data folder.
    let settings = db.settings();
    let cipher = SecretCipher::new(&MasterKey::resolve(&settings).unwrap());
    let host = ConnectorHost::new(cipher, &settings.outbound, &settings.sync);
    let fields = ConnectorInstanceFields {
        name: name.into(),
        settings: json!({"base_url": base_url}),
        allow_private_network: true,
        rate_limit_per_sec: None,
        rate_budget_key: None,
        schedule_interval_secs: None,
        delete_guard_share: 0.2,
        request_timeout_secs: None,
        enabled: true,
    };
    let id = portico::store::new_id();
    let sealed = host.seal_credentials(id, &json!({"api_key": api_key}));
    store.create_connector_instance(id, "stripe", &fields, &sealed, Utc::now()).await.unwrap()
}

fn worker(db: &TestDatabase) -> PorticoProcess {
    let mut command = portico_command(db, &["worker"]);
    command.env("PORTICO_SYNC__RUN_LEASE_SECS", "2").env("PORTICO_SYNC__SCHEDULE_CHECK_SECS", "1");
    PorticoProcess::start(command)
}

#[tokio::test]
async fn a_sync_killed_with_its_worker_resumes_and_ends_exact() {
    let db = TestDatabase::new().await;
    let (code, _, stderr) = run_portico(portico_command(&db, &["migrate"]), None);
    assert_eq!(code, 0, "{stderr}");
    let (store, queue) = db.open().await;
    let stripe = FakeStripe::start(API_KEY).await;
    stripe.generate_customers(4_000);
    // Every request takes a moment, so the kill lands mid-run.
    stripe.set_faults(Faults { stall_rate: 1.0, stall: Duration::from_millis(60), ..Faults::none() });
    let instance_id = stripe_instance(&db, &store, &stripe.base_url(), "Stripe", API_KEY).await;
    let instance = store.connector_instance(instance_id).await.unwrap().unwrap();

    let mut first = worker(&db);
    first.wait_for_worker(SyncJob::QUEUE);
    let streams = ["customers".to_owned()];
    let started = portico::sync::start_sync(
        &store,
        &queue,
        &db.settings().jobs,
        &instance,
        &streams,
        SyncMode::Full,
        Trigger::Cli,
    )
    .await
    .unwrap();
    let run_id = started[0].run_id;
    eventually("a few pages committed", Duration::from_secs(60), || async {
        let run = store.sync_run(run_id).await.unwrap().unwrap();
        (run.pages >= 5).then_some(())
    })
    .await;
    first.sigkill();
    let cut = store.sync_run(run_id).await.unwrap().unwrap();
    assert_eq!(cut.status, "running", "the kill interrupted the run");
    assert!(cut.added < 4_000);

    stripe.set_faults(Faults::none());
    let mut second = worker(&db);
    second.wait_for_worker(SyncJob::QUEUE);
    let run = eventually("the run to finish on the second worker", Duration::from_secs(90), || async {
        let run = store.sync_run(run_id).await.unwrap().unwrap();
        (run.status != "running").then_some(run)
    })
    .await;
    assert_eq!(run.status, "succeeded", "{run:?}");
    assert!(run.attempts >= 2, "resumed by another execution: {run:?}");
    assert_eq!(run.added, 4_000, "every record added exactly once across both workers: {run:?}");
    let mut cached = Vec::new();
    let mut after = None;
    loop {
        let page = store.instance_records(instance_id, Some("contact"), after, 200).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        cached.extend(page.into_iter().map(|record| record.external_id));
    }
    cached.sort();
    let mut upstream: Vec<String> =
        stripe.all("customers").iter().map(|customer| customer["id"].as_str().unwrap().to_owned()).collect();
    upstream.sort();
    assert_eq!(cached, upstream, "nothing missing, nothing duplicated");
    drop(second);
}

// Multi-threaded: the fake upstreams run on this runtime while the test blocks on the CLI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_lists_tests_and_syncs_connectors() {
    let db = TestDatabase::new().await;
    let (code, _, stderr) = run_portico(portico_command(&db, &["migrate"]), None);
    assert_eq!(code, 0, "{stderr}");
    let (store, _queue) = db.open().await;
    let stripe = FakeStripe::start(API_KEY).await;
    stripe.generate_customers(250);
    let id = stripe_instance(&db, &store, &stripe.base_url(), "Billing", API_KEY).await;

    let (code, stdout, stderr) = run_portico(portico_command(&db, &["connectors", "list"]), None);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&id.to_string()) && stdout.contains("stripe") && stdout.contains("Billing"), "{stdout}");

    let (code, stdout, stderr) = run_portico(portico_command(&db, &["connectors", "test", "Billing"]), None);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("connection ok"), "{stdout}");

    let command = portico_command(&db, &["connectors", "sync", &id.to_string(), "--stream", "customers", "--full"]);
    let (code, stdout, stderr) = run_portico(command, None);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("customers: succeeded") && stdout.contains("250 added"), "{stdout}");

    let (code, _, stderr) =
        run_portico(portico_command(&db, &["connectors", "sync", "Billing", "--stream", "nope"]), None);
    assert_eq!(code, 1);
    assert!(stderr.contains("no stream nope"), "{stderr}");

    // A broken upstream: the test fails with the reason, exit status 1.
    let broken = portico_testkit::status::StatusServer::start(Behaviour::Status(401)).await;
    let broken_id = stripe_instance(&db, &store, &broken.base_url(), "Broken", "sk_test_other").await;
    let (code, _, stderr) = run_portico(portico_command(&db, &["connectors", "test", &broken_id.to_string()]), None);
    assert_eq!(code, 1);
    assert!(stderr.contains("connection failed") && stderr.contains("401"), "{stderr}");
}
