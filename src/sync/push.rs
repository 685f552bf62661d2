//! Write-back: delivers outbox rows upstream, with the row's idempotency key,
//! retrying transient failures with backoff until `sync.push_attempts`, then
//! dead-lettering them for an admin to retry.

use std::time::Duration;

use chrono::Utc;
use portico_connectors::PushOperation;
use portico_connectors::retry::backoff_delay;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::prepare::prepare;
use crate::jobs::{Job, JobContext, JobError};

/// How long a delivery may take before another worker may presume it lost.
const CLAIM: chrono::Duration = chrono::Duration::minutes(5);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushJob {
    pub outbox_id: Uuid,
}

impl Job for PushJob {
    const QUEUE: &'static str = "portico.push";
}

pub async fn run(job: &PushJob, context: &JobContext) -> Result<(), JobError> {
    let store = &context.store;
    let now = Utc::now();
    let Some(row) = store.claim_outbox(job.outbox_id, now, now + CLAIM).await? else {
        return Ok(());
    };
    let kind = |outcome: &'static str| metrics::counter!("portico_outbox_deliveries_total", "outcome" => outcome);
    let connector = match store.connector_instance(row.connector_instance_id).await? {
        Some(instance) => context.connectors.build(&instance).map_err(|error| error.to_string()),
        None => Err("the connector was deleted".to_owned()),
    };
    let connector = match connector {
        Ok(connector) => connector,
        Err(message) => {
            store.fail_outbox(row.id, &message, None).await?;
            kind("dead").increment(1);
            return Ok(());
        }
    };
    let operation = PushOperation {
        operation: row.operation.clone(),
        payload: row.payload.0.clone(),
        idempotency_key: row.idempotency_key.clone(),
    };
    match connector.push(&operation).await {
        Ok(outcome) => {
            let delivered = outcome.records.into_iter().next().map(prepare);
            store.complete_outbox(row.id, outcome.external_id.as_deref(), delivered.as_ref(), Utc::now()).await?;
            kind("delivered").increment(1);
            tracing::info!(outbox_id = %row.id, operation = %row.operation, "write-back delivered");
        }
        Err(error) if error.is_retryable() && (row.attempts as u32) < context.sync.push_attempts => {
            let backoff = backoff_delay(
                row.attempts as u32,
                Duration::from_millis(context.sync.page_retry_base_ms),
                Duration::from_millis(context.sync.page_retry_max_ms).max(Duration::from_secs(1)),
            );
            let delay = backoff.max(error.retry_after.unwrap_or_default());
            let retry_at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
            store.fail_outbox(row.id, &error.message, Some(retry_at)).await?;
            context.queue.enqueue_after(PushJob { outbox_id: row.id }, delay, &context.settings).await?;
            kind("retried").increment(1);
        }
        Err(error) => {
            tracing::warn!(outbox_id = %row.id, error = %error, "write-back failed for good; dead-lettered");
            store.fail_outbox(row.id, &error.message, None).await?;
            kind("dead").increment(1);
        }
    }
    Ok(())
}
