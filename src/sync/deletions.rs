//! Deletions a full run held back because they exceeded the instance's guard
//! share: an admin confirms (they are applied) or discards them (nothing changes).

use chrono::Utc;
use uuid::Uuid;

use crate::store::{Store, StoreError, SweepOutcome};

#[derive(Debug, thiserror::Error)]
pub enum HeldError {
    #[error("no such sync run")]
    NotFound,
    #[error("this run is not holding deletions")]
    NotHeld,
    #[error("a newer full sync of this stream has run since; its own result stands")]
    Superseded,
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Applies the deletions `run_id` held back; returns how many records it deleted.
pub async fn confirm(store: &Store, instance_id: Uuid, run_id: Uuid) -> Result<i64, HeldError> {
    let run = held_run(store, instance_id, run_id).await?;
    let latest = store.latest_full_run(instance_id, &run.stream).await?;
    if latest.is_some_and(|latest| latest.id != run.id) {
        return Err(HeldError::Superseded);
    }
    let started_at = run.started_at.unwrap_or(run.queued_at);
    let deleted = match store.sweep_unseen(instance_id, &run.stream, run.id, started_at, None, Utc::now()).await? {
        SweepOutcome::Applied(deleted) | SweepOutcome::Held(deleted) => deleted,
    };
    // The sweep already added its count to the run.
    if !store.resolve_held_run(run.id, "succeeded", 0).await? {
        return Err(HeldError::NotHeld);
    }
    Ok(deleted)
}

/// Leaves every record as it is and closes the held run as `discarded`.
pub async fn discard(store: &Store, instance_id: Uuid, run_id: Uuid) -> Result<(), HeldError> {
    let run = held_run(store, instance_id, run_id).await?;
    if !store.resolve_held_run(run.id, "discarded", 0).await? {
        return Err(HeldError::NotHeld);
    }
    Ok(())
}

async fn held_run(store: &Store, instance_id: Uuid, run_id: Uuid) -> Result<crate::store::SyncRunRow, HeldError> {
    let run = store
        .sync_run(run_id)
        .await?
        .filter(|run| run.connector_instance_id == instance_id)
        .ok_or(HeldError::NotFound)?;
    if run.status != "held" {
        return Err(HeldError::NotHeld);
    }
    Ok(run)
}
