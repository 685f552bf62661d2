//! What the benchmarks share: their knobs from the environment, a fresh
//! PostgreSQL database per run, and latency figures.

#![allow(dead_code)] // each benchmark uses some of these

use std::time::Duration;

/// A number from the environment, or `default`.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// A new, empty database on the PostgreSQL server at `server_url`; its URL.
pub async fn postgres_database(server_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("portico_bench_{}", uuid::Uuid::new_v4().simple());
    let mut connection = sqlx::PgConnection::connect(server_url).await.expect("PostgreSQL reachable");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut connection).await.unwrap();
    let mut url = url::Url::parse(server_url).unwrap();
    url.set_path(&name);
    url.to_string()
}

/// The value below which `share` of the sorted latencies fall.
pub fn percentile(sorted: &[Duration], share: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * share).ceil() as usize).clamp(1, sorted.len()) - 1]
}

pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
