//! Bulk rows for `portico bench seed`: accounts with one user and API token each,
//! and their records, written many rows per statement (one transaction per batch)
//! rather than through the sync engine, so millions of records take minutes.

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::{PreparedRecord, Result};

/// Rows per statement: records bind 17 values each, within both engines' limits.
const ROWS_PER_STATEMENT: usize = 500;

/// A customer account with one member (`role`) holding an account-scoped API token.
#[derive(Debug, Clone)]
pub struct SeedAccount {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub user_id: Uuid,
    pub email: String,
    pub role: &'static str,
    pub token_id: Uuid,
    /// SHA-256 of the token (the token itself is only printed or written out).
    pub token_hash: Vec<u8>,
}

/// A record as the sync engine would have prepared it, placed in an account.
#[derive(Debug)]
pub struct SeedRecord {
    pub id: Uuid,
    pub account_id: Uuid,
    pub stream: &'static str,
    pub record: PreparedRecord,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug)]
pub struct SeedBatch {
    /// The connector instance the records are attributed to.
    pub instance_id: Uuid,
    pub accounts: Vec<SeedAccount>,
    pub records: Vec<SeedRecord>,
    pub now: DateTime<Utc>,
}

portable_queries! {
    /// Writes one batch in one transaction.
    pub async fn seed_batch(&self, batch: &SeedBatch) -> Result<()> {
        let mut transaction = self.begin_write().await?;
        for chunk in batch.accounts.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::new("INSERT INTO accounts (id, name, slug, created_at, updated_at) ");
            query.push_values(chunk, |mut row, account| {
                row.push_bind(account.id).push_bind(&account.name).push_bind(&account.slug).push_bind(batch.now).push_bind(batch.now);
            });
            query.build().execute(&mut *transaction).await?;

            let mut query = QueryBuilder::new(
                "INSERT INTO users (id, email, email_verified_at, display_name, created_at, updated_at) ",
            );
            query.push_values(chunk, |mut row, account| {
                row.push_bind(account.user_id)
                    .push_bind(&account.email)
                    .push_bind(batch.now)
                    .push_bind(format!("{} user", account.name))
                    .push_bind(batch.now)
                    .push_bind(batch.now);
            });
            query.build().execute(&mut *transaction).await?;

            let mut query = QueryBuilder::new("INSERT INTO memberships (account_id, user_id, role, created_at) ");
            query.push_values(chunk, |mut row, account| {
                row.push_bind(account.id).push_bind(account.user_id).push_bind(account.role).push_bind(batch.now);
            });
            query.build().execute(&mut *transaction).await?;

            let mut query = QueryBuilder::new(
                "INSERT INTO api_tokens (id, token_hash, name, account_id, created_by, scopes, created_at) ",
            );
            query.push_values(chunk, |mut row, account| {
                row.push_bind(account.token_id)
                    .push_bind(account.token_hash.as_slice())
                    .push_bind("bench")
                    .push_bind(account.id)
                    .push_bind(account.user_id)
                    .push("'[]'")
                    .push_bind(batch.now);
            });
            query.build().execute(&mut *transaction).await?;

            let mut query = QueryBuilder::new(
                "INSERT INTO account_mappings (connector_instance_id, account_ref, account_id, created_at) ",
            );
            query.push_values(chunk, |mut row, account| {
                row.push_bind(batch.instance_id).push_bind(&account.slug).push_bind(account.id).push_bind(batch.now);
            });
            query.build().execute(&mut *transaction).await?;
        }
        for chunk in batch.records.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::new(
                "INSERT INTO records (id, record_type, source_instance_id, stream, external_id, account_ref, account_id,
                    parent_external_id, title, status, amount_minor, currency, occurred_at, data, raw, content_hash,
                    source_updated_at, created_at, updated_at, due_at) ",
            );
            query.push_values(chunk, |mut row, seeded| {
                let record = &seeded.record;
                row.push_bind(seeded.id)
                    .push_bind(record.record_type)
                    .push_bind(batch.instance_id)
                    .push_bind(seeded.stream)
                    .push_bind(record.external_id.as_str())
                    .push_bind(record.account_ref.as_deref())
                    .push_bind(seeded.account_id)
                    .push_bind(record.parent_external_id.as_deref())
                    .push_bind(record.title.as_str())
                    .push_bind(record.status.as_deref())
                    .push_bind(record.amount_minor)
                    .push_bind(record.currency.as_deref())
                    .push_bind(record.occurred_at)
                    .push_bind(Json(&*record.data))
                    .push_bind(Json(&*record.raw))
                    .push_bind(record.content_hash.as_slice())
                    .push_bind(seeded.updated_at)
                    .push_bind(seeded.updated_at)
                    .push_bind(seeded.updated_at)
                    .push_bind(record.due_at);
            });
            query.build().execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Refreshes the planner's statistics (after a bulk load).
    pub async fn analyze(&self) -> Result<()> {
        sqlx::query("ANALYZE").execute(&self.pool).await?;
        Ok(())
    }
}
