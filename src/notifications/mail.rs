//! Notifications by email, for people who chose it: workers take the pending ones
//! in batches under a claim and hand them to the mailer, then mark them sent.
//!
//! - A person gets at most one mail per account in `notifications.digest_minutes`:
//!   the first news goes at once, what follows gathers into one mail listing it.
//!
//! - A server that turns a message away for now (4xx, unreachable, a timeout)
//!   gets it again later, after [`RETRY_DELAYS`]; after the last it is `failed`.
//! - A server that refuses it for good (5xx) makes it `failed` at once, with its
//!   answer, which admins see.
//! - A worker that dies mid-batch leaves its claim to run out; another sends the
//!   rest. A message the server took just before the crash, not yet marked sent,
//!   goes again: with the same `Message-ID` (made from the notification's id), so
//!   receiving systems that de-duplicate by it show it once. That window, between
//!   the server's 250 and the mark, is the only way a notification goes twice.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::unsubscribe;
use crate::core::crypto::SecretCipher;
use crate::mail::{MailError, Mailer, Message};
use crate::store::{NotificationMail, Store, StoreError};
use crate::telemetry::NOTIFICATION_MAILS;

const POLL: Duration = Duration::from_secs(1);
const BATCH: i64 = 50;
/// How long a worker may take to send a batch before another may take it over.
const CLAIM: chrono::Duration = chrono::Duration::minutes(5);
/// Waits before each try again after a server turned a message away for now;
/// after the last, it is failed (about a day and a half in all).
pub const RETRY_DELAYS: [chrono::Duration; 7] = [
    chrono::Duration::seconds(30),
    chrono::Duration::minutes(2),
    chrono::Duration::minutes(10),
    chrono::Duration::minutes(30),
    chrono::Duration::hours(2),
    chrono::Duration::hours(8),
    chrono::Duration::hours(24),
];

/// The notification mailer of a worker process.
#[derive(Clone)]
pub struct NotificationMailer {
    pub store: Store,
    pub mailer: Mailer,
    pub cipher: SecretCipher,
    pub portal_url: String,
    /// At most one mail per person and account in this long (`notifications.digest_minutes`).
    pub digest: chrono::Duration,
}

impl NotificationMailer {
    /// Sends until shutdown.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            match self.send_once().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(error = %crate::server::problem::error_chain(&error), "mailing notifications failed")
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// One batch; whether there may be more right away. Each person's
    /// notifications of one account go in one mail.
    pub async fn send_once(&self) -> Result<bool, StoreError> {
        let now = Utc::now();
        let batch = self.store.claim_notification_mail(now, now + CLAIM, BATCH, now - self.digest).await?;
        let full = batch.len() as i64 == BATCH;
        let mut groups: Vec<Vec<&NotificationMail>> = Vec::new();
        for notification in &batch {
            match groups.iter_mut().find(|group| {
                group[0].user_id == notification.user_id && group[0].account_id == notification.account_id
            }) {
                Some(group) => group.push(notification),
                None => groups.push(vec![notification]),
            }
        }
        for group in groups {
            self.send_group(&group).await?;
        }
        Ok(full)
    }

    async fn send_group(&self, group: &[&NotificationMail]) -> Result<(), StoreError> {
        let first = group[0];
        let outcome = |outcome: &'static str| {
            metrics::counter!(NOTIFICATION_MAILS, "outcome" => outcome).increment(group.len() as u64)
        };
        // One kind: its link stops that kind; several: mail altogether.
        let kind = if group.iter().all(|notification| notification.kind == first.kind) { &first.kind } else { "all" };
        let unsubscribe = unsubscribe::url(&self.portal_url, &self.cipher, first.user_id, kind);
        let message = Message { unsubscribe_url: Some(unsubscribe), ..message(group, &self.portal_url) };
        match self.mailer.send(&message).await {
            Ok(()) => {
                let ids: Vec<_> = group.iter().map(|notification| notification.id).collect();
                self.store.mark_notification_digest_mailed(&ids, first.user_id, first.account_id, Utc::now()).await?;
                outcome("sent");
            }
            Err(MailError::Permanent(answer) | MailError::Local(answer)) => {
                tracing::warn!(notification_id = %first.id, answer = %answer, "a notification mail was refused");
                for notification in group {
                    self.store.fail_notification_mail(notification.id, &answer).await?;
                }
                outcome("failed");
            }
            Err(MailError::Transient(answer)) => {
                // The rest of the batch is tried all the same: a busy mailbox is
                // one recipient's (and an unreachable server answers at once).
                let attempt = first.mail_attempts.max(0) as usize;
                let wait = RETRY_DELAYS.get(attempt).copied().unwrap_or(RETRY_DELAYS[RETRY_DELAYS.len() - 1]);
                tracing::info!(notification_id = %first.id, answer = %answer, attempt = attempt + 1, "a notification mail waits to be tried again");
                let last = RETRY_DELAYS.len() as i32 + 1;
                for notification in group {
                    self.store.defer_notification_mail(notification.id, Utc::now() + wait, &answer, last).await?;
                }
                outcome(if attempt + 1 >= last as usize { "failed" } else { "deferred" });
            }
        }
        Ok(())
    }
}

/// One person's news of one account: one item as its own subject, several as a list.
fn message(group: &[&NotificationMail], portal_url: &str) -> Message {
    let first = group[0];
    let greeting = match first.display_name.trim() {
        "" => "Hello,".to_owned(),
        name => format!("Hello {name},"),
    };
    let (subject, news) = match group {
        [only] => (format!("{}: {}", only.account_name, only.message), only.message.clone()),
        several => (
            format!("{}: {} updates", first.account_name, several.len()),
            several.iter().map(|notification| format!("- {}", notification.message)).collect::<Vec<_>>().join("\n"),
        ),
    };
    Message {
        message_id: Some(format!("<notification-{}@{}>", first.id, message_domain(portal_url))),
        to: first.email.clone(),
        subject,
        text: format!(
            "{greeting}\n\n{news}\n\nSee it in your portal: {portal_url}\n\n\
             You get this because email notifications are on in your profile; \
             you can turn them off there, or with the unsubscribe link.\n",
        ),
        ..Default::default()
    }
}

/// The domain of the portal's address, for message ids that are ours.
fn message_domain(portal_url: &str) -> String {
    url::Url::parse(portal_url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_else(|| "portico.invalid".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_names_the_account_and_the_news() {
        let notification = NotificationMail {
            id: uuid::Uuid::nil(),
            user_id: uuid::Uuid::nil(),
            account_id: uuid::Uuid::nil(),
            kind: "invoices".into(),
            email: "ana@acme.test".into(),
            display_name: "Ana".into(),
            account_name: "Acme Corp".into(),
            message: "Invoice INV-7 is paid".into(),
            mail_attempts: 0,
        };
        let mail = message(&[&notification], "https://portal.example.com");
        assert_eq!(mail.to, "ana@acme.test");
        assert_eq!(mail.subject, "Acme Corp: Invoice INV-7 is paid");
        assert!(mail.text.starts_with("Hello Ana,\n\nInvoice INV-7 is paid\n"), "{}", mail.text);
        assert!(mail.text.contains("https://portal.example.com"));
        assert_eq!(
            mail.message_id.as_deref(),
            Some("<notification-00000000-0000-0000-0000-000000000000@portal.example.com>")
        );
        let later = NotificationMail { message: "Invoice INV-8 was issued".into(), ..notification.clone() };
        let digest = message(&[&notification, &later], "https://portal.example.com");
        assert_eq!(digest.subject, "Acme Corp: 2 updates");
        assert!(digest.text.contains("- Invoice INV-7 is paid\n- Invoice INV-8 was issued\n"), "{}", digest.text);
    }
}
