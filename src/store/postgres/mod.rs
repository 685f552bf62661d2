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
    pub(super) async fn begin_audit_append(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        const AUDIT_APPEND_LOCK: i64 = 0x706f_7274_6963_6f01; // "portico" + 1
        let mut transaction = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_APPEND_LOCK).execute(&mut *transaction).await?;
        Ok(transaction)
    }

    /// A write transaction (row locks are taken by the statements themselves).
    pub(super) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self.pool.begin().await?)
    }

    /// A transaction holding the account row's lock, serializing membership
    /// changes within one account.
    pub(super) async fn begin_account_write(
        &self,
        account_id: uuid::Uuid,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR UPDATE")
            .bind(account_id)
            .execute(&mut *transaction)
            .await?;
        Ok(transaction)
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
