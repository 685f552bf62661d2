//! Fault injection shared by the fake upstreams.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;

/// What share of requests get each fault. The default is none.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Answered 500.
    pub server_error_rate: f64,
    /// Answered 429 with `Retry-After: retry_after_secs`.
    pub rate_limit_rate: f64,
    pub retry_after_secs: u64,
    /// Held for `stall` before answering (past the client's timeout).
    pub stall_rate: f64,
    pub stall: Duration,
    /// Answered with headers, then the connection is cut mid-body.
    pub reset_rate: f64,
}

impl Faults {
    pub fn none() -> Self {
        Self::default()
    }

    /// The mix the fault tests use: 30% 500s, 5% 429s, 4% stalls, 5% resets.
    pub fn hostile(stall: Duration) -> Self {
        Self {
            server_error_rate: 0.30,
            rate_limit_rate: 0.05,
            retry_after_secs: 1,
            stall_rate: 0.04,
            stall,
            reset_rate: 0.05,
        }
    }
}

/// What a fake upstream saw, for assertions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultReport {
    pub requests: u64,
    pub server_errors: u64,
    pub rate_limited: u64,
    pub stalls: u64,
    pub resets: u64,
    /// Requests that arrived while a Retry-After we had sent was still running.
    pub early_after_retry_after: u64,
}

/// The fault decision for one request.
pub enum Fault {
    None,
    ServerError,
    RateLimited(u64),
    Stall(Duration),
    Reset,
}

/// Faults are dealt from a shuffled deck of this many cards, so every 100
/// requests carry exactly the configured share of each fault (in random order).
const DECK_SIZE: usize = 100;

/// Requests arriving this soon after a 429 was sent were in flight before the
/// client could have read it (another stream's page, already on the wire): they
/// are not counted as ignoring the Retry-After. A loaded test machine can hold a
/// request between send and arrival for tens of milliseconds.
const IN_FLIGHT: Duration = Duration::from_millis(250);

#[derive(Clone, Copy)]
enum Card {
    Clean,
    ServerError,
    RateLimited,
    Stall,
    Reset,
}

/// Per-server fault state: the deck, the Retry-After deadline, the report.
pub struct FaultState {
    faults: Faults,
    rng: SmallRng,
    deck: Vec<Card>,
    /// When the last 429 was sent, and until when its Retry-After runs.
    retry_after_until: Option<(Instant, Instant)>,
    pub report: FaultReport,
}

impl FaultState {
    pub fn new(seed: u64) -> Self {
        Self {
            faults: Faults::none(),
            rng: SmallRng::seed_from_u64(seed),
            deck: Vec::new(),
            retry_after_until: None,
            report: FaultReport::default(),
        }
    }

    pub fn set(&mut self, faults: Faults) {
        self.faults = faults;
        self.deck.clear();
    }

    fn deal(&mut self) -> Card {
        if self.deck.is_empty() {
            let count = |rate: f64| (rate * DECK_SIZE as f64).round() as usize;
            let faults = &self.faults;
            for (card, rate) in [
                (Card::ServerError, faults.server_error_rate),
                (Card::RateLimited, faults.rate_limit_rate),
                (Card::Stall, faults.stall_rate),
                (Card::Reset, faults.reset_rate),
            ] {
                self.deck.extend(std::iter::repeat_n(card, count(rate)));
            }
            let clean = DECK_SIZE.saturating_sub(self.deck.len());
            self.deck.extend(std::iter::repeat_n(Card::Clean, clean));
            self.deck.shuffle(&mut self.rng);
        }
        self.deck.pop().expect("a full deck")
    }

    /// Counts the request, notes whether it ignored a Retry-After, and picks its fault.
    pub fn decide(&mut self) -> Fault {
        self.report.requests += 1;
        let now = Instant::now();
        if let Some((sent, until)) = self.retry_after_until {
            // A little slack for clock granularity between the two processes' timers.
            if now + Duration::from_millis(20) >= until {
                self.retry_after_until = None;
            } else if now > sent + IN_FLIGHT {
                self.report.early_after_retry_after += 1;
            }
        }
        match self.deal() {
            Card::Clean => Fault::None,
            Card::ServerError => {
                self.report.server_errors += 1;
                Fault::ServerError
            }
            Card::RateLimited => {
                self.report.rate_limited += 1;
                let secs = self.faults.retry_after_secs.max(1);
                self.retry_after_until = Some((now, now + Duration::from_secs(secs)));
                Fault::RateLimited(secs)
            }
            Card::Stall => {
                self.report.stalls += 1;
                Fault::Stall(self.faults.stall)
            }
            Card::Reset => {
                self.report.resets += 1;
                Fault::Reset
            }
        }
    }
}

/// A response whose headers promise a body that never fully arrives: the client
/// sees the connection cut mid-response.
pub fn cut_off_response() -> Response {
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
        Ok(bytes::Bytes::from_static(b"{\"data\": [")),
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "fault injected")),
    ];
    let mut response = Response::new(Body::from_stream(futures::stream::iter(chunks)));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from_static("100000"));
    response
}

pub fn too_many_requests(retry_after_secs: u64, body: serde_json::Value) -> Response {
    let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_after_a_429_counts_as_early_unless_it_was_already_in_flight() {
        let mut state = FaultState::new(1);
        state.set(Faults { rate_limit_rate: 1.0, retry_after_secs: 2, ..Faults::none() });
        assert!(matches!(state.decide(), Fault::RateLimited(2)));
        state.decide();
        assert_eq!(state.report.early_after_retry_after, 0, "sent before the 429 could be read");
        std::thread::sleep(IN_FLIGHT + Duration::from_millis(50));
        state.decide();
        assert_eq!(state.report.early_after_retry_after, 1, "sent while Retry-After still ran");
    }
}
