//! Sign-in throttling, per email address and per source address, over a sliding
//! window kept in the database (so it holds across processes and restarts).

use chrono::{DateTime, Duration, Utc};

use crate::config::AuthSettings;
use crate::store::{LoginFailureCounts, Store, StoreError};

/// Whether a sign-in may be attempted now; if not, how long until it may.
pub async fn check(
    store: &Store,
    settings: &AuthSettings,
    email: &str,
    ip_address: &str,
    now: DateTime<Utc>,
) -> Result<Option<Duration>, StoreError> {
    let window = Duration::seconds(settings.login_failure_window_secs as i64);
    let counts = store.recent_login_failures(email, ip_address, now - window).await?;
    Ok(wait_required(&counts, settings, window, now))
}

fn wait_required(
    counts: &LoginFailureCounts,
    settings: &AuthSettings,
    window: Duration,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let limits = [
        (counts.by_email, settings.login_failures_per_account as i64),
        (counts.by_address, settings.login_failures_per_address as i64),
    ];
    limits
        .into_iter()
        .filter(|((count, _), limit)| count >= limit)
        // The window frees up when its oldest failure ages out.
        .filter_map(|((_, oldest), _)| oldest.map(|oldest| oldest + window - now))
        .max()
        .map(|wait| wait.max(Duration::seconds(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AuthSettings {
        crate::config::Settings::defaults().auth
    }

    #[test]
    fn under_the_limits_nothing_waits() {
        let now = Utc::now();
        let counts = LoginFailureCounts { by_email: (4, Some(now)), by_address: (19, Some(now)) };
        assert_eq!(wait_required(&counts, &settings(), Duration::minutes(15), now), None);
    }

    #[test]
    fn at_the_limit_the_wait_runs_until_the_oldest_failure_ages_out() {
        let now = Utc::now();
        let oldest = now - Duration::minutes(5);
        let counts = LoginFailureCounts { by_email: (5, Some(oldest)), by_address: (5, Some(oldest)) };
        assert_eq!(wait_required(&counts, &settings(), Duration::minutes(15), now), Some(Duration::minutes(10)));
    }
}
