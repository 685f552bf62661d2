//! The queue probe: a job that only records that it ran.
//!
//! `portico admin probe-queue` enqueues one to show that workers are alive and
//! picking work up; its runs (one row per execution, with the worker's name) also let
//! tests prove that a job killed with its worker runs again, and that two workers
//! never run the same job at once.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Job, JobError};
use crate::store::{ProbeOutcome, Store};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueProbe {
    pub probe_id: Uuid,
    /// How long the job holds its worker slot, to make a run observable.
    pub hold_ms: u64,
    /// Fail this many runs before succeeding, to watch retries and their backoff.
    #[serde(default)]
    pub fail_attempts: u32,
}

impl Job for QueueProbe {
    const QUEUE: &'static str = "portico.queue_probe";
}

pub async fn run(probe: &QueueProbe, store: &Store, worker_name: &str) -> Result<(), JobError> {
    let earlier_runs = store.queue_probe_runs(probe.probe_id).await?.len();
    let run_id = store.start_queue_probe_run(probe.probe_id, worker_name).await?;
    tokio::time::sleep(Duration::from_millis(probe.hold_ms)).await;
    if earlier_runs < probe.fail_attempts as usize {
        store.finish_queue_probe_run(run_id, ProbeOutcome::Failed).await?;
        return Err(JobError::ProbeFailed { attempt: earlier_runs + 1 });
    }
    store.finish_queue_probe_run(run_id, ProbeOutcome::Succeeded).await?;
    tracing::info!(probe_id = %probe.probe_id, worker = worker_name, "queue probe ran");
    Ok(())
}
