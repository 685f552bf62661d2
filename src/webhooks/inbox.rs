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
    pub fn start(
        store: Store,
        max_batch: usize,
        committed: Arc<Notify>,
        supervisor: &crate::supervisor::Supervisor,
    ) -> Self {
        // Room for a few batches; beyond it requests wait (back-pressure).
        let (sender, receiver) = mpsc::channel(max_batch * 4);
        // It drains and ends once the last sender (the HTTP router) is gone.
        supervisor
            .spawn_until_inputs_close("webhook inbox writer", write_batches(store, receiver, max_batch, committed));
        Self { sender }
    }

    /// Returns once the delivery is committed (or known to be a duplicate).
    pub async fn commit(&self, delivery: NewDelivery) -> Result<Admission, InboxUnavailable> {
        let (reply, answer) = oneshot::channel();
        self.sender.send(Pending { delivery, reply }).await.map_err(|_| InboxUnavailable)?;
        answer.await.map_err(|_| InboxUnavailable)?
    }
}

/// Each delivery in its own transaction, so that one the database refuses (its
/// endpoint deleted meanwhile) does not fail the others.
async fn commit_one_by_one(store: &Store, deliveries: &[NewDelivery]) -> Vec<Result<Admission, InboxUnavailable>> {
    let mut answers = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        answers.push(match store.insert_deliveries(std::slice::from_ref(delivery)).await {
            Ok(mut one) => Ok(one.remove(0)),
            Err(error) => {
                tracing::error!(error = %error, endpoint = %delivery.endpoint_id, "could not store a webhook delivery");
                Err(InboxUnavailable)
            }
        });
    }
    answers
}

async fn write_batches(store: Store, mut receiver: mpsc::Receiver<Pending>, max_batch: usize, committed: Arc<Notify>) {
    let mut batch: Vec<Pending> = Vec::with_capacity(max_batch);
    while receiver.recv_many(&mut batch, max_batch).await > 0 {
        let (deliveries, replies): (Vec<NewDelivery>, Vec<_>) =
            batch.drain(..).map(|pending| (pending.delivery, pending.reply)).unzip();
        metrics::histogram!(crate::telemetry::WEBHOOK_COMMIT_BATCH).record(deliveries.len() as f64);
        let started = std::time::Instant::now();
        let answers = match store.insert_deliveries(&deliveries).await {
            Ok(admissions) => admissions.into_iter().map(Ok).collect(),
            Err(error) => {
                tracing::warn!(error = %error, deliveries = deliveries.len(), "a group commit failed; storing each alone");
                commit_one_by_one(&store, &deliveries).await
            }
        };
        if started.elapsed() > std::time::Duration::from_millis(250) {
            tracing::warn!(
                deliveries = deliveries.len(),
                ms = started.elapsed().as_millis() as u64,
                "slow inbox commit"
            );
        }
        let to_process = deliveries
            .iter()
            .zip(&answers)
            .any(|(delivery, answer)| delivery.status == "verified" && matches!(answer, Ok(Admission::New)));
        for (reply, answer) in replies.into_iter().zip(answers) {
            // The request may have gone (client hung up); a stored delivery stays stored.
            let _ = reply.send(answer);
        }
        if to_process {
            committed.notify_one();
        }
    }
}
