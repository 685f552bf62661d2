use uuid::Uuid;

use crate::audit::{AuditEvent, StoredAuditEvent, event_hash};
use crate::store::Result;

portable_queries! {
    /// Appends under the engine's append lock, so two writers never chain onto the
    /// same previous event.
    pub async fn append_audit_event(&self, event: &AuditEvent) -> Result<()> {
        let mut transaction = self.begin_audit_append().await?;
        let previous: Option<(Vec<u8>,)> = sqlx::query_as("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *transaction)
            .await?;
        let previous_hash = previous.map(|(hash,)| hash);
        let hash = event_hash(previous_hash.as_deref(), &event.hashed_content());
        sqlx::query(
            "INSERT INTO audit_events (occurred_at, actor_user_id, actor_kind, account_id, action, target_type, target_id,
                                       ip_address, user_agent, details, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(event.occurred_at)
        .bind(event.actor_user_id)
        .bind(event.actor_kind)
        .bind(event.account_id)
        .bind(event.action)
        .bind(event.target_type)
        .bind(&event.target_id)
        .bind(&event.ip_address)
        .bind(&event.user_agent)
        .bind(sqlx::types::Json(&event.details))
        .bind(previous_hash)
        .bind(hash)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Events in chain order, for verification.
    pub async fn audit_events_after(&self, after_id: i64, limit: i64) -> Result<Vec<StoredAuditEvent>> {
        let events = sqlx::query_as(
            "SELECT id, occurred_at, actor_user_id, actor_kind, account_id, action, target_type, target_id, ip_address, user_agent,
                    details, prev_hash, hash
             FROM audit_events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(events)
    }

    /// Newest first; `account_id` None means every account (staff only).
    pub(in crate::store) async fn list_audit_events(&self, account_id: Option<Uuid>, before_id: Option<i64>, limit: i64) -> Result<Vec<StoredAuditEvent>> {
        let events = sqlx::query_as(
            "SELECT id, occurred_at, actor_user_id, actor_kind, account_id, action, target_type, target_id, ip_address, user_agent,
                    details, prev_hash, hash
             FROM audit_events
             WHERE ($1 IS NULL OR account_id = $1) AND ($2 IS NULL OR id < $2)
             ORDER BY id DESC LIMIT $3",
        )
        .bind(account_id)
        .bind(before_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(events)
    }
}
