//! Notifications by email, for people who chose it: workers take the pending ones
//! in batches under a claim and hand each to the mailer, then mark it sent. A
//! worker that dies mid-batch leaves its claim to run out; the rest are sent by
//! another (a mail may then go twice; none is lost).

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::mail::{Mailer, Message};
use crate::store::{NotificationMail, Store, StoreError};
use crate::telemetry::NOTIFICATION_MAILS;

const POLL: Duration = Duration::from_secs(1);
const BATCH: i64 = 50;
/// How long a worker may take to send a batch before another may take it over.
const CLAIM: chrono::Duration = chrono::Duration::minutes(5);

/// Sends until shutdown.
pub async fn run(store: Store, mailer: Mailer, portal_url: String, shutdown: CancellationToken) {
    loop {
        match send_once(&store, &mailer, &portal_url).await {
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
pub async fn send_once(store: &Store, mailer: &Mailer, portal_url: &str) -> Result<bool, StoreError> {
    let now = Utc::now();
    let batch = store.claim_notification_mail(now, now + CLAIM, BATCH).await?;
    let full = batch.len() as i64 == BATCH;
    for notification in &batch {
        let outcome = |outcome: &'static str| metrics::counter!(NOTIFICATION_MAILS, "outcome" => outcome);
        match mailer.send(&message(notification, portal_url)).await {
            Ok(()) => {
                store.mark_notification_mailed(notification.id).await?;
                outcome("sent").increment(1);
            }
            // Left claimed: sent again once the claim runs out.
            Err(error) => {
                tracing::warn!(notification_id = %notification.id, error = %error, "a notification mail failed");
                outcome("failed").increment(1);
                return Ok(false);
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
        to: notification.email.clone(),
        subject: format!("{}: {}", notification.account_name, notification.message),
        text: format!(
            "{greeting}\n\n{}\n\nSee it in your portal: {portal_url}\n\n\
             You get this because email notifications are on in your profile; \
             you can turn them off there.\n",
            notification.message
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_names_the_account_and_the_news() {
        let notification = NotificationMail {
            id: uuid::Uuid::nil(),
            email: "ana@acme.test".into(),
            display_name: "Ana".into(),
            account_name: "Acme Corp".into(),
            message: "Invoice INV-7 is paid".into(),
        };
        let mail = message(&notification, "https://portal.example.com");
        assert_eq!(mail.to, "ana@acme.test");
        assert_eq!(mail.subject, "Acme Corp: Invoice INV-7 is paid");
        assert!(mail.text.starts_with("Hello Ana,\n\nInvoice INV-7 is paid\n"), "{}", mail.text);
        assert!(mail.text.contains("https://portal.example.com"));
    }
}
