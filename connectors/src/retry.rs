//! Backoff delays for retrying transient failures.

use std::time::Duration;

use rand::Rng;

/// Exponential backoff with jitter: attempt 1 waits about `base`, each further
/// attempt doubles it up to `max`, and each delay is drawn between half and all of
/// that, so callers that failed together do not retry together.
pub fn backoff_delay(attempt: u32, base: Duration, max: Duration) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let ceiling = base.saturating_mul(1 << exponent).min(max);
    let jitter: f64 = rand::rng().random_range(0.5..=1.0);
    ceiling.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        for _ in 0..100 {
            let first = backoff_delay(1, base, max);
            assert!(first >= Duration::from_millis(50) && first <= base);
            let third = backoff_delay(3, base, max);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(backoff_delay(30, base, max) <= max);
        }
    }
}
