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

/// The portal activity counted from the audit log, each action once.
macro_rules! activity_actions {
    () => {
        "('document.downloaded', 'invoice.viewed', 'invoice.pay_started', 'ticket.created')"
    };
}

/// Each account's figures: the period's audit events are grouped once (by
/// action through `audit_events_by_action`), not counted again per account.
const ADOPTION: &str = concat!(
    "WITH logins AS (
       SELECT m.account_id, COUNT(*) AS n FROM audit_events e JOIN memberships m ON m.user_id = e.actor_user_id
        WHERE e.action = 'auth.login.succeeded' AND e.occurred_at >= $1 AND e.occurred_at < $2
        GROUP BY m.account_id),
     activity AS (
       SELECT e.account_id,
              SUM(CASE WHEN e.action = 'document.downloaded' THEN 1 ELSE 0 END) AS documents_downloaded,
              SUM(CASE WHEN e.action = 'invoice.viewed' THEN 1 ELSE 0 END) AS invoices_viewed,
              SUM(CASE WHEN e.action = 'invoice.pay_started' THEN 1 ELSE 0 END) AS payments_started,
              SUM(CASE WHEN e.action = 'ticket.created' THEN 1 ELSE 0 END) AS tickets_opened
         FROM audit_events e
        WHERE e.action IN ",
    activity_actions!(),
    " AND e.occurred_at >= $1 AND e.occurred_at < $2 AND e.account_id IS NOT NULL
        GROUP BY e.account_id)
     SELECT a.id AS account_id, a.name AS account_name,
       (SELECT COUNT(*) FROM memberships m WHERE m.account_id = a.id) AS members,
       (SELECT COUNT(*) FROM invitations i WHERE i.account_id = a.id AND i.created_at >= $1 AND i.created_at < $2) AS invited,
       (SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id
          WHERE m.account_id = a.id AND u.last_login_at IS NOT NULL) AS signed_in_ever,
       (SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id
          WHERE m.account_id = a.id AND u.last_login_at >= $3) AS active,
       COALESCE(l.n, 0) AS sign_ins,
       COALESCE(act.documents_downloaded, 0) AS documents_downloaded,
       COALESCE(act.invoices_viewed, 0) AS invoices_viewed,
       COALESCE(act.payments_started, 0) AS payments_started,
       COALESCE(act.tickets_opened, 0) AS tickets_opened
     FROM accounts a
     LEFT JOIN logins l ON l.account_id = a.id
     LEFT JOIN activity act ON act.account_id = a.id
     WHERE a.status = 'active' ORDER BY a.name, a.id LIMIT $4"
);

/// The period's activity over every active account: what one month's line of
/// the report shows. Each figure is an index range count.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ActivityTotals {
    pub invited: i64,
    pub sign_ins: i64,
    pub documents_downloaded: i64,
    pub invoices_viewed: i64,
    pub payments_started: i64,
    pub tickets_opened: i64,
}

/// One action's count over active accounts in `[$1, $2)`.
macro_rules! total_of {
    ($action:literal) => {
        concat!(
            "(SELECT COUNT(*) FROM audit_events e JOIN accounts a ON a.id = e.account_id
               WHERE a.status = 'active' AND e.action = '",
            $action,
            "' AND e.occurred_at >= $1 AND e.occurred_at < $2)"
        )
    };
}

const ACTIVITY_TOTALS: &str = concat!(
    "SELECT
       (SELECT COUNT(*) FROM invitations i JOIN accounts a ON a.id = i.account_id
          WHERE a.status = 'active' AND i.created_at >= $1 AND i.created_at < $2) AS invited,
       (SELECT COUNT(*) FROM audit_events e JOIN memberships m ON m.user_id = e.actor_user_id
          JOIN accounts a ON a.id = m.account_id
          WHERE a.status = 'active' AND e.action = 'auth.login.succeeded' AND e.occurred_at >= $1 AND e.occurred_at < $2) AS sign_ins, ",
    total_of!("document.downloaded"),
    " AS documents_downloaded, ",
    total_of!("invoice.viewed"),
    " AS invoices_viewed, ",
    total_of!("invoice.pay_started"),
    " AS payments_started, ",
    total_of!("ticket.created"),
    " AS tickets_opened"
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

    /// The activity of every active account from `from` until `until`.
    pub(in crate::store) async fn activity_totals(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<ActivityTotals> {
        Ok(sqlx::query_as(ACTIVITY_TOTALS).bind(from).bind(until).fetch_one(&self.pool).await?)
    }
}
