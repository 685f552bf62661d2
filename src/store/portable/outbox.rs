//! The outbox: writes to upstream systems, recorded in the same transaction as the
//! local change they belong to, delivered by push jobs, dead-lettered past the limit.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::{NewPendingRecord, OutboxRow, PreparedRecord, Result, new_id};

const OUTBOX_COLUMNS: &str =
    "id, account_id, connector_instance_id, record_id, operation, payload, idempotency_key, status,
    attempts, next_attempt_at, last_error, external_id, created_at, delivered_at";

portable_queries! {
    /// Records a local change and the upstream write it needs, in one transaction:
    /// the record appears at once (pending), and the write cannot be lost.
    /// Returns (record id, outbox id).
    pub async fn create_pending_record(&self, new: &NewPendingRecord) -> Result<(Uuid, Uuid)> {
        let record_id = new_id();
        let outbox_id = new_id();
        let record = &new.record;
        let mut transaction = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO records (id, record_type, source_instance_id, stream, external_id, account_ref, account_id,
                parent_external_id, title, status, amount_minor, currency, occurred_at, data, raw, content_hash,
                source_updated_at, created_at, updated_at, due_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, NULL, $17, $17, $18)",
        )
        .bind(record_id)
        .bind(record.record_type)
        .bind(new.instance_id)
        .bind(&new.stream)
        .bind(format!("pending:{outbox_id}"))
        .bind(record.account_ref.as_deref())
        .bind(new.account_id)
        .bind(record.parent_external_id.as_deref())
        .bind(&record.title)
        .bind(record.status.as_deref())
        .bind(record.amount_minor)
        .bind(record.currency.as_deref())
        .bind(record.occurred_at)
        .bind(Json(&*record.data))
        .bind(Json(&*record.raw))
        .bind(record.content_hash.as_slice())
        .bind(new.now)
        .bind(record.due_at)
        .execute(&mut *transaction)
        .await?;
        sqlx::query(
            "INSERT INTO outbox (id, account_id, connector_instance_id, record_id, operation, payload, idempotency_key,
                status, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8)",
        )
        .bind(outbox_id)
        .bind(new.account_id)
        .bind(new.instance_id)
        .bind(record_id)
        .bind(&new.operation)
        .bind(Json(&new.payload))
        .bind(format!("portico-{outbox_id}"))
        .bind(new.now)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok((record_id, outbox_id))
    }

    /// Queues an upstream change to a record the cache already holds (closing a
    /// ticket): the record changes when the upstream confirms, with its answer.
    pub async fn create_record_write(&self, account_id: Uuid, instance_id: Uuid, record_id: Uuid, operation: &str, payload: &serde_json::Value, now: DateTime<Utc>) -> Result<Uuid> {
        let outbox_id = new_id();
        sqlx::query(
            "INSERT INTO outbox (id, account_id, connector_instance_id, record_id, operation, payload, idempotency_key,
                status, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8)",
        )
        .bind(outbox_id)
        .bind(account_id)
        .bind(instance_id)
        .bind(record_id)
        .bind(operation)
        .bind(Json(payload))
        .bind(format!("portico-{outbox_id}"))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(outbox_id)
    }

    /// Takes an outbox row for delivery: pending, or delivering under an expired
    /// claim (its worker died). The claim lasts until `claim_until`.
    pub async fn claim_outbox(&self, id: Uuid, now: DateTime<Utc>, claim_until: DateTime<Utc>) -> Result<Option<OutboxRow>> {
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE outbox SET status = 'delivering', attempts = attempts + 1, next_attempt_at = $3
             WHERE id = $1 AND (status = 'pending' OR (status = 'delivering' AND next_attempt_at < $2))
             RETURNING {OUTBOX_COLUMNS}"
        )))
        .bind(id)
        .bind(now)
        .bind(claim_until)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    /// Delivered: the local record takes the upstream id and the upstream's view of it.
    /// If a sync already brought that record in, the pending copy is dropped.
    pub async fn complete_outbox(&self, id: Uuid, external_id: Option<&str>, delivered: Option<&PreparedRecord>, now: DateTime<Utc>) -> Result<()> {
        let mut transaction = self.begin_write().await?;
        let row: Option<(Option<Uuid>, Uuid)> = sqlx::query_as(
            "UPDATE outbox SET status = 'delivered', delivered_at = $2, external_id = $3, last_error = NULL
             WHERE id = $1 AND status = 'delivering' RETURNING record_id, connector_instance_id",
        )
        .bind(id)
        .bind(now)
        .bind(external_id)
        .fetch_optional(&mut *transaction)
        .await?;
        if let (Some((Some(record_id), instance_id)), Some(external_id)) = (row, external_id) {
            let (synced,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM records WHERE source_instance_id = $1 AND external_id = $2 AND id <> $3
                    AND record_type = (SELECT record_type FROM records WHERE id = $3)",
            )
            .bind(instance_id)
            .bind(external_id)
            .bind(record_id)
            .fetch_one(&mut *transaction)
            .await?;
            if synced > 0 {
                sqlx::query("UPDATE outbox SET record_id = NULL WHERE record_id = $1").bind(record_id).execute(&mut *transaction).await?;
                sqlx::query("DELETE FROM records WHERE id = $1").bind(record_id).execute(&mut *transaction).await?;
            } else {
                match delivered {
                    Some(record) => {
                        // The record's history keeps the state the change replaced (a
                        // task before its approval), as a sync's update would; a copy
                        // still waiting to be created upstream has no state of its own.
                        sqlx::query(
                            "INSERT INTO record_versions (record_id, data, raw, content_hash, valid_from, superseded_at, change)
                             SELECT id, data, raw, content_hash, updated_at, $2, 'updated' FROM records
                              WHERE id = $1 AND content_hash <> $3 AND external_id NOT LIKE 'pending:%'",
                        )
                        .bind(record_id)
                        .bind(now)
                        .bind(record.content_hash.as_slice())
                        .execute(&mut *transaction)
                        .await?;
                        sqlx::query(
                            "UPDATE records SET external_id = $2, title = $3, status = $4, data = $5, raw = $6,
                                content_hash = $7, source_updated_at = $8, updated_at = $9, due_at = $10
                             WHERE id = $1",
                        )
                        .bind(record_id)
                        .bind(external_id)
                        .bind(&record.title)
                        .bind(record.status.as_deref())
                        .bind(Json(&*record.data))
                        .bind(Json(&*record.raw))
                        .bind(record.content_hash.as_slice())
                        .bind(record.source_updated_at)
                        .bind(now)
                        .bind(record.due_at)
                        .execute(&mut *transaction)
                        .await?;
                    }
                    None => {
                        sqlx::query("UPDATE records SET external_id = $2, updated_at = $3 WHERE id = $1")
                            .bind(record_id)
                            .bind(external_id)
                            .bind(now)
                            .execute(&mut *transaction)
                            .await?;
                    }
                }
            }
        }
        transaction.commit().await?;
        Ok(())
    }

    /// A failed attempt: try again at `retry_at`, or (`None`) give up: dead letter.
    pub async fn fail_outbox(&self, id: Uuid, error: &str, retry_at: Option<DateTime<Utc>>) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET status = CASE WHEN $3 IS NULL THEN 'dead' ELSE 'pending' END,
                next_attempt_at = COALESCE($3, next_attempt_at), last_error = $2
             WHERE id = $1 AND status = 'delivering'",
        )
        .bind(id)
        .bind(error)
        .bind(retry_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An admin's retry of a dead letter: pending again, with a fresh attempt count.
    pub async fn revive_outbox(&self, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
        let revived = sqlx::query(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $2 WHERE id = $1 AND status = 'dead'",
        )
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(revived.rows_affected() == 1)
    }

    pub async fn outbox_item(&self, id: Uuid) -> Result<Option<OutboxRow>> {
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row)
    }

    /// Outbox rows with a status, newest first.
    pub(in crate::store) async fn outbox_items(&self, status: Option<&str>, before: Option<Uuid>, limit: i64) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        )))
        .bind(status)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Rows due for delivery whose job seems lost (pending past due, or claimed by a dead worker).
    pub async fn stalled_outbox(&self, due_before: DateTime<Utc>) -> Result<Vec<Uuid>> {
        let rows: Vec<(Uuid,)> = sqlx::query_as(
            "SELECT id FROM outbox WHERE status IN ('pending', 'delivering') AND next_attempt_at < $1 ORDER BY next_attempt_at LIMIT 500",
        )
        .bind(due_before)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The first enabled instance of one of `kinds` that maps an upstream key to
    /// `account_id` (by instance name): (instance id, that account key).
    pub(in crate::store) async fn write_target(&self, account_id: Uuid, kinds: &[&str]) -> Result<Option<(Uuid, String)>> {
        let rows: Vec<(Uuid, String, String)> = sqlx::query_as(
            "SELECT c.id, c.kind, m.account_ref FROM account_mappings m
             JOIN connector_instances c ON c.id = m.connector_instance_id
             WHERE m.account_id = $1 AND c.enabled ORDER BY c.name, m.account_ref",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().find(|(_, kind, _)| kinds.contains(&kind.as_str())).map(|(id, _, account_ref)| (id, account_ref)))
    }
}
