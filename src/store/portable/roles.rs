use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::{
    AccountAccessRow, CustomRoleRecord, MembershipRow, Result, StoreError, is_unique_violation, new_id,
};

portable_queries! {
    /// What a membership holds, raw; `auth` turns it into a grant.
    pub async fn membership(&self, account_id: Uuid, user_id: Uuid) -> Result<Option<MembershipRow>> {
        let row = sqlx::query_as(
            "SELECT m.account_id, a.name AS account_name, m.role, m.custom_role_id, c.name AS custom_role_name,
                    c.permissions AS custom_permissions, m.record_types, a.require_mfa AS account_requires_mfa
             FROM memberships m
             JOIN accounts a ON a.id = m.account_id
             LEFT JOIN custom_roles c ON c.id = m.custom_role_id
             WHERE m.account_id = $1 AND m.user_id = $2",
        )
        .bind(account_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    /// An account and the user's membership in it (if any), in one query: every
    /// account-scoped request asks both.
    pub async fn account_access(&self, account_id: Uuid, user_id: Uuid) -> Result<Option<AccountAccessRow>> {
        let row = sqlx::query_as(
            "SELECT a.id AS account_id, a.name AS account_name, a.require_mfa AS account_requires_mfa, m.role,
                    m.custom_role_id, c.name AS custom_role_name, c.permissions AS custom_permissions, m.record_types
             FROM accounts a
             LEFT JOIN memberships m ON m.account_id = a.id AND m.user_id = $2
             LEFT JOIN custom_roles c ON c.id = m.custom_role_id
             WHERE a.id = $1",
        )
        .bind(account_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    /// Every membership of a user, with what each holds.
    pub async fn memberships_of(&self, user_id: Uuid) -> Result<Vec<MembershipRow>> {
        let rows = sqlx::query_as(
            "SELECT m.account_id, a.name AS account_name, m.role, m.custom_role_id, c.name AS custom_role_name,
                    c.permissions AS custom_permissions, m.record_types, a.require_mfa AS account_requires_mfa
             FROM memberships m
             JOIN accounts a ON a.id = m.account_id
             LEFT JOIN custom_roles c ON c.id = m.custom_role_id
             WHERE m.user_id = $1 ORDER BY a.name, a.id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    pub(in crate::store) async fn create_custom_role(&self, account_id: Uuid, name: &str, permissions: &[String], now: DateTime<Utc>) -> Result<Uuid> {
        let role_id = new_id();
        sqlx::query("INSERT INTO custom_roles (id, account_id, name, permissions, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(role_id)
            .bind(account_id)
            .bind(name)
            .bind(Json(permissions))
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|error| if is_unique_violation(&error) { StoreError::Conflict("a role with this name already exists") } else { error.into() })?;
        Ok(role_id)
    }

    pub(in crate::store) async fn custom_roles(&self, account_id: Uuid) -> Result<Vec<CustomRoleRecord>> {
        let roles = sqlx::query_as(
            "SELECT id AS role_id, name, permissions, created_at FROM custom_roles WHERE account_id = $1 ORDER BY name",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(roles)
    }

    /// A custom role's permission names, for deciding access only (staff viewing
    /// an account as that role): everything else reads roles through `AccountData`.
    pub async fn custom_role_permissions(&self, account_id: Uuid, role_id: Uuid) -> Result<Option<Vec<String>>> {
        Ok(self.custom_role(account_id, role_id).await?.map(|role| role.permissions.0))
    }

    pub(in crate::store) async fn custom_role(&self, account_id: Uuid, role_id: Uuid) -> Result<Option<CustomRoleRecord>> {
        let role = sqlx::query_as(
            "SELECT id AS role_id, name, permissions, created_at FROM custom_roles WHERE account_id = $1 AND id = $2",
        )
        .bind(account_id)
        .bind(role_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(role)
    }

    /// Deletes a custom role nobody holds; `Conflict` while it is held.
    pub(in crate::store) async fn delete_custom_role(&self, account_id: Uuid, role_id: Uuid) -> Result<bool> {
        let (holders,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM memberships WHERE account_id = $1 AND custom_role_id = $2")
            .bind(account_id)
            .bind(role_id)
            .fetch_one(&self.pool)
            .await?;
        if holders > 0 {
            return Err(StoreError::Conflict("members still hold this role"));
        }
        let result = sqlx::query("DELETE FROM custom_roles WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(role_id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }
}
