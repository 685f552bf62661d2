//! Erasing a person: their personal data anonymised, their ways in closed, their
//! memberships removed, in one transaction. Business records (invoices,
//! payments, tickets) stay: they belong to the account, and the business must
//! keep them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::Result;

/// What an erasure did.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Erasure {
    pub memberships_removed: u64,
    pub sessions_ended: u64,
    pub tokens_revoked: u64,
}

portable_queries! {
    /// `None` if there is no such user (or they were erased before).
    pub async fn erase_user(&self, user_id: Uuid, now: DateTime<Utc>) -> Result<Option<Erasure>> {
        let mut transaction = self.begin_write().await?;
        let old_email: Option<String> = sqlx::query_scalar("SELECT email FROM users WHERE id = $1 AND status <> 'erased'")
            .bind(user_id)
            .fetch_optional(&mut *transaction)
            .await?;
        let Some(old_email) = old_email else { return Ok(None) };
        sqlx::query(
            "UPDATE users SET email = $2, display_name = '', password_hash = NULL, status = 'erased',
                email_verified_at = NULL, mfa_secret_sealed = NULL, mfa_enabled_at = NULL, mfa_last_step = NULL,
                last_login_at = NULL, locale = 'en', time_zone = 'UTC', notification_preferences = '{}', updated_at = $3
             WHERE id = $1",
        )
        .bind(user_id)
        .bind(format!("erased-{}@erased.invalid", user_id.simple()))
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        let sessions_ended = sqlx::query(
            "UPDATE sessions SET revoked_at = COALESCE(revoked_at, $2), ip_address = NULL, user_agent = NULL
             WHERE user_id = $1",
        )
        .bind(user_id)
        .bind(now)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        let tokens_revoked = sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE created_by = $1 AND revoked_at IS NULL")
            .bind(user_id)
            .bind(now)
            .execute(&mut *transaction)
            .await?
            .rows_affected();
        let memberships_removed = sqlx::query("DELETE FROM memberships WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *transaction)
            .await?
            .rows_affected();
        for statement in [
            "DELETE FROM staff_roles WHERE user_id = $1",
            "DELETE FROM mfa_recovery_codes WHERE user_id = $1",
            "DELETE FROM user_tokens WHERE user_id = $1",
            "DELETE FROM user_identities WHERE user_id = $1",
            "DELETE FROM account_visits WHERE user_id = $1",
            "DELETE FROM notifications WHERE user_id = $1",
        ] {
            sqlx::query(statement).bind(user_id).execute(&mut *transaction).await?;
        }
        // Their address elsewhere: invitations not yet accepted, failed sign-ins.
        sqlx::query("DELETE FROM invitations WHERE email = $1 AND accepted_at IS NULL")
            .bind(&old_email)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("DELETE FROM login_failures WHERE email = $1").bind(&old_email).execute(&mut *transaction).await?;
        transaction.commit().await?;
        Ok(Some(Erasure { memberships_removed, sessions_ended, tokens_revoked }))
    }
}
