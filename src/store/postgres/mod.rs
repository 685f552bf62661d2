//! PostgreSQL engine (15 or newer): connection settings and the SQL for each area.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};

use super::{MIGRATIONS_TABLE, Result};
use crate::config::Settings;

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(super) pool: PgPool,
}

impl PostgresStore {
    /// The conditions of an account's record list: its account and type, and titles
    /// containing `search`, without case (`ILIKE`), which the trigram index
    /// `records_title_search` (account, type, title) answers when the planner finds
    /// it cheaper than walking the account's records in list order.
    pub(super) async fn push_account_records_scope(
        &self,
        query: &mut sqlx::QueryBuilder<sqlx::Postgres>,
        account_id: uuid::Uuid,
        record_type: &str,
        search: Option<&str>,
    ) -> Result<()> {
        query
            .push("r.account_id = ")
            .push_bind(account_id)
            .push(" AND r.record_type = ")
            .push_bind(record_type.to_owned());
        if let Some(term) = search {
            query.push(" AND r.title ILIKE ").push_bind(super::contains_pattern(term)).push(" ESCAPE '\\'");
        }
        Ok(())
    }

    pub async fn connect(settings: &Settings) -> std::result::Result<Self, sqlx::Error> {
        let options = PgConnectOptions::from_str(&settings.database_url)?;
        // One direct connection first: a pool only reports "timed out", while this
        // surfaces the real cause (refused, unknown host, bad password, no database).
        let timeout = settings.database.connect_timeout();
        match tokio::time::timeout(timeout, options.connect()).await {
            Ok(connection) => connection?.close().await?,
            Err(_) => return Err(sqlx::Error::PoolTimedOut),
        }
        let pool = PgPoolOptions::new()
            .max_connections(settings.database.max_connections)
            .acquire_timeout(timeout)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    /// The pool, shared with the job queue (apalis-postgres keeps to its own schema).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn migrate(&self) -> Result<()> {
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// A transaction-scoped advisory lock serializes appends to the audit chain
    /// (row locks cannot: the next row does not exist yet).
    pub(super) async fn begin_audit_append(&self) -> Result<crate::store::WriteTransaction<sqlx::Postgres>> {
        const AUDIT_APPEND_LOCK: i64 = 0x706f_7274_6963_6f01; // "portico" + 1
        let mut transaction = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_APPEND_LOCK).execute(&mut *transaction).await?;
        Ok(crate::store::WriteTransaction::new(transaction, None))
    }

    /// The cached records among `external_ids` (one type): one probe of the unique
    /// index per id. The `OFFSET 0` keeps the lateral subquery from being flattened
    /// into a join the planner may reorder: without statistics (a new table during
    /// its first big sync) it would scan every record of the instance per page.
    pub(super) async fn existing_records(
        connection: &mut sqlx::PgConnection,
        instance_id: uuid::Uuid,
        record_type: &str,
        external_ids: Vec<String>,
    ) -> Result<Vec<crate::store::ExistingRecordRow>> {
        Ok(sqlx::query_as(
            "SELECT r.id, r.record_type, r.external_id, r.stream, r.account_ref, r.account_id, r.content_hash,
                r.source_updated_at, r.deleted_at
             FROM unnest($3::text[]) AS wanted(external_id)
             CROSS JOIN LATERAL (
                 SELECT id, record_type, external_id, stream, account_ref, account_id, content_hash, source_updated_at,
                    deleted_at FROM records
                 WHERE external_id = wanted.external_id AND source_instance_id = $1 AND record_type = $2
                 OFFSET 0
             ) r",
        )
        .bind(instance_id)
        .bind(record_type)
        .bind(external_ids)
        .fetch_all(connection)
        .await?)
    }

    /// Inserts or replaces records (new and changed ones of a page) in one
    /// statement of column arrays: the same prepared statement for any batch size,
    /// where a VALUES list would be parsed and planned anew for each.
    pub(super) async fn upsert_records(
        connection: &mut sqlx::PgConnection,
        page: &crate::store::PageWrite<'_>,
        rows: &[(uuid::Uuid, &crate::store::PreparedRecord, Option<uuid::Uuid>)],
    ) -> Result<()> {
        let column = |get: &dyn Fn(&crate::store::PreparedRecord) -> Option<String>| -> Vec<Option<String>> {
            rows.iter().map(|(_, record, _)| get(record)).collect()
        };
        let ids: Vec<uuid::Uuid> = rows.iter().map(|(id, _, _)| *id).collect();
        let account_ids: Vec<Option<uuid::Uuid>> = rows.iter().map(|(_, _, account_id)| *account_id).collect();
        let amounts: Vec<Option<i64>> = rows.iter().map(|(_, record, _)| record.amount_minor).collect();
        let occurred: Vec<Option<chrono::DateTime<chrono::Utc>>> =
            rows.iter().map(|(_, record, _)| record.occurred_at).collect();
        let source_updated: Vec<Option<chrono::DateTime<chrono::Utc>>> =
            rows.iter().map(|(_, record, _)| record.source_updated_at).collect();
        let due: Vec<Option<chrono::DateTime<chrono::Utc>>> = rows.iter().map(|(_, record, _)| record.due_at).collect();
        let hashes: Vec<Vec<u8>> = rows.iter().map(|(_, record, _)| record.content_hash.clone()).collect();
        let statement = format!(
            "INSERT INTO records (id, record_type, source_instance_id, stream, external_id, account_ref, account_id,
                parent_external_id, title, status, amount_minor, currency, occurred_at, data, raw, content_hash,
                source_updated_at, last_seen_run_id, created_at, updated_at, due_at)
             SELECT id, record_type, $1, $2, external_id, account_ref, account_id, parent_external_id, title, status,
                amount_minor, currency, occurred_at, data::jsonb, raw::json, content_hash, source_updated_at, $3, $4, $4, due_at
             FROM unnest($5::uuid[], $6::text[], $7::text[], $8::text[], $9::uuid[], $10::text[], $11::text[], $12::text[],
                $13::bigint[], $14::text[], $15::timestamptz[], $16::text[], $17::text[], $18::bytea[], $19::timestamptz[],
                $20::timestamptz[])
                AS input(id, record_type, external_id, account_ref, account_id, parent_external_id, title, status,
                    amount_minor, currency, occurred_at, data, raw, content_hash, source_updated_at, due_at)
             {}",
            crate::store::RECORD_UPSERT_TAIL
        );
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .bind(page.instance_id)
            .bind(page.stream)
            .bind(page.seen_by())
            .bind(page.now)
            .bind(ids)
            .bind(column(&|record| Some(record.record_type.to_owned())))
            .bind(column(&|record| Some(record.external_id.clone())))
            .bind(column(&|record| record.account_ref.clone()))
            .bind(account_ids)
            .bind(column(&|record| record.parent_external_id.clone()))
            .bind(column(&|record| Some(record.title.clone())))
            .bind(column(&|record| record.status.clone()))
            .bind(amounts)
            .bind(column(&|record| record.currency.clone()))
            .bind(occurred)
            .bind(column(&|record| Some(record.data.get().to_owned())))
            .bind(column(&|record| Some(record.raw.get().to_owned())))
            .bind(hashes)
            .bind(source_updated)
            .bind(due)
            .execute(&mut *connection)
            .await?;
        Ok(())
    }

    /// A write transaction (row locks are taken by the statements themselves).
    pub(super) async fn begin_write(&self) -> Result<crate::store::WriteTransaction<sqlx::Postgres>> {
        Ok(crate::store::WriteTransaction::new(self.pool.begin().await?, None))
    }

    /// A transaction holding the account row's lock, serializing membership
    /// changes within one account.
    pub(super) async fn begin_account_write(
        &self,
        account_id: uuid::Uuid,
    ) -> Result<crate::store::WriteTransaction<sqlx::Postgres>> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR UPDATE")
            .bind(account_id)
            .execute(&mut *transaction)
            .await?;
        Ok(crate::store::WriteTransaction::new(transaction, None))
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
