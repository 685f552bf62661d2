//! What only staff read: data across every account. Reached through
//! [`StaffData`], which only a [`StaffScope`] opens, and that only a staff
//! permission check hands out (`StaffCaller::require`); so no customer route
//! can reach a cross-account read by mistake.

use uuid::Uuid;

use super::{Account, AuditFilter, OutboxRow, ParkedGroup, RecordRow, Result, Store, WebhookDeliveryDetail};
use crate::audit::StoredAuditEvent;
use crate::auth::StaffScope;

#[derive(Debug, Clone)]
pub struct StaffData {
    store: Store,
}

impl StaffData {
    pub fn of(store: &Store, _scope: &StaffScope) -> Self {
        Self { store: store.clone() }
    }

    /// Each account's adoption of the portal and its members' activity in
    /// `[from, until)` (active: signed in since `active_since`), by name.
    pub async fn adoption_report(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
        active_since: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> Result<Vec<super::AdoptionRow>> {
        self.store.adoption_report(from, until, active_since, limit).await
    }

    /// The activity of every active account in `[from, until)`: one month of the report.
    pub async fn activity_totals(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<super::ActivityTotals> {
        self.store.activity_totals(from, until).await
    }

    /// How many live records each connector brought into an account, by type:
    /// (connector id, its name, record type, count).
    pub async fn account_record_counts(&self, account_id: Uuid) -> Result<Vec<(Uuid, String, String, i64)>> {
        self.store.account_record_counts(account_id).await
    }

    /// One record a connector brought in, with the upstream's payload as received.
    pub async fn instance_record(
        &self,
        instance_id: Uuid,
        record_id: Uuid,
    ) -> Result<Option<(RecordRow, sqlx::types::Json<serde_json::Value>)>> {
        self.store.instance_record_with_raw(instance_id, record_id).await
    }

    /// Every customer account (or those whose name or slug holds `search`), oldest first.
    pub async fn accounts(&self, after: Option<Uuid>, search: Option<&str>, limit: i64) -> Result<Vec<Account>> {
        self.store.list_accounts(after, search, limit).await
    }

    /// The whole audit log across accounts (or one account's part), newest first.
    pub async fn audit_events(
        &self,
        filter: &AuditFilter,
        account_id: Option<Uuid>,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<StoredAuditEvent>> {
        self.store.list_audit_events(account_id, filter, before_id, limit).await
    }

    /// A connector instance's records that map to no account, by upstream key.
    pub async fn parked_records(&self, instance_id: Uuid) -> Result<Vec<ParkedGroup>> {
        self.store.parked_records(instance_id).await
    }

    /// Write-backs of every account, by status.
    pub async fn outbox_items(&self, status: Option<&str>, before: Option<Uuid>, limit: i64) -> Result<Vec<OutboxRow>> {
        self.store.outbox_items(status, before, limit).await
    }

    /// One webhook delivery, whichever account its contents concern.
    pub async fn delivery(&self, endpoint_id: Uuid, id: Uuid) -> Result<Option<WebhookDeliveryDetail>> {
        self.store.delivery(endpoint_id, id).await
    }

    /// The newest webhook delivery whose processing failed: (endpoint, error, received).
    /// Notification mail waiting to be tried again, and failed.
    pub async fn notification_mail_trouble(&self) -> Result<(i64, i64)> {
        self.store.notification_mail_trouble().await
    }

    /// The newest failed notification mail, at most `limit`.
    pub async fn notification_mail_failures(&self, limit: i64) -> Result<Vec<super::FailedMail>> {
        self.store.notification_mail_failures(limit).await
    }

    pub async fn latest_delivery_failure(
        &self,
    ) -> Result<Option<(Uuid, Option<String>, chrono::DateTime<chrono::Utc>)>> {
        self.store.latest_delivery_failure().await
    }
}
