//! Portal reads at scale: `portico bench seed` fills a fresh database (by default
//! 10,000 accounts and 1,000,000 invoices, plus 500,000 documents and 250,000
//! tickets and orders each), a real `portico serve --no-workers` process serves it,
//! and 64 concurrent connections ask `GET /api/v1/accounts/{id}/invoices` as
//! random members of random accounts (each with their own API token) for
//! BENCH_SECS (20) seconds. Printed: requests per second, p50, p99, and the
//! server's peak resident memory. Then the ceiling: a minimal axum + sqlx handler
//! in this process running the same query (`ACCOUNT_RECORD_SELECT`, same filters,
//! same page size, same JSON) with no authentication, driven the same way.
//!
//!     cargo bench --bench portal_reads
//!     BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench portal_reads
//!
//! BENCH_ACCOUNTS and BENCH_INVOICES change the size, BENCH_CONNECTIONS the load. Everything (seeding, server,
//! load generator) shares this machine's cores, as it would for the ceiling.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::routing::get;
use portico::api::portal::records::PortalRecord;
use portico::store::{ACCOUNT_RECORD_SELECT, AccountRecordRow};
use uuid::Uuid;

use common::{env_number, millis, percentile, postgres_database};

/// Concurrent connections, unless BENCH_CONNECTIONS says otherwise.
const CONNECTIONS: u64 = 64;
const PAGE: i64 = 50;
const WARM_UP: Duration = Duration::from_secs(3);

/// A caller: an account and its member's API token.
struct Member {
    account_id: Uuid,
    token: String,
}

fn portico(database_url: &str, data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_portico"));
    command
        .env("PORTICO_DATABASE_URL", database_url)
        .env("PORTICO_DATA_DIR", data_dir)
        .env("PORTICO_LOG__LEVEL", std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into()));
    command
}

fn seed(database_url: &str, data_dir: &std::path::Path, accounts: u64, invoices: u64) -> Vec<Member> {
    let tokens = data_dir.join("bench-tokens.txt");
    let started = Instant::now();
    let status = portico(database_url, data_dir)
        .args(["bench", "seed", "--accounts", &accounts.to_string(), "--invoices", &invoices.to_string()])
        .arg("--tokens-file")
        .arg(&tokens)
        .status()
        .expect("portico runs");
    assert!(status.success(), "seeding failed");
    println!("  seeded in {:.1} s", started.elapsed().as_secs_f64());
    members(data_dir)
}

fn members(data_dir: &std::path::Path) -> Vec<Member> {
    std::fs::read_to_string(data_dir.join("bench-tokens.txt"))
        .unwrap()
        .lines()
        .map(|line| {
            let (account, token) = line.split_once(' ').unwrap();
            Member { account_id: account.parse().unwrap(), token: token.to_owned() }
        })
        .collect()
}

/// Peak and current resident memory of a process, in MB (Linux).
fn memory_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

struct Figures {
    requests: u64,
    errors: u64,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Asks for random members' invoice lists from `connections` connections, each
/// with its own client, for `duration` after a warm-up.
async fn drive(
    base: String,
    members: Arc<Vec<Member>>,
    connections: u64,
    duration: Duration,
    with_token: bool,
) -> Figures {
    drive_path(base, members, connections, duration, with_token, "/api/v1/accounts/{account}/invoices", false).await
}

/// As [`drive`], for any path of an account (`{account}` stands for its id).
async fn drive_path(
    base: String,
    members: Arc<Vec<Member>>,
    connections: u64,
    duration: Duration,
    with_token: bool,
    path: &'static str,
    gzip: bool,
) -> Figures {
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let measure_from = Instant::now() + WARM_UP;
    let end = measure_from + duration;
    for connection in 0..connections {
        let (base, members, errors) = (base.clone(), members.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(1).build().unwrap();
            let mut state = 0x9E37_79B9u64.wrapping_mul(connection + 1);
            let mut latencies = Vec::new();
            loop {
                let now = Instant::now();
                if now >= end {
                    return latencies;
                }
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let member = &members[(state % members.len() as u64) as usize];
                let url = format!("{base}{}", path.replace("{account}", &member.account_id.to_string()));
                let mut request = client.get(url);
                if gzip {
                    // As a browser asks: the server's compression is part of the cost.
                    request = request.header("accept-encoding", "gzip");
                }
                if with_token {
                    request = request.bearer_auth(&member.token);
                }
                let ok = match request.send().await {
                    Ok(response) => response.status() == 200 && response.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if now >= measure_from {
                    if ok {
                        latencies.push(now.elapsed());
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    latencies.sort();
    Figures {
        requests: latencies.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        per_second: latencies.len() as f64 / duration.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    }
}

fn print_pages(pages: &[(&str, Figures)]) {
    println!("  pages and the API answers they render, 16 connections:");
    for (name, figures) in pages {
        print(name, figures);
    }
}

fn print(name: &str, figures: &Figures) {
    println!(
        "  {name:<9} {:>8.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} requests, {} errors)",
        figures.per_second,
        millis(figures.p50),
        millis(figures.p99),
        figures.requests,
        figures.errors
    );
}

/// The ceiling's pool: the same engine and database, the server's pool size.
#[derive(Clone)]
enum CeilingPool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

async fn ceiling_page(State(pool): State<CeilingPool>, Path(account_id): Path<Uuid>) -> axum::Json<Vec<PortalRecord>> {
    let sql = format!(
        "{ACCOUNT_RECORD_SELECT} WHERE r.account_id = $1 AND r.record_type = $2 AND r.deleted_at IS NULL
         ORDER BY r.updated_at DESC, r.id DESC LIMIT $3"
    );
    let rows: Vec<AccountRecordRow> = match &pool {
        CeilingPool::Sqlite(pool) => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind("invoice")
            .bind(PAGE)
            .fetch_all(pool)
            .await
            .unwrap(),
        CeilingPool::Postgres(pool) => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind("invoice")
            .bind(PAGE)
            .fetch_all(pool)
            .await
            .unwrap(),
    };
    axum::Json(rows.into_iter().map(PortalRecord::from).collect())
}

async fn ceiling_server(database_url: &str) -> String {
    let settings = portico::config::Settings::defaults();
    let connections = settings.database.max_connections;
    let pool = if database_url.starts_with("postgres") {
        CeilingPool::Postgres(
            sqlx::postgres::PgPoolOptions::new().max_connections(connections).connect(database_url).await.unwrap(),
        )
    } else {
        let options: sqlx::sqlite::SqliteConnectOptions = database_url.parse().unwrap();
        CeilingPool::Sqlite(
            sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(connections)
                .connect_with(options.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal))
                .await
                .unwrap(),
        )
    };
    let app = axum::Router::new().route("/api/v1/accounts/{account_id}/invoices", get(ceiling_page)).with_state(pool);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

/// A readiness probe without an async runtime (plain TCP, HTTP/1.0).
fn ready(address: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(address) else { return false };
    let _ = write!(stream, "GET /readyz HTTP/1.0\r\nHost: {address}\r\n\r\n");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200")
}

fn wait_until_ready(address: &str, server: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Some(status) = server.try_wait().unwrap() {
            panic!("the server exited: {status}");
        }
        if ready(address) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("the server did not become ready");
}

fn main() {
    let duration = Duration::from_secs(env_number("BENCH_SECS", 20));
    let accounts = env_number("BENCH_ACCOUNTS", 10_000);
    let invoices = env_number("BENCH_INVOICES", 1_000_000);
    let connections = env_number("BENCH_CONNECTIONS", CONNECTIONS);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    // BENCH_DIR keeps the seeded SQLite database (and its tokens) for the next run.
    let temporary = tempfile::tempdir().unwrap();
    let kept = std::env::var("BENCH_DIR").ok().map(std::path::PathBuf::from);
    let data_dir = kept.clone().unwrap_or_else(|| temporary.path().to_owned());
    std::fs::create_dir_all(&data_dir).unwrap();
    let database_url = match std::env::var("BENCH_POSTGRES_URL") {
        Ok(server) => runtime.block_on(postgres_database(&server)),
        Err(_) => format!("sqlite://{}", data_dir.join("portico.db").display()),
    };
    let engine = if database_url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
    println!(
        "portal reads on {engine}: {accounts} accounts, {invoices} invoices, {connections} connections, {duration:?}"
    );
    let seeded = kept.is_some() && data_dir.join("bench-tokens.txt").exists() && !database_url.starts_with("postgres");
    let members =
        Arc::new(if seeded { members(&data_dir) } else { seed(&database_url, &data_dir, accounts, invoices) });

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = portico(&database_url, &data_dir)
        .args(["serve", "--no-workers", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .spawn()
        .expect("the server starts");
    let address = format!("127.0.0.1:{port}");
    wait_until_ready(&address, &mut server);
    let base = format!("http://{address}");
    let portico_figures = runtime.block_on(drive(base.clone(), members.clone(), connections, duration, true));
    // The portal's pages beside the API answers they render, at 16 connections.
    let page_secs = Duration::from_secs(env_number("BENCH_PAGE_SECS", 10));
    let mut pages = Vec::new();
    for (name, path) in [
        ("api list", "/api/v1/accounts/{account}/invoices?limit=25"),
        ("page list", "/accounts/{account}/invoices"),
        ("api dash", "/api/v1/accounts/{account}/dashboard"),
        ("page dash", "/accounts/{account}"),
    ] {
        let figures = runtime.block_on(drive_path(base.clone(), members.clone(), 16, page_secs, true, path, true));
        pages.push((name, figures));
    }
    let (peak_mb, current_mb) = memory_mb(server.id());
    let _ = server.kill();
    let _ = server.wait();

    let ceiling_base = runtime.block_on(ceiling_server(&database_url));
    let ceiling_figures = runtime.block_on(drive(ceiling_base, members, connections, duration, false));

    print("portico", &portico_figures);
    print("ceiling", &ceiling_figures);
    print_pages(&pages);
    println!(
        "  portico at {:.0}% of the ceiling's throughput; server memory: peak {peak_mb:.0} MB RSS, {current_mb:.0} MB at the end",
        100.0 * portico_figures.per_second / ceiling_figures.per_second.max(f64::MIN_POSITIVE)
    );
}
