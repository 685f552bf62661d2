//! `GET /api/v1/events`: a Server-Sent Events stream of the record changes the
//! caller may see, and only those.
//!
//! Each entry of the process's [`ChangeFeed`] is checked against the caller's
//! [`Audience`] as it is delivered. An access change that concerns the caller (a
//! membership or role changed, a session or token revoked) makes the stream check
//! again at once, and it re-checks every `events.recheck_secs` regardless: a
//! revoked credential ends the stream with `event: revoked`. Event ids are feed
//! numbers; a client reconnecting with `Last-Event-ID` gets what it missed from the
//! retained window, or `event: reset` (reload everything) if that is gone.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::{broadcast, mpsc};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::audience::Audience;
use crate::auth::{Caller, ClientInfo};
use crate::events::FeedEntry;
use crate::events::feed::RecordChange;
use crate::server::AppState;
use crate::server::problem::ErrorCode;
use crate::server::problem::{ApiError, FieldError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

/// Events buffered per stream before the stream task waits for the client.
const STREAM_BUFFER: usize = 64;

/// Live changes to the records the caller may see, as Server-Sent Events.
///
/// `event: record` carries a [`RecordChange`] (`id:` is its feed number; reload the
/// record for its full content). `event: reset` says missed changes could not be
/// replayed: reload what is on screen. `event: revoked` ends the stream: the
/// session or token is no longer valid.
#[utoipa::path(get, path = "/api/v1/events", extensions(("x-permission" = json!("signed in"))), tag = "events",
    params(("Last-Event-ID" = Option<i64>, Header, description = "The last event id received, to resume after it")),
    responses(
        (status = 200, description = "The event stream", body = RecordChange, content_type = "text/event-stream"),
        (status = 401, description = "Not signed in", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Last-Event-ID is not an event id", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many open streams for this user (`events.max_streams_per_user`)", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientInfo,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resume_after = match headers.get("last-event-id") {
        None => None,
        Some(value) => Some(value.to_str().ok().and_then(|text| text.trim().parse::<i64>().ok()).ok_or_else(|| {
            ApiError::validation(vec![FieldError {
                field: "Last-Event-ID".into(),
                message: "must be an event id from this stream".into(),
            }])
        })?),
    };
    // Each stream holds a task and a subscription: a bounded number per person.
    let slot = state.feed.open_stream(caller.user_id, state.settings.events.max_streams_per_user).ok_or_else(|| {
        ApiError::new(ErrorCode::RateLimited, "Too many open event streams for this user; close one first.")
    })?;
    let audience = Audience::of(&state.store, &state.settings, &caller).await?;
    // Subscribed before reading the feed's head, so no entry falls between the two.
    let entries = state.feed.subscribe();
    let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
    let heartbeat = Duration::from_secs(state.settings.events.heartbeat_secs);
    let stream = EventStream { state, caller, client, headers, audience, delivered: 0, sender, _slot: slot };
    tokio::spawn(stream.run(entries, resume_after));
    metrics::gauge!(crate::telemetry::EVENT_STREAMS).increment(1.0);

    let events = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|event| (Ok(event), receiver))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(heartbeat).text("heartbeat")))
}

/// One open stream: its caller, what they may see, and how far it got.
struct EventStream {
    state: AppState,
    caller: Caller,
    client: ClientInfo,
    /// The request's credentials, to check again later.
    headers: HeaderMap,
    audience: Audience,
    /// The last feed number passed (sent or not visible).
    delivered: i64,
    sender: mpsc::Sender<Event>,
    /// Released when the stream ends.
    _slot: crate::events::feed::StreamSlot,
}

/// Why a stream stops.
enum Stop {
    /// The client went away.
    Gone,
    /// The credential is no longer valid.
    Revoked,
}

impl EventStream {
    async fn run(mut self, mut entries: broadcast::Receiver<Arc<FeedEntry>>, resume_after: Option<i64>) {
        let result = self.serve(&mut entries, resume_after).await;
        metrics::gauge!(crate::telemetry::EVENT_STREAMS).decrement(1.0);
        match result {
            Ok(Stop::Gone) => {}
            Ok(Stop::Revoked) => {
                let _ = self.sender.send(Event::default().event("revoked").data("{}")).await;
            }
            Err(error) => tracing::warn!(?error, "event stream failed"),
        }
    }

    async fn serve(
        &mut self,
        entries: &mut broadcast::Receiver<Arc<FeedEntry>>,
        resume_after: Option<i64>,
    ) -> Result<Stop, ApiError> {
        self.delivered = self.state.feed.head();
        if let Some(after) = resume_after
            && let Some(stop) = self.replay(after).await?
        {
            return Ok(stop);
        }
        let mut recheck = tokio::time::interval(Duration::from_secs(self.state.settings.events.recheck_secs));
        recheck.tick().await;
        loop {
            tokio::select! {
                () = self.sender.closed() => return Ok(Stop::Gone),
                // Shutting down: end the stream so the connection drains (clients reconnect elsewhere).
                () = self.state.feed.closing() => return Ok(Stop::Gone),
                _ = recheck.tick() => {
                    if let Some(stop) = self.recheck().await? {
                        return Ok(stop);
                    }
                }
                received = entries.recv() => match received {
                    Ok(entry) => {
                        if let Some(stop) = self.pass(&entry).await? {
                            return Ok(stop);
                        }
                    }
                    // Fell behind the broadcast: what it dropped is still in the table.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if let Some(stop) = self.replay(self.delivered).await? {
                            return Ok(stop);
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(Stop::Gone),
                },
            }
        }
    }

    /// One feed entry: sent if the caller may see it; an access change that
    /// concerns them re-checks their access first.
    async fn pass(&mut self, entry: &FeedEntry) -> Result<Option<Stop>, ApiError> {
        if entry.seq() <= self.delivered {
            return Ok(None);
        }
        self.delivered = entry.seq();
        match entry {
            FeedEntry::Record { seq, change } => self.send_if_visible(*seq, change).await,
            FeedEntry::Access { account_id, user_id, .. } => {
                if self.audience.concerns(self.caller.user_id, *account_id, *user_id) {
                    return self.recheck().await;
                }
                Ok(None)
            }
        }
    }

    async fn send_if_visible(&self, seq: i64, change: &RecordChange) -> Result<Option<Stop>, ApiError> {
        if !self.audience.may_see(change.account_id, &change.record_type) {
            return Ok(None);
        }
        let event =
            Event::default().id(seq.to_string()).event("record").json_data(change).expect("a record change serializes");
        Ok(self.send(event).await)
    }

    async fn send(&self, event: Event) -> Option<Stop> {
        self.sender.send(event).await.err().map(|_| Stop::Gone)
    }

    /// The caller's credential and access, looked up again.
    async fn recheck(&mut self) -> Result<Option<Stop>, ApiError> {
        match Caller::resolve(&self.state, &self.headers, self.client.clone()).await {
            Ok(caller) if caller.user_id == self.caller.user_id => {
                self.audience = Audience::of(&self.state.store, &self.state.settings, &caller).await?;
                self.caller = caller;
                Ok(None)
            }
            Ok(_) => Ok(Some(Stop::Revoked)),
            Err(error) if error.code() == ErrorCode::Unauthenticated => Ok(Some(Stop::Revoked)),
            Err(error) => Err(error),
        }
    }

    /// Sends the visible changes after `after` up to the feed's head from the
    /// table, or `reset` if they are no longer all there (or too many).
    async fn replay(&mut self, after: i64) -> Result<Option<Stop>, ApiError> {
        let head = self.state.feed.head();
        let (oldest, _) = self.state.store.change_feed_bounds().await?;
        let max = self.state.settings.events.replay_max;
        // Everything in (after, head] must still be there; an id from the future is not ours.
        let retained = after == head || (after < head && oldest > 0 && oldest <= after + 1);
        let missed = if retained {
            let accounts = self.audience.account_ids();
            let rows =
                self.state.store.record_changes_between(after, head, accounts.as_deref(), max as i64 + 1).await?;
            (rows.len() <= max).then_some(rows)
        } else {
            None
        };
        self.delivered = head;
        let Some(rows) = missed else {
            return Ok(self.send(Event::default().event("reset").data("{}")).await);
        };
        for entry in rows.into_iter().filter_map(FeedEntry::from_row) {
            if let FeedEntry::Record { seq, change } = &entry
                && let Some(stop) = self.send_if_visible(*seq, change).await?
            {
                return Ok(Some(stop));
            }
        }
        Ok(None)
    }
}
