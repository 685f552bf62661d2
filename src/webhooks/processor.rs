//! Processing: workers take verified deliveries from the inbox in batches, let
//! the connector turn each into record changes (fetching objects a delivery only
//! names), and apply them through the sync engine's write path: history, account
//! mapping, and the stale-snapshot guard (an older event never overwrites newer
//! data). A batch's changes to one stream are one transaction, which also marks
//! its deliveries processed. Failures are retried with backoff, then dead.
//!
//! A worker in the process that accepted a delivery starts at once (the inbox
//! writer notifies it); other workers poll every `webhooks.process_poll_ms`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use portico_connectors::{Connector, ConnectorError, Record};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::WebhookSettings;
use crate::core::error_chain;
use crate::store::{ClaimedDelivery, ConnectorInstanceRow, DeliveryResult, PageWrite, PageWriteEnd, Store, StoreError};
use crate::sync::ConnectorHost;
use crate::sync::prepare::prepare;
use crate::telemetry::WEBHOOK_PROCESSED;

/// A connector and the instance version (`updated_at`) it was built from.
type BuiltConnector = (DateTime<Utc>, Arc<dyn Connector>);

/// A batch taking longer than this is logged (freshness suffers).
const SLOW_BATCH: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub struct Processor {
    pub store: Store,
    pub connectors: ConnectorHost,
    pub settings: WebhookSettings,
    /// Built connectors by instance, with the instance's `updated_at` they were
    /// built from: building one (opening credentials, an HTTP client) per batch
    /// would cost more than the batch.
    built: Arc<Mutex<HashMap<Uuid, BuiltConnector>>>,
}

impl std::fmt::Debug for Processor {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Processor").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// The changes bound for one stream of one instance, and the deliveries they came from.
#[derive(Default)]
struct StreamChanges {
    records: Vec<Record>,
    deletions: Vec<(&'static str, String)>,
    deliveries: Vec<(Uuid, Value)>,
}

impl Processor {
    pub fn new(store: Store, connectors: ConnectorHost, settings: WebhookSettings) -> Self {
        Self { store, connectors, settings, built: Arc::default() }
    }

    /// The connector for an instance, built once per version of its settings.
    fn connector(&self, instance: &ConnectorInstanceRow) -> Result<Arc<dyn Connector>, ConnectorError> {
        let mut built = self.built.lock().expect("connector cache lock");
        if let Some((version, connector)) = built.get(&instance.id)
            && *version == instance.updated_at
        {
            return Ok(connector.clone());
        }
        let connector: Arc<dyn Connector> = Arc::from(
            self.connectors
                .build(instance)
                .map_err(|error| ConnectorError::retryable(format!("the connector cannot be built: {error}")))?,
        );
        built.insert(instance.id, (instance.updated_at, connector.clone()));
        Ok(connector)
    }

    /// Processes until `shutdown`; database errors are logged and retried.
    ///
    /// Each batch costs a few commits, and every commit an fsync shared with the
    /// ingress. So after work arrives the processor waits `process_coalesce_ms`
    /// to take what came meanwhile in the same batch, rather than chase each
    /// group commit of the ingress with commits of its own.
    pub async fn run(self, committed: Arc<Notify>, shutdown: CancellationToken) {
        let poll = Duration::from_millis(self.settings.process_poll_ms);
        let coalesce = Duration::from_millis(self.settings.process_coalesce_ms);
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            match self.process_batch().await {
                // A full batch: there may be more waiting.
                Ok(taken) if taken >= self.settings.process_batch => continue,
                Ok(0) => {
                    tokio::select! {
                        () = committed.notified() => {}
                        () = tokio::time::sleep(poll) => {}
                        () = shutdown.cancelled() => return,
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::error!(error = %error, "webhook processing failed; retrying");
                    tokio::time::sleep(poll).await;
                }
            }
            tokio::time::sleep(coalesce).await;
        }
    }

    /// Takes one batch and processes it; returns how many deliveries it took.
    pub async fn process_batch(&self) -> Result<usize, StoreError> {
        let started = std::time::Instant::now();
        let now = Utc::now();
        let claim_until = now + chrono::Duration::seconds(self.settings.claim_secs as i64);
        let claimed = self.store.claim_deliveries(now, claim_until, self.settings.process_batch as i64).await?;
        let taken = claimed.len();
        let mut by_instance: BTreeMap<Uuid, Vec<ClaimedDelivery>> = BTreeMap::new();
        for delivery in claimed {
            by_instance.entry(delivery.connector_instance_id).or_default().push(delivery);
        }
        let claimed_in = started.elapsed();
        for (instance_id, deliveries) in by_instance {
            self.process_instance(instance_id, deliveries).await?;
        }
        if started.elapsed() > SLOW_BATCH {
            tracing::warn!(
                deliveries = taken,
                claim_ms = claimed_in.as_millis() as u64,
                total_ms = started.elapsed().as_millis() as u64,
                "slow webhook processing batch"
            );
        }
        Ok(taken)
    }

    async fn process_instance(&self, instance_id: Uuid, deliveries: Vec<ClaimedDelivery>) -> Result<(), StoreError> {
        let mut finished: Vec<(Uuid, DeliveryResult)> = Vec::new();
        let connector = match self.store.connector_instance(instance_id).await? {
            None => Err(ConnectorError::permanent("the connector instance no longer exists")),
            Some(instance) => self.connector(&instance),
        };
        let connector = match connector {
            Ok(connector) => connector,
            Err(error) => {
                for delivery in &deliveries {
                    finished.push((delivery.id, self.failure(delivery, &error)));
                }
                return self.finish(finished).await;
            }
        };

        let mut streams: BTreeMap<String, StreamChanges> = BTreeMap::new();
        for delivery in &deliveries {
            match changes_of(connector.as_ref(), delivery).await {
                Ok((changed, outcome)) if changed.is_empty() => {
                    finished.push((delivery.id, DeliveryResult::Processed { outcome }))
                }
                // A delivery spanning streams is marked processed by each stream's write.
                Ok((changed, outcome)) => {
                    for (stream, records, deletions) in changed {
                        let changes = streams.entry(stream).or_default();
                        changes.records.extend(records);
                        changes.deletions.extend(deletions);
                        changes.deliveries.push((delivery.id, outcome.clone()));
                    }
                }
                Err(error) => finished.push((delivery.id, self.failure(delivery, &error))),
            }
        }

        for (stream, changes) in streams {
            let delivery_ids: Vec<Uuid> = changes.deliveries.iter().map(|(id, _)| *id).collect();
            let count = delivery_ids.len();
            let write = PageWrite {
                instance_id,
                stream: &stream,
                run: None,
                full: false,
                pages: 0,
                failed: 0,
                records: changes.records.into_iter().map(prepare).collect(),
                deletions: changes.deletions,
                end: PageWriteEnd::Done(None),
                deliveries: changes.deliveries,
                now: Utc::now(),
            };
            match self.store.apply_page(&write).await {
                Ok(_) => metrics::counter!(WEBHOOK_PROCESSED, "result" => "processed").increment(count as u64),
                Err(error) => {
                    tracing::warn!(error = %error, stream, deliveries = count, "could not apply webhook changes");
                    // The whole cause, for the admin reading the delivery.
                    let cause = crate::core::text::storable(error_chain(&error));
                    let error = ConnectorError::retryable(format!("the changes could not be stored: {cause}"));
                    for delivery in deliveries.iter().filter(|delivery| delivery_ids.contains(&delivery.id)) {
                        finished.push((delivery.id, self.failure(delivery, &error)));
                    }
                }
            }
        }
        self.finish(finished).await
    }

    /// Failed (to be retried after a backoff) or, past the attempts or for a
    /// permanent error, dead.
    fn failure(&self, delivery: &ClaimedDelivery, error: &ConnectorError) -> DeliveryResult {
        let attempts = delivery.attempts.max(1) as u32;
        if !error.is_retryable() || attempts >= self.settings.process_attempts {
            return DeliveryResult::Dead { error: error.message.clone() };
        }
        let delay = portico_connectors::retry::backoff_delay(
            attempts,
            Duration::from_millis(self.settings.process_retry_base_ms),
            Duration::from_millis(self.settings.process_retry_max_ms),
        );
        let retry_at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
        DeliveryResult::Failed { error: error.message.clone(), retry_at }
    }

    async fn finish(&self, finished: Vec<(Uuid, DeliveryResult)>) -> Result<(), StoreError> {
        for (_, result) in &finished {
            let label = match result {
                DeliveryResult::Processed { .. } => "processed",
                DeliveryResult::Failed { .. } => "failed",
                DeliveryResult::Dead { .. } => "dead",
            };
            metrics::counter!(WEBHOOK_PROCESSED, "result" => label).increment(1);
        }
        self.store.finish_deliveries(&finished, Utc::now()).await
    }
}

/// A stream, its records and deletions.
type Changes = (String, Vec<Record>, Vec<(&'static str, String)>);

/// What one delivery changes, per stream (empty: nothing synced), with a summary for admins.
async fn changes_of(
    connector: &dyn Connector,
    delivery: &ClaimedDelivery,
) -> Result<(Vec<Changes>, Value), ConnectorError> {
    let webhooks = connector.webhooks().ok_or_else(|| ConnectorError::permanent("this connector takes no webhooks"))?;
    let (mut total_records, mut total_deletions, mut total_fetched) = (0, 0, 0);
    let mut changed = Vec::new();
    for changes in webhooks.changes(&delivery.body)? {
        let stream = changes.stream;
        let mut records = changes.records;
        let mut deletions: Vec<(&'static str, String)> = changes
            .deletions
            .into_iter()
            .map(|deletion| (deletion.record_type.as_str(), crate::core::text::storable(deletion.external_id)))
            .collect();
        if !changes.fetch.is_empty() {
            let record_type = connector
                .streams()
                .into_iter()
                .find(|info| info.name == stream)
                .and_then(|info| info.record_types.first().copied())
                .ok_or_else(|| ConnectorError::permanent(format!("the connector has no stream {stream}")))?;
            total_fetched += changes.fetch.len();
            for external_id in changes.fetch {
                match connector.fetch(&stream, &external_id).await? {
                    Some(record) => records.push(record),
                    // Gone upstream: the notification was its deletion.
                    None => deletions.push((record_type.as_str(), external_id)),
                }
            }
        }
        total_records += records.len();
        total_deletions += deletions.len();
        if !records.is_empty() || !deletions.is_empty() {
            changed.push((stream, records, deletions));
        }
    }
    let outcome = json!({"records": total_records, "deletions": total_deletions, "fetched": total_fetched});
    Ok((changed, outcome))
}
