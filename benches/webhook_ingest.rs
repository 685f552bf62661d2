//! Webhook ingress: signed Standard Webhooks deliveries posted to the real
//! server (in this process, on loopback) from 64 concurrent connections for 20
//! seconds; prints accepted deliveries per second and latency percentiles, then
//! checks that every accepted delivery is in the inbox. Then freshness: at 1,000
//! deliveries per second, the time from a delivery's 2xx to its change being
//! visible through the API (the record's history endpoint, polled every 10 ms),
//! sampled on every 20th delivery.
//!
//!     cargo bench --bench webhook_ingest
//!     BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench webhook_ingest
//!
//! SQLite runs with its default `synchronous=FULL`, PostgreSQL with fsync on:
//! an accepted delivery is durable. Logging is at `warn` (BENCH_LOG to change):
//! one log line per request is an operator's choice, not the gateway's cost.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use portico::config::{MasterKey, Settings};
use portico::core::crypto::SecretCipher;
use portico::startup::{Application, Roles};
use portico::store::{ConnectorInstanceFields, Store, WebhookEndpointFields};
use portico::sync::ConnectorHost;
use portico::webhooks::endpoint::create_endpoint;
use portico_testkit::signing::standard_webhooks_headers;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use common::{millis, percentile, postgres_database};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const CONNECTIONS: usize = 64;
const INVOICES: usize = 200;
const PASSWORD: &str = "benchmark staff passphrase";
/// Freshness is sampled on every 20th delivery, each polled every 10 ms: polling
/// harder would make the measurement itself the server's main load.
const SAMPLE_EVERY: u64 = 20;
const POLL: Duration = Duration::from_millis(10);

fn seconds(name: &str, default: u64) -> Duration {
    Duration::from_secs(std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default))
}

async fn stored_deliveries(database_url: &str) -> i64 {
    use sqlx::Connection;
    let sql = "SELECT COUNT(*) FROM webhook_inbox WHERE status <> 'rejected'";
    if database_url.starts_with("postgres") {
        let mut connection = sqlx::PgConnection::connect(database_url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut connection).await.unwrap()
    } else {
        let mut connection = sqlx::SqliteConnection::connect(database_url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut connection).await.unwrap()
    }
}

struct Target {
    base: String,
    url: String,
    client: reqwest::Client,
    cookie: String,
    origin: String,
    store: Store,
    instance: Uuid,
    account_id: String,
}

impl Target {
    async fn post(&self, id: &str, body: &[u8]) -> reqwest::StatusCode {
        let mut request = self.client.post(&self.url).header("content-type", "application/json").body(body.to_vec());
        for (name, value) in standard_webhooks_headers(SECRET, id, Utc::now().timestamp(), body) {
            request = request.header(name, value);
        }
        request.send().await.map(|response| response.status()).unwrap_or(reqwest::StatusCode::BAD_GATEWAY)
    }

    fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("origin", &self.origin)
    }

    async fn drained(&self) {
        while self.store.delivery_backlog().await.unwrap() > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn invoice_event(index: u64, invoice: usize, amount_due: u64) -> Vec<u8> {
    json!({
        "id": format!("evt_{index}"), "object": "event", "type": "invoice.updated", "created": Utc::now().timestamp(),
        "data": {"object": {
            "id": format!("in_bench_{invoice:04}"), "object": "invoice", "customer": "cus_bench", "number": format!("B-{invoice}"),
            "status": "open", "currency": "usd", "subtotal": 1000, "total": 1000, "amount_paid": 0, "amount_due": amount_due,
            "created": 1_700_000_000, "lines": {"data": [{"amount": 1000, "description": "Plan", "quantity": 1}]},
        }},
    })
    .to_string()
    .into_bytes()
}

fn customer_event(index: u64) -> Vec<u8> {
    json!({
        "id": format!("evt_c{index}"), "object": "event", "type": "customer.created", "created": 1_700_000_000,
        "data": {"object": {"id": format!("cus_t{index:08}"), "object": "customer", "name": format!("Customer {index}"),
            "email": format!("customer{index}@example.test"), "created": 1_700_000_000, "metadata": {}}},
    })
    .to_string()
    .into_bytes()
}

async fn setup(engine: &str, database_url: String) -> (Target, CancellationToken, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::defaults();
    settings.database_url = database_url;
    settings.data_dir = dir.path().join("data");
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.database.max_connections = 16;
    settings.validate().unwrap();
    let application = Application::build_with_roles(settings.clone(), Roles::ALL).await.unwrap();
    let base = format!("http://{}", application.local_addr().unwrap());
    let store = application.store().clone();
    let shutdown = CancellationToken::new();
    tokio::spawn(application.run_until_stopped(shutdown.clone()));

    let cipher = SecretCipher::new(&MasterKey::resolve(&settings).unwrap());
    let host = ConnectorHost::new(cipher.clone(), &settings.outbound, &settings.sync);
    let fields = ConnectorInstanceFields {
        name: "Stripe".into(),
        settings: json!({"base_url": "http://127.0.0.1:9"}),
        allow_private_network: true,
        rate_limit_per_sec: None,
        rate_budget_key: None,
        schedule_interval_secs: None,
        delete_guard_share: 0.2,
        request_timeout_secs: None,
        enabled: true,
    };
    let instance_id = portico::store::new_id();
    let instance = store
        .create_connector_instance(
            instance_id,
            "stripe",
            &fields,
            &host.seal_credentials(instance_id, &json!({"api_key": "sk_bench"})),
            Utc::now(),
        )
        .await
        .unwrap();
    let endpoint = WebhookEndpointFields {
        name: "bench".into(),
        scheme: "standard-webhooks".into(),
        scheme_settings: None,
        tolerance_secs: 300,
        body_limit_bytes: 1 << 20,
        allowed_sources: None,
        enabled: true,
    };
    let endpoint_id = create_endpoint(&store, &cipher, instance, &endpoint, SECRET.into()).await.unwrap();

    let email = format!("bench-{}@example.com", Uuid::new_v4().simple());
    let password_hash = portico::core::password::hash_password(PASSWORD.to_owned().into()).await;
    let staff = portico::store::NewStaffUser {
        email: email.clone(),
        password_hash,
        role: portico::auth::permissions::StaffRole::Admin,
    };
    store.create_staff_user(&staff).await.unwrap();
    let client = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(CONNECTIONS * 2).build().unwrap();
    let origin = settings.public_url.trim_end_matches('/').to_owned();
    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .header("origin", &origin)
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.contains("portico_session="))
        .and_then(|value| value.split(';').next())
        .expect("signed in")
        .trim_start_matches("__Host-")
        .to_owned();
    let mut target = Target {
        url: format!("{base}/webhooks/{endpoint_id}"),
        base,
        client,
        cookie,
        origin,
        store,
        instance,
        account_id: String::new(),
    };

    // An account the benchmark's invoices belong to, for the customer-facing history endpoint.
    let account: Value = target
        .api(reqwest::Method::POST, "/api/v1/accounts")
        .json(&json!({"name": "Bench", "slug": format!("bench-{}", &Uuid::new_v4().simple().to_string()[..8])}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let account_id = account["id"].as_str().expect("account created").to_owned();
    let mapped = target
        .api(reqwest::Method::PUT, &format!("/api/v1/admin/connectors/{instance}/mappings"))
        .json(&json!({"account_ref": "cus_bench", "account_id": account_id}))
        .send()
        .await
        .unwrap();
    assert!(mapped.status().is_success(), "{engine}: mapping refused: {}", mapped.status());
    target.account_id = account_id;
    (target, shutdown, dir)
}

async fn throughput(target: &Arc<Target>, duration: Duration) -> (u64, Vec<Duration>) {
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(0));
    let mut senders = Vec::new();
    for _ in 0..CONNECTIONS {
        let (target, stop, next) = (target.clone(), stop.clone(), next.clone());
        senders.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut accepted = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let body = customer_event(index);
                let started = Instant::now();
                let status = target.post(&format!("msg_t{index}"), &body).await;
                latencies.push(started.elapsed());
                accepted += u64::from(status.is_success());
            }
            (accepted, latencies)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut accepted = 0;
    let mut latencies = Vec::new();
    for sender in senders {
        let (count, mut samples) = sender.await.unwrap();
        accepted += count;
        latencies.append(&mut samples);
    }
    latencies.sort_unstable();
    (accepted, latencies)
}

/// Record ids of the benchmark's invoices, by external id.
async fn invoice_ids(target: &Target, instance_records_path: &str) -> HashMap<String, String> {
    let mut ids = HashMap::new();
    let mut after = String::new();
    loop {
        let page: Vec<Value> = target
            .api(reqwest::Method::GET, &format!("{instance_records_path}&limit=200{after}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = format!("&after={}", last["id"].as_str().unwrap());
        for record in &page {
            ids.insert(record["external_id"].as_str().unwrap().to_owned(), record["id"].as_str().unwrap().to_owned());
        }
    }
    ids
}

async fn freshness(
    target: &Arc<Target>,
    account_id: &str,
    record_ids: &HashMap<String, String>,
    rate: u64,
    duration: Duration,
) -> (u64, Vec<Duration>, Duration) {
    let in_flight = Arc::new(Semaphore::new(CONNECTIONS));
    let total = rate * duration.as_secs();
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / rate as u32);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for index in 0..total {
        ticker.tick().await;
        let permit = in_flight.clone().acquire_owned().await.unwrap();
        let invoice = index as usize % INVOICES;
        let amount_due = 1_000_000 + index;
        let record_id = record_ids[&format!("in_bench_{invoice:04}")].clone();
        let (target, account_id) = (target.clone(), account_id.to_owned());
        tasks.push(tokio::spawn(async move {
            let body = invoice_event(1_000_000_000 + index, invoice, amount_due);
            let status = target.post(&format!("msg_f{index}"), &body).await;
            drop(permit);
            let acknowledged = Instant::now();
            if !status.is_success() || index % SAMPLE_EVERY != 0 {
                return None;
            }
            let path = format!("/api/v1/accounts/{account_id}/invoices/{record_id}/history?limit=1");
            loop {
                let history: Value = target.api(reqwest::Method::GET, &path).send().await.ok()?.json().await.ok()?;
                let shown = history["versions"][0]["data"]["amount_due_minor"].as_u64().unwrap_or(0);
                if shown >= amount_due {
                    return Some(acknowledged.elapsed());
                }
                if acknowledged.elapsed() > Duration::from_secs(30) {
                    return Some(acknowledged.elapsed());
                }
                tokio::time::sleep(POLL).await;
            }
        }));
    }
    let sent_in = started.elapsed();
    let mut samples = Vec::new();
    for task in tasks {
        if let Some(sample) = task.await.unwrap() {
            samples.push(sample);
        }
    }
    samples.sort_unstable();
    (total, samples, sent_in)
}

/// (transactions, deliveries) of the inbox's group commit, from the process's metrics.
fn commit_batches() -> (f64, f64) {
    let rendered = portico::telemetry::metrics_handle().render();
    let value = |suffix: &str| {
        rendered
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{}{suffix} ", portico::telemetry::WEBHOOK_COMMIT_BATCH)))
            .and_then(|value| value.parse().ok())
            .unwrap_or(0.0)
    };
    (value("_count"), value("_sum"))
}

async fn bench(engine: &str, database_url: String) {
    let (target, shutdown, _dir) = setup(engine, database_url.clone()).await;
    let target = Arc::new(target);

    // Invoices to update later, mapped to the account.
    for invoice in 0..INVOICES {
        assert!(
            target
                .post(&format!("msg_seed{invoice}"), &invoice_event(invoice as u64, invoice, 1000))
                .await
                .is_success()
        );
    }
    target.drained().await;
    let instance = target.instance;
    let records_path = format!("/api/v1/admin/connectors/{instance}/records?record_type=invoice");
    let record_ids = invoice_ids(&target, &records_path).await;
    assert_eq!(record_ids.len(), INVOICES, "{engine}: seeded invoices");
    let account_id = target.account_id.clone();

    let duration = seconds("BENCH_SECS", 20);
    let before = stored_deliveries(&database_url).await;
    let (accepted, latencies) = throughput(&target, duration).await;
    let stored = stored_deliveries(&database_url).await - before;
    let drain_started = Instant::now();
    target.drained().await;
    println!(
        "{engine:<10} ingest: {accepted} accepted in {:.0} s = {:>6.0}/s | p50 {:>5.1} ms, p99 {:>5.1} ms, max {:>6.1} ms | stored {stored} ({}) | backlog processed in {:.1} s",
        duration.as_secs_f64(),
        accepted as f64 / duration.as_secs_f64(),
        millis(percentile(&latencies, 0.50)),
        millis(percentile(&latencies, 0.99)),
        millis(latencies.last().copied().unwrap_or_default()),
        if stored as u64 == accepted { "every accepted delivery durable" } else { "MISMATCH" },
        drain_started.elapsed().as_secs_f64(),
    );
    assert_eq!(stored as u64, accepted, "{engine}: every accepted delivery is in the inbox");
    let (commits, committed) = commit_batches();
    println!(
        "{engine:<10}         group commit: {committed} deliveries in {commits} transactions so far (mean {:.1} per commit)",
        committed / commits.max(1.0)
    );

    let rate = 1_000;
    let (sent, samples, sent_in) =
        freshness(&target, &account_id, &record_ids, rate, seconds("BENCH_FRESHNESS_SECS", 10)).await;
    println!(
        "{engine:<10} freshness at {:.0} deliveries/s ({sent} sent): 2xx → visible in the API p50 {:>5.1} ms, p99 {:>5.1} ms, max {:>6.1} ms ({} samples)",
        sent as f64 / sent_in.as_secs_f64(),
        millis(percentile(&samples, 0.50)),
        millis(percentile(&samples, 0.99)),
        millis(samples.last().copied().unwrap_or_default()),
        samples.len(),
    );
    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(500)).await;
}

#[tokio::main]
async fn main() {
    let level = std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into());
    portico::telemetry::init_logging(&portico::config::LogSettings { format: portico::config::LogFormat::Text, level });
    println!("webhook ingest: signed Standard Webhooks deliveries, {CONNECTIONS} connections, loopback, this process");
    let sqlite_dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}", sqlite_dir.path().join("bench.db").display());
    bench("sqlite", sqlite_url).await;
    if let Ok(server) = std::env::var("BENCH_POSTGRES_URL") {
        bench("postgres", postgres_database(&server).await).await;
    }
}
