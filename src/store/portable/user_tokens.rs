use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{Result, StoreError, UserTokenPurpose, is_unique_violation, new_id};

portable_queries! {
    pub async fn create_user_token(&self, user_id: Uuid, purpose: UserTokenPurpose, token_hash: &[u8], now: DateTime<Utc>, expires_at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO user_tokens (id, user_id, purpose, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_id())
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(token_hash)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many links of this purpose were made for the user since `since`.
    pub async fn recent_user_tokens(&self, user_id: Uuid, purpose: UserTokenPurpose, since: DateTime<Utc>) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM user_tokens WHERE user_id = $1 AND purpose = $2 AND created_at > $3")
            .bind(user_id)
            .bind(purpose.as_str())
            .bind(since)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Uses a token once: the user it was for, or None if unknown, used or expired.
    pub async fn consume_user_token(&self, purpose: UserTokenPurpose, token_hash: &[u8], now: DateTime<Utc>) -> Result<Option<Uuid>> {
        let mut transaction = self.pool.begin().await?;
        let claimed = sqlx::query(
            "UPDATE user_tokens SET used_at = $1
             WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(token_hash)
        .bind(purpose.as_str())
        .execute(&mut *transaction)
        .await?;
        if claimed.rows_affected() != 1 {
            return Ok(None);
        }
        let (user_id,): (Uuid,) = sqlx::query_as("SELECT user_id FROM user_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_one(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(Some(user_id))
    }

    pub async fn mark_email_verified(&self, user_id: Uuid, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = $2")
            .bind(now)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn email_verified_at(&self, user_id: Uuid) -> Result<Option<DateTime<Utc>>> {
        let (verified_at,): (Option<DateTime<Utc>>,) = sqlx::query_as("SELECT email_verified_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(verified_at)
    }

    /// Records a pending change of address; the link goes to the new address.
    pub async fn create_email_change_token(&self, user_id: Uuid, new_email: &str, token_hash: &[u8], now: DateTime<Utc>, expires_at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO user_tokens (id, user_id, purpose, new_email, token_hash, created_at, expires_at)
             VALUES ($1, $2, 'email_change', $3, $4, $5, $6)",
        )
        .bind(new_id())
        .bind(user_id)
        .bind(new_email)
        .bind(token_hash)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Uses an email-change link once and switches the address (verified, since
    /// the link reached it): the user and old address, or None for a bad link.
    pub async fn apply_email_change(&self, token_hash: &[u8], now: DateTime<Utc>) -> Result<Option<EmailChanged>> {
        let mut transaction = self.pool.begin().await?;
        let claimed = sqlx::query(
            "UPDATE user_tokens SET used_at = $1
             WHERE token_hash = $2 AND purpose = 'email_change' AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(token_hash)
        .execute(&mut *transaction)
        .await?;
        if claimed.rows_affected() != 1 {
            return Ok(None);
        }
        let (user_id, new_email, old_email): (Uuid, String, String) = sqlx::query_as(
            "SELECT t.user_id, t.new_email, u.email FROM user_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_one(&mut *transaction)
        .await?;
        sqlx::query("UPDATE users SET email = $1, email_verified_at = $2, updated_at = $2 WHERE id = $3")
            .bind(&new_email)
            .bind(now)
            .bind(user_id)
            .execute(&mut *transaction)
            .await
            .map_err(|error| if is_unique_violation(&error) { StoreError::Conflict("another user has this address") } else { error.into() })?;
        transaction.commit().await?;
        Ok(Some(EmailChanged { user_id, old_email, new_email }))
    }
}

/// The outcome of an applied email change.
#[derive(Debug, Clone)]
pub struct EmailChanged {
    pub user_id: Uuid,
    pub old_email: String,
    pub new_email: String,
}
