//! When sessions and API tokens were last used, written in batches.
//!
//! Stamping `last_seen_at` on the request that notices it is stale would turn
//! reads into writes: with many callers, most first requests in a minute would
//! wait on the database's write lock (and, on SQLite, an fsync). Instead the stamps
//! are collected here and written together every [`FLUSH_INTERVAL`], and once more
//! at shutdown. A crash loses at most that long of "last used" times, which are
//! informational and drive the idle timeout only to the minute.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::store::{Store, StoreError};

pub const FLUSH_INTERVAL: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
struct Pending {
    sessions: HashMap<Uuid, DateTime<Utc>>,
    tokens: HashMap<Uuid, DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct UsageRecorder {
    pending: Arc<Mutex<Pending>>,
}

impl UsageRecorder {
    /// Starts writing stamps every [`FLUSH_INTERVAL`] until shutdown (then once more).
    pub fn start(store: Store, shutdown: CancellationToken, supervisor: &crate::supervisor::Supervisor) -> Self {
        let recorder = UsageRecorder::default();
        let flusher = recorder.clone();
        supervisor.spawn_until_shutdown("usage recorder", async move {
            let mut ticks = tokio::time::interval(FLUSH_INTERVAL);
            loop {
                let stopping = tokio::select! {
                    () = shutdown.cancelled() => true,
                    _ = ticks.tick() => false,
                };
                if let Err(error) = flusher.flush(&store).await {
                    tracing::warn!(error = %crate::server::problem::error_chain(&error), "recording session and token use failed");
                }
                if stopping {
                    return;
                }
            }
        });
        recorder
    }

    pub fn session_seen(&self, session_id: Uuid, at: DateTime<Utc>) {
        self.lock().sessions.insert(session_id, at);
    }

    pub fn token_used(&self, token_id: Uuid, at: DateTime<Utc>) {
        self.lock().tokens.insert(token_id, at);
    }

    /// Writes what has been collected.
    pub async fn flush(&self, store: &Store) -> Result<(), StoreError> {
        let pending = std::mem::take(&mut *self.lock());
        if pending.sessions.is_empty() && pending.tokens.is_empty() {
            return Ok(());
        }
        let sessions: Vec<(Uuid, DateTime<Utc>)> = pending.sessions.into_iter().collect();
        let tokens: Vec<(Uuid, DateTime<Utc>)> = pending.tokens.into_iter().collect();
        store.record_usage(&sessions, &tokens).await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
