//! Sync throughput: pages through a Stripe-like upstream on loopback (100 records
//! per page) into the record cache, and prints records per second and memory.
//!
//!     cargo bench --bench sync_throughput                    # 1,000,000 records, SQLite
//!     BENCH_RECORDS=200000 cargo bench --bench sync_throughput
//!     BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench sync_throughput
//!
//! With `BENCH_POSTGRES_URL` the same run also goes into a fresh PostgreSQL
//! database. Memory is the process's resident set, sampled every 50 ms: the peak
//! over the first tenth of the run and over all of it. If memory does not grow with
//! the stream, the two are close.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use portico::config::Settings;
use portico::jobs::{JobContext, JobQueue};
use portico::store::{ConnectorInstanceFields, Store};
use portico::sync::{ConnectorHost, SyncJob};
use portico_testkit::FakeStripe;
use serde_json::json;

use common::postgres_database;

const API_KEY: &str = "sk_bench";

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn bench(engine: &str, database_url: String, stripe: &FakeStripe, records: u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::defaults();
    settings.database_url = database_url;
    settings.data_dir = dir.path().join("data");
    settings.outbound.allow_private_addresses = true;
    settings.validate().unwrap();
    let store = Store::connect(&settings).await.unwrap();
    store.migrate().await.unwrap();
    let queue = JobQueue::open(&settings, &store, true).await.unwrap();
    let master_key = portico::config::MasterKey::resolve(&settings).unwrap();
    let cipher = portico::core::crypto::SecretCipher::new(&master_key);
    let connectors = ConnectorHost::new(cipher, &settings.outbound, &settings.sync);
    let fields = ConnectorInstanceFields {
        name: "bench".into(),
        settings: json!({"base_url": stripe.base_url()}),
        allow_private_network: true,
        rate_limit_per_sec: None,
        rate_budget_key: None,
        schedule_interval_secs: None,
        delete_guard_share: 0.2,
        request_timeout_secs: None,
        enabled: true,
    };
    let id = portico::store::new_id();
    let sealed = connectors.seal_credentials(id, &json!({"api_key": API_KEY}));
    let instance = store.create_connector_instance(id, "stripe", &fields, &sealed, Utc::now()).await.unwrap();
    let run_id = store.create_sync_run(instance, "customers", "full", "cli", Utc::now()).await.unwrap();
    let context = JobContext {
        store: store.clone(),
        queue,
        settings: settings.jobs.clone(),
        sync: settings.sync.clone(),
        connectors,
        exports_dir: settings.data_dir.join("exports"),
    };

    let baseline = resident_kib();
    let peak_early = Arc::new(AtomicU64::new(0));
    let peak_all = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let sampler = {
        let (peak_early, peak_all, store) = (peak_early.clone(), peak_all.clone(), store.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let rss = resident_kib();
                peak_all.fetch_max(rss, Ordering::Relaxed);
                let done = store.sync_run(run_id).await.ok().flatten().map(|run| run.added).unwrap_or(0) as u64;
                if done < records / 10 {
                    peak_early.fetch_max(rss, Ordering::Relaxed);
                }
            }
        })
    };
    portico::sync::run::run(&SyncJob { run_id }, &context).await.unwrap();
    let elapsed = started.elapsed();
    sampler.abort();
    let run = store.sync_run(run_id).await.unwrap().unwrap();
    assert_eq!(run.status, "succeeded", "{run:?}");
    assert_eq!(run.added as u64, records, "every record arrived once");
    println!(
        "{engine:<10} {records:>9} records in {:>6.1} s = {:>8.0} records/s | RSS baseline {:>4} MiB, peak first 10% {:>4} MiB, peak overall {:>4} MiB",
        elapsed.as_secs_f64(),
        records as f64 / elapsed.as_secs_f64(),
        baseline / 1024,
        peak_early.load(Ordering::Relaxed) / 1024,
        peak_all.load(Ordering::Relaxed) / 1024,
    );
    store.close().await;
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let records: u64 = std::env::var("BENCH_RECORDS").ok().and_then(|value| value.parse().ok()).unwrap_or(1_000_000);
    let stripe = FakeStripe::start(API_KEY).await;
    stripe.generate_customers(records);
    println!("sync throughput: {records} customers from a paginated Stripe-like upstream on loopback, 100 per page");
    let sqlite_dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}", sqlite_dir.path().join("bench.db").display());
    bench("sqlite", sqlite_url, &stripe, records).await;
    if let Ok(server) = std::env::var("BENCH_POSTGRES_URL") {
        bench("postgres", postgres_database(&server).await, &stripe, records).await;
    }
}
