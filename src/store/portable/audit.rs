use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::audit::{AuditEvent, StoredAuditEvent, event_hash};
use crate::store::{AuditFilter, Result};

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
    pub(in crate::store) async fn list_audit_events(&self, account_id: Option<Uuid>, filter: &AuditFilter, before_id: Option<i64>, limit: i64) -> Result<Vec<StoredAuditEvent>> {
        let mut query = QueryBuilder::new(
            "SELECT id, occurred_at, actor_user_id, actor_kind, account_id, action, target_type, target_id, ip_address, user_agent,
                    details, prev_hash, hash
             FROM audit_events WHERE 1 = 1",
        );
        if let Some(account_id) = account_id {
            query.push(" AND account_id = ").push_bind(account_id);
        }
        if let Some(before_id) = before_id {
            query.push(" AND id < ").push_bind(before_id);
        }
        if let Some(action) = &filter.action {
            // `document.` finds every document action; `document.downloaded` that one.
            let escaped = action.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            query.push(" AND action LIKE ").push_bind(format!("{escaped}%")).push(" ESCAPE '\\'");
        }
        if let Some(actor) = filter.actor_user_id {
            query.push(" AND actor_user_id = ").push_bind(actor);
        }
        if let Some(from) = filter.from {
            query.push(" AND occurred_at >= ").push_bind(from);
        }
        if let Some(until) = filter.until {
            query.push(" AND occurred_at < ").push_bind(until);
        }
        query.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
        Ok(query.build_query_as().fetch_all(&self.pool).await?)
    }
}
