//! Data exports: requests, their progress, and the records they carry.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{RecordRow, Result, new_id};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ExportRow {
    pub id: Uuid,
    /// `account` or `user`.
    pub subject: String,
    pub account_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub requested_by: Uuid,
    /// `queued`, `building`, `ready` or `failed`.
    pub status: String,
    pub size_bytes: Option<i64>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

const EXPORT_COLUMNS: &str =
    "id, subject, account_id, user_id, requested_by, status, size_bytes, error, created_at, finished_at, expires_at";

portable_queries! {
    /// A new export request (of an account when `account_id` is set, else of `user_id`).
    pub async fn create_export(&self, account_id: Option<Uuid>, user_id: Option<Uuid>, requested_by: Uuid, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> Result<Uuid> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO data_exports (id, subject, account_id, user_id, requested_by, status, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7)",
        )
        .bind(id)
        .bind(if account_id.is_some() { "account" } else { "user" })
        .bind(account_id)
        .bind(user_id)
        .bind(requested_by)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn export(&self, id: Uuid) -> Result<Option<ExportRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {EXPORT_COLUMNS} FROM data_exports WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Moves an export on: `building`, then `ready` (with its size) or `failed`.
    pub async fn set_export_status(&self, id: Uuid, status: &str, size_bytes: Option<i64>, error: Option<&str>, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE data_exports SET status = $2, size_bytes = $3, error = $4,
                finished_at = CASE WHEN $2 IN ('ready', 'failed') THEN $5 ELSE finished_at END
             WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(size_bytes)
        .bind(error)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The account's exports one person asked for, newest first (only whoever
    /// asked may download one).
    pub async fn account_exports_asked_by(&self, account_id: Uuid, requested_by: Uuid, limit: i64) -> Result<Vec<ExportRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {EXPORT_COLUMNS} FROM data_exports WHERE account_id = $1 AND requested_by = $2
             ORDER BY created_at DESC, id DESC LIMIT $3"
        )))
        .bind(account_id)
        .bind(requested_by)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Whether the account has an export queued or being built (one at a time).
    pub async fn has_unfinished_account_export(&self, account_id: Uuid) -> Result<bool> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM data_exports WHERE account_id = $1 AND status IN ('queued', 'building')",
        )
        .bind(account_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(count > 0)
    }

    /// Exports past their expiry, removed; their ids (whose files are to go).
    pub async fn remove_expired_exports(&self, now: DateTime<Utc>) -> Result<Vec<Uuid>> {
        Ok(sqlx::query_scalar("DELETE FROM data_exports WHERE expires_at < $1 RETURNING id")
            .bind(now)
            .fetch_all(&self.pool)
            .await?)
    }

    /// An account's live records of one type in id order, a page after `after`.
    pub async fn account_records_page(&self, account_id: Uuid, record_type: &str, after: Option<Uuid>, limit: i64) -> Result<Vec<RecordRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM records r WHERE r.account_id = $1 AND r.record_type = $2 AND r.deleted_at IS NULL
                AND ($3 IS NULL OR r.id > $3)
             ORDER BY r.id LIMIT $4",
            crate::store::RECORD_COLUMNS
        )))
        .bind(account_id)
        .bind(record_type)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
