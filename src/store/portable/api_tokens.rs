use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{ApiTokenRecord, ApiTokenSummary, NewApiToken, Result, new_id};

portable_queries! {
    pub async fn create_api_token(&self, token: &NewApiToken) -> Result<Uuid> {
        let token_id = new_id();
        sqlx::query(
            "INSERT INTO api_tokens (id, token_hash, name, account_id, created_by, scopes, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, '[]', $6, $7)",
        )
        .bind(token_id)
        .bind(&token.token_hash)
        .bind(&token.name)
        .bind(token.account_id)
        .bind(token.created_by)
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(token_id)
    }

    /// A usable token by its hash: not revoked, not expired, its user active.
    pub async fn live_api_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> Result<Option<ApiTokenRecord>> {
        let token = sqlx::query_as(
            "SELECT t.id AS token_id, t.account_id, t.created_by AS user_id, u.email, u.display_name,
                    r.role AS staff_role, t.last_used_at, u.mfa_enabled_at IS NOT NULL AS mfa_enabled
             FROM api_tokens t
             JOIN users u ON u.id = t.created_by
             LEFT JOIN staff_roles r ON r.user_id = t.created_by
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)
               AND u.status = 'active'",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(token)
    }

    /// The user's own tokens, newest first, without secrets.
    /// The user's tokens; only those limited to `within_account` when set (what a
    /// credential scoped to that account may see of them).
    pub async fn user_api_tokens(&self, user_id: Uuid, within_account: Option<Uuid>) -> Result<Vec<ApiTokenSummary>> {
        let tokens = sqlx::query_as(
            "SELECT id AS token_id, name, account_id, created_at, expires_at, last_used_at, revoked_at
             FROM api_tokens WHERE created_by = $1 AND ($2 IS NULL OR account_id = $2) ORDER BY created_at DESC",
        )
        .bind(user_id)
        .bind(within_account)
        .fetch_all(&self.pool)
        .await?;
        Ok(tokens)
    }

    /// Revokes one of the user's own tokens (only one limited to `within_account`
    /// when set); false if not theirs, out of reach, or already revoked.
    pub async fn revoke_api_token(&self, user_id: Uuid, token_id: Uuid, within_account: Option<Uuid>, now: DateTime<Utc>) -> Result<bool> {
        let result = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1
             WHERE id = $2 AND created_by = $3 AND revoked_at IS NULL AND ($4 IS NULL OR account_id = $4)",
        )
        .bind(now)
        .bind(token_id)
        .bind(user_id)
        .bind(within_account)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }
}
