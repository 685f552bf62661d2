//! One-time sign-in codes mailed to a user's address, and the account rules
//! that allow, require or forbid them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{Result, new_id};

/// Wrong tries a code survives; the next wrong one retires it.
pub const MAX_CODE_ATTEMPTS: i64 = 5;

/// The code a user may sign in with now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveSignInCode {
    pub id: Uuid,
    pub code_hash: Vec<u8>,
}

/// What a user's accounts say about mailed codes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmailCodePolicy {
    /// Accounts the user belongs to.
    pub accounts: i64,
    /// One of them turned codes off: the user never gets one.
    pub any_off: bool,
    /// One of them requires codes: the user signs in with a code, never a password.
    pub any_required: bool,
}

portable_queries! {
    /// Stores a new code and retires the user's older ones (only the newest works).
    pub async fn create_sign_in_code(&self, user_id: Uuid, code_hash: &[u8], now: DateTime<Utc>, expires_at: DateTime<Utc>) -> Result<()> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query("UPDATE sign_in_codes SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
            .bind(now)
            .bind(user_id)
            .execute(&mut *transaction)
            .await?;
        sqlx::query(
            "INSERT INTO sign_in_codes (id, user_id, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(new_id())
        .bind(user_id)
        .bind(code_hash)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Codes made for the user since `since`.
    pub async fn recent_sign_in_codes(&self, user_id: Uuid, since: DateTime<Utc>) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM sign_in_codes WHERE user_id = $1 AND created_at > $2")
            .bind(user_id)
            .bind(since)
            .fetch_one(&self.pool)
            .await?)
    }

    /// The user's newest code if it is unused, unexpired and not worn out by wrong tries.
    pub async fn live_sign_in_code(&self, user_id: Uuid, now: DateTime<Utc>) -> Result<Option<LiveSignInCode>> {
        Ok(sqlx::query_as(
            "SELECT id, code_hash FROM sign_in_codes
             WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2 AND failed_attempts < $3
             ORDER BY created_at DESC LIMIT 1",
        )
        .bind(user_id)
        .bind(now)
        .bind(MAX_CODE_ATTEMPTS)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Uses a code once: false when another request used it first.
    pub async fn use_sign_in_code(&self, code_id: Uuid, now: DateTime<Utc>) -> Result<bool> {
        let used = sqlx::query("UPDATE sign_in_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(now)
            .bind(code_id)
            .execute(&self.pool)
            .await?;
        Ok(used.rows_affected() == 1)
    }

    /// Counts a wrong try against the code.
    pub async fn fail_sign_in_code(&self, code_id: Uuid) -> Result<()> {
        sqlx::query("UPDATE sign_in_codes SET failed_attempts = failed_attempts + 1 WHERE id = $1")
            .bind(code_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// What the user's accounts say about mailed codes.
    pub async fn email_code_policy(&self, user_id: Uuid) -> Result<EmailCodePolicy> {
        let (accounts, off, required): (i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*),
                    COALESCE(SUM(CASE WHEN a.email_codes = 'off' THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN a.email_codes = 'required' THEN 1 ELSE 0 END), 0)
               FROM memberships m JOIN accounts a ON a.id = m.account_id
              WHERE m.user_id = $1 AND a.status = 'active'",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(EmailCodePolicy { accounts, any_off: off > 0, any_required: required > 0 })
    }

    pub(in crate::store) async fn set_account_email_codes(&self, account_id: Uuid, email_codes: &str) -> Result<()> {
        sqlx::query("UPDATE accounts SET email_codes = $1, updated_at = $2 WHERE id = $3")
            .bind(email_codes)
            .bind(Utc::now())
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
