use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{LoginUser, NewSession, Result, SessionRecord, SessionSummary, new_id};

portable_queries! {
    /// The user a sign-in names, if any; `email` must already be lower-cased.
    pub async fn find_login_user(&self, email: &str) -> Result<Option<LoginUser>> {
        let user = sqlx::query_as("SELECT id, password_hash, status, mfa_secret_sealed, mfa_enabled_at FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        Ok(user)
    }

    pub async fn create_session(&self, session: &NewSession) -> Result<Uuid> {
        let session_id = new_id();
        let proved_at = session.method.proves_password().then_some(session.created_at);
        let second_factor_at = session.second_factor.then_some(session.created_at);
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, user_id, scoped_account_id, user_agent, ip_address, created_at, last_seen_at, expires_at,
                                   auth_method, proved_at, second_factor_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11)",
        )
        .bind(session_id)
        .bind(&session.token_hash)
        .bind(session.user_id)
        .bind(session.scoped_account_id)
        .bind(&session.user_agent)
        .bind(&session.ip_address)
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(session.method.as_str())
        .bind(proved_at)
        .bind(second_factor_at)
        .execute(&self.pool)
        .await?;
        sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(session.created_at)
            .bind(session.user_id)
            .execute(&self.pool)
            .await?;
        Ok(session_id)
    }

    /// A live session by its token hash: not revoked, not past its absolute expiry,
    /// used since `idle_cutoff`, and its user active.
    pub async fn live_session(&self, token_hash: &[u8], now: DateTime<Utc>, idle_cutoff: DateTime<Utc>) -> Result<Option<SessionRecord>> {
        let session = sqlx::query_as(
            "SELECT s.id AS session_id, s.user_id, u.email, u.display_name, r.role AS staff_role, s.last_seen_at,
                    s.proved_at, s.second_factor_at IS NOT NULL AS second_factor_proven,
                    u.mfa_enabled_at IS NOT NULL AS mfa_enabled, s.scoped_account_id
             FROM sessions s
             JOIN users u ON u.id = s.user_id
             LEFT JOIN staff_roles r ON r.user_id = s.user_id
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND s.last_seen_at > $3
               AND u.status = 'active'",
        )
        .bind(token_hash)
        .bind(now)
        .bind(idle_cutoff)
        .fetch_optional(&self.pool)
        .await?;
        Ok(session)
    }

    /// Stamps when sessions and API tokens were last used, in one transaction.
    pub async fn record_usage(&self, sessions: &[(Uuid, DateTime<Utc>)], tokens: &[(Uuid, DateTime<Utc>)]) -> Result<()> {
        let mut transaction = self.begin_write().await?;
        for (session_id, at) in sessions {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1")
                .bind(*at)
                .bind(*session_id)
                .execute(&mut *transaction)
                .await?;
        }
        for (token_id, at) in tokens {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)")
                .bind(*at)
                .bind(*token_id)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    pub async fn revoke_session(&self, session_id: Uuid, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(session_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a password proof made in a live session (re-authentication for
    /// step-up), and a second factor's if one was proven with it.
    pub async fn record_session_proof(&self, session_id: Uuid, second_factor: bool, at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE sessions SET proved_at = $1, second_factor_at = CASE WHEN $2 THEN $1 ELSE second_factor_at END
             WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(second_factor)
        .bind(session_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives a live session a new token (its cookie value), invalidating the old one.
    pub async fn rotate_session_token(&self, session_id: Uuid, new_token_hash: &[u8]) -> Result<bool> {
        let result = sqlx::query("UPDATE sessions SET token_hash = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(new_token_hash)
            .bind(session_id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn revoke_session_by_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A user's live sessions, most recently used first.
    pub async fn user_sessions(&self, user_id: Uuid, now: DateTime<Utc>, idle_cutoff: DateTime<Utc>) -> Result<Vec<SessionSummary>> {
        let sessions = sqlx::query_as(
            "SELECT id AS session_id, created_at, last_seen_at, ip_address, user_agent FROM sessions
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_seen_at > $3
             ORDER BY last_seen_at DESC",
        )
        .bind(user_id)
        .bind(now)
        .bind(idle_cutoff)
        .fetch_all(&self.pool)
        .await?;
        Ok(sessions)
    }

    /// Ends one of the user's own sessions; false if it is not theirs or already ended.
    pub async fn revoke_user_session(&self, user_id: Uuid, session_id: Uuid, now: DateTime<Utc>) -> Result<bool> {
        let result = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
            .bind(now)
            .bind(session_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn password_hash_of(&self, user_id: Uuid) -> Result<Option<String>> {
        let row: Option<(Option<String>,)> = sqlx::query_as("SELECT password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|(hash,)| hash))
    }

    /// Sets a new password and, at once, ends what the old one may have handed out:
    /// every other session, the pending mailed links (reset, email change), and the
    /// user's API tokens unless `keep_api_tokens` (an explicit choice of the user).
    pub async fn change_password(&self, user_id: Uuid, password_hash: &str, keep_session: Option<Uuid>, keep_api_tokens: bool, now: DateTime<Utc>) -> Result<PasswordChanged> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(now)
            .bind(user_id)
            .execute(&mut *transaction)
            .await?;
        let sessions_ended = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND ($3 IS NULL OR id <> $3)",
        )
        .bind(now)
        .bind(user_id)
        .bind(keep_session)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        let links_ended = sqlx::query(
            "UPDATE user_tokens SET used_at = $1
             WHERE user_id = $2 AND used_at IS NULL AND purpose IN ('password_reset', 'email_change')",
        )
        .bind(now)
        .bind(user_id)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        let api_tokens_revoked = if keep_api_tokens {
            0
        } else {
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE created_by = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(user_id)
                .execute(&mut *transaction)
                .await?
                .rows_affected()
        };
        transaction.commit().await?;
        Ok(PasswordChanged { sessions_ended, links_ended, api_tokens_revoked })
    }

    /// Failed sign-ins since `since` for this email and from this address, with the
    /// oldest of each (to say when the window frees up).
    pub async fn recent_login_failures(&self, email: &str, ip_address: &str, since: DateTime<Utc>) -> Result<LoginFailureCounts> {
        let by_email: (i64, Option<DateTime<Utc>>) =
            sqlx::query_as("SELECT COUNT(*), MIN(failed_at) FROM login_failures WHERE email = $1 AND failed_at > $2")
                .bind(email)
                .bind(since)
                .fetch_one(&self.pool)
                .await?;
        let by_address: (i64, Option<DateTime<Utc>>) =
            sqlx::query_as("SELECT COUNT(*), MIN(failed_at) FROM login_failures WHERE ip_address = $1 AND failed_at > $2")
                .bind(ip_address)
                .bind(since)
                .fetch_one(&self.pool)
                .await?;
        Ok(LoginFailureCounts { by_email, by_address })
    }

    /// Reserves one sign-in attempt before its password is checked: the attempt is
    /// written (and committed) as a failure first, then the window is counted with
    /// it. Every attempt counts itself and every attempt committed before it, so
    /// however many arrive at once, no more than the limit are ever let through.
    /// A success forgives it with the rest ([`clear_login_failures`]); a refusal
    /// withdraws it ([`release_login_attempt`]).
    pub async fn reserve_login_attempt(&self, email: &str, ip_address: &str, at: DateTime<Utc>, since: DateTime<Utc>) -> Result<(i64, LoginFailureCounts)> {
        let (attempt_id,): (i64,) =
            sqlx::query_as("INSERT INTO login_failures (email, ip_address, failed_at) VALUES ($1, $2, $3) RETURNING id")
                .bind(email)
                .bind(ip_address)
                .bind(at)
                .fetch_one(&self.pool)
                .await?;
        let counts = self.recent_login_failures(email, ip_address, since).await?;
        Ok((attempt_id, counts))
    }

    /// Withdraws a reserved attempt that was refused before any password was
    /// checked, or that proved the password and now waits for its second factor.
    pub async fn release_login_attempt(&self, attempt_id: i64) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE id = $1").bind(attempt_id).execute(&self.pool).await?;
        Ok(())
    }

    /// Whether a throttled subject's refusal is the first of its window (and so
    /// worth one audit event); notes the window either way.
    pub async fn note_login_throttled(&self, subject: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> Result<bool> {
        let result = sqlx::query(
            "INSERT INTO login_throttle_notices (subject, noticed_until) VALUES ($1, $2)
             ON CONFLICT (subject) DO UPDATE SET noticed_until = excluded.noticed_until
             WHERE login_throttle_notices.noticed_until <= $3",
        )
        .bind(subject)
        .bind(until)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// A successful sign-in forgives the account's earlier failures.
    pub async fn clear_login_failures(&self, email: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE email = $1").bind(email).execute(&self.pool).await?;
        Ok(())
    }
}

/// Counts and oldest times of recent failures, by email and by source address.
#[derive(Debug, Clone, Copy)]
pub struct LoginFailureCounts {
    pub by_email: (i64, Option<DateTime<Utc>>),
    pub by_address: (i64, Option<DateTime<Utc>>),
}

/// What a password change ended.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct PasswordChanged {
    pub sessions_ended: u64,
    pub links_ended: u64,
    pub api_tokens_revoked: u64,
}
