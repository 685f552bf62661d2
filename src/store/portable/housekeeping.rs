use chrono::{DateTime, Utc};

use crate::store::{PurgeCounts, Result};

portable_queries! {
    /// Deletes what has outlived its use: failed sign-ins older than the
    /// throttling window, sessions ended or expired before `records_before`,
    /// mailed links used or expired before it, write-backs delivered before it and
    /// sync runs finished before it (held runs stay until an admin settles them).
    /// Idempotent, so any number of worker processes may run it.
    pub async fn purge_expired(&self, failures_before: DateTime<Utc>, records_before: DateTime<Utc>) -> Result<PurgeCounts> {
        let login_failures = sqlx::query("DELETE FROM login_failures WHERE failed_at < $1")
            .bind(failures_before)
            .execute(&self.pool)
            .await?
            .rows_affected();
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1")
            .bind(records_before)
            .execute(&self.pool)
            .await?
            .rows_affected();
        let user_tokens = sqlx::query("DELETE FROM user_tokens WHERE expires_at < $1 OR used_at < $1")
            .bind(records_before)
            .execute(&self.pool)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM sign_in_codes WHERE expires_at < $1").bind(failures_before).execute(&self.pool).await?;
        sqlx::query("DELETE FROM login_throttle_notices WHERE noticed_until < $1")
            .bind(failures_before)
            .execute(&self.pool)
            .await?;
        // Sign-ins abandoned at the identity provider.
        sqlx::query("DELETE FROM sso_logins WHERE expires_at < $1").bind(failures_before).execute(&self.pool).await?;
        let outbox = sqlx::query("DELETE FROM outbox WHERE status = 'delivered' AND delivered_at < $1")
            .bind(records_before)
            .execute(&self.pool)
            .await?
            .rows_affected();
        let sync_runs = sqlx::query(
            "DELETE FROM sync_runs WHERE status IN ('succeeded', 'failed', 'discarded', 'cancelled') AND finished_at < $1",
        )
        .bind(records_before)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(PurgeCounts { login_failures, sessions, user_tokens, outbox, sync_runs })
    }
}
