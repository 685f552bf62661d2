//! How Portico is doing (`connectors.manage`), from the same figures `/metrics`
//! serves: each queue's depth and the jobs it finished (per minute since this
//! process started), degraded connectors and why, the webhook gateway's
//! acceptance and refusals, the last error of each part (a connector, the
//! write-backs, webhook processing), and notification mail a server turned away.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::Utc;

use super::Console;
use crate::auth::permissions::StaffPermission;
use crate::jobs::QUEUES;
use crate::server::AppState;
use crate::server::problem::ApiError;
use crate::store::StaffData;
use crate::telemetry::{JOBS_TOTAL, WEBHOOK_DELIVERIES, WEBHOOK_REJECTED, metrics_since};
use crate::web::page::{self, Page};

/// A counter or gauge from the Prometheus exposition: (name, labels) → value.
type Samples = BTreeMap<(String, BTreeMap<String, String>), f64>;

/// Reads the text format `/metrics` serves (counters and gauges; the histogram
/// series come along and are simply not asked for).
fn parse_exposition(text: &str) -> Samples {
    let mut samples = Samples::new();
    for line in text.lines().filter(|line| !line.starts_with('#') && !line.trim().is_empty()) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let Ok(value) = value.parse::<f64>() else { continue };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.trim_matches('"').to_owned()))
            .collect();
        samples.insert((name.to_owned(), labels), value);
    }
    samples
}

/// The sum of `name`'s series whose labels include every pair of `wanted`.
fn sum(samples: &Samples, name: &str, wanted: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|((series, labels), _)| {
            series == name && wanted.iter().all(|(key, value)| labels.get(*key).map(String::as_str) == Some(*value))
        })
        .map(|(_, value)| value)
        .sum()
}

pub struct QueueLine {
    pub queue: String,
    pub pending: i64,
    pub running: i64,
    pub succeeded: u64,
    pub failed: u64,
    pub per_minute: String,
}

pub struct DegradedLine {
    pub name: String,
    pub href: String,
    pub since: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "console/health.html")]
struct HealthPage {
    page: Page,
    since: String,
    queues: Vec<QueueLine>,
    degraded: Vec<DegradedLine>,
    connectors: usize,
    accepted: u64,
    duplicates: u64,
    rejected: u64,
    too_large: u64,
    /// The share of deliveries accepted (duplicates included), in words.
    acceptance: String,
    /// (reason, count) of refused deliveries.
    reasons: Vec<(String, u64)>,
    /// (part, when, error) of the newest failure of each part.
    last_errors: Vec<(String, String, String)>,
    /// Notification mail waiting to be tried again, and failed.
    mail_retrying: i64,
    mail_failed: i64,
    /// The newest failed mails: (when, to, account, the server's answer).
    mail_failures: Vec<(String, String, String, String)>,
}

pub async fn show(State(state): State<AppState>, console: Console) -> Result<Response, ApiError> {
    let scope = console.staff.require(StaffPermission::ConnectorsManage, &state).await?;
    let depths = state.queue.depth().await.map_err(ApiError::internal)?;
    crate::telemetry::record_queue_depths(QUEUES, &depths);
    let samples = parse_exposition(&state.metrics.render());
    let page = console.page(&state, "health").await?;
    let minutes = ((Utc::now() - metrics_since()).num_seconds() as f64 / 60.0).max(1.0);
    let queues = QUEUES
        .iter()
        .map(|queue| {
            let depth = depths.iter().find(|depth| depth.queue == *queue).cloned().unwrap_or_default();
            let succeeded = sum(&samples, JOBS_TOTAL, &[("queue", queue), ("outcome", "succeeded")]) as u64;
            let failed = sum(&samples, JOBS_TOTAL, &[("queue", queue), ("outcome", "failed")]) as u64;
            QueueLine {
                queue: (*queue).to_owned(),
                pending: depth.pending,
                running: depth.running,
                per_minute: format!("{:.1}", (succeeded + failed) as f64 / minutes),
                succeeded,
                failed,
            }
        })
        .collect();
    let connectors = state.store.connector_instances().await?;
    let degraded: Vec<DegradedLine> = connectors
        .iter()
        .filter(|connector| connector.enabled)
        .filter_map(|connector| {
            Some(DegradedLine {
                since: page.format.date_time(connector.degraded_since?),
                name: connector.name.clone(),
                href: format!("/console/connectors/{}", connector.id),
                error: connector.last_error.clone().unwrap_or_default(),
            })
        })
        .collect();
    let count = |outcome: &str| sum(&samples, WEBHOOK_DELIVERIES, &[("outcome", outcome)]) as u64;
    let (accepted, duplicates, rejected, too_large) =
        (count("accepted"), count("duplicate"), count("rejected"), count("too_large"));
    let offered = accepted + duplicates + rejected + too_large;
    let acceptance = if offered == 0 {
        page.t("console-health-no-deliveries")
    } else {
        format!("{:.1} %", 100.0 * (accepted + duplicates) as f64 / offered as f64)
    };
    let mut reasons: Vec<(String, u64)> = samples
        .iter()
        .filter(|((name, _), _)| name == WEBHOOK_REJECTED)
        .map(|((_, labels), value)| (labels.get("reason").cloned().unwrap_or_default(), *value as u64))
        .filter(|(_, count)| *count > 0)
        .collect();
    reasons.sort();
    // The newest failure of each part.
    let mut last_errors = Vec::new();
    if let Some(connector) = connectors
        .iter()
        .filter(|connector| connector.last_error.is_some())
        .max_by_key(|connector| connector.updated_at)
    {
        last_errors.push((
            page.t_with("console-health-part-connector", "name", &connector.name),
            page.format.date_time(connector.updated_at),
            connector.last_error.clone().unwrap_or_default(),
        ));
    }
    let staff_data = StaffData::of(&state.store, &scope);
    if let Some(dead) = staff_data.outbox_items(Some("dead"), None, 1).await?.into_iter().next() {
        last_errors.push((
            page.t("console-health-part-outbox"),
            page.format.date_time(dead.created_at),
            dead.last_error.unwrap_or_default(),
        ));
    }
    if let Some((_, error, received_at)) = staff_data.latest_delivery_failure().await? {
        last_errors.push((
            page.t("console-health-part-webhooks"),
            page.format.date_time(received_at),
            error.unwrap_or_default(),
        ));
    }
    let (mail_retrying, mail_failed) = staff_data.notification_mail_trouble().await?;
    let mail_failures = staff_data
        .notification_mail_failures(10)
        .await?
        .into_iter()
        .map(|failed| (page.format.date_time(failed.created_at), failed.email, failed.account_name, failed.answer))
        .collect();
    page::ok(&HealthPage {
        mail_retrying,
        mail_failed,
        mail_failures,
        since: page.format.date_time(metrics_since()),
        connectors: connectors.len(),
        queues,
        degraded,
        accepted,
        duplicates,
        rejected,
        too_large,
        acceptance,
        reasons,
        last_errors,
        page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_is_read_by_name_and_labels() {
        let text = "# HELP portico_jobs_total Jobs\n# TYPE portico_jobs_total counter\n\
            portico_jobs_total{queue=\"sync\",outcome=\"succeeded\"} 12\n\
            portico_jobs_total{queue=\"sync\",outcome=\"failed\"} 3\n\
            portico_jobs_total{queue=\"push\",outcome=\"succeeded\"} 5\n\
            portico_event_streams 2\n";
        let samples = parse_exposition(text);
        assert_eq!(sum(&samples, "portico_jobs_total", &[("queue", "sync")]), 15.0);
        assert_eq!(sum(&samples, "portico_jobs_total", &[("outcome", "succeeded")]), 17.0);
        assert_eq!(sum(&samples, "portico_event_streams", &[]), 2.0);
        assert_eq!(sum(&samples, "portico_missing", &[]), 0.0);
    }
}
