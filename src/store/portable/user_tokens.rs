use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{Result, UserTokenPurpose, new_id};

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
}
