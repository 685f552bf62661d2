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
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, user_id, scoped_account_id, user_agent, ip_address, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)",
        )
        .bind(session_id)
        .bind(&session.token_hash)
        .bind(session.user_id)
        .bind(session.scoped_account_id)
        .bind(&session.user_agent)
        .bind(&session.ip_address)
        .bind(session.created_at)
        .bind(session.expires_at)
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
                    s.created_at AS authenticated_at, u.mfa_enabled_at IS NOT NULL AS mfa_enabled, s.scoped_account_id
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

    /// Sets a new password and ends every other session of the user, at once.
    pub async fn change_password(&self, user_id: Uuid, password_hash: &str, keep_session: Option<Uuid>, now: DateTime<Utc>) -> Result<u64> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(now)
            .bind(user_id)
            .execute(&mut *transaction)
            .await?;
        let ended = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND ($3 IS NULL OR id <> $3)",
        )
        .bind(now)
        .bind(user_id)
        .bind(keep_session)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(ended.rows_affected())
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

    pub async fn record_login_failure(&self, email: &str, ip_address: &str, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("INSERT INTO login_failures (email, ip_address, failed_at) VALUES ($1, $2, $3)")
            .bind(email)
            .bind(ip_address)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
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
