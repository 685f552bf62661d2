//! Sign-in throttling, per email address and per source address, over a sliding
//! window kept in the database (so it holds across processes and restarts).
//!
//! An attempt is reserved before its password is checked ([`admit`]), so a burst
//! of parallel guesses cannot all slip in between a count and its increment.

use chrono::{DateTime, Duration, Utc};

use crate::config::AuthSettings;
use crate::store::{LoginFailureCounts, Store, StoreError};

/// A sign-in attempt let through: it already counts as a failure until the
/// password (and second factor) prove right.
#[derive(Debug)]
#[must_use = "an admitted attempt counts as a failure unless it is released or forgiven"]
pub struct Attempt {
    attempt_id: i64,
}

impl Attempt {
    /// Withdraws the attempt: the password was right and the second factor is
    /// still to come, which is not a failure.
    pub async fn release(self, store: &Store) -> Result<(), StoreError> {
        store.release_login_attempt(self.attempt_id).await
    }

    /// Leaves the attempt counted as a failure.
    pub fn fail(self) {}
}

/// Whether a sign-in may be attempted now.
#[derive(Debug)]
pub enum Admission {
    Admitted(Attempt),
    Refused {
        /// How long until an attempt may be made again.
        wait: Duration,
        /// The first refusal of this window for its subject: worth one audit
        /// event, where every later one is not.
        first_of_window: bool,
    },
}

/// Reserves one attempt for `email` from `ip_address`, or refuses it when either
/// has used up its window.
pub async fn admit(
    store: &Store,
    settings: &AuthSettings,
    email: &str,
    ip_address: &str,
    now: DateTime<Utc>,
) -> Result<Admission, StoreError> {
    let window = Duration::seconds(settings.login_failure_window_secs as i64);
    let (attempt_id, counts) = store.reserve_login_attempt(email, ip_address, now, now - window).await?;
    let exceeded = exceeded_limits(&counts, settings, window, now);
    let Some(wait) = exceeded.iter().map(|(_, wait)| *wait).max() else {
        return Ok(Admission::Admitted(Attempt { attempt_id }));
    };
    store.release_login_attempt(attempt_id).await?;
    let mut first_of_window = false;
    for (limit, wait) in exceeded {
        let subject = match limit {
            Limit::Email => format!("email:{email}"),
            Limit::Address => format!("address:{ip_address}"),
        };
        first_of_window |= store.note_login_throttled(&subject, now, now + wait).await?;
    }
    Ok(Admission::Refused { wait, first_of_window })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    Email,
    Address,
}

/// The limits this attempt (already counted in `counts`) goes past, each with
/// how long until its window frees up.
fn exceeded_limits(
    counts: &LoginFailureCounts,
    settings: &AuthSettings,
    window: Duration,
    now: DateTime<Utc>,
) -> Vec<(Limit, Duration)> {
    let limits = [
        (Limit::Email, counts.by_email, settings.login_failures_per_account as i64),
        (Limit::Address, counts.by_address, settings.login_failures_per_address as i64),
    ];
    limits
        .into_iter()
        .filter(|(_, (count, _), limit)| count > limit)
        // The window frees up when its oldest failure ages out.
        .map(|(which, (_, oldest), _)| {
            let wait = oldest.map_or(window, |oldest| oldest + window - now);
            (which, wait.max(Duration::seconds(1)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AuthSettings {
        crate::config::Settings::defaults().auth
    }

    #[test]
    fn up_to_the_limits_nothing_waits() {
        let now = Utc::now();
        // This attempt included: the fifth for the email, the twentieth for the address.
        let counts = LoginFailureCounts { by_email: (5, Some(now)), by_address: (20, Some(now)) };
        assert!(exceeded_limits(&counts, &settings(), Duration::minutes(15), now).is_empty());
    }

    #[test]
    fn past_a_limit_the_wait_runs_until_the_oldest_failure_ages_out() {
        let now = Utc::now();
        let oldest = now - Duration::minutes(5);
        let counts = LoginFailureCounts { by_email: (6, Some(oldest)), by_address: (6, Some(oldest)) };
        assert_eq!(
            exceeded_limits(&counts, &settings(), Duration::minutes(15), now),
            vec![(Limit::Email, Duration::minutes(10))]
        );
    }
}
