//! The record cache: committing a page of synced records (with history and
//! change detection), the full-run deletion sweep, history and parked records.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::{
    AccountRecordRow, PageCounts, PageWrite, PageWriteEnd, ParkedGroup, PreparedRecord, RecordListFilter, RecordRow,
    RecordVersionRow, Result, SweepOutcome, new_id,
};

/// Rows per multi-row statement: 20 binds each stays far below both engines' limits.
const ROWS_PER_STATEMENT: usize = 500;

/// A `RecordRow`'s columns, of `records r`.
macro_rules! record_columns {
    () => {
        "r.id, r.record_type, r.source_instance_id, r.stream, r.external_id, r.account_ref, r.account_id, r.title,
        r.status, r.amount_minor, r.currency, r.occurred_at, r.due_at, r.data, r.source_updated_at, r.created_at, r.updated_at,
        r.deleted_at"
    };
}

/// Records of a stream (`$1` instance, `$2` stream) that a full run (`$3`,
/// started at `$4`) did not see and nothing touched since: what its sweep deletes.
const UNSEEN_BY_RUN: &str = "WHERE source_instance_id = $1 AND stream = $2 AND deleted_at IS NULL
    AND (last_seen_run_id IS NULL OR last_seen_run_id <> $3) AND updated_at < $4";

/// A `RecordRow`'s columns (of `records r`), for queries across the store.
pub const RECORD_COLUMNS: &str = record_columns!();

/// A record with its source's kind and name and its stream's freshness (public
/// for the read benchmark's ceiling, which runs the same query bare).
pub const ACCOUNT_RECORD_SELECT: &str = concat!(
    "SELECT ",
    record_columns!(),
    ", ci.kind AS source_kind, ci.name AS source_name, sc.last_success_at, sc.last_event_at
     FROM records r
     JOIN connector_instances ci ON ci.id = r.source_instance_id
     LEFT JOIN sync_checkpoints sc ON sc.connector_instance_id = r.source_instance_id AND sc.stream = r.stream"
);

/// What the cache holds for a record about to be written.
struct Existing {
    id: Uuid,
    stream: String,
    account_ref: Option<String>,
    account_id: Option<Uuid>,
    content_hash: Vec<u8>,
    source_updated_at: Option<DateTime<Utc>>,
    deleted: bool,
}

/// Whether an incoming record changes the cache.
fn is_stale(incoming: &PreparedRecord, existing: &Existing) -> bool {
    // An older snapshot (an out-of-order event) never rolls a record back.
    matches!((incoming.source_updated_at, existing.source_updated_at), (Some(new), Some(old)) if new < old)
}

portable_queries! {
    /// Commits one page: its records (new, changed, unchanged, restored), the
    /// deletions the upstream reported, the run's counters and position, and on the
    /// last page the stream's checkpoint, all in one transaction. `None` when the
    /// run is no longer running (cancelled, or taken over): nothing is written.
    /// Changes from webhooks (no run) take the same path and stamp the stream's
    /// `last_event_at` instead.
    pub async fn apply_page(&self, page: &PageWrite<'_>) -> Result<Option<PageCounts>> {
        let mut transaction = self.begin_write().await?;
        // Fencing first (a write, so SQLite holds its lock before any read).
        if let Some(run) = page.run {
            let fenced = sqlx::query("UPDATE sync_runs SET heartbeat_at = $3 WHERE id = $1 AND lease_id = $2 AND status = 'running'")
                .bind(run.run_id)
                .bind(run.lease_id)
                .bind(page.now)
                .execute(&mut *transaction)
                .await?;
            if fenced.rows_affected() != 1 {
                return Ok(None);
            }
        } else {
            sqlx::query(
                "INSERT INTO sync_checkpoints (connector_instance_id, stream, last_event_at, updated_at) VALUES ($1, $2, $3, $3)
                 ON CONFLICT (connector_instance_id, stream) DO UPDATE SET last_event_at = excluded.last_event_at",
            )
            .bind(page.instance_id)
            .bind(page.stream)
            .bind(page.now)
            .execute(&mut *transaction)
            .await?;
        }

        // Of duplicates within the write, the newest snapshot wins (pages of an
        // event feed may run newest first), else the last one.
        let mut latest: HashMap<(&str, &str), &PreparedRecord> = HashMap::new();
        for record in &page.records {
            let key = (record.record_type, record.external_id.as_str());
            let older = latest.get(&key).is_some_and(|current| {
                matches!((record.source_updated_at, current.source_updated_at), (Some(new), Some(old)) if new < old)
            });
            if !older {
                latest.insert(key, record);
            }
        }
        let mut records: Vec<&PreparedRecord> = latest.into_values().collect();
        records.sort_by(|a, b| (a.record_type, &a.external_id).cmp(&(b.record_type, &b.external_id)));

        let mut existing: HashMap<(String, String), Existing> = HashMap::new();
        let mut accounts: HashMap<String, Uuid> = HashMap::new();
        // Sorted by type, so each chunk's lookups share a type: the unique index
        // (instance, type, external id) then answers each IN list directly.
        for chunk in records.chunk_by(|a, b| a.record_type == b.record_type).flat_map(|same_type| same_type.chunks(ROWS_PER_STATEMENT)) {
            let external_ids: Vec<String> = chunk.iter().map(|record| record.external_id.clone()).collect();
            let rows = Self::existing_records(&mut transaction, page.instance_id, chunk[0].record_type, external_ids).await?;
            for row in rows {
                let current = Existing {
                    id: row.id,
                    stream: row.stream,
                    account_ref: row.account_ref,
                    account_id: row.account_id,
                    content_hash: row.content_hash,
                    source_updated_at: row.source_updated_at,
                    deleted: row.deleted_at.is_some(),
                };
                existing.insert((row.record_type, row.external_id), current);
            }

            let mut refs: Vec<&str> = chunk.iter().filter_map(|record| record.account_ref.as_deref()).collect();
            refs.sort_unstable();
            refs.dedup();
            if !refs.is_empty() {
                let mut query = QueryBuilder::new("SELECT account_ref, account_id FROM account_mappings WHERE connector_instance_id = ");
                query.push_bind(page.instance_id).push(" AND account_ref IN (");
                let mut list = query.separated(", ");
                for account_ref in refs {
                    list.push_bind(account_ref);
                }
                query.push(")");
                let rows: Vec<(String, Uuid)> = query.build_query_as().fetch_all(&mut *transaction).await?;
                accounts.extend(rows);
            }
        }

        let mut counts = PageCounts::default();
        // (row id, record, the account it keeps when its upstream did not say).
        let mut writes: Vec<(Uuid, std::borrow::Cow<'_, PreparedRecord>, Option<Option<Uuid>>)> = Vec::new();
        let mut superseded: Vec<Uuid> = Vec::new();
        let mut seen_unchanged: Vec<Uuid> = Vec::new();
        for record in records {
            let current = existing.get(&(record.record_type.to_owned(), record.external_id.clone()));
            // One row is one upstream object: a record of the same type and id
            // from another stream of the instance is a different object (an
            // upstream numbering each object type on its own) and must not
            // overwrite it, nor move it between accounts.
            if let Some(current) = current.filter(|current| current.stream != page.stream) {
                tracing::warn!(
                    stream = page.stream, holder = %current.stream, record_type = record.record_type,
                    external_id = %record.external_id,
                    "a record of this type and upstream id already comes from another stream; not written"
                );
                counts.failed += 1;
                continue;
            }
            // The upstream did not say whose it is this time: it keeps its account.
            let (record, kept_account) = match (record.account_unknown, current) {
                (true, Some(current)) => {
                    counts.accounts_kept += 1;
                    let kept = record.keeping_account_ref(current.account_ref.clone());
                    (std::borrow::Cow::Owned(kept), Some(current.account_id))
                }
                (true, None) => {
                    counts.accounts_kept += 1;
                    (std::borrow::Cow::Borrowed(record), None)
                }
                (false, _) => (std::borrow::Cow::Borrowed(record), None),
            };
            match current {
                None => {
                    counts.added += 1;
                    writes.push((new_id(), record, kept_account));
                }
                Some(current) if current.content_hash == record.content_hash && !current.deleted => {
                    counts.unchanged += 1;
                    seen_unchanged.push(current.id);
                }
                Some(current) if is_stale(&record, current) => {
                    counts.unchanged += 1;
                    seen_unchanged.push(current.id);
                }
                Some(current) => {
                    counts.updated += 1;
                    superseded.push(current.id);
                    writes.push((current.id, record, kept_account));
                }
            }
        }

        // History first: each changed record keeps the version it replaces.
        for chunk in superseded.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::new(
                "INSERT INTO record_versions (record_id, data, raw, content_hash, valid_from, superseded_at, change)
                 SELECT id, data, raw, content_hash, updated_at, ",
            );
            query.push_bind(page.now).push(
                ", CASE WHEN deleted_at IS NULL THEN 'updated' ELSE 'restored' END FROM records WHERE id IN (",
            );
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(")");
            query.build().execute(&mut *transaction).await?;
        }

        let rows: Vec<(Uuid, &PreparedRecord, Option<Uuid>)> = writes
            .iter()
            .map(|(id, record, kept_account)| {
                let account_id = kept_account.unwrap_or_else(|| {
                    record.account_ref.as_ref().and_then(|account_ref| accounts.get(account_ref)).copied()
                });
                (*id, record.as_ref(), account_id)
            })
            .collect();
        if !rows.is_empty() {
            Self::upsert_records(&mut transaction, page, &rows).await?;
        }

        // Unchanged records only need the sweep's mark, and only in full runs.
        if let Some(seen_by) = page.seen_by() {
            for chunk in seen_unchanged.chunks(ROWS_PER_STATEMENT) {
                let mut query = QueryBuilder::new("UPDATE records SET last_seen_run_id = ");
                query.push_bind(seen_by).push(" WHERE id IN (");
                let mut list = query.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                query.push(")");
                query.build().execute(&mut *transaction).await?;
            }
        }

        // A deletion names an object of this stream: another stream's record with
        // the same type and id is another object, and stays.
        for (record_type, external_id) in &page.deletions {
            let filter = "WHERE source_instance_id = $1 AND record_type = $2 AND external_id = $3 AND stream = $5
                AND deleted_at IS NULL";
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO record_versions (record_id, data, raw, content_hash, valid_from, superseded_at, change)
                 SELECT id, data, raw, content_hash, updated_at, $4, 'deleted' FROM records {filter}"
            )))
            .bind(page.instance_id)
            .bind(*record_type)
            .bind(external_id.as_str())
            .bind(page.now)
            .bind(page.stream)
            .execute(&mut *transaction)
            .await?;
            let deleted = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE records SET deleted_at = $4, updated_at = $4 {filter}"
            )))
            .bind(page.instance_id)
            .bind(*record_type)
            .bind(external_id.as_str())
            .bind(page.now)
            .bind(page.stream)
            .execute(&mut *transaction)
            .await?;
            counts.deleted += deleted.rows_affected() as i64;
        }

        // The deliveries these changes came from, marked processed in the same
        // transaction (one statement per chunk: a round trip each costs on PostgreSQL).
        for chunk in page.deliveries.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::new("UPDATE webhook_inbox SET status = 'processed', processed_at = ");
            query.push_bind(page.now).push(
                ", claimed_until = NULL, last_error = NULL, outcome = delivered.column2 FROM (",
            );
            query.push_values(chunk, |mut row, (delivery_id, outcome)| {
                row.push_bind(*delivery_id).push_bind(Json(outcome));
            });
            query.push(") AS delivered WHERE webhook_inbox.id = delivered.column1");
            query.build().execute(&mut *transaction).await?;
        }

        let Some(run) = page.run else {
            transaction.commit().await?;
            return Ok(Some(counts));
        };
        let position = match &page.end {
            PageWriteEnd::More(position) => Some(Json(position)),
            PageWriteEnd::Done(_) => None,
        };
        sqlx::query(
            "UPDATE sync_runs SET position = $2, pages = pages + $7, added = added + $3, updated = updated + $4,
                unchanged = unchanged + $5, deleted = deleted + $6, failed = failed + $8, accounts_kept = accounts_kept + $9
             WHERE id = $1",
        )
        .bind(run.run_id)
        .bind(position)
        .bind(counts.added)
        .bind(counts.updated)
        .bind(counts.unchanged)
        .bind(counts.deleted)
        .bind(page.pages)
        .bind(page.failed + counts.failed)
        .bind(counts.accounts_kept)
        .execute(&mut *transaction)
        .await?;

        if let PageWriteEnd::Done(checkpoint) = &page.end {
            sqlx::query(
                "INSERT INTO sync_checkpoints (connector_instance_id, stream, checkpoint, last_success_at, updated_at)
                 VALUES ($1, $2, $3, $4, $4)
                 ON CONFLICT (connector_instance_id, stream) DO UPDATE SET
                    checkpoint = COALESCE(excluded.checkpoint, sync_checkpoints.checkpoint),
                    last_success_at = excluded.last_success_at, updated_at = excluded.updated_at",
            )
            .bind(page.instance_id)
            .bind(page.stream)
            .bind(checkpoint.as_ref().map(Json))
            .bind(page.now)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(Some(counts))
    }

    /// After a full run: records of the stream it did not see (and nothing touched
    /// since it started) are soft-deleted, unless they are more than `max_share`
    /// of the stream: then nothing is deleted and the count is returned as held.
    /// `max_share` of `None` applies without the guard (an admin confirmed).
    pub async fn sweep_unseen(&self, instance_id: Uuid, stream: &str, run_id: Uuid, run_started_at: DateTime<Utc>, max_share: Option<f64>, now: DateTime<Utc>) -> Result<SweepOutcome> {
        let mut transaction = self.begin_write().await?;
        let unseen = UNSEEN_BY_RUN;
        let (candidates,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM records {unseen}")))
            .bind(instance_id)
            .bind(stream)
            .bind(run_id)
            .bind(run_started_at)
            .fetch_one(&mut *transaction)
            .await?;
        if candidates == 0 {
            return Ok(SweepOutcome::Applied(0));
        }
        if let Some(max_share) = max_share {
            let (live,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM records WHERE source_instance_id = $1 AND stream = $2 AND deleted_at IS NULL",
            )
            .bind(instance_id)
            .bind(stream)
            .fetch_one(&mut *transaction)
            .await?;
            if candidates as f64 > max_share * live as f64 {
                return Ok(SweepOutcome::Held(candidates));
            }
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO record_versions (record_id, data, raw, content_hash, valid_from, superseded_at, change)
             SELECT id, data, raw, content_hash, updated_at, $5, 'deleted' FROM records {unseen}"
        )))
        .bind(instance_id)
        .bind(stream)
        .bind(run_id)
        .bind(run_started_at)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        let deleted = sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE records SET deleted_at = $5, updated_at = $5 {unseen}")))
            .bind(instance_id)
            .bind(stream)
            .bind(run_id)
            .bind(run_started_at)
            .bind(now)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("UPDATE sync_runs SET deleted = deleted + $2 WHERE id = $1")
            .bind(run_id)
            .bind(deleted.rows_affected() as i64)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(SweepOutcome::Applied(deleted.rows_affected() as i64))
    }

    /// Up to `limit` of the records a held full run would delete: what an admin
    /// sees before confirming (the same condition as the sweep's).
    pub async fn held_deletion_sample(&self, instance_id: Uuid, stream: &str, run_id: Uuid, run_started_at: DateTime<Utc>, limit: i64) -> Result<Vec<RecordRow>> {
        let sql = format!("SELECT {RECORD_COLUMNS} FROM records r {UNSEEN_BY_RUN} ORDER BY r.title, r.id LIMIT $5");
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(instance_id)
            .bind(stream)
            .bind(run_id)
            .bind(run_started_at)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows)
    }

    pub async fn record(&self, id: Uuid) -> Result<Option<RecordRow>> {
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {RECORD_COLUMNS} FROM records r WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row)
    }

    /// A record of one account, by type; `None` if it is not that account's.
    /// The account filter is part of the query, never applied after loading.
    pub(in crate::store) async fn account_record(&self, account_id: Uuid, record_type: &str, id: Uuid) -> Result<Option<RecordRow>> {
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RECORD_COLUMNS} FROM records r WHERE id = $1 AND account_id = $2 AND record_type = $3"
        )))
        .bind(id)
        .bind(account_id)
        .bind(record_type)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    /// An account's live records of one type, most recently changed first, after
    /// a keyset position: the account and type lead the index the order follows, so
    /// a page costs the same however deep it is.
    pub(in crate::store) async fn account_records(&self, account_id: Uuid, record_type: &str, filter: &RecordListFilter) -> Result<Vec<AccountRecordRow>> {
        let mut query = QueryBuilder::new(format!("{ACCOUNT_RECORD_SELECT} WHERE "));
        // The account and type, and the text search: each engine says how its index is used.
        self.push_account_records_scope(&mut query, account_id, record_type, filter.search.as_deref()).await?;
        query.push(" AND r.deleted_at IS NULL");
        if let Some(status) = &filter.status {
            query.push(" AND r.status = ").push_bind(status.clone());
        }
        if let Some(from) = filter.occurred_from {
            query.push(" AND r.occurred_at >= ").push_bind(from);
        }
        if let Some(until) = filter.occurred_until {
            query.push(" AND r.occurred_at < ").push_bind(until);
        }
        if let Some(folder) = &filter.folder {
            // `->>` reads the same on SQLite (3.38+) and PostgreSQL.
            query.push(" AND r.data ->> 'folder' = ").push_bind(folder.clone());
        }
        if let Some(tag) = &filter.tag {
            // The tags' JSON text holds each tag quoted ("tax"), so the quoted,
            // JSON-escaped tag matches one whole tag on both engines (whatever
            // spacing each puts between them), never a part of one.
            let quoted = serde_json::to_string(&tag.to_lowercase()).expect("a string serializes");
            query.push(" AND LOWER(r.data ->> 'tags') LIKE ").push_bind(crate::store::contains_pattern(&quoted)).push(" ESCAPE '\\'");
        }
        if let Some(from) = filter.due_from {
            query.push(" AND r.due_at >= ").push_bind(from);
        }
        if let Some(until) = filter.due_until {
            query.push(" AND r.due_at < ").push_bind(until);
        }
        if let Some((updated_at, id)) = filter.after {
            query
                .push(" AND (r.updated_at < ")
                .push_bind(updated_at)
                .push(" OR (r.updated_at = ")
                .push_bind(updated_at)
                .push(" AND r.id < ")
                .push_bind(id)
                .push("))");
        }
        query.push(" ORDER BY r.updated_at DESC, r.id DESC LIMIT ").push_bind(filter.limit);
        Ok(query.build_query_as().fetch_all(&self.pool).await?)
    }

    /// The distinct folders and tags of an account's live documents, sorted. Tags
    /// are read as each distinct tag list (their JSON text, as stored) and split
    /// here, which reads the same on both engines; at most 500 of each.
    pub(in crate::store) async fn account_document_facets(&self, account_id: Uuid) -> Result<(Vec<String>, Vec<String>)> {
        const MOST: i64 = 500;
        let folders: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT r.data ->> 'folder' FROM records r
              WHERE r.account_id = $1 AND r.record_type = 'document' AND r.deleted_at IS NULL
                AND r.data ->> 'folder' <> ''
              ORDER BY 1 LIMIT $2",
        )
        .bind(account_id)
        .bind(MOST)
        .fetch_all(&self.pool)
        .await?;
        let tag_lists: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT r.data ->> 'tags' FROM records r
              WHERE r.account_id = $1 AND r.record_type = 'document' AND r.deleted_at IS NULL
                AND r.data ->> 'tags' IS NOT NULL
              LIMIT $2",
        )
        .bind(account_id)
        .bind(MOST)
        .fetch_all(&self.pool)
        .await?;
        let mut tags: Vec<String> = tag_lists
            .iter()
            .filter_map(|list| serde_json::from_str::<Vec<String>>(list).ok())
            .flatten()
            .filter(|tag| !tag.trim().is_empty())
            .collect();
        tags.sort_by_key(|tag| tag.to_lowercase());
        tags.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        tags.truncate(MOST as usize);
        Ok((folders, tags))
    }

    /// One live record of an account, with its source.
    pub(in crate::store) async fn account_record_with_source(&self, account_id: Uuid, record_type: &str, id: Uuid) -> Result<Option<AccountRecordRow>> {
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{ACCOUNT_RECORD_SELECT} WHERE r.id = $1 AND r.account_id = $2 AND r.record_type = $3 AND r.deleted_at IS NULL"
        )))
        .bind(id)
        .bind(account_id)
        .bind(record_type)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    /// The live records of `child_type` in the account that belong to a parent
    /// (by its upstream id and source), oldest first: an invoice's payments.
    pub(in crate::store) async fn account_record_children(&self, account_id: Uuid, child_type: &str, source_instance_id: Uuid, parent_external_id: &str) -> Result<Vec<AccountRecordRow>> {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{ACCOUNT_RECORD_SELECT} WHERE r.account_id = $1 AND r.record_type = $2 AND r.parent_external_id = $3
                AND r.source_instance_id = $4 AND r.deleted_at IS NULL
             ORDER BY r.occurred_at, r.id LIMIT 500"
        )))
        .bind(account_id)
        .bind(child_type)
        .bind(parent_external_id)
        .bind(source_instance_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// An instance's records (staff view, parked included), by id, for paging.
    pub async fn instance_records(&self, instance_id: Uuid, record_type: Option<&str>, after: Option<Uuid>, limit: i64) -> Result<Vec<RecordRow>> {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RECORD_COLUMNS} FROM records r WHERE source_instance_id = $1 AND ($2 IS NULL OR record_type = $2)
                AND ($3 IS NULL OR id > $3)
             ORDER BY id LIMIT $4"
        )))
        .bind(instance_id)
        .bind(record_type)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// A record of one connector instance with the upstream's payload as received
    /// (staff only, through `StaffData`).
    pub(in crate::store) async fn instance_record_with_raw(&self, instance_id: Uuid, record_id: Uuid) -> Result<Option<(RecordRow, Json<serde_json::Value>)>> {
        let record: Option<RecordRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RECORD_COLUMNS} FROM records r WHERE r.id = $1 AND r.source_instance_id = $2"
        )))
        .bind(record_id)
        .bind(instance_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(record) = record else { return Ok(None) };
        let (raw,): (Json<serde_json::Value>,) = sqlx::query_as("SELECT raw FROM records WHERE id = $1")
            .bind(record_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(Some((record, raw)))
    }

    /// How many live records each connector brought into an account, by type
    /// (staff only, through `StaffData`): (connector id, its name, type, count).
    pub(in crate::store) async fn account_record_counts(&self, account_id: Uuid) -> Result<Vec<(Uuid, String, String, i64)>> {
        let rows = sqlx::query_as(
            "SELECT r.source_instance_id, ci.name, r.record_type, COUNT(*) FROM records r
             JOIN connector_instances ci ON ci.id = r.source_instance_id
             WHERE r.account_id = $1 AND r.deleted_at IS NULL
             GROUP BY r.source_instance_id, ci.name, r.record_type ORDER BY ci.name, r.record_type",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Earlier versions of a record, newest first.
    pub async fn record_history(&self, record_id: Uuid, limit: i64) -> Result<Vec<RecordVersionRow>> {
        let rows = sqlx::query_as(
            "SELECT data, valid_from, superseded_at, change FROM record_versions WHERE record_id = $1
             ORDER BY id DESC LIMIT $2",
        )
        .bind(record_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Parked records of an instance, grouped by the upstream key that has no mapping.
    pub(in crate::store) async fn parked_records(&self, instance_id: Uuid) -> Result<Vec<ParkedGroup>> {
        let rows = sqlx::query_as(
            "SELECT account_ref, COUNT(*) AS records, MIN(created_at) AS first_parked_at, MIN(title) AS sample_title FROM records
             WHERE source_instance_id = $1 AND account_id IS NULL AND deleted_at IS NULL
             GROUP BY account_ref ORDER BY account_ref",
        )
        .bind(instance_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }
}
