//! What an account's dashboard sums up: open and overdue invoices, open tickets,
//! new documents, tasks due, and each user's visits.

use chrono::{DateTime, Duration, Utc};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::store::{ACCOUNT_RECORD_SELECT, AccountRecordRow, Result};

/// A visit starts when the previous one is older than this.
const VISIT_GAP_MINUTES: i64 = 30;

/// Open invoices in one currency, and how many of them are past due.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct CurrencyTotals {
    pub currency: String,
    pub open_count: i64,
    pub open_amount_minor: i64,
    pub overdue_count: i64,
    pub overdue_amount_minor: i64,
}

portable_queries! {
    /// Open invoices per currency (their totals), with the overdue share.
    pub(in crate::store) async fn open_invoice_totals(&self, account_id: Uuid, now: DateTime<Utc>) -> Result<Vec<CurrencyTotals>> {
        Ok(sqlx::query_as(
            "SELECT COALESCE(currency, '') AS currency, COUNT(*) AS open_count,
                CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS open_amount_minor,
                CAST(COALESCE(SUM(CASE WHEN due_at < $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS overdue_count,
                CAST(COALESCE(SUM(CASE WHEN due_at < $2 THEN amount_minor ELSE 0 END), 0) AS BIGINT) AS overdue_amount_minor
             FROM records
             WHERE account_id = $1 AND record_type = 'invoice' AND deleted_at IS NULL AND status = 'open'
             GROUP BY currency ORDER BY currency",
        )
        .bind(account_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Tickets not yet closed (nor resolved, solved or cancelled).
    pub(in crate::store) async fn count_open_tickets(&self, account_id: Uuid) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM records WHERE account_id = $1 AND record_type = 'ticket' AND deleted_at IS NULL
                AND (status IS NULL OR status NOT IN ('closed', 'resolved', 'solved', 'cancelled'))",
        )
        .bind(account_id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Records of a type that arrived after `since`, newest first, up to `limit`, and how many there are.
    pub(in crate::store) async fn records_new_since(&self, account_id: Uuid, record_type: &str, since: DateTime<Utc>, limit: i64) -> Result<(i64, Vec<AccountRecordRow>)> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM records WHERE account_id = $1 AND record_type = $2 AND deleted_at IS NULL AND created_at > $3",
        )
        .bind(account_id)
        .bind(record_type)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{ACCOUNT_RECORD_SELECT} WHERE r.account_id = $1 AND r.record_type = $2 AND r.deleted_at IS NULL AND r.created_at > $3
             ORDER BY r.created_at DESC, r.id DESC LIMIT $4"
        )))
        .bind(account_id)
        .bind(record_type)
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok((count, rows))
    }

    /// Open tasks due before `before`, soonest first (up to `limit`), with how many
    /// are due by then and how many of those are already past `now`.
    pub(in crate::store) async fn open_tasks_due(&self, account_id: Uuid, now: DateTime<Utc>, before: DateTime<Utc>, limit: i64) -> Result<(i64, i64, Vec<AccountRecordRow>)> {
        let (due, overdue): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN due_at < $2 THEN 1 ELSE 0 END), 0) AS BIGINT) FROM records
             WHERE account_id = $1 AND record_type = 'task' AND deleted_at IS NULL AND status = 'open'
                AND due_at IS NOT NULL AND due_at < $3",
        )
        .bind(account_id)
        .bind(now)
        .bind(before)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{ACCOUNT_RECORD_SELECT} WHERE r.account_id = $1 AND r.record_type = 'task' AND r.deleted_at IS NULL
                AND r.status = 'open' AND r.due_at IS NOT NULL AND r.due_at < $2
             ORDER BY r.due_at, r.id LIMIT $3"
        )))
        .bind(account_id)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok((due, overdue, rows))
    }

    /// The account's most recently changed records of the given types.
    pub(in crate::store) async fn recently_changed_records(&self, account_id: Uuid, record_types: &[&str], limit: i64) -> Result<Vec<AccountRecordRow>> {
        if record_types.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::new(format!("{ACCOUNT_RECORD_SELECT} WHERE r.account_id = "));
        query.push_bind(account_id).push(" AND r.deleted_at IS NULL AND r.record_type IN (");
        let mut list = query.separated(", ");
        for record_type in record_types {
            list.push_bind(record_type.to_string());
        }
        query.push(") ORDER BY r.updated_at DESC, r.id DESC LIMIT ").push_bind(limit);
        Ok(query.build_query_as().fetch_all(&self.pool).await?)
    }

    /// Records a visit to an account's dashboard; returns when the previous visit
    /// (before this one began) was, if any. A refresh within a minute of the last
    /// recorded view writes nothing (phones refresh often; visits are told apart by
    /// half-hour gaps, which a minute cannot blur).
    pub(in crate::store) async fn visit_account(&self, user_id: Uuid, account_id: Uuid, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let recent: Option<(DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT visited_at, baseline_at FROM account_visits WHERE user_id = $1 AND account_id = $2",
        )
        .bind(user_id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        if let Some((visited_at, baseline)) = recent
            && now - visited_at < Duration::minutes(1)
        {
            return Ok(baseline);
        }
        let mut transaction = self.begin_write().await?;
        let row: Option<(DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT visited_at, baseline_at FROM account_visits WHERE user_id = $1 AND account_id = $2",
        )
        .bind(user_id)
        .bind(account_id)
        .fetch_optional(&mut *transaction)
        .await?;
        let baseline = match row {
            Some((visited_at, _)) if now - visited_at > Duration::minutes(VISIT_GAP_MINUTES) => Some(visited_at),
            Some((_, baseline)) => baseline,
            None => None,
        };
        sqlx::query(
            "INSERT INTO account_visits (user_id, account_id, visited_at, baseline_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, account_id) DO UPDATE SET visited_at = excluded.visited_at, baseline_at = excluded.baseline_at",
        )
        .bind(user_id)
        .bind(account_id)
        .bind(now)
        .bind(baseline)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(baseline)
    }
}
