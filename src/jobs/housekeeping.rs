//! Periodic clean-up of rows that have outlived their use, so tables that grow
//! with every sign-in (failures, sessions, mailed links) or every sync (runs,
//! delivered write-backs) stay small. Record history is kept: it is the product.
//!
//! Every worker process runs it on a timer; the deletes are idempotent, so
//! several workers need no coordination.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use std::sync::Arc;

use crate::config::{AuthSettings, EventSettings, Settings, WebhookSettings};
use crate::store::{PurgeCounts, Store, StoreError};

/// How often a worker process cleans up.
const INTERVAL: Duration = Duration::from_secs(600);
/// Ended sessions and used links are kept this long for support questions.
const KEEP_ENDED_DAYS: i64 = 30;

pub async fn run_once(store: &Store, auth: &AuthSettings) -> Result<PurgeCounts, StoreError> {
    let now = Utc::now();
    let failures_before = now - chrono::Duration::seconds(auth.login_failure_window_secs as i64);
    let records_before = now - chrono::Duration::days(KEEP_ENDED_DAYS);
    let purged = store.purge_expired(failures_before, records_before).await?;
    metrics::counter!(crate::telemetry::HOUSEKEEPING_PURGED, "table" => "login_failures")
        .increment(purged.login_failures);
    metrics::counter!(crate::telemetry::HOUSEKEEPING_PURGED, "table" => "sessions").increment(purged.sessions);
    metrics::counter!(crate::telemetry::HOUSEKEEPING_PURGED, "table" => "user_tokens").increment(purged.user_tokens);
    metrics::counter!(crate::telemetry::HOUSEKEEPING_PURGED, "table" => "outbox").increment(purged.outbox);
    metrics::counter!(crate::telemetry::HOUSEKEEPING_PURGED, "table" => "sync_runs").increment(purged.sync_runs);
    Ok(purged)
}

/// Drops refused webhook deliveries past their short debugging window, and
/// processed ones past the replay window.
pub async fn purge_webhook_deliveries(store: &Store, webhooks: &WebhookSettings) -> Result<u64, StoreError> {
    let now = Utc::now();
    let rejected_before = now - chrono::Duration::seconds(webhooks.rejected_retention_secs as i64);
    let processed_before = now - chrono::Duration::days(webhooks.processed_retention_days as i64);
    let purged = store.purge_deliveries(rejected_before, processed_before).await?;
    metrics::counter!(crate::telemetry::HOUSEKEEPING_PURGED, "table" => "webhook_inbox").increment(purged);
    Ok(purged)
}

/// Drops change-feed entries past the window streams may resume within.
pub async fn purge_change_feed(store: &Store, events: &EventSettings) -> Result<u64, StoreError> {
    let before = Utc::now() - chrono::Duration::seconds(events.retention_secs as i64);
    let purged = store.purge_change_feed(before).await?;
    metrics::counter!(crate::telemetry::HOUSEKEEPING_PURGED, "table" => "change_feed").increment(purged);
    Ok(purged)
}

/// Runs the clean-ups now and then every ten minutes until shutdown.
pub async fn run_periodically(store: Store, settings: Arc<Settings>, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(INTERVAL);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match run_once(&store, &settings.auth).await {
            Ok(purged) => tracing::debug!(?purged, "housekeeping done"),
            Err(error) => tracing::warn!(error = %crate::server::problem::error_chain(&error), "housekeeping failed"),
        }
        if let Err(error) = purge_webhook_deliveries(&store, &settings.webhooks).await {
            tracing::warn!(error = %crate::server::problem::error_chain(&error), "webhook housekeeping failed");
        }
        match crate::exports::purge_expired(&store, &settings.data_dir.join("exports")).await {
            Ok(purged) => {
                metrics::counter!(crate::telemetry::HOUSEKEEPING_PURGED, "table" => "data_exports").increment(purged)
            }
            Err(error) => {
                tracing::warn!(error = %crate::server::problem::error_chain(&error), "export housekeeping failed")
            }
        }
        if let Err(error) = purge_change_feed(&store, &settings.events).await {
            tracing::warn!(error = %crate::server::problem::error_chain(&error), "change feed housekeeping failed");
        }
    }
}
