//! The job queue on either engine.
//!
//! SQLite: the queue lives in the same file as the data but has its own pool, because
//! apalis-sqlite's setup switches the connection it runs on to `synchronous=OFF`; that
//! setup runs on a throwaway single connection, and the queue pool then uses the same
//! durable settings as the store. PostgreSQL: apalis keeps its tables in the `apalis`
//! schema and shares the store's pool.

use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskSink};
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use sqlx::PgPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use super::Job;
use crate::config::{JobSettings, Settings};
use crate::store::{SqliteSetupLock, Store, sqlite_connect_options};

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue database error")]
    Database(#[from] sqlx::Error),
    #[error("queue setup failed: {0}")]
    Setup(String),
    #[error("could not enqueue a job: {0}")]
    Enqueue(String),
}

#[derive(Debug, Clone)]
pub enum JobQueue {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// How many jobs one queue holds, by state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueDepth {
    pub queue: String,
    /// Waiting to run, including failed jobs with attempts left.
    pub pending: i64,
    pub running: i64,
}

impl JobQueue {
    /// Opens the queue, applying apalis' own migrations when `migrate` is set.
    pub async fn open(settings: &Settings, store: &Store, migrate: bool) -> Result<Self, QueueError> {
        match store {
            Store::Sqlite(_) => {
                let options = sqlite_connect_options(settings)?;
                if migrate {
                    let _lock =
                        SqliteSetupLock::acquire(SqliteSetupLock::path_for(&options)).await.map_err(sqlx::Error::Io)?;
                    if sqlite_queue_migrations_pending(&options).await? {
                        let setup_pool =
                            SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
                        let setup = SqliteStorage::setup(&setup_pool).await;
                        // Closing discards the connection setup left at `synchronous=OFF`.
                        setup_pool.close().await;
                        setup.map_err(|error| QueueError::Setup(error.to_string()))?;
                    }
                }
                let pool = SqlitePoolOptions::new()
                    .max_connections(settings.database.max_connections)
                    .acquire_timeout(settings.database.connect_timeout())
                    .connect_with(options)
                    .await?;
                Ok(JobQueue::Sqlite(pool))
            }
            Store::Postgres(store) => {
                let pool = store.pool().clone();
                if migrate {
                    PostgresStorage::setup(&pool).await.map_err(|error| QueueError::Setup(error.to_string()))?;
                }
                Ok(JobQueue::Postgres(pool))
            }
        }
    }

    /// Enqueues a job; it is durable once this returns.
    pub async fn enqueue<J: Job>(&self, job: J, settings: &JobSettings) -> Result<(), QueueError> {
        self.enqueue_after(job, Duration::ZERO, settings).await
    }

    /// Enqueues a job that no worker takes before `delay` has passed. This is how
    /// long waits (an upstream's Retry-After) are spent: in the queue, not holding
    /// a worker slot.
    pub async fn enqueue_after<J: Job>(
        &self,
        job: J,
        delay: Duration,
        settings: &JobSettings,
    ) -> Result<(), QueueError> {
        let task = TaskBuilder::new(job).max_attempts(settings.max_attempts as usize).run_after(delay).build();
        let enqueue_error = |error: &dyn std::fmt::Display| QueueError::Enqueue(error.to_string());
        match self {
            JobQueue::Sqlite(pool) => {
                let mut storage = SqliteStorage::<J>::new(pool).with_config(sqlite_config::<J>(settings));
                storage.push_task(task).await.map_err(|error| enqueue_error(&error))
            }
            JobQueue::Postgres(pool) => {
                let mut storage = PostgresStorage::<J>::new(pool).with_config(postgres_config::<J>(settings));
                storage.push_task(task).await.map_err(|error| enqueue_error(&error))
            }
        }
    }

    /// Jobs waiting and running per queue, for `/metrics`.
    pub async fn depth(&self) -> Result<Vec<QueueDepth>, QueueError> {
        // Statuses as apalis writes them; a failed job with attempts left runs again.
        let rows: Vec<(String, i64, i64)> = match self {
            JobQueue::Sqlite(pool) => {
                sqlx::query_as(
                    "SELECT job_type,
                            SUM(CASE WHEN status = 'Pending' OR (status = 'Failed' AND attempts < max_attempts) THEN 1 ELSE 0 END),
                            SUM(CASE WHEN status IN ('Queued', 'Running') THEN 1 ELSE 0 END)
                     FROM Jobs GROUP BY job_type",
                )
                .fetch_all(pool)
                .await?
            }
            JobQueue::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT job_type,
                            COUNT(*) FILTER (WHERE status = 'Pending' OR (status = 'Failed' AND attempts < max_attempts)),
                            COUNT(*) FILTER (WHERE status IN ('Queued', 'Running'))
                     FROM apalis.jobs GROUP BY job_type",
                )
                .fetch_all(pool)
                .await?
            }
        };
        Ok(rows.into_iter().map(|(queue, pending, running)| QueueDepth { queue, pending, running }).collect())
    }

    /// Proves the queue's tables answer, for readiness checks.
    pub async fn ping(&self) -> Result<(), QueueError> {
        match self {
            JobQueue::Sqlite(pool) => sqlx::query("SELECT 1 FROM Jobs LIMIT 1").execute(pool).await.map(drop)?,
            JobQueue::Postgres(pool) => {
                sqlx::query("SELECT 1 FROM apalis.jobs LIMIT 1").execute(pool).await.map(drop)?
            }
        }
        Ok(())
    }

    pub async fn close(&self) {
        // The PostgreSQL pool belongs to the store, which closes it.
        if let JobQueue::Sqlite(pool) = self {
            pool.close().await;
        }
    }
}

/// Whether apalis-sqlite has migrations not yet applied to this file. Its setup
/// also runs database-wide pragmas (`optimize`, journal settings) that contend with
/// a running service for SQLite's locks, so it runs only when there is work to do.
async fn sqlite_queue_migrations_pending(options: &SqliteConnectOptions) -> Result<bool, QueueError> {
    use sqlx::{ConnectOptions, Connection};
    let mut connection = options.connect().await?;
    let applied: Result<Vec<(i64,)>, sqlx::Error> =
        sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(&mut connection).await;
    connection.close().await?;
    let Ok(applied) = applied else { return Ok(true) };
    let applied: std::collections::HashSet<i64> = applied.into_iter().map(|(version,)| version).collect();
    Ok(SqliteStorage::migrations().iter().any(|migration| !applied.contains(&migration.version)))
}

pub(super) fn sqlite_config<J: Job>(settings: &JobSettings) -> apalis_sqlite::Config {
    apalis_sqlite::Config::default()
        .queue(J::QUEUE)
        .batch_size(settings.concurrency)
        .heartbeat_interval(settings.heartbeat())
        .missed_heartbeats(settings.missed_heartbeats)
}

pub(super) fn postgres_config<J: Job>(settings: &JobSettings) -> apalis_postgres::Config {
    apalis_postgres::Config::default()
        .queue(J::QUEUE)
        .batch_size(settings.concurrency)
        .heartbeat_interval(settings.heartbeat())
        .missed_heartbeats(settings.missed_heartbeats)
}
