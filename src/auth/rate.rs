//! A small in-process limit on how often one key (a source address) may do a
//! thing that costs a row or an outbound request but needs no sign-in: starting
//! single sign-on, asking for a password reset. Per process, so a cluster of N
//! nodes allows N times as much: a bound on abuse, not an exact quota (the
//! sign-in throttle, which must be exact, lives in the database).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    windows: Arc<Mutex<HashMap<String, (Instant, u32)>>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self { limit, window, windows: Arc::default() }
    }

    /// Counts one use by `key`; Err with the wait when its window is used up.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut windows = self.windows.lock().expect("the rate limiter is never poisoned");
        // Keep the map from growing with every address ever seen.
        if windows.len() > 10_000 {
            windows.retain(|_, (started, _)| now.duration_since(*started) < self.window);
        }
        let (started, count) = windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(*started) >= self.window {
            (*started, *count) = (now, 0);
        }
        if *count >= self.limit {
            return Err(self.window.saturating_sub(now.duration_since(*started)).max(Duration::from_secs(1)));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_limit_per_window_and_others_are_untouched() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(limiter.check("198.51.100.1").is_ok());
        }
        let wait = limiter.check("198.51.100.1").unwrap_err();
        assert!(wait > Duration::from_secs(50) && wait <= Duration::from_secs(60), "{wait:?}");
        assert!(limiter.check("198.51.100.2").is_ok());
    }

    #[test]
    fn the_window_starts_over() {
        let limiter = RateLimiter::new(1, Duration::from_millis(20));
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_err());
        std::thread::sleep(Duration::from_millis(25));
        assert!(limiter.check("a").is_ok());
    }
}
