//! Runs the job workers until shutdown.
//!
//! One apalis worker per job type, each with: a unique worker name (so a restarted
//! process never collides with its predecessor's heartbeat record), bounded
//! concurrency, in-process retries with exponential backoff and jitter, panic
//! catching, and per-queue outcome metrics. On shutdown, workers stop fetching and
//! running jobs get `jobs.shutdown_grace_secs` to finish; a job cut off then (or by
//! a crash) is re-run once its worker's heartbeats stop.

use std::time::{Duration, Instant};

use apalis::layers::retry::HasherRng;
use apalis::layers::retry::backoff::{ExponentialBackoff, ExponentialBackoffMaker, MakeBackoff};
use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use tokio_util::sync::CancellationToken;

use super::probe::{self, QueueProbe};
use super::queue::{postgres_config, sqlite_config};
use super::wake::EveryInterval;
use super::{Job, JobError, JobQueue};
use crate::config::{JobSettings, SyncSettings};
use crate::exports::ExportJob;
use crate::store::Store;
use crate::sync::{ConnectorHost, PushJob, SyncJob};
use crate::telemetry::record_job_outcome;

/// What job handlers may use; handed to every worker as apalis `Data`.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub store: Store,
    pub queue: JobQueue,
    pub settings: JobSettings,
    pub sync: SyncSettings,
    pub connectors: ConnectorHost,
    /// Where data export archives are written.
    pub exports_dir: std::path::PathBuf,
}

/// A name unique to this process and queue, readable in logs and the queue tables.
fn worker_name(queue: &str) -> String {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    format!("{queue}@{}-{}", std::process::id(), &nonce[..8])
}

/// Every attempt happens here, in-process, with exponential backoff and jitter:
/// `max_attempts - 1` retries leave a failed job's attempt count at the
/// `max_attempts` it was enqueued with, so the SQL backend never re-fetches it
/// (its re-fetch has no backoff). The backend only re-runs jobs cut off by a crash.
/// Backoff delays hold the worker slot; waits longer than `retry_max_secs` belong
/// in the queue ([`JobQueue::enqueue_after`]).
fn retry_policy(settings: &JobSettings) -> BackoffRetryPolicy<ExponentialBackoff<HasherRng>> {
    let mut backoff = ExponentialBackoffMaker::new(
        Duration::from_millis(settings.retry_base_ms),
        Duration::from_secs(settings.retry_max_secs),
        // Up to 100% extra random delay, so retries of jobs that failed together spread out.
        1.0,
        HasherRng::default(),
    )
    .expect("backoff bounds validated with the configuration");
    let retries = settings.max_attempts.saturating_sub(1) as usize;
    RetryPolicy::retries(retries).with_backoff(backoff.make_backoff())
}

/// Times a job and records its outcome under its queue's name.
async fn observed<J: Job>(run: impl Future<Output = Result<(), JobError>>) -> Result<(), JobError> {
    let started = Instant::now();
    let result = run.await;
    if let Err(error) = &result {
        tracing::warn!(queue = J::QUEUE, error = %error, "job failed");
    }
    record_job_outcome(J::QUEUE, result.is_ok(), started.elapsed());
    result
}

async fn handle_queue_probe(job: QueueProbe, context: Data<JobContext>, worker: WorkerContext) -> Result<(), JobError> {
    observed::<QueueProbe>(probe::run(&job, &context.store, worker.name())).await
}

async fn handle_sync(job: SyncJob, context: Data<JobContext>) -> Result<(), JobError> {
    observed::<SyncJob>(crate::sync::run::run(&job, &context)).await
}

async fn handle_push(job: PushJob, context: Data<JobContext>) -> Result<(), JobError> {
    observed::<PushJob>(crate::sync::push::run(&job, &context)).await
}

async fn handle_export(job: ExportJob, context: Data<JobContext>) -> Result<(), JobError> {
    observed::<ExportJob>(crate::exports::run(&job, &context)).await
}

/// Builds the worker for one job type on one backend; a macro because apalis'
/// worker types are too deep to name in a function signature.
macro_rules! job_worker {
    ($backend:expr, $job:ty, $handler:expr, $context:expr) => {{
        let settings = &$context.settings;
        WorkerBuilder::new(worker_name(<$job as Job>::QUEUE))
            .backend($backend)
            .data($context.clone())
            .concurrency(settings.concurrency)
            .retry(retry_policy(settings))
            // Inside the retry layer, so a panicking job is retried like a failing one.
            .catch_panic()
            .build($handler)
    }};
}

/// Registers one worker per job type on `$storage` (the engine's apalis backend).
macro_rules! register_workers {
    ($monitor:expr, $storage:ident, $config:ident, $pool:expr, $settings:expr, $context:expr) => {{
        let probes = $storage::<QueueProbe>::new(&$pool)
            .with_config($config::<QueueProbe>(&$settings))
            .poll_with_strategy(EveryInterval::new($settings.poll_interval()));
        let syncs = $storage::<SyncJob>::new(&$pool)
            .with_config($config::<SyncJob>(&$settings))
            .poll_with_strategy(EveryInterval::new($settings.poll_interval()));
        let pushes = $storage::<PushJob>::new(&$pool)
            .with_config($config::<PushJob>(&$settings))
            .poll_with_strategy(EveryInterval::new($settings.poll_interval()));
        let exports = $storage::<ExportJob>::new(&$pool)
            .with_config($config::<ExportJob>(&$settings))
            .poll_with_strategy(EveryInterval::new($settings.poll_interval()));
        let (probe_context, sync_context, push_context) = ($context.clone(), $context.clone(), $context.clone());
        let export_context = $context;
        $monitor
            .register(move |_restarts| job_worker!(probes.clone(), QueueProbe, handle_queue_probe, probe_context))
            .register(move |_restarts| job_worker!(syncs.clone(), SyncJob, handle_sync, sync_context))
            .register(move |_restarts| job_worker!(pushes.clone(), PushJob, handle_push, push_context))
            .register(move |_restarts| job_worker!(exports.clone(), ExportJob, handle_export, export_context))
    }};
}

/// Runs every job type's worker until `shutdown` is cancelled and in-flight jobs
/// finish (or the grace period ends).
pub async fn run_workers(context: JobContext, shutdown: CancellationToken) -> Result<(), MonitorError> {
    let settings = context.settings.clone();
    let grace = settings.shutdown_grace();
    let monitor = Monitor::new().on_event(|worker, event| match event {
        Event::Error(error) => tracing::error!(worker = worker.name(), error = %error, "job worker error"),
        Event::Start => tracing::info!(worker = worker.name(), "job worker started"),
        Event::Stop => tracing::info!(worker = worker.name(), "job worker stopped"),
        _ => {}
    });
    let monitor = match context.queue.clone() {
        JobQueue::Sqlite(pool) => register_workers!(monitor, SqliteStorage, sqlite_config, pool, settings, context),
        JobQueue::Postgres(pool) => {
            register_workers!(monitor, PostgresStorage, postgres_config, pool, settings, context)
        }
    };
    monitor
        // Started when shutdown begins: the longest running jobs may take to finish.
        .with_terminator(async move {
            tokio::time::sleep(grace).await;
            tracing::warn!(grace_secs = grace.as_secs(), "shutdown grace period over; unfinished jobs will run again");
        })
        .run_with_signal(async move {
            shutdown.cancelled().await;
            Ok(())
        })
        .await
}
