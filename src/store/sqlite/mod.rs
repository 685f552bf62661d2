//! SQLite engine: connection settings and the SQL for each area.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::{MIGRATIONS_TABLE, Result};
use crate::config::{Settings, SqliteSynchronous as SynchronousSetting};

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
    setup_lock_path: PathBuf,
    /// Write transactions of this process queue here (see `WriteTransaction`).
    write_gate: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// Serializes first-time setup between processes sharing one SQLite file: a `serve`
/// and a `worker` started together on a fresh database would otherwise race to
/// switch it to WAL ("database is locked") and to create the same tables (sqlx
/// takes no migration lock on SQLite). Held until dropped; an advisory lock on a
/// file beside the database.
pub struct SetupLock {
    _file: std::fs::File,
}

impl SetupLock {
    pub fn path_for(options: &SqliteConnectOptions) -> PathBuf {
        let mut lock_path = options.get_filename().as_os_str().to_owned();
        lock_path.push(".setup-lock");
        PathBuf::from(lock_path)
    }

    pub async fn acquire(lock_path: PathBuf) -> std::io::Result<Self> {
        tokio::task::spawn_blocking(move || {
            let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(lock_path)?;
            file.lock()?;
            Ok(Self { _file: file })
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

/// Connection options for any pool writing application data: WAL, foreign keys,
/// a busy timeout and `synchronous` from configuration (never below NORMAL), so a
/// commit the service has acknowledged survives a process kill.
pub fn connect_options(settings: &Settings) -> std::result::Result<SqliteConnectOptions, sqlx::Error> {
    let synchronous = match settings.database.sqlite_synchronous {
        SynchronousSetting::Normal => SqliteSynchronous::Normal,
        SynchronousSetting::Full => SqliteSynchronous::Full,
    };
    Ok(SqliteConnectOptions::from_str(&settings.database_url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .foreign_keys(true)
        .busy_timeout(Duration::from_millis(settings.database.sqlite_busy_timeout_ms)))
}

/// Creates the folder holding the database file, so `sqlite://data/portico.db` works
/// on a fresh checkout.
pub fn ensure_parent_folder(options: &SqliteConnectOptions) -> std::result::Result<(), sqlx::Error> {
    if let Some(parent) = Path::new(options.get_filename()).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    Ok(())
}

/// A search term matching at most this many titles across all accounts is looked
/// up in the FTS5 index; a more common one is matched while walking the account's
/// own records, where its matches come early.
const SELECTIVE_SEARCH_MATCHES: i64 = 2_000;

impl SqliteStore {
    /// The conditions of an account's record list: its account and type, and titles
    /// containing `search` (without case). A term of three or more characters that
    /// few titles contain is looked up in the FTS5 trigram index (`records_search`)
    /// and its matches fetched by id, the account and type checked on each (`+`
    /// keeps the planner off the account's index, which would walk every record of
    /// the account): a rare invoice number in an account of 100,000 invoices costs a
    /// few lookups, not a scan. A common term ("INV") is matched while walking the
    /// account's records in list order, which stops as soon as a page is full; a
    /// shorter one has no trigrams to look up.
    pub(super) async fn push_account_records_scope(
        &self,
        query: &mut sqlx::QueryBuilder<sqlx::Sqlite>,
        account_id: uuid::Uuid,
        record_type: &str,
        search: Option<&str>,
    ) -> Result<()> {
        let Some(term) = search else {
            query
                .push("r.account_id = ")
                .push_bind(account_id)
                .push(" AND r.record_type = ")
                .push_bind(record_type.to_owned());
            return Ok(());
        };
        if term.chars().count() >= 3 {
            // A phrase: the term as it is, quotes doubled, no FTS5 operators.
            let phrase = format!("\"{}\"", term.replace('"', "\"\""));
            let (matches,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM (SELECT 1 FROM records_search WHERE records_search MATCH $1 LIMIT $2)",
            )
            .bind(&phrase)
            .bind(SELECTIVE_SEARCH_MATCHES)
            .fetch_one(&self.pool)
            .await?;
            if matches < SELECTIVE_SEARCH_MATCHES {
                query
                    .push("+r.account_id = ")
                    .push_bind(account_id)
                    .push(" AND +r.record_type = ")
                    .push_bind(record_type.to_owned())
                    .push(" AND r.id IN (SELECT record_id FROM records_search WHERE records_search MATCH ")
                    .push_bind(phrase)
                    .push(")");
                return Ok(());
            }
        }
        query
            .push("r.account_id = ")
            .push_bind(account_id)
            .push(" AND r.record_type = ")
            .push_bind(record_type.to_owned());
        query.push(" AND r.title LIKE ").push_bind(super::contains_pattern(term)).push(" ESCAPE '\\'");
        Ok(())
    }

    pub async fn connect(settings: &Settings) -> std::result::Result<Self, sqlx::Error> {
        let options = connect_options(settings)?;
        ensure_parent_folder(&options)?;
        let setup_lock_path = SetupLock::path_for(&options);
        // The first connection switches a new file to WAL; one process at a time.
        let _lock = SetupLock::acquire(setup_lock_path.clone()).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.database.max_connections)
            .acquire_timeout(settings.database.connect_timeout())
            .connect_with(options.clone())
            .await?;
        Ok(Self { pool, setup_lock_path, write_gate: Default::default() })
    }

    pub async fn migrate(&self) -> Result<()> {
        let _lock = SetupLock::acquire(self.setup_lock_path.clone()).await?;
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// SQLite serializes writers; `BEGIN IMMEDIATE` takes the write lock up front so
    /// the read of the last hash and the insert see no writer in between.
    pub(super) async fn begin_audit_append(&self) -> Result<crate::store::WriteTransaction<sqlx::Sqlite>> {
        self.begin_write().await
    }

    /// The cached records among `external_ids` (one type): SQLite seeks the unique
    /// index once per id in an IN list.
    pub(super) async fn existing_records(
        connection: &mut sqlx::SqliteConnection,
        instance_id: uuid::Uuid,
        record_type: &str,
        external_ids: Vec<String>,
    ) -> Result<Vec<crate::store::ExistingRecordRow>> {
        let mut query = sqlx::QueryBuilder::new(
            "SELECT id, record_type, external_id, stream, account_ref, account_id, content_hash, source_updated_at, deleted_at FROM records
             WHERE source_instance_id = ",
        );
        query.push_bind(instance_id).push(" AND record_type = ").push_bind(record_type).push(" AND external_id IN (");
        let mut list = query.separated(", ");
        for external_id in external_ids {
            list.push_bind(external_id);
        }
        query.push(")");
        Ok(query.build_query_as().fetch_all(connection).await?)
    }

    /// Inserts or replaces records (new and changed ones of a page), many rows per statement.
    pub(super) async fn upsert_records(
        connection: &mut sqlx::SqliteConnection,
        page: &crate::store::PageWrite<'_>,
        rows: &[(uuid::Uuid, &crate::store::PreparedRecord, Option<uuid::Uuid>)],
    ) -> Result<()> {
        // 21 binds a row; SQLite allows 32766 per statement.
        const ROWS_PER_STATEMENT: usize = 500;
        let seen_by = page.seen_by();
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut query = sqlx::QueryBuilder::new(
                "INSERT INTO records (id, record_type, source_instance_id, stream, external_id, account_ref, account_id,
                    parent_external_id, title, status, amount_minor, currency, occurred_at, data, raw, content_hash,
                    source_updated_at, last_seen_run_id, created_at, updated_at, due_at) ",
            );
            query.push_values(chunk, |mut row, (id, record, account_id)| {
                row.push_bind(*id)
                    .push_bind(record.record_type)
                    .push_bind(page.instance_id)
                    .push_bind(page.stream)
                    .push_bind(record.external_id.as_str())
                    .push_bind(record.account_ref.as_deref())
                    .push_bind(*account_id)
                    .push_bind(record.parent_external_id.as_deref())
                    .push_bind(record.title.as_str())
                    .push_bind(record.status.as_deref())
                    .push_bind(record.amount_minor)
                    .push_bind(record.currency.as_deref())
                    .push_bind(record.occurred_at)
                    .push_bind(record.data.get())
                    .push_bind(record.raw.get())
                    .push_bind(record.content_hash.as_slice())
                    .push_bind(record.source_updated_at)
                    .push_bind(seen_by)
                    .push_bind(page.now)
                    .push_bind(page.now)
                    .push_bind(record.due_at);
            });
            query.push(crate::store::RECORD_UPSERT_TAIL);
            query.build().execute(&mut *connection).await?;
        }
        Ok(())
    }

    /// A write transaction holding SQLite's write lock from the start, for work
    /// that reads before it writes.
    pub(super) async fn begin_write(&self) -> Result<crate::store::WriteTransaction<sqlx::Sqlite>> {
        let gate = self.write_gate.clone().lock_owned().await;
        let transaction = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(crate::store::WriteTransaction::new(transaction, Some(gate)))
    }

    /// A write transaction that holds SQLite's single write lock from the start
    /// (so its reads cannot go stale before its writes).
    pub(super) async fn begin_account_write(
        &self,
        _account_id: uuid::Uuid,
    ) -> Result<crate::store::WriteTransaction<sqlx::Sqlite>> {
        self.begin_write().await
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
