//! One account's data, as request handlers reach it. The store's methods that take
//! a bare account id are private to the store; the only way to them from outside
//! is an [`AccountData`], and the only way to one is an [`AccountScope`], which the
//! account extractor hands out after the permission check (`AccountAccess::require`).
//! So a handler cannot name an account it was not let into: there is no unscoped
//! path to forget, as in lldap's access-control handler.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    AccountRecordRow, AuditFilter, CustomRoleRecord, InvitationSummary, MemberChange, MemberRecord, RecordListFilter,
    RecordRow, Result, Store,
};
use crate::audit::StoredAuditEvent;
use crate::auth::AccountScope;

/// The data of the one account a scope names; cheap to clone (it holds the pool).
#[derive(Debug, Clone)]
pub struct AccountData {
    store: Store,
    account_id: Uuid,
}

impl AccountData {
    /// The account's data, for a caller a permission check let in.
    pub fn of(store: &Store, scope: &AccountScope) -> Self {
        Self { store: store.clone(), account_id: scope.account_id() }
    }

    pub fn account_id(&self) -> Uuid {
        self.account_id
    }

    pub async fn set_require_mfa(&self, require_mfa: bool) -> Result<()> {
        self.store.set_account_require_mfa(self.account_id, require_mfa).await
    }

    pub async fn set_email_codes(&self, email_codes: &str) -> Result<()> {
        self.store.set_account_email_codes(self.account_id, email_codes).await
    }

    pub async fn members(&self) -> Result<Vec<MemberRecord>> {
        self.store.account_members(self.account_id).await
    }

    pub async fn set_member_role(
        &self,
        user_id: Uuid,
        role: &str,
        custom_role_id: Option<Uuid>,
        record_types: Option<&[String]>,
    ) -> Result<MemberChange> {
        self.store.set_member_role(self.account_id, user_id, role, custom_role_id, record_types).await
    }

    pub async fn remove_member(&self, user_id: Uuid) -> Result<MemberChange> {
        self.store.remove_member(self.account_id, user_id).await
    }

    pub async fn pending_invitations(&self, now: DateTime<Utc>) -> Result<Vec<InvitationSummary>> {
        self.store.pending_invitations(self.account_id, now).await
    }

    pub async fn pending_invitation(&self, invitation_id: Uuid) -> Result<Option<InvitationSummary>> {
        self.store.pending_invitation(self.account_id, invitation_id).await
    }

    pub async fn revoke_invitation(&self, invitation_id: Uuid, now: DateTime<Utc>) -> Result<bool> {
        self.store.revoke_invitation(self.account_id, invitation_id, now).await
    }

    pub async fn reissue_invitation(
        &self,
        invitation_id: Uuid,
        token_hash: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<Option<InvitationSummary>> {
        self.store.reissue_invitation(self.account_id, invitation_id, token_hash, expires_at).await
    }

    pub async fn custom_roles(&self) -> Result<Vec<CustomRoleRecord>> {
        self.store.custom_roles(self.account_id).await
    }

    pub async fn create_custom_role(&self, name: &str, permissions: &[String], now: DateTime<Utc>) -> Result<Uuid> {
        self.store.create_custom_role(self.account_id, name, permissions, now).await
    }

    pub async fn custom_role(&self, role_id: Uuid) -> Result<Option<CustomRoleRecord>> {
        self.store.custom_role(self.account_id, role_id).await
    }

    /// The connector instance (of one of `kinds`) that takes this account's writes,
    /// with the account's key there.
    pub async fn write_target(&self, kinds: &[&str]) -> Result<Option<(Uuid, String)>> {
        self.store.write_target(self.account_id, kinds).await
    }

    pub async fn delete_custom_role(&self, role_id: Uuid) -> Result<bool> {
        self.store.delete_custom_role(self.account_id, role_id).await
    }

    pub async fn record(&self, record_type: &str, id: Uuid) -> Result<Option<RecordRow>> {
        self.store.account_record(self.account_id, record_type, id).await
    }

    pub async fn records(&self, record_type: &str, filter: &RecordListFilter) -> Result<Vec<AccountRecordRow>> {
        self.store.account_records(self.account_id, record_type, filter).await
    }

    /// The folders and tags the account's documents have (each once, sorted):
    /// what its document list can be narrowed by, whatever page is shown.
    pub async fn document_facets(&self) -> Result<(Vec<String>, Vec<String>)> {
        self.store.account_document_facets(self.account_id).await
    }

    pub async fn record_with_source(&self, record_type: &str, id: Uuid) -> Result<Option<AccountRecordRow>> {
        self.store.account_record_with_source(self.account_id, record_type, id).await
    }

    pub async fn record_children(
        &self,
        child_type: &str,
        source_instance_id: Uuid,
        parent_external_id: &str,
    ) -> Result<Vec<AccountRecordRow>> {
        self.store.account_record_children(self.account_id, child_type, source_instance_id, parent_external_id).await
    }

    /// The account's name, slug and settings.
    pub async fn account(&self) -> Result<Option<super::Account>> {
        self.store.account(self.account_id).await
    }

    /// Records the caller's visit to the account's dashboard; their previous one.
    pub async fn visit(&self, user_id: Uuid, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        self.store.visit_account(user_id, self.account_id, now).await
    }

    pub async fn open_invoice_totals(&self, now: DateTime<Utc>) -> Result<Vec<super::CurrencyTotals>> {
        self.store.open_invoice_totals(self.account_id, now).await
    }

    pub async fn count_open_tickets(&self) -> Result<i64> {
        self.store.count_open_tickets(self.account_id).await
    }

    pub async fn records_new_since(
        &self,
        record_type: &str,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<(i64, Vec<AccountRecordRow>)> {
        self.store.records_new_since(self.account_id, record_type, since, limit).await
    }

    pub async fn open_tasks_due(
        &self,
        now: DateTime<Utc>,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<(i64, i64, Vec<AccountRecordRow>)> {
        self.store.open_tasks_due(self.account_id, now, before, limit).await
    }

    pub async fn recently_changed_records(&self, record_types: &[&str], limit: i64) -> Result<Vec<AccountRecordRow>> {
        self.store.recently_changed_records(self.account_id, record_types, limit).await
    }

    pub async fn audit_events(
        &self,
        filter: &AuditFilter,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<StoredAuditEvent>> {
        self.store.list_audit_events(Some(self.account_id), filter, before_id, limit).await
    }
}
