//! Group commit into the inbox. Every accepted delivery goes through one writer
//! task: while a transaction is committing, the deliveries that arrive meanwhile
//! queue up and go into the next one together. Each request waits for the commit
//! that holds its delivery, so a 2xx is never sent for a delivery not yet durable,
//! and under load one fsync serves many deliveries.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc, oneshot};

use crate::store::{Admission, NewDelivery, Store};

/// The inbox could not store the delivery (the database failed): answer 503.
#[derive(Debug, thiserror::Error)]
#[error("the inbox is unavailable")]
pub struct InboxUnavailable;

struct Pending {
    delivery: NewDelivery,
    reply: oneshot::Sender<Result<Admission, InboxUnavailable>>,
}

/// Hands deliveries to the writer task; cheap to clone.
#[derive(Debug, Clone)]
pub struct InboxWriter {
    sender: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Pending").field("id", &self.delivery.id).finish_non_exhaustive()
    }
}

impl InboxWriter {
    /// Starts the writer task. `committed` is notified after each commit that
    /// stored something to process (a processor in this process starts at once).
    pub fn start(store: Store, max_batch: usize, committed: Arc<Notify>) -> Self {
        // Room for a few batches; beyond it requests wait (back-pressure).
        let (sender, receiver) = mpsc::channel(max_batch * 4);
        tokio::spawn(write_batches(store, receiver, max_batch, committed));
        Self { sender }
    }

    /// Returns once the delivery is committed (or known to be a duplicate).
    pub async fn commit(&self, delivery: NewDelivery) -> Result<Admission, InboxUnavailable> {
        let (reply, answer) = oneshot::channel();
        self.sender.send(Pending { delivery, reply }).await.map_err(|_| InboxUnavailable)?;
        answer.await.map_err(|_| InboxUnavailable)?
    }
}

/// Each delivery in its own transaction; one that fails is reported as such.
async fn commit_one_by_one(
    store: &Store,
    deliveries: &[NewDelivery],
) -> Result<Vec<Admission>, crate::store::StoreError> {
    let mut admissions = Vec::with_capacity(deliveries.len());
    let mut first_error = None;
    for delivery in deliveries {
        match store.insert_deliveries(std::slice::from_ref(delivery)).await {
            Ok(mut one) => admissions.push(one.remove(0)),
            Err(error) => {
                tracing::warn!(error = %error, endpoint = %delivery.endpoint_id, "a webhook delivery could not be stored");
                first_error.get_or_insert(error);
                admissions.push(Admission::Failed);
            }
        }
    }
    match first_error {
        Some(error) if admissions.iter().all(|admission| *admission == Admission::Failed) => Err(error),
        _ => Ok(admissions),
    }
}

async fn write_batches(store: Store, mut receiver: mpsc::Receiver<Pending>, max_batch: usize, committed: Arc<Notify>) {
    let mut batch: Vec<Pending> = Vec::with_capacity(max_batch);
    while receiver.recv_many(&mut batch, max_batch).await > 0 {
        let (deliveries, replies): (Vec<NewDelivery>, Vec<_>) =
            batch.drain(..).map(|pending| (pending.delivery, pending.reply)).unzip();
        metrics::histogram!(crate::telemetry::WEBHOOK_COMMIT_BATCH).record(deliveries.len() as f64);
        let started = std::time::Instant::now();
        let mut result = store.insert_deliveries(&deliveries).await;
        if started.elapsed() > std::time::Duration::from_millis(250) {
            tracing::warn!(
                deliveries = deliveries.len(),
                ms = started.elapsed().as_millis() as u64,
                "slow inbox commit"
            );
        }
        if result.is_err() && deliveries.len() > 1 {
            // One delivery the database refuses (its endpoint deleted meanwhile)
            // must not fail the others: commit each alone.
            result = commit_one_by_one(&store, &deliveries).await;
        }
        match result {
            Ok(admissions) => {
                let to_process = deliveries
                    .iter()
                    .zip(&admissions)
                    .any(|(delivery, admission)| delivery.status == "verified" && *admission == Admission::New);
                for (reply, admission) in replies.into_iter().zip(admissions) {
                    // The request may have gone (client hung up); the delivery is stored regardless.
                    let answer = if admission == Admission::Failed { Err(InboxUnavailable) } else { Ok(admission) };
                    let _ = reply.send(answer);
                }
                if to_process {
                    committed.notify_one();
                }
            }
            Err(error) => {
                tracing::error!(error = %error, deliveries = deliveries.len(), "could not commit webhook deliveries");
                for reply in replies {
                    let _ = reply.send(Err(InboxUnavailable));
                }
            }
        }
    }
}
