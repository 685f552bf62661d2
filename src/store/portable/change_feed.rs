//! The change feed: entries written by triggers beside every record and access
//! change (see the `change_feed` migration), read in order by each server process.

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::store::Result;

const FEED_COLUMNS: &str =
    "seq, kind, account_id, user_id, record_type, record_id, change, status, previous_status, title, changed_at";

/// One feed entry: a record change (`kind` `record`) or an access change (`access`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChangeFeedRow {
    pub seq: i64,
    pub kind: String,
    pub account_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub record_type: Option<String>,
    pub record_id: Option<Uuid>,
    /// `created`, `updated` or `deleted`.
    pub change: Option<String>,
    pub status: Option<String>,
    /// The status before an update; `None` for a new record.
    pub previous_status: Option<String>,
    pub title: Option<String>,
    pub changed_at: DateTime<Utc>,
}

portable_queries! {
    /// Entries after `after`, oldest first.
    pub async fn change_feed_after(&self, after: i64, limit: i64) -> Result<Vec<ChangeFeedRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {FEED_COLUMNS} FROM change_feed WHERE seq > $1 ORDER BY seq LIMIT $2"
        )))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The oldest and newest entries kept (0 for none).
    pub async fn change_feed_bounds(&self) -> Result<(i64, i64)> {
        let (oldest, newest): (Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT MIN(seq), MAX(seq) FROM change_feed").fetch_one(&self.pool).await?;
        Ok((oldest.unwrap_or(0), newest.unwrap_or(0)))
    }

    /// Record entries in `(after, until]` of the given accounts (every account for
    /// `None`), oldest first: what a reconnecting stream missed.
    pub async fn record_changes_between(&self, after: i64, until: i64, accounts: Option<&[Uuid]>, limit: i64) -> Result<Vec<ChangeFeedRow>> {
        let mut query = QueryBuilder::new(format!("SELECT {FEED_COLUMNS} FROM change_feed WHERE kind = 'record' AND seq > "));
        query.push_bind(after).push(" AND seq <= ").push_bind(until);
        if let Some(accounts) = accounts {
            if accounts.is_empty() {
                return Ok(Vec::new());
            }
            query.push(" AND account_id IN (");
            let mut list = query.separated(", ");
            for account_id in accounts {
                list.push_bind(*account_id);
            }
            query.push(")");
        }
        query.push(" ORDER BY seq LIMIT ").push_bind(limit);
        Ok(query.build_query_as().fetch_all(&self.pool).await?)
    }

    /// Drops entries older than `before`; the number dropped.
    pub async fn purge_change_feed(&self, before: DateTime<Utc>) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM change_feed WHERE changed_at < $1").bind(before).execute(&self.pool).await?.rows_affected())
    }
}
