//! Starting syncs: a run per (instance, stream), recorded then queued.

use chrono::Utc;
use portico_connectors::SyncMode;
use serde::Serialize;
use uuid::Uuid;

use super::run::SyncJob;
use crate::config::JobSettings;
use crate::jobs::{JobQueue, QueueError};
use crate::store::{ConnectorInstanceRow, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Manual,
    Cli,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
            Trigger::Cli => "cli",
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StartedRun {
    pub stream: String,
    pub run_id: Uuid,
    /// False when a run of this stream was already active: `run_id` is that run.
    pub started: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Queue(#[from] QueueError),
}

/// Starts a run of each stream (or joins the run already active) and queues its job.
pub async fn start_sync(
    store: &Store,
    queue: &JobQueue,
    job_settings: &JobSettings,
    instance: &ConnectorInstanceRow,
    streams: &[String],
    mode: SyncMode,
    trigger: Trigger,
) -> Result<Vec<StartedRun>, StartError> {
    let mut started = Vec::with_capacity(streams.len());
    for stream in streams {
        let run_id = match store.create_sync_run(instance.id, stream, mode.as_str(), trigger.as_str(), Utc::now()).await
        {
            Ok(run_id) => run_id,
            Err(StoreError::Conflict(_)) => match store.active_sync_run(instance.id, stream).await? {
                Some(active) => {
                    started.push(StartedRun { stream: stream.clone(), run_id: active.id, started: false });
                    continue;
                }
                // It ended between the two statements: try once more.
                None => store.create_sync_run(instance.id, stream, mode.as_str(), trigger.as_str(), Utc::now()).await?,
            },
            Err(error) => return Err(error.into()),
        };
        if let Err(error) = queue.enqueue(SyncJob { run_id }, job_settings).await {
            // Not left queued without a job (the scheduler would also recover it).
            store.finish_sync_run(run_id, "failed", Some("could not be queued"), 0, Utc::now()).await?;
            return Err(error.into());
        }
        started.push(StartedRun { stream: stream.clone(), run_id, started: true });
    }
    Ok(started)
}
