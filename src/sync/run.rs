//! One sync run, as a job.
//!
//! The loop: pull pages, and commit their records together with the run's next
//! position (one transaction); pulling goes on while a commit is in flight, and
//! pages pulled meanwhile are committed together (group commit). A run killed at
//! any point resumes from its last committed position: nothing is lost and, since
//! writes are upserts keyed by upstream id, nothing is duplicated.
//!
//! Failures: transient ones (5xx, timeouts, resets) are retried per page with
//! exponential backoff and jitter; a 429's Retry-After is waited out in the job when
//! short, otherwise the run goes back to the queue until then (`waiting`); anything
//! else fails the run. Each execution holds a lease on the run, renewed as it
//! works; a page is only committed under a lease still held.

use std::time::Duration;

use chrono::Utc;
use portico_connectors::connector::PullRequest;
use portico_connectors::retry::backoff_delay;
use portico_connectors::{Connector, ConnectorError, ErrorClass, Page, PageEnd, SyncMode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::prepare::prepare;
use crate::jobs::{Job, JobContext, JobError};
use crate::store::{
    ConnectorInstanceRow, PageCounts, PageWrite, PageWriteEnd, RunEnd, RunFence, Store, SweepOutcome, SyncRunRow,
};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncJob {
    pub run_id: Uuid,
}

impl Job for SyncJob {
    const QUEUE: &'static str = "portico.sync";
}

/// Pages pulled but not yet committed are held to this many (memory stays flat).
const MAX_BUFFERED_PAGES: usize = 16;

/// What the page loop waits for next.
enum Event<P, W> {
    Pulled(P),
    Written(W),
}

/// How getting one page ended.
enum Pulled {
    Page(Page),
    /// Rate limited for longer than a job should hold its slot.
    Wait(Duration, String),
    Failed(ConnectorError),
    LeaseLost,
}

/// What one execution of a run is working with.
struct Execution<'a> {
    context: &'a JobContext,
    instance: &'a ConnectorInstanceRow,
    run: &'a SyncRunRow,
    lease_id: Uuid,
    connector: &'a dyn Connector,
    mode: SyncMode,
    checkpoint: Option<Value>,
}

pub async fn run(job: &SyncJob, context: &JobContext) -> Result<(), JobError> {
    let store = &context.store;
    let sync = &context.sync;
    let lease_id = Uuid::new_v4();
    let now = Utc::now();
    let lease_expired_before = now - chrono::Duration::seconds(sync.run_lease_secs as i64);
    let Some(run) = store.start_sync_run(job.run_id, lease_id, lease_expired_before, now).await? else {
        tracing::debug!(run_id = %job.run_id, "sync run already ended or held by another worker");
        return Ok(());
    };
    let Some(instance) = store.connector_instance(run.connector_instance_id).await? else {
        store.finish_sync_run(run.id, "cancelled", Some("the connector was deleted"), 0, Utc::now()).await?;
        return Ok(());
    };
    if !instance.enabled {
        store.finish_sync_run(run.id, "cancelled", Some("the connector is disabled"), 0, Utc::now()).await?;
        return Ok(());
    }
    let connector = match context.connectors.build(&instance) {
        Ok(connector) => connector,
        Err(error) => return fail_run(context, &instance, &run, &error.to_string()).await,
    };
    let mode = if run.mode == "full" { SyncMode::Full } else { SyncMode::Incremental };
    let checkpoint =
        store.sync_checkpoint(instance.id, &run.stream).await?.and_then(|row| row.checkpoint.map(|json| json.0));
    tracing::info!(run_id = %run.id, connector = %instance.name, stream = %run.stream, mode = %run.mode, "sync run started");
    let execution = Execution {
        context,
        instance: &instance,
        run: &run,
        lease_id,
        connector: connector.as_ref(),
        mode,
        checkpoint,
    };
    execution.pages().await
}

impl Execution<'_> {
    fn store(&self) -> &Store {
        &self.context.store
    }

    async fn pages(&self) -> Result<(), JobError> {
        let mut next_position = self.run.position.as_ref().map(|json| json.0.clone());
        let mut buffered: Vec<Page> = Vec::new();
        // The last page was pulled.
        let mut exhausted = false;
        // Why pulling stopped early (rate limited, failed, lease lost), handled
        // once every page pulled before it is committed.
        let mut stopped: Option<Pulled> = None;
        let mut pull = Some(Box::pin(self.pull(next_position.clone())));
        let mut write = None;
        let mut positions =
            PositionGuard::new(next_position.as_ref(), self.run.pages, self.context.sync.max_pages_per_run);
        loop {
            // Group commit: everything pulled while the last write was committing
            // goes in the next transaction, so a slow disk costs fewer, larger commits.
            if write.is_none() && !buffered.is_empty() {
                let page_write = self.merge(std::mem::take(&mut buffered));
                write = Some(Box::pin(async move { self.store().apply_page(&page_write).await }));
            }
            if pull.is_none() && !exhausted && stopped.is_none() && buffered.len() < MAX_BUFFERED_PAGES {
                pull = Some(Box::pin(self.pull(next_position.clone())));
            }
            if pull.is_none() && write.is_none() {
                break;
            }
            let event = tokio::select! {
                pulled = async { pull.as_mut().expect("checked").await }, if pull.is_some() => Event::Pulled(pulled),
                written = async { write.as_mut().expect("checked").await }, if write.is_some() => Event::Written(written),
            };
            match event {
                Event::Pulled(pulled) => {
                    pull = None;
                    match pulled? {
                        Pulled::Page(page) => {
                            if let Err(reason) = positions.advance(&page) {
                                // The pages before it are committed; this one repeats them.
                                stopped = Some(Pulled::Failed(ConnectorError::permanent(reason)));
                                continue;
                            }
                            match &page.end {
                                PageEnd::More(position) => next_position = Some(position.clone()),
                                PageEnd::Done(_) => exhausted = true,
                            }
                            buffered.push(page);
                        }
                        other => stopped = Some(other),
                    }
                }
                Event::Written(written) => {
                    write = None;
                    match written? {
                        Some(counts) => self.count(counts),
                        None => return self.stopped_from_outside().await,
                    }
                }
            }
        }
        match stopped {
            Some(Pulled::Wait(delay, message)) => self.wait(delay, &message).await,
            Some(Pulled::Failed(error)) => fail_run(self.context, self.instance, self.run, &error.message).await,
            Some(Pulled::LeaseLost) => self.stopped_from_outside().await,
            Some(Pulled::Page(_)) | None => {
                debug_assert!(exhausted);
                self.finish().await
            }
        }
    }

    /// A commit found the run no longer ours: cancelled (by an admin, or by
    /// disabling or deleting its connector), or taken over by another worker after
    /// this one's lease lapsed. Nothing more is written; the run says which.
    async fn stopped_from_outside(&self) -> Result<(), JobError> {
        match self.store().sync_run(self.run.id).await? {
            Some(run) if run.status == "cancelled" => {
                tracing::info!(run_id = %self.run.id, pages = run.pages, reason = run.error.as_deref().unwrap_or_default(), "sync run cancelled; stopped at this page");
                metrics::counter!("portico_sync_runs_total", "kind" => self.instance.kind.clone(), "status" => "cancelled").increment(1);
            }
            None => tracing::info!(run_id = %self.run.id, "sync run's connector was deleted; stopped at this page"),
            Some(_) => tracing::info!(run_id = %self.run.id, "sync run lost its lease; stopping"),
        }
        Ok(())
    }

    /// Pages pulled back to back, as one write ending where the last one ends.
    fn merge(&self, pages: Vec<Page>) -> PageWrite<'_> {
        let count = pages.len() as i64;
        let mut records = Vec::new();
        let mut deletions = Vec::new();
        let mut failed = 0;
        let mut end = PageWriteEnd::Done(None);
        for page in pages {
            for failure in &page.failed {
                tracing::warn!(run_id = %self.run.id, external_id = ?failure.external_id, reason = %failure.reason, "an upstream record did not map");
            }
            failed += page.failed.len() as i64;
            records.extend(page.records.into_iter().map(prepare));
            deletions.extend(
                page.deletions.into_iter().map(|deletion| (deletion.record_type.as_str(), deletion.external_id)),
            );
            end = match page.end {
                PageEnd::More(next) => PageWriteEnd::More(next),
                PageEnd::Done(checkpoint) => PageWriteEnd::Done(checkpoint),
            };
        }
        PageWrite {
            instance_id: self.instance.id,
            stream: &self.run.stream,
            run: Some(RunFence { run_id: self.run.id, lease_id: self.lease_id }),
            full: self.mode == SyncMode::Full,
            pages: count,
            failed,
            records,
            deletions,
            end,
            deliveries: Vec::new(),
            now: Utc::now(),
        }
    }

    /// One page, retrying transient failures with backoff and waiting out short
    /// Retry-Afters.
    async fn pull(&self, position: Option<Value>) -> Result<Pulled, JobError> {
        let settings = &self.context.sync;
        let max_inline_wait = Duration::from_secs(settings.max_inline_wait_secs);
        let request = PullRequest {
            stream: &self.run.stream,
            mode: self.mode,
            position: position.as_ref(),
            checkpoint: self.checkpoint.as_ref(),
        };
        let mut attempt = 0;
        let mut rate_limited = 0;
        loop {
            let error = match self.connector.pull(request).await {
                Ok(page) => return Ok(Pulled::Page(page)),
                Err(error) => error,
            };
            let delay = match error.class {
                ErrorClass::RateLimited => {
                    rate_limited += 1;
                    let wait = error.retry_after.unwrap_or(Duration::from_secs(1));
                    if wait > max_inline_wait || rate_limited > settings.page_attempts * 4 {
                        return Ok(Pulled::Wait(wait, error.message));
                    }
                    wait
                }
                ErrorClass::Retryable if attempt + 1 < settings.page_attempts => {
                    attempt += 1;
                    let backoff = backoff_delay(
                        attempt,
                        Duration::from_millis(settings.page_retry_base_ms),
                        Duration::from_millis(settings.page_retry_max_ms),
                    );
                    backoff.max(error.retry_after.unwrap_or_default())
                }
                _ => return Ok(Pulled::Failed(error)),
            };
            tracing::debug!(run_id = %self.run.id, error = %error, delay_ms = delay.as_millis() as u64, "retrying page");
            metrics::counter!("portico_sync_page_retries_total", "kind" => self.instance.kind.clone(), "class" => class_name(error.class)).increment(1);
            if !self.store().heartbeat_sync_run(self.run.id, self.lease_id, Utc::now()).await? {
                return Ok(Pulled::LeaseLost);
            }
            tokio::time::sleep(delay).await;
        }
    }

    fn count(&self, counts: PageCounts) {
        let kind = self.instance.kind.clone();
        for (outcome, value) in [
            ("added", counts.added),
            ("updated", counts.updated),
            ("unchanged", counts.unchanged),
            ("deleted", counts.deleted),
        ] {
            if value > 0 {
                metrics::counter!("portico_sync_records_total", "kind" => kind.clone(), "outcome" => outcome)
                    .increment(value as u64);
            }
        }
        metrics::counter!("portico_sync_pages_total", "kind" => kind).increment(1);
    }

    /// The stream is exhausted: sweep deletions after a full run, and close the run.
    async fn finish(&self) -> Result<(), JobError> {
        let store = self.store();
        let now = Utc::now();
        let mut status = "succeeded";
        let mut held = 0;
        let mut note = None;
        let failed = store.sync_run(self.run.id).await?.map(|run| run.failed).unwrap_or(0);
        if self.mode == SyncMode::Full && failed > 0 {
            // A record that was not written was not seen: sweeping now could delete it.
            note = Some(format!(
                "{failed} records were not written (they did not map, or another stream holds their type and id); \
                 no deletions were detected in this run"
            ));
        } else if self.mode == SyncMode::Full {
            let started_at = self.run.started_at.unwrap_or(self.run.queued_at);
            let share = Some(self.instance.delete_guard_share);
            match store.sweep_unseen(self.instance.id, &self.run.stream, self.run.id, started_at, share, now).await? {
                SweepOutcome::Applied(deleted) => {
                    if deleted > 0 {
                        metrics::counter!("portico_sync_records_total", "kind" => self.instance.kind.clone(), "outcome" => "deleted").increment(deleted as u64);
                    }
                }
                SweepOutcome::Held(candidates) => {
                    status = "held";
                    held = candidates;
                    tracing::warn!(run_id = %self.run.id, candidates, "full sync would delete more than the guard allows; held for an admin");
                }
            }
        }
        let degrade_after = self.context.sync.degrade_after_failures.into();
        let end = RunEnd { status, error: note.as_deref(), held_deletions: held, degrade_after, now };
        store.end_sync_run(self.run.id, self.instance.id, &end).await?;
        metrics::counter!("portico_sync_runs_total", "kind" => self.instance.kind.clone(), "status" => status)
            .increment(1);
        tracing::info!(run_id = %self.run.id, status, "sync run finished");
        Ok(())
    }

    /// Rate limited for long: the run waits in the queue, not in a worker slot.
    async fn wait(&self, delay: Duration, message: &str) -> Result<(), JobError> {
        let retry_at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
        self.store().wait_sync_run(self.run.id, self.lease_id, message, retry_at).await?;
        self.context.queue.enqueue_after(SyncJob { run_id: self.run.id }, delay, &self.context.settings).await?;
        tracing::info!(run_id = %self.run.id, delay_secs = delay.as_secs(), "sync run rate limited; re-queued");
        Ok(())
    }
}

fn class_name(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Retryable => "retryable",
        ErrorClass::RateLimited => "rate_limited",
        ErrorClass::Unauthorized => "unauthorized",
        ErrorClass::Permanent => "permanent",
    }
}

/// Ends a run as failed and counts it against the instance.
async fn fail_run(
    context: &JobContext,
    instance: &ConnectorInstanceRow,
    run: &SyncRunRow,
    message: &str,
) -> Result<(), JobError> {
    let now = Utc::now();
    tracing::warn!(run_id = %run.id, connector = %instance.name, error = message, "sync run failed");
    let degrade_after = context.sync.degrade_after_failures.into();
    let end = RunEnd { status: "failed", error: Some(message), held_deletions: 0, degrade_after, now };
    context.store.end_sync_run(run.id, instance.id, &end).await?;
    metrics::counter!("portico_sync_runs_total", "kind" => instance.kind.clone(), "status" => "failed").increment(1);
    Ok(())
}

/// Holds a run to positions that move on: every position a page hands back must
/// be one this run has not been at (a cursor that does not advance, or comes
/// back, would otherwise make the run endless), a page must not hold exactly the
/// records of the page before it (an upstream ignoring its page parameter: the
/// page number advances, the data does not), and the pages stay under
/// `sync.max_pages_per_run`. Positions and pages are kept as digests.
struct PositionGuard {
    seen: std::collections::HashSet<[u8; 32]>,
    last_page: Option<[u8; 32]>,
    pages: u64,
    max_pages: u64,
}

impl PositionGuard {
    /// Starting at `start` (a resumed run's position), with `pages_before` pages
    /// already committed by earlier attempts of the run.
    fn new(start: Option<&Value>, pages_before: i64, max_pages: u64) -> Self {
        let mut guard =
            Self { seen: Default::default(), last_page: None, pages: pages_before.max(0) as u64, max_pages };
        if let Some(start) = start {
            guard.seen.insert(Self::digest(start));
        }
        guard
    }

    fn digest(position: &Value) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        Sha256::digest(position.to_string().as_bytes()).into()
    }

    /// The records of a page, in order; `None` for a page without records.
    fn page_digest(page: &Page) -> Option<[u8; 32]> {
        use sha2::{Digest, Sha256};
        if page.records.is_empty() {
            return None;
        }
        let mut hasher = Sha256::new();
        for record in &page.records {
            hasher.update(record.record_type().as_str());
            hasher.update([0]);
            hasher.update(&record.external_id);
            hasher.update([0]);
        }
        Some(hasher.finalize().into())
    }

    /// Counts a pulled page; why the run must stop, if it must.
    fn advance(&mut self, page: &Page) -> Result<(), String> {
        self.pages += 1;
        if self.pages > self.max_pages {
            return Err(format!(
                "the run pulled more than {} pages (sync.max_pages_per_run); the upstream may never say it is done",
                self.max_pages
            ));
        }
        let shown = |position: &Value| position.to_string().chars().take(200).collect::<String>();
        if let PageEnd::More(position) = &page.end
            && !self.seen.insert(Self::digest(position))
        {
            return Err(format!(
                "upstream repeated cursor {}: it handed back a position this run had already read",
                shown(position)
            ));
        }
        let digest = Self::page_digest(page);
        if digest.is_some() && digest == self.last_page && matches!(page.end, PageEnd::More(_)) {
            let next = match &page.end {
                PageEnd::More(position) => shown(position),
                PageEnd::Done(_) => String::new(),
            };
            return Err(format!(
                "upstream repeated a page: the page that led to {next} held exactly the records of the page \
                 before it (does the upstream ignore its paging parameter?)"
            ));
        }
        self.last_page = digest;
        Ok(())
    }
}

#[cfg(test)]
mod position_tests {
    use portico_connectors::model::{CommonRecord, Contact, Record};
    use serde_json::json;

    use super::*;

    fn page(ids: &[&str], end: PageEnd) -> Page {
        let records = ids
            .iter()
            .map(|id| Record {
                external_id: (*id).to_owned(),
                account_ref: None,
                account_unknown: false,
                parent_external_id: None,
                source_updated_at: None,
                body: CommonRecord::Contact(Contact {
                    name: (*id).to_owned(),
                    kind: "person".into(),
                    email: None,
                    phone: None,
                    company: None,
                }),
                raw: json!({"id": id}),
            })
            .collect();
        Page { records, deletions: Vec::new(), failed: Vec::new(), end }
    }

    fn more(position: Value) -> Page {
        page(&[], PageEnd::More(position))
    }

    #[test]
    fn a_position_that_does_not_advance_or_comes_back_stops_the_run() {
        let mut guard = PositionGuard::new(None, 0, 1_000);
        assert!(guard.advance(&more(json!({"after": "a"}))).is_ok());
        let stuck = guard.advance(&more(json!({"after": "a"}))).unwrap_err();
        assert!(stuck.starts_with("upstream repeated cursor {\"after\":\"a\"}"), "{stuck}");

        let mut guard = PositionGuard::new(Some(&json!({"after": "x"})), 3, 1_000);
        assert!(guard.advance(&more(json!({"after": "y"}))).is_ok());
        assert!(guard.advance(&more(json!({"after": "x"}))).is_err(), "coming back to the start");
        assert!(PositionGuard::new(None, 0, 10).advance(&page(&[], PageEnd::Done(None))).is_ok());
    }

    #[test]
    fn a_page_number_that_advances_over_the_same_records_stops_the_run() {
        let mut guard = PositionGuard::new(None, 0, 1_000);
        assert!(guard.advance(&page(&["1", "2"], PageEnd::More(json!({"page": 2})))).is_ok());
        let repeated = guard.advance(&page(&["1", "2"], PageEnd::More(json!({"page": 3})))).unwrap_err();
        assert!(repeated.starts_with("upstream repeated a page"), "{repeated}");
        // Different records, or empty pages in a row, move on.
        let mut guard = PositionGuard::new(None, 0, 1_000);
        assert!(guard.advance(&page(&["1", "2"], PageEnd::More(json!({"page": 2})))).is_ok());
        assert!(guard.advance(&page(&["3", "4"], PageEnd::More(json!({"page": 3})))).is_ok());
        assert!(guard.advance(&page(&[], PageEnd::More(json!({"page": 4})))).is_ok());
        assert!(guard.advance(&page(&[], PageEnd::More(json!({"page": 5})))).is_ok());
    }

    #[test]
    fn the_page_backstop_counts_pages_of_earlier_attempts_too() {
        let mut guard = PositionGuard::new(None, 9, 10);
        assert!(guard.advance(&more(json!(1))).is_ok());
        let over = guard.advance(&more(json!(2))).unwrap_err();
        assert!(over.contains("more than 10 pages"), "{over}");
    }
}
