//! Interval syncs, and recovery of runs whose job was lost.
//!
//! Every `sync.schedule_check_secs`, on every worker node: instances whose
//! `next_sync_at` has come are claimed (one node wins each, by a conditional
//! update) and get an incremental run of every stream; runs whose job seems lost
//! are queued again; runs abandoned long ago are failed.

use std::time::Duration;

use chrono::Utc;
use portico_connectors::SyncMode;
use tokio_util::sync::CancellationToken;

use super::run::SyncJob;
use super::service::{Trigger, start_sync};
use crate::jobs::JobContext;

/// A queued or waiting run whose job has not picked it up for this long is re-queued.
const STALLED_AFTER: chrono::Duration = chrono::Duration::minutes(5);

pub async fn run_scheduler(context: JobContext, shutdown: CancellationToken) {
    let interval = Duration::from_secs(context.sync.schedule_check_secs);
    loop {
        if let Err(error) = tick(&context).await {
            tracing::warn!(error = %error, "sync scheduler tick failed");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

async fn tick(context: &JobContext) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let store = &context.store;
    let now = Utc::now();
    for instance in store.due_connector_instances(now).await? {
        let (Some(due_at), Some(interval)) = (instance.next_sync_at, instance.schedule_interval_secs) else { continue };
        let next_at = now + chrono::Duration::seconds(interval);
        if !store.claim_scheduled_sync(instance.id, due_at, next_at).await? {
            continue;
        }
        let streams = match context.connectors.build(&instance) {
            Ok(connector) => connector.streams().into_iter().map(|stream| stream.name).collect::<Vec<_>>(),
            Err(error) => {
                tracing::warn!(connector = %instance.name, error = %error, "scheduled sync skipped");
                continue;
            }
        };
        start_sync(
            store,
            &context.queue,
            &context.settings,
            &instance,
            &streams,
            SyncMode::Incremental,
            Trigger::Schedule,
        )
        .await?;
    }

    let lease_expired_before = now - chrono::Duration::seconds(context.sync.run_lease_secs as i64);
    for run_id in store.stalled_sync_runs(now - STALLED_AFTER, lease_expired_before).await? {
        tracing::info!(%run_id, "re-queueing a sync run whose job was lost");
        context.queue.enqueue(SyncJob { run_id }, &context.settings).await?;
    }
    for outbox_id in store.stalled_outbox(now - chrono::Duration::minutes(1)).await? {
        context.queue.enqueue(super::PushJob { outbox_id }, &context.settings).await?;
    }
    let abandoned_before = now - chrono::Duration::seconds(context.sync.abandoned_after_secs as i64);
    store.fail_abandoned_runs(abandoned_before, now).await?;
    metrics::gauge!("portico_connectors_degraded").set(store.degraded_connector_count().await? as f64);
    Ok(())
}
