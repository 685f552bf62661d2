//! Logs and metrics, set up once per process.
//!
//! Metric names and labels live here, in one place, so dashboards have one file to
//! read: request durations by route and status, job outcomes and durations by
//! queue, and queue depth.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogFormat, LogSettings};
use crate::jobs::queue::QueueDepth;

pub const HTTP_REQUEST_DURATION: &str = "portico_http_request_duration_seconds";
pub const JOBS_TOTAL: &str = "portico_jobs_total";
pub const JOB_DURATION: &str = "portico_job_duration_seconds";
pub const QUEUE_DEPTH: &str = "portico_queue_depth";
pub const HOUSEKEEPING_PURGED: &str = "portico_housekeeping_purged_total";
/// Webhook deliveries answered, by `outcome`: accepted, duplicate, rejected, too_large.
pub const WEBHOOK_DELIVERIES: &str = "portico_webhook_deliveries_total";
/// Deliveries refused at the door, by `reason` (bad_signature, stale, ...).
pub const WEBHOOK_REJECTED: &str = "portico_webhook_rejected_total";
/// Deliveries committed to the inbox per transaction (group commit).
pub const WEBHOOK_COMMIT_BATCH: &str = "portico_webhook_commit_batch_size";
/// Deliveries through processing, by `result`: processed, failed, dead.
pub const WEBHOOK_PROCESSED: &str = "portico_webhook_processed_total";

/// Open live-update streams (`GET /api/v1/events`) in this process.
pub const EVENT_STREAMS: &str = "portico_event_streams";
/// Notifications mailed, by `outcome`: sent, failed (retried once its claim runs out).
pub const NOTIFICATION_MAILS: &str = "portico_notification_mails_total";
pub const SECURITY_MAILS: &str = "portico_security_mails_total";

/// Installs the global tracing subscriber. Safe to call more than once (tests do);
/// only the first call takes effect.
pub fn init_logging(settings: &LogSettings) {
    let filter = EnvFilter::try_new(&settings.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match settings.format {
        LogFormat::Json => registry
            .with(tracing_subscriber::fmt::layer().json().flatten_event(true).with_current_span(true))
            .try_init(),
        LogFormat::Text => registry.with(tracing_subscriber::fmt::layer().with_target(false)).try_init(),
    };
    // Already installed by an earlier call in this process: keep that one.
    drop(result);
}

/// The process-wide Prometheus recorder (metrics are global by nature).
/// When this process began recording metrics: the start of every counter.
pub fn metrics_since() -> chrono::DateTime<chrono::Utc> {
    *METRICS_SINCE.get_or_init(chrono::Utc::now)
}

static METRICS_SINCE: OnceLock<chrono::DateTime<chrono::Utc>> = OnceLock::new();

pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            metrics_since();
            let seconds_buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds_buckets)
                .expect("bucket list is not empty")
                .set_buckets_for_metric(
                    Matcher::Full(WEBHOOK_COMMIT_BATCH.into()),
                    &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
                )
                .expect("bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first, which this crate never does.
            let _ = metrics::set_global_recorder(recorder);
            describe_metrics();
            handle
        })
        .clone()
}

fn describe_metrics() {
    metrics::describe_histogram!(
        HTTP_REQUEST_DURATION,
        metrics::Unit::Seconds,
        "HTTP request duration by route and status"
    );
    metrics::describe_counter!(JOBS_TOTAL, "Background jobs finished, by queue and outcome");
    metrics::describe_histogram!(JOB_DURATION, metrics::Unit::Seconds, "Background job duration by queue");
    metrics::describe_gauge!(QUEUE_DEPTH, "Jobs in each queue by state (pending, running)");
    metrics::describe_counter!(HOUSEKEEPING_PURGED, "Expired rows removed by housekeeping, by table");
    metrics::describe_gauge!(EVENT_STREAMS, "Open live-update streams in this process");
    metrics::describe_counter!(NOTIFICATION_MAILS, "Notifications mailed, by outcome");
    metrics::describe_counter!(
        SECURITY_MAILS,
        "Security mail (a password, second factor or API token changed), by outcome"
    );
}

pub fn record_http_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    metrics::histogram!(
        HTTP_REQUEST_DURATION,
        "method" => method.to_owned(),
        "route" => route.to_owned(),
        "status" => status.to_string()
    )
    .record(elapsed.as_secs_f64());
}

pub fn record_job_outcome(queue: &'static str, succeeded: bool, elapsed: Duration) {
    let outcome = if succeeded { "succeeded" } else { "failed" };
    metrics::counter!(JOBS_TOTAL, "queue" => queue, "outcome" => outcome).increment(1);
    metrics::histogram!(JOB_DURATION, "queue" => queue).record(elapsed.as_secs_f64());
}

/// Publishes queue depth; called at scrape time so the figure is current.
pub fn record_queue_depths(known_queues: &[&'static str], depths: &[QueueDepth]) {
    for &queue in known_queues {
        let depth = depths.iter().find(|depth| depth.queue == queue).cloned().unwrap_or_default();
        metrics::gauge!(QUEUE_DEPTH, "queue" => queue, "state" => "pending").set(depth.pending as f64);
        metrics::gauge!(QUEUE_DEPTH, "queue" => queue, "state" => "running").set(depth.running as f64);
    }
}
