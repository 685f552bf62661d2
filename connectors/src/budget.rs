//! Rate budgets: one per upstream quota (a provider app's limit is shared by every
//! instance that uses it), in-process.
//!
//! A budget spaces requests to at most `requests_per_second` (with a small burst)
//! and, once an upstream answers 429 with a Retry-After, holds every request on
//! that quota until the time has passed: no request goes out before it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub struct RateBudget {
    /// Minimum spacing between requests; zero when unlimited.
    interval: Duration,
    burst: u32,
    state: Mutex<BudgetState>,
}

#[derive(Debug)]
struct BudgetState {
    /// Token-bucket "theoretical arrival time" (GCRA): when the next request conforms.
    next_conforming: Instant,
    /// No request before this (set from Retry-After).
    blocked_until: Instant,
}

impl RateBudget {
    pub fn new(requests_per_second: Option<f64>) -> Self {
        let interval = match requests_per_second {
            Some(rate) if rate > 0.0 => Duration::from_secs_f64(1.0 / rate),
            _ => Duration::ZERO,
        };
        let now = Instant::now();
        Self { interval, burst: 5, state: Mutex::new(BudgetState { next_conforming: now, blocked_until: now }) }
    }

    /// Waits until a request may be sent on this budget, and takes its slot.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state.lock().expect("budget lock");
                let now = Instant::now();
                if state.blocked_until > now {
                    state.blocked_until - now
                } else {
                    // GCRA: a request conforms if it is no earlier than
                    // next_conforming minus the burst allowance.
                    let allowance = self.interval * self.burst.saturating_sub(1);
                    let earliest = state.next_conforming.checked_sub(allowance).unwrap_or(now);
                    if earliest <= now {
                        state.next_conforming = state.next_conforming.max(now) + self.interval;
                        return;
                    }
                    earliest - now
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Holds every request on this budget for `delay` (an upstream's Retry-After).
    pub fn block_for(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut state = self.state.lock().expect("budget lock");
        state.blocked_until = state.blocked_until.max(until);
    }

    /// How long until requests may go out again, if they are held.
    #[cfg(test)]
    fn blocked_for(&self) -> Option<Duration> {
        let state = self.state.lock().expect("budget lock");
        state.blocked_until.checked_duration_since(Instant::now()).filter(|wait| !wait.is_zero())
    }
}

/// The budgets of one process, by quota key.
#[derive(Debug, Default, Clone)]
pub struct Budgets {
    budgets: Arc<Mutex<HashMap<String, Arc<RateBudget>>>>,
}

impl Budgets {
    /// The budget for `key`, created with `requests_per_second` the first time.
    pub fn get(&self, key: &str, requests_per_second: Option<f64>) -> Arc<RateBudget> {
        let mut budgets = self.budgets.lock().expect("budgets lock");
        budgets.entry(key.to_owned()).or_insert_with(|| Arc::new(RateBudget::new(requests_per_second))).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_after_the_burst() {
        let budget = RateBudget::new(Some(10.0));
        let start = Instant::now();
        for _ in 0..5 {
            budget.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(1), "the burst goes at once");
        for _ in 0..10 {
            budget.acquire().await;
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(990) && elapsed < Duration::from_millis(1100), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_goes_out_before_a_retry_after_passes() {
        let budget = RateBudget::new(None);
        budget.block_for(Duration::from_secs(3));
        let start = Instant::now();
        budget.acquire().await;
        assert!(start.elapsed() >= Duration::from_secs(3));
        assert!(budget.blocked_for().is_none());
    }
}
