//! The sync engine: runs connectors as jobs and keeps the record cache equal to
//! the systems of record.
//!
//! - [`host`]: builds a connector for an instance (credentials decrypted, outbound
//!   policy, shared rate budget).
//! - [`service`]: starts runs (one per instance and stream; the database refuses a
//!   second while one is active) and queues their jobs.
//! - [`run`]: the job: pull a page, commit its records with the run's position,
//!   repeat; retries, Retry-After, leases, the deletion sweep.
//! - [`prepare`]: a connector's record made ready to store (serialized, hashed).
//! - [`scheduler`]: interval syncs, and recovery of runs whose job was lost.
//! - [`deletions`]: confirming or discarding deletions a full run held back.
//! - [`push`]: write-back, delivering outbox rows upstream idempotently.

pub mod deletions;
pub mod host;
pub mod prepare;
pub mod push;
pub mod run;
pub mod scheduler;
pub mod service;

pub use host::{ConnectorHost, HostError};
pub use push::PushJob;
pub use run::SyncJob;
pub use service::{StartError, StartedRun, start_sync};
