//! Notifications by email, for people who chose it: workers take the pending ones
//! in batches under a claim and hand each to the mailer, then mark it sent.
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

/// Sends until shutdown.
pub async fn run(store: Store, mailer: Mailer, cipher: SecretCipher, portal_url: String, shutdown: CancellationToken) {
    loop {
        match send_once(&store, &mailer, &cipher, &portal_url).await {
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

/// One batch; whether there may be more right away.
pub async fn send_once(
    store: &Store,
    mailer: &Mailer,
    cipher: &SecretCipher,
    portal_url: &str,
) -> Result<bool, StoreError> {
    let now = Utc::now();
    let batch = store.claim_notification_mail(now, now + CLAIM, BATCH).await?;
    let full = batch.len() as i64 == BATCH;
    for notification in &batch {
        let outcome = |outcome: &'static str| metrics::counter!(NOTIFICATION_MAILS, "outcome" => outcome);
        let unsubscribe = unsubscribe::url(portal_url, cipher, notification.user_id, &notification.kind);
        match mailer.send(&Message { unsubscribe_url: Some(unsubscribe), ..message(notification, portal_url) }).await {
            Ok(()) => {
                store.mark_notification_mailed(notification.id).await?;
                outcome("sent").increment(1);
            }
            Err(MailError::Permanent(answer) | MailError::Local(answer)) => {
                tracing::warn!(notification_id = %notification.id, answer = %answer, "a notification mail was refused");
                store.fail_notification_mail(notification.id, &answer).await?;
                outcome("failed").increment(1);
            }
            Err(MailError::Transient(answer)) => {
                let attempt = notification.mail_attempts.max(0) as usize;
                let wait = RETRY_DELAYS.get(attempt).copied().unwrap_or(RETRY_DELAYS[RETRY_DELAYS.len() - 1]);
                tracing::info!(notification_id = %notification.id, answer = %answer, attempt = attempt + 1, "a notification mail waits to be tried again");
                let last = RETRY_DELAYS.len() as i32 + 1;
                store.defer_notification_mail(notification.id, Utc::now() + wait, &answer, last).await?;
                outcome(if attempt + 1 >= last as usize { "failed" } else { "deferred" }).increment(1);
                // The rest of the batch is tried all the same: a busy mailbox is
                // one recipient's (and an unreachable server answers at once).
            }
        }
    }
    Ok(full)
}

fn message(notification: &NotificationMail, portal_url: &str) -> Message {
    let greeting = match notification.display_name.trim() {
        "" => "Hello,".to_owned(),
        name => format!("Hello {name},"),
    };
    Message {
        message_id: Some(format!("<notification-{}@{}>", notification.id, message_domain(portal_url))),
        to: notification.email.clone(),
        subject: format!("{}: {}", notification.account_name, notification.message),
        text: format!(
            "{greeting}\n\n{}\n\nSee it in your portal: {portal_url}\n\n\
             You get this because email notifications are on in your profile; \
             you can turn them off there, or stop this kind with the unsubscribe link.\n",
            notification.message
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
            kind: "invoices".into(),
            email: "ana@acme.test".into(),
            display_name: "Ana".into(),
            account_name: "Acme Corp".into(),
            message: "Invoice INV-7 is paid".into(),
            mail_attempts: 0,
        };
        let mail = message(&notification, "https://portal.example.com");
        assert_eq!(mail.to, "ana@acme.test");
        assert_eq!(mail.subject, "Acme Corp: Invoice INV-7 is paid");
        assert!(mail.text.starts_with("Hello Ana,\n\nInvoice INV-7 is paid\n"), "{}", mail.text);
        assert!(mail.text.contains("https://portal.example.com"));
        assert_eq!(
            mail.message_id.as_deref(),
            Some("<notification-00000000-0000-0000-0000-000000000000@portal.example.com>")
        );
    }
}
