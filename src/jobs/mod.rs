//! Background jobs on apalis, stored in the same database engine as the data.
//!
//! - [`queue`]: the queue itself (setup, enqueue, depth), one backend per engine.
//! - [`worker`]: runs a worker per job type until shutdown, with retries and metrics.
//! - [`wake`]: when an idle worker looks for work again (a fix for apalis 1.0's interval).
//! - one module per job type ([`probe`]), each naming its queue explicitly so that
//!   renaming a Rust type never orphans jobs already queued.

pub mod housekeeping;
pub mod probe;
pub mod queue;
pub mod wake;
pub mod worker;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use queue::{JobQueue, QueueError};
pub use worker::{JobContext, run_workers};

/// A kind of background job.
pub trait Job: Serialize + DeserializeOwned + Clone + Send + Sync + Unpin + 'static {
    /// The stable queue name stored with each job.
    const QUEUE: &'static str;
}

/// Every queue this build runs workers for, for metrics and readiness.
pub const QUEUES: &[&str] = &[
    probe::QueueProbe::QUEUE,
    crate::sync::SyncJob::QUEUE,
    crate::sync::PushJob::QUEUE,
    crate::exports::ExportJob::QUEUE,
];

/// Why a job failed; the worker retries it with backoff until attempts run out.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    #[error("queue probe failed on purpose (attempt {attempt})")]
    ProbeFailed { attempt: usize },
}
