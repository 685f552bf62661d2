//! One reader of the change feed per server process: it follows the table in
//! `seq` order and broadcasts each entry to the process's event streams.
//!
//! On PostgreSQL it is woken by `NOTIFY portico_change_feed` (sent by the feed's
//! triggers, delivered at commit), so a change written by any process (a worker,
//! another server) reaches streams on every server at once; polling every
//! `events.poll_ms` is the fallback (and all there is on SQLite, where the feed
//! is a cheap primary-key probe).
//!
//! PostgreSQL numbers entries when they are inserted, not when they commit: a
//! long transaction's entry can appear after later numbers were read. Passing a
//! gap at once would lose that entry for good, so the reader stops at a gap and
//! waits up to `events.gap_wait_ms` for it to fill (a rolled-back transaction
//! leaves a gap forever).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::config::EventSettings;
use crate::store::{ChangeFeedRow, Store, StoreError};

/// Entries read per query.
const READ_BATCH: i64 = 500;
/// How many entries a slow stream may fall behind before it re-reads from the table.
const BROADCAST_CAPACITY: usize = 4096;
/// The PostgreSQL channel the feed's triggers notify.
pub const NOTIFY_CHANNEL: &str = "portico_change_feed";

/// A record change as event streams carry it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordChange {
    pub account_id: Uuid,
    /// The stored record type: `invoice`, `payment`, `document`, `ticket`, `ticket_message`, `order`, `task`.
    #[serde(rename = "type")]
    pub record_type: String,
    pub id: Uuid,
    /// `created`, `updated` or `deleted`.
    pub change: String,
    pub status: Option<String>,
    pub title: Option<String>,
    pub changed_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub enum FeedEntry {
    Record {
        seq: i64,
        change: RecordChange,
    },
    /// What `user_id` (or everyone in `account_id`) may see changed.
    Access {
        seq: i64,
        account_id: Option<Uuid>,
        user_id: Option<Uuid>,
    },
}

impl FeedEntry {
    pub fn seq(&self) -> i64 {
        match self {
            FeedEntry::Record { seq, .. } | FeedEntry::Access { seq, .. } => *seq,
        }
    }

    /// `None` for a row a newer version wrote in a shape this one does not know.
    pub fn from_row(row: ChangeFeedRow) -> Option<Self> {
        match row.kind.as_str() {
            "record" => Some(FeedEntry::Record {
                seq: row.seq,
                change: RecordChange {
                    account_id: row.account_id?,
                    record_type: row.record_type?,
                    id: row.record_id?,
                    change: row.change?,
                    status: row.status,
                    title: row.title,
                    changed_at: row.changed_at,
                },
            }),
            "access" => Some(FeedEntry::Access { seq: row.seq, account_id: row.account_id, user_id: row.user_id }),
            _ => None,
        }
    }
}

/// The process's view of the feed: subscribe to entries as they are read.
#[derive(Debug, Clone)]
pub struct ChangeFeed {
    sender: broadcast::Sender<Arc<FeedEntry>>,
    /// The last entry broadcast: streams replaying from the table read up to here.
    head: Arc<AtomicI64>,
    /// Cancelled when the process shuts down: open streams end, so connections drain.
    shutdown: CancellationToken,
    /// Open streams per user in this process.
    streams: Arc<std::sync::Mutex<std::collections::HashMap<Uuid, usize>>>,
}

/// One open stream, counted against its user until dropped.
#[derive(Debug)]
pub struct StreamSlot {
    streams: Arc<std::sync::Mutex<std::collections::HashMap<Uuid, usize>>>,
    user_id: Uuid,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut streams = self.streams.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = streams.get_mut(&self.user_id) {
            *count -= 1;
            if *count == 0 {
                streams.remove(&self.user_id);
            }
        }
    }
}

impl ChangeFeed {
    /// Starts following the feed from its current end (found once the database
    /// answers: a server starts, and says it is not ready, without it).
    pub fn start(
        store: Store,
        settings: EventSettings,
        shutdown: CancellationToken,
        supervisor: &crate::supervisor::Supervisor,
    ) -> Self {
        let (sender, _) = broadcast::channel(BROADCAST_CAPACITY);
        let feed = ChangeFeed {
            sender,
            head: Arc::new(AtomicI64::new(0)),
            shutdown: shutdown.clone(),
            streams: Default::default(),
        };
        supervisor.spawn_until_shutdown("change feed follower", feed.clone().follow(store, settings, shutdown));
        feed
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<FeedEntry>> {
        self.sender.subscribe()
    }

    /// A slot for one more stream of `user_id`, unless they hold `limit` already.
    pub fn open_stream(&self, user_id: Uuid, limit: usize) -> Option<StreamSlot> {
        let mut streams = self.streams.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = streams.entry(user_id).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(StreamSlot { streams: self.streams.clone(), user_id })
    }

    /// Resolves when the process starts shutting down.
    pub async fn closing(&self) {
        self.shutdown.cancelled().await
    }

    pub fn head(&self) -> i64 {
        self.head.load(Ordering::Acquire)
    }

    async fn follow(self, store: Store, settings: EventSettings, shutdown: CancellationToken) {
        let poll = Duration::from_millis(settings.poll_ms);
        let gap_wait = Duration::from_millis(settings.gap_wait_ms);
        loop {
            match store.change_feed_bounds().await {
                Ok((_, newest)) => {
                    self.head.store(newest, Ordering::Release);
                    break;
                }
                Err(error) => {
                    tracing::warn!(error = %crate::server::problem::error_chain(&error), "cannot read the change feed yet");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(poll.max(Duration::from_secs(1))) => {}
                    }
                }
            }
        }
        let mut wake = Wake::new(&store).await;
        let mut gap_since: Option<Instant> = None;
        loop {
            // At a gap, look again soon: the missing entry is usually a commit away.
            let wait = if gap_since.is_some() { poll.min(Duration::from_millis(20)) } else { poll };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = wake.wait(wait) => {}
            }
            loop {
                match self.read_once(&store, gap_wait, &mut gap_since).await {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(error) => {
                        tracing::warn!(error = %crate::server::problem::error_chain(&error), "reading the change feed failed");
                        break;
                    }
                }
            }
        }
    }

    /// Reads and broadcasts one batch; whether there may be more right away.
    async fn read_once(
        &self,
        store: &Store,
        gap_wait: Duration,
        gap_since: &mut Option<Instant>,
    ) -> Result<bool, StoreError> {
        let mut head = self.head();
        let rows = store.change_feed_after(head, READ_BATCH).await?;
        let full = rows.len() as i64 == READ_BATCH;
        for row in rows {
            if row.seq != head + 1 {
                let waiting_since = *gap_since.get_or_insert_with(Instant::now);
                if waiting_since.elapsed() < gap_wait {
                    return Ok(false);
                }
                tracing::debug!(from = head + 1, to = row.seq - 1, "passing a gap in the change feed");
            }
            *gap_since = None;
            head = row.seq;
            // The head moves before the entry is sent: a stream that subscribed and
            // then read the head either sees this entry or had it counted as past.
            self.head.store(head, Ordering::Release);
            if let Some(entry) = FeedEntry::from_row(row) {
                // No receivers is fine: nobody is listening in this process.
                let _ = self.sender.send(Arc::new(entry));
            }
        }
        Ok(full && gap_since.is_none())
    }
}

/// What wakes the reader: a PostgreSQL notification or the poll interval.
enum Wake {
    Poll,
    Notified(Box<sqlx::postgres::PgListener>),
}

impl Wake {
    async fn new(store: &Store) -> Self {
        let Store::Postgres(postgres) = store else { return Wake::Poll };
        let listener = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(postgres.pool()).await?;
            listener.listen(NOTIFY_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listener.await {
            Ok(listener) => Wake::Notified(Box::new(listener)),
            Err(error) => {
                tracing::warn!(%error, "cannot LISTEN for change notifications; polling the change feed instead");
                Wake::Poll
            }
        }
    }

    async fn wait(&mut self, poll: Duration) {
        match self {
            Wake::Poll => tokio::time::sleep(poll).await,
            Wake::Notified(listener) => {
                tokio::select! {
                    received = listener.recv() => {
                        if let Err(error) = received {
                            // The listener reconnects on its next call; notifications
                            // sent meanwhile are caught by the poll.
                            tracing::warn!(%error, "change notification listener lost its connection");
                            tokio::time::sleep(poll).await;
                        }
                    }
                    () = tokio::time::sleep(poll) => {}
                }
            }
        }
    }
}
