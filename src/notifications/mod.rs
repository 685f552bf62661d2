//! In-portal notifications, made from the change feed: a new or re-statused
//! invoice, order, ticket, message, document or task tells each member of its
//! account who may see it and asked to hear about its kind (profile preferences),
//! and mails it too to those who chose email ([`mail`]).
//!
//! Worker processes follow the feed from a shared cursor; each batch of
//! notifications is written with the cursor's move in one transaction, and a
//! worker that finds the cursor moved by another drops its batch, so nothing is
//! told twice. Like the live stream, the follower stops at a gap in the feed's
//! numbers (a transaction still committing) unless the entry after it is older
//! than [`GAP_WAIT`].

pub mod mail;
pub mod security;
pub mod unsubscribe;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::permissions::Permission;
use crate::auth::{access, grants};
use crate::store::{ChangeFeedRow, NewNotification, Recipient, Store, StoreError};

const POLL: Duration = Duration::from_secs(1);
const BATCH: i64 = 500;
/// A gap in the feed older than this is a rolled-back transaction, not a slow one.
const GAP_WAIT: chrono::Duration = chrono::Duration::seconds(10);

/// What a person wants to hear about, in the portal (and by email, if chosen).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Preferences {
    /// New and paid invoices.
    pub invoices: bool,
    /// Replies and status changes on tickets.
    pub tickets: bool,
    /// New documents.
    pub documents: bool,
    /// Order and project status changes.
    pub orders: bool,
    /// New and completed tasks.
    pub tasks: bool,
    /// By email as well as in the portal.
    pub email: bool,
    /// Kinds (`invoices`, …) never mailed, though told in the portal: what a
    /// mail's one-click unsubscribe turned off.
    #[schema(value_type = Vec<String>)]
    pub email_off: BTreeSet<String>,
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            invoices: true,
            tickets: true,
            documents: true,
            orders: true,
            tasks: true,
            email: false,
            email_off: BTreeSet::new(),
        }
    }
}

/// The kinds of notification, as preferences and unsubscribe links name them.
pub const KINDS: [&str; 5] = ["invoices", "tickets", "documents", "orders", "tasks"];

impl Preferences {
    /// Whether news of `kind` is mailed as well.
    pub fn mails(&self, kind: &str) -> bool {
        self.email && !self.email_off.contains(kind)
    }

    fn wants(&self, kind: &str) -> bool {
        match kind {
            "invoices" => self.invoices,
            "tickets" => self.tickets,
            "documents" => self.documents,
            "orders" => self.orders,
            "tasks" => self.tasks,
            _ => false,
        }
    }
}

/// What a feed entry is worth telling, if anything: (kind, message).
pub fn describe(entry: &ChangeFeedRow) -> Option<(&'static str, String)> {
    let is_new = match (entry.kind.as_str(), entry.change.as_deref()) {
        ("record", Some("created")) => true,
        ("record", Some("updated")) => false,
        _ => return None,
    };
    let title = entry.title.as_deref().unwrap_or("");
    let status = entry.status.as_deref().unwrap_or("");
    let moved = !is_new && entry.previous_status.as_deref() != entry.status.as_deref();
    match entry.record_type.as_deref()? {
        "invoice" if moved && status == "paid" => Some(("invoices", format!("Invoice {title} is paid"))),
        "invoice" if (is_new || moved) && status == "open" => Some(("invoices", format!("Invoice {title} was issued"))),
        "subscription" if moved => Some(("invoices", format!("Subscription {title} is now {status}"))),
        "order" if moved => Some(("orders", format!("{title}: {status}"))),
        "order" if is_new => Some(("orders", format!("New order: {title}"))),
        "ticket" if moved => Some(("tickets", format!("Ticket \u{201c}{title}\u{201d} is now {status}"))),
        "ticket_message" if is_new => Some(("tickets", format!("New message from {title}"))),
        "document" if is_new => Some(("documents", format!("New document: {title}"))),
        "task" if moved && status == "completed" => Some(("tasks", format!("Task done: {title}"))),
        "task" if moved && matches!(status, "approved" | "declined") => {
            Some(("tasks", format!("\u{201c}{title}\u{201d} is {status}")))
        }
        "task" if is_new && status == "open" => Some(("tasks", format!("New task: {title}"))),
        _ => None,
    }
}

/// Follows the feed until shutdown.
pub async fn run(store: Store, shutdown: CancellationToken) {
    loop {
        match make_once(&store).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(error = %crate::server::problem::error_chain(&error), "making notifications failed")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// A member of an account, as the notifier weighs them: what they may see and
/// what they want to hear about.
struct Listener {
    user_id: Uuid,
    permissions: BTreeSet<Permission>,
    preferences: Preferences,
}

impl From<Recipient> for Listener {
    fn from(recipient: Recipient) -> Self {
        Listener {
            user_id: recipient.user_id,
            // The rules of access, as for the member's own requests.
            permissions: access::permissions_of_member(
                grants::grant_of(&recipient.membership).as_ref(),
                recipient.membership.account_requires_mfa,
                recipient.mfa_enabled,
            ),
            preferences: serde_json::from_value(recipient.notification_preferences.0).unwrap_or_default(),
        }
    }
}

/// One batch; whether there may be more right away.
pub async fn make_once(store: &Store) -> Result<bool, StoreError> {
    let (cursor, rows) = store.notification_backlog(BATCH).await?;
    let full = rows.len() as i64 == BATCH;
    let now = Utc::now();
    let mut upto = cursor;
    let mut taken = Vec::new();
    for row in rows {
        if row.seq != upto + 1 && now - row.changed_at < GAP_WAIT {
            break;
        }
        upto = row.seq;
        taken.push(row);
    }
    if upto == cursor {
        return Ok(false);
    }
    // Each account's members, read and parsed once per batch.
    let mut members: HashMap<Uuid, Vec<Listener>> = HashMap::new();
    let mut notifications = Vec::new();
    for entry in &taken {
        let (Some((kind, message)), Some(account_id), Some(record_type), Some(record_id)) =
            (describe(entry), entry.account_id, entry.record_type.as_ref(), entry.record_id)
        else {
            continue;
        };
        let Some(needed) = Permission::to_view(record_type) else { continue };
        let listeners = match members.entry(account_id) {
            std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                let recipients = store.notification_recipients(account_id).await?;
                slot.insert(recipients.into_iter().map(Listener::from).collect())
            }
        };
        for listener in listeners.iter() {
            if listener.permissions.contains(&needed) && listener.preferences.wants(kind) {
                notifications.push(NewNotification {
                    user_id: listener.user_id,
                    account_id,
                    kind,
                    message: message.clone(),
                    record_type: record_type.clone(),
                    record_id,
                    by_email: listener.preferences.mails(kind),
                });
            }
        }
    }
    let committed = store.commit_notifications(cursor, upto, &notifications, now).await?;
    Ok(committed && full)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(record_type: &str, status: Option<&str>, previous: Option<&str>) -> ChangeFeedRow {
        let change = if previous.is_some() { "updated" } else { "created" };
        ChangeFeedRow {
            seq: 1,
            kind: "record".into(),
            account_id: Some(Uuid::nil()),
            user_id: None,
            record_type: Some(record_type.into()),
            record_id: Some(Uuid::nil()),
            change: Some(change.into()),
            status: status.map(str::to_owned),
            previous_status: previous.map(str::to_owned),
            title: Some("INV-7".into()),
            changed_at: Utc::now(),
        }
    }

    #[test]
    fn only_news_is_told() {
        assert_eq!(describe(&entry("invoice", Some("open"), None)).unwrap().0, "invoices");
        assert_eq!(describe(&entry("invoice", Some("paid"), Some("open"))).unwrap().1, "Invoice INV-7 is paid");
        assert!(describe(&entry("invoice", Some("open"), Some("open"))).is_none(), "an edit, not news");
        let mut renamed = entry("document", None, None);
        renamed.change = Some("updated".into());
        assert!(describe(&renamed).is_none(), "a changed document is not a new one");
        assert!(describe(&entry("payment", Some("succeeded"), None)).is_none());
        assert_eq!(describe(&entry("order", Some("shipped"), Some("processing"))).unwrap().1, "INV-7: shipped");
        assert_eq!(describe(&entry("document", None, None)).unwrap().0, "documents");
        assert!(describe(&entry("contact", None, None)).is_none());
        assert_eq!(
            describe(&entry("task", Some("approved"), Some("open"))).unwrap().1,
            "\u{201c}INV-7\u{201d} is approved"
        );
        let mut deleted = entry("invoice", Some("open"), None);
        deleted.change = Some("deleted".into());
        assert!(describe(&deleted).is_none());
    }
}
