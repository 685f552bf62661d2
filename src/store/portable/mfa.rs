use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{MfaState, Result};

portable_queries! {
    pub async fn mfa_state(&self, user_id: Uuid) -> Result<MfaState> {
        let state = sqlx::query_as("SELECT mfa_secret_sealed, mfa_enabled_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(state)
    }

    /// Starts an enrollment: a new secret, not yet in force. Refused (false) while MFA is on.
    pub async fn begin_totp_enrollment(&self, user_id: Uuid, secret_sealed: &[u8]) -> Result<bool> {
        let result = sqlx::query(
            "UPDATE users SET mfa_secret_sealed = $1, mfa_last_step = NULL WHERE id = $2 AND mfa_enabled_at IS NULL",
        )
        .bind(secret_sealed)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Turns MFA on after the first good code, with a fresh set of recovery codes.
    /// Turns TOTP on; the session that confirmed it with a code (if any) has proven
    /// the second factor.
    pub async fn enable_totp(&self, user_id: Uuid, step: i64, recovery_code_hashes: &[Vec<u8>], confirmed_in: Option<Uuid>, now: DateTime<Utc>) -> Result<()> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query("UPDATE users SET mfa_enabled_at = $1, mfa_last_step = $2, updated_at = $1 WHERE id = $3")
            .bind(now)
            .bind(step)
            .bind(user_id)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("UPDATE sessions SET second_factor_at = $1 WHERE id = $2 AND user_id = $3")
            .bind(now)
            .bind(confirmed_in)
            .bind(user_id)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *transaction).await?;
        for code_hash in recovery_code_hashes {
            sqlx::query("INSERT INTO mfa_recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
                .bind(user_id)
                .bind(code_hash)
                .bind(now)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Accepts a TOTP step once: false if this step (or a later one) was already used.
    pub async fn claim_totp_step(&self, user_id: Uuid, step: i64) -> Result<bool> {
        let result = sqlx::query(
            "UPDATE users SET mfa_last_step = $1 WHERE id = $2 AND (mfa_last_step IS NULL OR mfa_last_step < $1)",
        )
        .bind(step)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Uses up a recovery code; false if unknown or already used.
    pub async fn claim_recovery_code(&self, user_id: Uuid, code_hash: &[u8], now: DateTime<Utc>) -> Result<bool> {
        let result = sqlx::query(
            "UPDATE mfa_recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(code_hash)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn disable_totp(&self, user_id: Uuid, now: DateTime<Utc>) -> Result<()> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "UPDATE users SET mfa_secret_sealed = NULL, mfa_enabled_at = NULL, mfa_last_step = NULL, updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(user_id)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *transaction).await?;
        // The factor is gone, so no password session holds it any more (an identity
        // provider's word about its own sign-in stands).
        sqlx::query("UPDATE sessions SET second_factor_at = NULL WHERE user_id = $1 AND auth_method <> 'sso'")
            .bind(user_id)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }
}
