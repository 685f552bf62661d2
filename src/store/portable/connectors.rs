//! Connector instances, account mappings, checkpoints and sync runs.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::{
    AccountMappingRow, ConnectorInstanceFields, ConnectorInstanceRow, Result, RunEnd, StoreError, StreamCheckpoint,
    SyncRunRow, is_unique_violation, new_id,
};

const INSTANCE_COLUMNS: &str =
    "id, kind, name, settings, credentials_sealed, allow_private_network, rate_limit_per_sec,
    rate_budget_key, schedule_interval_secs, delete_guard_share, request_timeout_secs, enabled, consecutive_failures, degraded_since,
    last_error, next_sync_at, created_at, updated_at";

const RUN_COLUMNS: &str = "id, connector_instance_id, stream, mode, trigger, status, position, pages, added, updated,
    unchanged, deleted, failed, accounts_kept, held_deletions, attempts, error, retry_at, queued_at, started_at, finished_at";

fn name_conflict(error: sqlx::Error) -> StoreError {
    if is_unique_violation(&error) {
        StoreError::Conflict("a connector with this name already exists")
    } else {
        error.into()
    }
}

portable_queries! {
    /// Creates an instance under `id` (chosen by the caller, since its
    /// credentials are sealed bound to it).
    pub async fn create_connector_instance(&self, id: Uuid, kind: &str, fields: &ConnectorInstanceFields, credentials_sealed: &[u8], now: DateTime<Utc>) -> Result<Uuid> {
        sqlx::query(
            "INSERT INTO connector_instances (id, kind, name, settings, credentials_sealed, allow_private_network,
                rate_limit_per_sec, rate_budget_key, schedule_interval_secs, delete_guard_share, enabled, next_sync_at,
                created_at, updated_at, request_timeout_secs)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12, $13)",
        )
        .bind(id)
        .bind(kind)
        .bind(&fields.name)
        .bind(Json(&fields.settings))
        .bind(credentials_sealed)
        .bind(fields.allow_private_network)
        .bind(fields.rate_limit_per_sec)
        .bind(&fields.rate_budget_key)
        .bind(fields.schedule_interval_secs)
        .bind(fields.delete_guard_share)
        .bind(fields.enabled)
        .bind(now)
        .bind(fields.request_timeout_secs)
        .execute(&self.pool)
        .await
        .map_err(name_conflict)?;
        Ok(id)
    }

    /// Replaces an instance's fields; the credentials only when new ones are given.
    /// Disabling it cancels its runs in the same transaction: a worker running one
    /// stops at its next page (its commit is fenced on the run still running).
    pub async fn update_connector_instance(&self, id: Uuid, fields: &ConnectorInstanceFields, credentials_sealed: Option<&[u8]>, now: DateTime<Utc>) -> Result<bool> {
        let mut transaction = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE connector_instances SET name = $2, settings = $3, credentials_sealed = COALESCE($4, credentials_sealed),
                allow_private_network = $5, rate_limit_per_sec = $6, rate_budget_key = $7, schedule_interval_secs = $8,
                delete_guard_share = $9, enabled = $10, updated_at = $11, request_timeout_secs = $12
             WHERE id = $1",
        )
        .bind(id)
        .bind(&fields.name)
        .bind(Json(&fields.settings))
        .bind(credentials_sealed)
        .bind(fields.allow_private_network)
        .bind(fields.rate_limit_per_sec)
        .bind(&fields.rate_budget_key)
        .bind(fields.schedule_interval_secs)
        .bind(fields.delete_guard_share)
        .bind(fields.enabled)
        .bind(now)
        .bind(fields.request_timeout_secs)
        .execute(&mut *transaction)
        .await
        .map_err(name_conflict)?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        if !fields.enabled {
            sqlx::query(
                "UPDATE sync_runs SET status = 'cancelled', error = 'the connector was disabled', finished_at = $2
                 WHERE connector_instance_id = $1 AND status IN ('queued', 'running', 'waiting')",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(true)
    }

    /// Deletes an instance with everything it synced, its runs and its mappings.
    pub async fn delete_connector_instance(&self, id: Uuid) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM connector_instances WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(deleted.rows_affected() == 1)
    }

    pub async fn connector_instance(&self, id: Uuid) -> Result<Option<ConnectorInstanceRow>> {
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {INSTANCE_COLUMNS} FROM connector_instances WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row)
    }

    pub async fn connector_instances(&self) -> Result<Vec<ConnectorInstanceRow>> {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {INSTANCE_COLUMNS} FROM connector_instances ORDER BY name")))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows)
    }

    /// Enabled instances whose scheduled sync is due.
    pub async fn due_connector_instances(&self, now: DateTime<Utc>) -> Result<Vec<ConnectorInstanceRow>> {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTANCE_COLUMNS} FROM connector_instances
             WHERE enabled AND schedule_interval_secs IS NOT NULL AND next_sync_at <= $1 ORDER BY next_sync_at"
        )))
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Moves an instance's next scheduled sync forward, if it was still `due_at`.
    /// Only one node wins the claim; it enqueues the runs.
    pub async fn claim_scheduled_sync(&self, id: Uuid, due_at: DateTime<Utc>, next_at: DateTime<Utc>) -> Result<bool> {
        let claimed = sqlx::query("UPDATE connector_instances SET next_sync_at = $3 WHERE id = $1 AND next_sync_at = $2")
            .bind(id)
            .bind(due_at)
            .bind(next_at)
            .execute(&self.pool)
            .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// Ends a run as `finish_sync_run` does and, in the same transaction, counts it
    /// against its instance: success clears the failure streak and the degraded
    /// mark; the `degrade_after`-th failure in a row marks the instance degraded.
    /// Whoever sees the run ended sees the instance's health with it, and a run
    /// that had already ended is not counted twice. False if it had already ended.
    pub async fn end_sync_run(&self, run_id: Uuid, instance_id: Uuid, end: &RunEnd<'_>) -> Result<bool> {
        let RunEnd { status, error, held_deletions, degrade_after, now } = *end;
        let mut transaction = self.begin_write().await?;
        let ended = sqlx::query(
            "UPDATE sync_runs SET status = $2, error = $3, held_deletions = $4, finished_at = $5
             WHERE id = $1 AND status IN ('queued', 'running', 'waiting')",
        )
        .bind(run_id)
        .bind(status)
        .bind(error)
        .bind(held_deletions)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        if ended.rows_affected() != 1 {
            return Ok(false);
        }
        match (status, error) {
            ("failed", Some(error)) => {
                sqlx::query(
                    "UPDATE connector_instances SET consecutive_failures = consecutive_failures + 1, last_error = $2,
                        degraded_since = CASE WHEN degraded_since IS NULL AND consecutive_failures + 1 >= $3 THEN $4 ELSE degraded_since END
                     WHERE id = $1",
                )
                .bind(instance_id)
                .bind(error)
                .bind(degrade_after)
                .bind(now)
                .execute(&mut *transaction)
                .await?;
            }
            _ => {
                sqlx::query(
                    "UPDATE connector_instances SET consecutive_failures = 0, degraded_since = NULL, last_error = NULL WHERE id = $1",
                )
                .bind(instance_id)
                .execute(&mut *transaction)
                .await?;
            }
        }
        transaction.commit().await?;
        Ok(true)
    }

    pub async fn degraded_connector_count(&self) -> Result<i64> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM connector_instances WHERE degraded_since IS NOT NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }

    // Account mappings -------------------------------------------------------

    /// Maps an upstream key to an account, and hands that account the records parked under it.
    /// Returns how many parked records it claimed.
    pub async fn map_account_ref(&self, instance_id: Uuid, account_ref: &str, account_id: Uuid, now: DateTime<Utc>) -> Result<u64> {
        let mut transaction = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO account_mappings (connector_instance_id, account_ref, account_id, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (connector_instance_id, account_ref) DO UPDATE SET account_id = excluded.account_id",
        )
        .bind(instance_id)
        .bind(account_ref)
        .bind(account_id)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        // Also moves records mapped before to another account: the mapping is the truth.
        let claimed = sqlx::query(
            "UPDATE records SET account_id = $3 WHERE source_instance_id = $1 AND account_ref = $2
                AND (account_id IS NULL OR account_id <> $3)",
        )
        .bind(instance_id)
        .bind(account_ref)
        .bind(account_id)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(claimed.rows_affected())
    }

    pub async fn account_mappings(&self, instance_id: Uuid) -> Result<Vec<AccountMappingRow>> {
        let rows = sqlx::query_as(
            "SELECT account_ref, account_id, created_at FROM account_mappings WHERE connector_instance_id = $1 ORDER BY account_ref",
        )
        .bind(instance_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    // Checkpoints ------------------------------------------------------------

    pub async fn sync_checkpoint(&self, instance_id: Uuid, stream: &str) -> Result<Option<StreamCheckpoint>> {
        let row = sqlx::query_as(
            "SELECT stream, checkpoint, last_success_at, last_event_at FROM sync_checkpoints WHERE connector_instance_id = $1 AND stream = $2",
        )
        .bind(instance_id)
        .bind(stream)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    pub async fn sync_checkpoints(&self, instance_id: Uuid) -> Result<Vec<StreamCheckpoint>> {
        let rows = sqlx::query_as(
            "SELECT stream, checkpoint, last_success_at, last_event_at FROM sync_checkpoints WHERE connector_instance_id = $1 ORDER BY stream",
        )
        .bind(instance_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    // Sync runs --------------------------------------------------------------

    /// Queues a run; `Conflict` while another run of the stream is queued, running or waiting.
    pub async fn create_sync_run(&self, instance_id: Uuid, stream: &str, mode: &str, trigger: &str, now: DateTime<Utc>) -> Result<Uuid> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO sync_runs (id, connector_instance_id, stream, mode, trigger, status, queued_at)
             VALUES ($1, $2, $3, $4, $5, 'queued', $6)",
        )
        .bind(id)
        .bind(instance_id)
        .bind(stream)
        .bind(mode)
        .bind(trigger)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                StoreError::Conflict("a sync of this stream is already queued or running")
            } else {
                error.into()
            }
        })?;
        Ok(id)
    }

    /// The run of a stream that is queued, running or waiting, if any.
    pub async fn active_sync_run(&self, instance_id: Uuid, stream: &str) -> Result<Option<SyncRunRow>> {
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs
             WHERE connector_instance_id = $1 AND stream = $2 AND status IN ('queued', 'running', 'waiting')"
        )))
        .bind(instance_id)
        .bind(stream)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    /// Takes a run to `running` under a new lease: a queued or waiting run, or a
    /// running one whose heartbeat is older than `lease_expired_before` (its worker
    /// died). `None` if the run ended or another execution holds it.
    pub async fn start_sync_run(&self, run_id: Uuid, lease_id: Uuid, lease_expired_before: DateTime<Utc>, now: DateTime<Utc>) -> Result<Option<SyncRunRow>> {
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE sync_runs SET status = 'running', started_at = COALESCE(started_at, $2), heartbeat_at = $2,
                attempts = attempts + 1, retry_at = NULL, lease_id = $3
             WHERE id = $1 AND (status IN ('queued', 'waiting') OR (status = 'running' AND heartbeat_at < $4))
             RETURNING {RUN_COLUMNS}"
        )))
        .bind(run_id)
        .bind(now)
        .bind(lease_id)
        .bind(lease_expired_before)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    /// Renews a run's lease; false when the lease was lost (the run was taken over or ended).
    pub async fn heartbeat_sync_run(&self, run_id: Uuid, lease_id: Uuid, now: DateTime<Utc>) -> Result<bool> {
        let renewed = sqlx::query("UPDATE sync_runs SET heartbeat_at = $3 WHERE id = $1 AND lease_id = $2 AND status = 'running'")
            .bind(run_id)
            .bind(lease_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(renewed.rows_affected() == 1)
    }

    /// Runs whose job seems lost: queued and not started, or waiting and not
    /// resumed, since `before`; or running under a lease last renewed before
    /// `lease_expired_before` (the worker died).
    pub async fn stalled_sync_runs(&self, before: DateTime<Utc>, lease_expired_before: DateTime<Utc>) -> Result<Vec<Uuid>> {
        let rows: Vec<(Uuid,)> = sqlx::query_as(
            "SELECT id FROM sync_runs WHERE (status = 'queued' AND queued_at < $1) OR (status = 'waiting' AND retry_at < $1)
                OR (status = 'running' AND heartbeat_at < $2)",
        )
        .bind(before)
        .bind(lease_expired_before)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Parks a rate-limited run until `retry_at`, when its re-queued job resumes it.
    pub async fn wait_sync_run(&self, run_id: Uuid, lease_id: Uuid, error: &str, retry_at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE sync_runs SET status = 'waiting', error = $2, retry_at = $3, lease_id = NULL
             WHERE id = $1 AND status = 'running' AND lease_id = $4",
        )
            .bind(run_id)
            .bind(error)
            .bind(retry_at)
            .bind(lease_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Cancels a run of the instance that has not ended, saying why. The worker
    /// running it stops at its next page: every commit is fenced on the run still
    /// running, so nothing more is written. `None` when no such run is active.
    pub async fn cancel_sync_run(&self, instance_id: Uuid, run_id: Uuid, reason: &str, now: DateTime<Utc>) -> Result<Option<SyncRunRow>> {
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE sync_runs SET status = 'cancelled', error = $3, finished_at = $4
             WHERE id = $1 AND connector_instance_id = $2 AND status IN ('queued', 'running', 'waiting')
             RETURNING {RUN_COLUMNS}"
        )))
        .bind(run_id)
        .bind(instance_id)
        .bind(reason)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    /// The instance's runs that have not ended (at most one per stream).
    pub async fn active_sync_runs(&self, instance_id: Uuid) -> Result<Vec<SyncRunRow>> {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs
             WHERE connector_instance_id = $1 AND status IN ('queued', 'running', 'waiting') ORDER BY stream"
        )))
        .bind(instance_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Ends a run (`succeeded`, `failed`, `held`, `cancelled`). False if it had already ended.
    pub async fn finish_sync_run(&self, run_id: Uuid, status: &str, error: Option<&str>, held_deletions: i64, now: DateTime<Utc>) -> Result<bool> {
        let finished = sqlx::query(
            "UPDATE sync_runs SET status = $2, error = $3, held_deletions = $4, finished_at = $5
             WHERE id = $1 AND status IN ('queued', 'running', 'waiting')",
        )
        .bind(run_id)
        .bind(status)
        .bind(error)
        .bind(held_deletions)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(finished.rows_affected() == 1)
    }

    pub async fn sync_run(&self, run_id: Uuid) -> Result<Option<SyncRunRow>> {
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {RUN_COLUMNS} FROM sync_runs WHERE id = $1")))
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row)
    }

    /// An instance's runs, newest first, before `before` (a run id, for paging).
    pub async fn sync_runs(&self, instance_id: Uuid, before: Option<Uuid>, limit: i64) -> Result<Vec<SyncRunRow>> {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs WHERE connector_instance_id = $1 AND ($2 IS NULL OR id < $2)
             ORDER BY id DESC LIMIT $3"
        )))
        .bind(instance_id)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Held runs: the newest full run of a stream that is waiting for an admin.
    pub async fn latest_full_run(&self, instance_id: Uuid, stream: &str) -> Result<Option<SyncRunRow>> {
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs WHERE connector_instance_id = $1 AND stream = $2 AND mode = 'full'
                AND status IN ('succeeded', 'held', 'discarded')
             ORDER BY id DESC LIMIT 1"
        )))
        .bind(instance_id)
        .bind(stream)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    /// Resolves a held run as `succeeded` (deletions applied) or `discarded`.
    pub async fn resolve_held_run(&self, run_id: Uuid, status: &str, deleted: i64) -> Result<bool> {
        let resolved = sqlx::query("UPDATE sync_runs SET status = $2, deleted = deleted + $3 WHERE id = $1 AND status = 'held'")
            .bind(run_id)
            .bind(status)
            .bind(deleted)
            .execute(&self.pool)
            .await?;
        Ok(resolved.rows_affected() == 1)
    }

    /// Runs marked running whose worker stopped heartbeating long ago (crashed and
    /// not resumed): failed, so the stream can sync again.
    pub async fn fail_abandoned_runs(&self, heartbeat_before: DateTime<Utc>, now: DateTime<Utc>) -> Result<u64> {
        let failed = sqlx::query(
            "UPDATE sync_runs SET status = 'failed', error = 'abandoned: its worker stopped', finished_at = $2
             WHERE status = 'running' AND heartbeat_at < $1",
        )
        .bind(heartbeat_before)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(failed.rows_affected())
    }
}
