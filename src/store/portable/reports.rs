//! What the business learns of its customers' use of the portal (staff only,
//! through `StaffData`): per account and overall, over a period.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::Result;

/// One account's adoption and activity in a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct AdoptionRow {
    pub account_id: Uuid,
    pub account_name: String,
    /// Members now.
    pub members: i64,
    /// Invitations sent in the period.
    pub invited: i64,
    /// Members who ever signed in.
    pub signed_in_ever: i64,
    /// Members who signed in during the last 30 days.
    pub active: i64,
    /// Sign-ins by the account's members in the period.
    pub sign_ins: i64,
    pub documents_downloaded: i64,
    pub invoices_viewed: i64,
    pub payments_started: i64,
    pub tickets_opened: i64,
}

/// Counts of one account's audit events of `$action` since `$1`.
macro_rules! account_events {
    ($action:literal) => {
        concat!(
            "(SELECT COUNT(*) FROM audit_events e WHERE e.account_id = a.id AND e.action = '",
            $action,
            "' AND e.occurred_at >= $1 AND e.occurred_at < $2)"
        )
    };
}

const ADOPTION: &str = concat!(
    "SELECT a.id AS account_id, a.name AS account_name,
       (SELECT COUNT(*) FROM memberships m WHERE m.account_id = a.id) AS members,
       (SELECT COUNT(*) FROM invitations i WHERE i.account_id = a.id AND i.created_at >= $1 AND i.created_at < $2) AS invited,
       (SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id
          WHERE m.account_id = a.id AND u.last_login_at IS NOT NULL) AS signed_in_ever,
       (SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id
          WHERE m.account_id = a.id AND u.last_login_at >= $3) AS active,
       (SELECT COUNT(*) FROM audit_events e JOIN memberships m ON m.user_id = e.actor_user_id AND m.account_id = a.id
          WHERE e.action = 'auth.login.succeeded' AND e.occurred_at >= $1 AND e.occurred_at < $2) AS sign_ins, ",
    account_events!("document.downloaded"),
    " AS documents_downloaded, ",
    account_events!("invoice.viewed"),
    " AS invoices_viewed, ",
    account_events!("invoice.pay_started"),
    " AS payments_started, ",
    account_events!("ticket.created"),
    " AS tickets_opened
     FROM accounts a WHERE a.status = 'active' ORDER BY a.name, a.id LIMIT $4"
);

portable_queries! {
    /// Each active account's adoption and its members' activity from `from` until
    /// `until` ("active": signed in since `active_since`), by name, at most `limit`.
    pub(in crate::store) async fn adoption_report(&self, from: DateTime<Utc>, until: DateTime<Utc>, active_since: DateTime<Utc>, limit: i64) -> Result<Vec<AdoptionRow>> {
        Ok(sqlx::query_as(ADOPTION)
            .bind(from)
            .bind(until)
            .bind(active_since)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }
}
