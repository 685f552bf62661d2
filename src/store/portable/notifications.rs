//! In-portal notifications, and the cursor that makes them from the change feed.

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::{ChangeFeedRow, MembershipRow, Result, new_id};

/// A notification to write.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub user_id: Uuid,
    pub account_id: Uuid,
    pub kind: &'static str,
    pub message: String,
    pub record_type: String,
    pub record_id: Uuid,
    /// Mailed as well (the person chose email in their preferences).
    pub by_email: bool,
}

/// A notification mail that was failed, as admins see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FailedMail {
    pub created_at: DateTime<Utc>,
    pub email: String,
    pub account_name: String,
    /// The server's answer (or why it could not be sent).
    pub answer: String,
}

/// A notification to mail, with where it goes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationMail {
    pub id: Uuid,
    pub user_id: Uuid,
    pub account_id: Uuid,
    /// `invoices`, `tickets`, …: what its unsubscribe link turns off.
    pub kind: String,
    pub email: String,
    pub display_name: String,
    pub account_name: String,
    pub message: String,
    /// Tries before this one that a server turned away for now.
    pub mail_attempts: i32,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct NotificationRow {
    pub id: Uuid,
    pub account_id: Uuid,
    /// invoices, tickets, documents, orders, tasks.
    pub kind: String,
    pub message: String,
    pub record_type: Option<String>,
    pub record_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// A member of an account who might be told: what they hold and want to hear.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recipient {
    pub user_id: Uuid,
    #[sqlx(flatten)]
    pub membership: MembershipRow,
    pub notification_preferences: Json<serde_json::Value>,
    /// The member has multi-factor sign-in on (an account demanding it tells
    /// nothing to a member without it).
    pub mfa_enabled: bool,
}

portable_queries! {
    /// Where notifications stand in the feed, and the record entries after it.
    pub async fn notification_backlog(&self, limit: i64) -> Result<(i64, Vec<ChangeFeedRow>)> {
        let (cursor,): (i64,) = sqlx::query_as("SELECT seq FROM notification_cursor WHERE id = 1").fetch_one(&self.pool).await?;
        let rows = self.change_feed_after(cursor, limit).await?;
        Ok((cursor, rows))
    }

    /// Writes notifications and moves the cursor from `from` to `to`, in one
    /// transaction; `false` (nothing written) if another worker moved it first.
    pub async fn commit_notifications(&self, from: i64, to: i64, notifications: &[NewNotification], now: DateTime<Utc>) -> Result<bool> {
        let mut transaction = self.begin_write().await?;
        let moved = sqlx::query("UPDATE notification_cursor SET seq = $2 WHERE id = 1 AND seq = $1")
            .bind(from)
            .bind(to)
            .execute(&mut *transaction)
            .await?;
        if moved.rows_affected() != 1 {
            return Ok(false);
        }
        for chunk in notifications.chunks(500) {
            let mut query = QueryBuilder::new(
                "INSERT INTO notifications (id, user_id, account_id, kind, title, record_type, record_id, created_at, mail_status) ",
            );
            query.push_values(chunk, |mut row, notification| {
                row.push_bind(new_id())
                    .push_bind(notification.user_id)
                    .push_bind(notification.account_id)
                    .push_bind(notification.kind)
                    .push_bind(&notification.message)
                    .push_bind(&notification.record_type)
                    .push_bind(notification.record_id)
                    .push_bind(now)
                    .push_bind(notification.by_email.then_some("pending"));
            });
            query.build().execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(true)
    }

    /// Takes up to `limit` notifications waiting to be mailed, oldest first, for
    /// this worker until `claim_until` (another takes them after, if they were not
    /// sent by then). Those whose person is no longer an active member of the
    /// account are marked sent without a mail: nobody is mailed about an account
    /// they left.
    ///
    /// A person mailed about an account since `digest_since` waits: their
    /// notifications of it gather until the digest row is older.
    pub async fn claim_notification_mail(&self, now: DateTime<Utc>, claim_until: DateTime<Utc>, limit: i64, digest_since: DateTime<Utc>) -> Result<Vec<NotificationMail>> {
        // Workers ask every second: a read on the pending index first, so an idle
        // one takes no write lock.
        let waiting: Option<(Uuid,)> = sqlx::query_as(
            "SELECT n.id FROM notifications n
             WHERE n.mail_status = 'pending' AND (n.mail_claimed_until IS NULL OR n.mail_claimed_until < $1)
               AND NOT EXISTS (SELECT 1 FROM notification_digests d
                               WHERE d.user_id = n.user_id AND d.account_id = n.account_id AND d.last_sent_at > $2)
             LIMIT 1",
        )
        .bind(now)
        .bind(digest_since)
        .fetch_optional(&self.pool)
        .await?;
        if waiting.is_none() {
            return Ok(Vec::new());
        }
        let mut transaction = self.begin_write().await?;
        // The claim's condition is repeated on the row itself, so two workers racing
        // on PostgreSQL cannot both take one (the second re-checks after the first commits).
        let claimed: Vec<(Uuid,)> = sqlx::query_as(
            "UPDATE notifications SET mail_claimed_until = $2
             WHERE mail_status = 'pending' AND (mail_claimed_until IS NULL OR mail_claimed_until < $1)
               AND id IN (SELECT n.id FROM notifications n
                          WHERE n.mail_status = 'pending' AND (n.mail_claimed_until IS NULL OR n.mail_claimed_until < $1)
                            AND NOT EXISTS (SELECT 1 FROM notification_digests d
                                            WHERE d.user_id = n.user_id AND d.account_id = n.account_id
                                              AND d.last_sent_at > $4)
                          ORDER BY n.created_at LIMIT $3)
             RETURNING id",
        )
        .bind(now)
        .bind(claim_until)
        .bind(limit)
        .bind(digest_since)
        .fetch_all(&mut *transaction)
        .await?;
        let ids: Vec<Uuid> = claimed.into_iter().map(|(id,)| id).collect();
        if ids.is_empty() {
            transaction.commit().await?;
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::new(
            "SELECT n.id, n.user_id, n.account_id, n.kind, u.email, u.display_name, a.name AS account_name, n.title AS message, n.mail_attempts
             FROM notifications n
             JOIN users u ON u.id = n.user_id AND u.status = 'active'
             JOIN accounts a ON a.id = n.account_id
             JOIN memberships m ON m.account_id = n.account_id AND m.user_id = n.user_id
             WHERE n.id IN (",
        );
        let mut separated = query.separated(", ");
        for id in &ids {
            separated.push_bind(*id);
        }
        query.push(") ORDER BY n.created_at");
        let mails: Vec<NotificationMail> = query.build_query_as().fetch_all(&mut *transaction).await?;
        let mut gone = QueryBuilder::new("UPDATE notifications SET mail_status = 'sent' WHERE id IN (");
        let mut separated = gone.separated(", ");
        let mut any_gone = false;
        for id in ids.iter().filter(|id| !mails.iter().any(|mail| mail.id == **id)) {
            separated.push_bind(*id);
            any_gone = true;
        }
        if any_gone {
            gone.push(")").build().execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(mails)
    }

    /// A person's claimed notifications of one account went out in one mail at
    /// `now`: sent, and the next mail about the account waits its digest window.
    pub async fn mark_notification_digest_mailed(&self, ids: &[Uuid], user_id: Uuid, account_id: Uuid, now: DateTime<Utc>) -> Result<()> {
        let mut transaction = self.begin_write().await?;
        let mut sent = QueryBuilder::new("UPDATE notifications SET mail_status = 'sent', mail_claimed_until = NULL WHERE id IN (");
        let mut separated = sent.separated(", ");
        for id in ids {
            separated.push_bind(*id);
        }
        sent.push(")").build().execute(&mut *transaction).await?;
        sqlx::query(
            "INSERT INTO notification_digests (user_id, account_id, last_sent_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, account_id) DO UPDATE SET last_sent_at = excluded.last_sent_at",
        )
        .bind(user_id)
        .bind(account_id)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// A claimed notification's mail was turned away for now: tried again at
    /// `next_at`, or `failed` with `error` when this was try number `last_attempt`.
    pub async fn defer_notification_mail(&self, id: Uuid, next_at: DateTime<Utc>, error: &str, last_attempt: i32) -> Result<()> {
        sqlx::query(
            "UPDATE notifications SET mail_attempts = mail_attempts + 1, mail_error = $2,
                    mail_claimed_until = $3,
                    mail_status = CASE WHEN mail_attempts + 1 >= $4 THEN 'failed' ELSE mail_status END
             WHERE id = $1",
        )
        .bind(id)
        .bind(error)
        .bind(next_at)
        .bind(last_attempt)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A claimed notification's mail was refused for good, with the server's answer.
    pub async fn fail_notification_mail(&self, id: Uuid, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE notifications SET mail_status = 'failed', mail_error = $2, mail_attempts = mail_attempts + 1,
                    mail_claimed_until = NULL
             WHERE id = $1",
        )
        .bind(id)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Notification mail a server turned away: (waiting to be tried again, failed).
    pub(in crate::store) async fn notification_mail_trouble(&self) -> Result<(i64, i64)> {
        Ok(sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM notifications WHERE mail_status = 'pending' AND mail_attempts > 0),
                    (SELECT COUNT(*) FROM notifications WHERE mail_status = 'failed')",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// The newest failed notification mail: when, to whom, of which account, and the server's answer.
    pub(in crate::store) async fn notification_mail_failures(&self, limit: i64) -> Result<Vec<FailedMail>> {
        Ok(sqlx::query_as(
            "SELECT n.created_at, u.email, a.name AS account_name, COALESCE(n.mail_error, '') AS answer
             FROM notifications n JOIN users u ON u.id = n.user_id JOIN accounts a ON a.id = n.account_id
             WHERE n.mail_status = 'failed' ORDER BY n.created_at DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Moves notifications past everything in the feed now (a bulk load is not news).
    pub async fn skip_notifications_to_feed_end(&self) -> Result<()> {
        sqlx::query("UPDATE notification_cursor SET seq = (SELECT COALESCE(MAX(seq), 0) FROM change_feed) WHERE id = 1")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The active members of an account, with their grants and preferences.
    pub async fn notification_recipients(&self, account_id: Uuid) -> Result<Vec<Recipient>> {
        Ok(sqlx::query_as(
            "SELECT m.user_id, m.account_id, a.name AS account_name, m.role, m.custom_role_id, c.name AS custom_role_name,
                    c.permissions AS custom_permissions, m.record_types, a.require_mfa AS account_requires_mfa,
                    u.notification_preferences, u.mfa_enabled_at IS NOT NULL AS mfa_enabled
             FROM memberships m
             JOIN accounts a ON a.id = m.account_id
             JOIN users u ON u.id = m.user_id AND u.status = 'active'
             LEFT JOIN custom_roles c ON c.id = m.custom_role_id
             WHERE m.account_id = $1",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A person's notifications in `accounts` (those their credential may act in
    /// now), newest first, before `before` (an id from the last page).
    pub async fn user_notifications(&self, user_id: Uuid, accounts: &[Uuid], unread_only: bool, before: Option<Uuid>, limit: i64) -> Result<Vec<NotificationRow>> {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::new(
            "SELECT n.id, n.account_id, n.kind, n.title AS message, n.record_type, n.record_id, n.created_at, n.read_at
             FROM notifications n WHERE n.user_id = ",
        );
        query.push_bind(user_id);
        push_account_filter(&mut query, "n.account_id", accounts);
        if unread_only {
            query.push(" AND n.read_at IS NULL");
        }
        if let Some(before) = before {
            query.push(" AND n.id < ").push_bind(before);
        }
        query.push(" ORDER BY n.id DESC LIMIT ").push_bind(limit);
        Ok(query.build_query_as().fetch_all(&self.pool).await?)
    }

    pub async fn unread_notification_count(&self, user_id: Uuid, accounts: &[Uuid]) -> Result<i64> {
        if accounts.is_empty() {
            return Ok(0);
        }
        let mut query = QueryBuilder::new("SELECT COUNT(*) FROM notifications n WHERE n.read_at IS NULL AND n.user_id = ");
        query.push_bind(user_id);
        push_account_filter(&mut query, "n.account_id", accounts);
        Ok(query.build_query_scalar().fetch_one(&self.pool).await?)
    }

    /// Marks one (or, without an id, every) notification of the user in `accounts`
    /// read; how many changed.
    pub async fn mark_notifications_read(&self, user_id: Uuid, accounts: &[Uuid], id: Option<Uuid>, now: DateTime<Utc>) -> Result<u64> {
        if accounts.is_empty() {
            return Ok(0);
        }
        let mut query = QueryBuilder::new("UPDATE notifications SET read_at = ");
        query.push_bind(now).push(" WHERE read_at IS NULL AND user_id = ").push_bind(user_id);
        if let Some(id) = id {
            query.push(" AND id = ").push_bind(id);
        }
        push_account_filter(&mut query, "account_id", accounts);
        Ok(query.build().execute(&self.pool).await?.rows_affected())
    }

    /// Whether the user has a notification with this id in `accounts`.
    pub async fn has_notification(&self, user_id: Uuid, accounts: &[Uuid], id: Uuid) -> Result<bool> {
        if accounts.is_empty() {
            return Ok(false);
        }
        let mut query = QueryBuilder::new("SELECT COUNT(*) FROM notifications n WHERE n.id = ");
        query.push_bind(id).push(" AND n.user_id = ").push_bind(user_id);
        push_account_filter(&mut query, "n.account_id", accounts);
        let found: i64 = query.build_query_scalar().fetch_one(&self.pool).await?;
        Ok(found > 0)
    }
}

/// ` AND {column} IN (…)`: the accounts a caller-only route may show.
fn push_account_filter<DB: sqlx::Database>(query: &mut QueryBuilder<DB>, column: &'static str, accounts: &[Uuid])
where
    Uuid: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    query.push(" AND ").push(column).push(" IN (");
    let mut separated = query.separated(", ");
    for account_id in accounts {
        separated.push_bind(*account_id);
    }
    query.push(")");
}
