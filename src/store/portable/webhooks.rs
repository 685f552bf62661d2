//! Webhook endpoints and the inbox: accepted deliveries are committed here (in
//! groups) before they are answered, de-duplicated by the unique (endpoint,
//! delivery id) key, then claimed and processed by workers.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::{
    Admission, ClaimedDelivery, DeliveryFilter, DeliveryResult, NewDelivery, ReplaySelection, Result,
    WebhookDeliveryDetail, WebhookDeliveryRow, WebhookEndpointFields, WebhookEndpointRow,
};

const ENDPOINT_COLUMNS: &str = "id, connector_instance_id, name, scheme, scheme_settings, secrets_sealed,
    tolerance_secs, body_limit_bytes, allowed_sources, enabled, created_at, updated_at";

const DELIVERY_COLUMNS: &str = "id, endpoint_id, delivery_id, status, reject_reason, source_address, duplicates,
    last_duplicate_at, attempts, next_attempt_at, last_error, outcome, received_at, processed_at";

/// (id, endpoint, body, attempts, received_at) of a claimed delivery.
type ClaimedRow = (Uuid, Uuid, Vec<u8>, i64, DateTime<Utc>);

/// 10 binds a row; far below both engines' limits.
const DELIVERIES_PER_STATEMENT: usize = 500;

portable_queries! {
    pub async fn create_webhook_endpoint(&self, id: Uuid, instance_id: Uuid, fields: &WebhookEndpointFields, secrets_sealed: &[u8], now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, connector_instance_id, name, scheme, scheme_settings, secrets_sealed,
                tolerance_secs, body_limit_bytes, allowed_sources, enabled, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .bind(id)
        .bind(instance_id)
        .bind(&fields.name)
        .bind(&fields.scheme)
        .bind(fields.scheme_settings.as_ref().map(Json))
        .bind(secrets_sealed)
        .bind(fields.tolerance_secs)
        .bind(fields.body_limit_bytes)
        .bind(fields.allowed_sources.as_ref().map(Json))
        .bind(fields.enabled)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn webhook_endpoint(&self, id: Uuid) -> Result<Option<WebhookEndpointRow>> {
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row)
    }

    pub async fn webhook_endpoints_of(&self, instance_id: Uuid) -> Result<Vec<WebhookEndpointRow>> {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE connector_instance_id = $1 ORDER BY created_at, id"
        )))
        .bind(instance_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Replaces an endpoint's settings, and its sealed secrets when given.
    pub async fn update_webhook_endpoint(&self, id: Uuid, fields: &WebhookEndpointFields, secrets_sealed: Option<&[u8]>, now: DateTime<Utc>) -> Result<bool> {
        let updated = sqlx::query(
            "UPDATE webhook_endpoints SET name = $2, scheme = $3, scheme_settings = $4, tolerance_secs = $5,
                body_limit_bytes = $6, allowed_sources = $7, enabled = $8, updated_at = $9,
                secrets_sealed = COALESCE($10, secrets_sealed)
             WHERE id = $1",
        )
        .bind(id)
        .bind(&fields.name)
        .bind(&fields.scheme)
        .bind(fields.scheme_settings.as_ref().map(Json))
        .bind(fields.tolerance_secs)
        .bind(fields.body_limit_bytes)
        .bind(fields.allowed_sources.as_ref().map(Json))
        .bind(fields.enabled)
        .bind(now)
        .bind(secrets_sealed)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    pub async fn delete_webhook_endpoint(&self, id: Uuid) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(deleted.rows_affected() == 1)
    }

    /// Commits a group of deliveries in one transaction. Each is stored, or, when
    /// its endpoint already holds its delivery id, counted as a duplicate of that
    /// one: the unique key decides, inside the transaction, so two copies arriving
    /// together cannot both be stored. Answers in the order given.
    pub async fn insert_deliveries(&self, deliveries: &[NewDelivery]) -> Result<Vec<Admission>> {
        // Copies within the group: the first is inserted, the rest count as its duplicates.
        let mut first_of: HashMap<(Uuid, &str), usize> = HashMap::new();
        let mut unique: Vec<&NewDelivery> = Vec::with_capacity(deliveries.len());
        let mut copies: Vec<Option<usize>> = Vec::with_capacity(deliveries.len());
        for (index, delivery) in deliveries.iter().enumerate() {
            match first_of.get(&(delivery.endpoint_id, delivery.delivery_id.as_str())) {
                Some(first) => copies.push(Some(*first)),
                None => {
                    first_of.insert((delivery.endpoint_id, delivery.delivery_id.as_str()), index);
                    unique.push(delivery);
                    copies.push(None);
                }
            }
        }

        let mut transaction = self.begin_write().await?;
        let mut stored_as: HashMap<(Uuid, String), Uuid> = HashMap::with_capacity(unique.len());
        for chunk in unique.chunks(DELIVERIES_PER_STATEMENT) {
            let mut query = QueryBuilder::new(
                "INSERT INTO webhook_inbox (id, endpoint_id, delivery_id, status, reject_reason, headers, body,
                    source_address, next_attempt_at, received_at) ",
            );
            query.push_values(chunk, |mut row, delivery| {
                row.push_bind(delivery.id)
                    .push_bind(delivery.endpoint_id)
                    .push_bind(delivery.delivery_id.as_str())
                    .push_bind(delivery.status)
                    .push_bind(delivery.reject_reason)
                    .push_bind(Json(&delivery.headers))
                    .push_bind(delivery.body.as_slice())
                    .push_bind(delivery.source_address.as_deref())
                    .push_bind(delivery.received_at)
                    .push_bind(delivery.received_at);
            });
            query.push(
                " ON CONFLICT (endpoint_id, delivery_id) DO UPDATE SET duplicates = webhook_inbox.duplicates + 1,
                    last_duplicate_at = excluded.received_at
                  RETURNING id, endpoint_id, delivery_id",
            );
            let rows: Vec<(Uuid, Uuid, String)> = query.build_query_as().fetch_all(&mut *transaction).await?;
            stored_as.extend(rows.into_iter().map(|(id, endpoint_id, delivery_id)| ((endpoint_id, delivery_id), id)));
        }
        for (index, first) in copies.iter().enumerate() {
            if first.is_some() {
                let delivery = &deliveries[index];
                sqlx::query(
                    "UPDATE webhook_inbox SET duplicates = duplicates + 1, last_duplicate_at = $3
                     WHERE endpoint_id = $1 AND delivery_id = $2",
                )
                .bind(delivery.endpoint_id)
                .bind(delivery.delivery_id.as_str())
                .bind(delivery.received_at)
                .execute(&mut *transaction)
                .await?;
            }
        }
        transaction.commit().await?;

        Ok(deliveries
            .iter()
            .zip(copies)
            .map(|(delivery, copy)| {
                let stored = stored_as.get(&(delivery.endpoint_id, delivery.delivery_id.clone())).copied();
                match (copy, stored) {
                    (None, Some(id)) if id == delivery.id => Admission::New,
                    (_, Some(original)) => Admission::Duplicate { original },
                    // Every row is returned, inserted or updated; defensive only.
                    (_, None) => Admission::Duplicate { original: delivery.id },
                }
            })
            .collect())
    }

    /// Takes up to `limit` deliveries due for processing, each held until
    /// `claim_until` (a crashed processor's deliveries are taken again after it).
    pub async fn claim_deliveries(&self, now: DateTime<Utc>, claim_until: DateTime<Utc>, limit: i64) -> Result<Vec<ClaimedDelivery>> {
        // The conditions are repeated outside the sub-select so that, on
        // PostgreSQL, a row another processor claimed meanwhile is re-checked and skipped.
        // A write transaction, so that on SQLite the claim queues with the inbox's
        // commits instead of losing the lock to them again and again.
        let mut transaction = self.begin_write().await?;
        let claimed: Vec<ClaimedRow> = sqlx::query_as(
            "UPDATE webhook_inbox SET claimed_until = $2, attempts = attempts + 1
             WHERE id IN (
                SELECT id FROM webhook_inbox
                WHERE status IN ('verified', 'failed') AND next_attempt_at <= $1
                    AND (claimed_until IS NULL OR claimed_until < $1)
                ORDER BY next_attempt_at, id LIMIT $3)
               AND status IN ('verified', 'failed') AND (claimed_until IS NULL OR claimed_until < $1)
             RETURNING id, endpoint_id, body, attempts, received_at",
        )
        .bind(now)
        .bind(claim_until)
        .bind(limit)
        .fetch_all(&mut *transaction)
        .await?;
        transaction.commit().await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let mut endpoint_ids: Vec<Uuid> = claimed.iter().map(|row| row.1).collect();
        endpoint_ids.sort_unstable();
        endpoint_ids.dedup();
        let mut query = QueryBuilder::new("SELECT id, connector_instance_id FROM webhook_endpoints WHERE id IN (");
        let mut list = query.separated(", ");
        for id in &endpoint_ids {
            list.push_bind(*id);
        }
        query.push(")");
        let instances: HashMap<Uuid, Uuid> = query.build_query_as::<(Uuid, Uuid)>().fetch_all(&self.pool).await?.into_iter().collect();
        let mut deliveries: Vec<ClaimedDelivery> = claimed
            .into_iter()
            .filter_map(|(id, endpoint_id, body, attempts, received_at)| {
                let connector_instance_id = *instances.get(&endpoint_id)?;
                Some(ClaimedDelivery { id, endpoint_id, connector_instance_id, body, attempts, received_at })
            })
            .collect();
        // In the order they arrived: of two changes without timestamps, the later wins.
        deliveries.sort_by_key(|delivery| (delivery.received_at, delivery.id));
        Ok(deliveries)
    }

    /// Records how processing ended for deliveries that wrote nothing (or failed).
    pub async fn finish_deliveries(&self, results: &[(Uuid, DeliveryResult)], now: DateTime<Utc>) -> Result<()> {
        if results.is_empty() {
            return Ok(());
        }
        let mut transaction = self.begin_write().await?;
        for (id, result) in results {
            let query = match result {
                DeliveryResult::Processed { outcome } => sqlx::query(
                    "UPDATE webhook_inbox SET status = 'processed', processed_at = $2, claimed_until = NULL,
                        last_error = NULL, outcome = $3 WHERE id = $1",
                )
                .bind(*id)
                .bind(now)
                .bind(Json(outcome)),
                DeliveryResult::Failed { error, retry_at } => sqlx::query(
                    "UPDATE webhook_inbox SET status = 'failed', next_attempt_at = $2, claimed_until = NULL,
                        last_error = $3 WHERE id = $1",
                )
                .bind(*id)
                .bind(*retry_at)
                .bind(error.as_str()),
                DeliveryResult::Dead { error } => sqlx::query(
                    "UPDATE webhook_inbox SET status = 'dead', processed_at = $2, claimed_until = NULL,
                        last_error = $3 WHERE id = $1",
                )
                .bind(*id)
                .bind(now)
                .bind(error.as_str()),
            };
            query.execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// An endpoint's deliveries, newest first.
    pub async fn list_deliveries(&self, endpoint_id: Uuid, filter: &DeliveryFilter) -> Result<Vec<WebhookDeliveryRow>> {
        let mut query = QueryBuilder::new(format!("SELECT {DELIVERY_COLUMNS} FROM webhook_inbox WHERE endpoint_id = "));
        query.push_bind(endpoint_id);
        match filter.status.as_deref() {
            Some("duplicate") => {
                query.push(" AND duplicates > 0");
            }
            Some(status) => {
                query.push(" AND status = ").push_bind(status.to_owned());
            }
            None => {}
        }
        if let Some((received_at, id)) = filter.before {
            query
                .push(" AND (received_at < ")
                .push_bind(received_at)
                .push(" OR (received_at = ")
                .push_bind(received_at)
                .push(" AND id < ")
                .push_bind(id)
                .push("))");
        }
        query.push(" ORDER BY received_at DESC, id DESC LIMIT ").push_bind(filter.limit);
        Ok(query.build_query_as().fetch_all(&self.pool).await?)
    }

    /// The newest delivery whose processing failed (retrying or given up), across
    /// every endpoint: (endpoint, its error, when it arrived).
    pub(in crate::store) async fn latest_delivery_failure(&self) -> Result<Option<(Uuid, Option<String>, DateTime<Utc>)>> {
        Ok(sqlx::query_as(
            "SELECT endpoint_id, last_error, received_at FROM webhook_inbox
             WHERE status IN ('failed', 'dead') ORDER BY received_at DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    pub(in crate::store) async fn delivery(&self, endpoint_id: Uuid, id: Uuid) -> Result<Option<WebhookDeliveryDetail>> {
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS}, headers, body FROM webhook_inbox WHERE endpoint_id = $1 AND id = $2"
        )))
        .bind(endpoint_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    /// Puts finished deliveries back through processing (rejected ones never:
    /// they were not proven authentic). Returns how many.
    pub async fn replay_deliveries(&self, endpoint_id: Uuid, selection: &ReplaySelection, now: DateTime<Utc>) -> Result<u64> {
        let (one, from, until) = match selection {
            ReplaySelection::One(id) => (Some(*id), None, None),
            ReplaySelection::ReceivedBetween(from, until) => (None, Some(*from), Some(*until)),
        };
        let replayed = sqlx::query(
            "UPDATE webhook_inbox SET status = 'verified', attempts = 0, next_attempt_at = $2, claimed_until = NULL,
                last_error = NULL, processed_at = NULL
             WHERE endpoint_id = $1 AND status IN ('processed', 'failed', 'dead')
                AND ($3 IS NULL OR id = $3) AND ($4 IS NULL OR received_at >= $4) AND ($5 IS NULL OR received_at < $5)",
        )
        .bind(endpoint_id)
        .bind(now)
        .bind(one)
        .bind(from)
        .bind(until)
        .execute(&self.pool)
        .await?;
        Ok(replayed.rows_affected())
    }

    /// Drops rejected deliveries received before `rejected_before`, and processed
    /// ones before `processed_before`. Returns how many.
    pub async fn purge_deliveries(&self, rejected_before: DateTime<Utc>, processed_before: DateTime<Utc>) -> Result<u64> {
        let purged = sqlx::query(
            "DELETE FROM webhook_inbox WHERE (status = 'rejected' AND received_at < $1)
                OR (status = 'processed' AND received_at < $2)",
        )
        .bind(rejected_before)
        .bind(processed_before)
        .execute(&self.pool)
        .await?;
        Ok(purged.rows_affected())
    }

    /// Deliveries waiting for processing (verified, or failed and to be retried).
    pub async fn delivery_backlog(&self) -> Result<i64> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM webhook_inbox WHERE status IN ('verified', 'failed')")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }
}
