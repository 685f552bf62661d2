//! A worker killed while it mails 1,000 notifications loses none: the real
//! `portico serve` is SIGKILLed part-way through, restarted, and afterwards the
//! SMTP server's log holds every notification, each once, except at most the one
//! a worker had handed over when it died (its server said 250 before the mark):
//! that one arrives twice with the same `Message-ID`.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use portico::auth::permissions::StaffRole;
use portico::store::{NewInvitation, NewNotification, NewStaffUser};
use portico_testkit::SmtpServer;
use uuid::Uuid;

use crate::helpers::{
    PorticoProcess, TestDatabase, eventually, free_port, portico_command, raw_count, raw_sql, run_portico,
};

const MAILS: usize = 1_000;

fn serve(db: &TestDatabase, smtp: &SmtpServer) -> PorticoProcess {
    let mut command = portico_command(db, &["serve", "--listen", &format!("127.0.0.1:{}", free_port())]);
    command
        .env("PORTICO_MAIL__TRANSPORT", "smtp")
        .env("PORTICO_MAIL__SMTP__URL", smtp.url())
        .env("PORTICO_MAIL__SMTP__TLS", "none")
        .env("PORTICO_NOTIFICATIONS__DIGEST_MINUTES", "0");
    let mut server = PorticoProcess::start(command);
    server.wait_for_listen_address();
    server
}

#[tokio::test]
async fn notification_mail_survives_a_sigkill_mid_batch_and_each_arrives_once_but_the_one_in_flight() {
    let db = TestDatabase::new().await;
    let (code, _, stderr) = run_portico(portico_command(&db, &["migrate"]), None);
    assert_eq!(code, 0, "{stderr}");
    let (store, _queue) = db.open().await;

    // One person in 1,000 accounts, one notification of each to mail: 1,000 mails.
    let email = "crash@example.com";
    let password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$invalidhashinvalidhashinvalidhashinv".to_owned();
    let user_id = store
        .create_staff_user(&NewStaffUser { email: email.into(), password_hash, role: StaffRole::Support })
        .await
        .unwrap();
    let now = Utc::now();
    let mut notifications = Vec::with_capacity(MAILS);
    for n in 0..MAILS {
        let account = store.create_account(&format!("Account {n}"), &format!("account-{n}")).await.unwrap();
        let token_hash = Uuid::new_v4().as_bytes().to_vec();
        let invitation = NewInvitation {
            token_hash: token_hash.clone(),
            email: email.into(),
            account_id: Some(account.id),
            role: "billing".into(),
            invited_by: user_id,
            created_at: now,
            expires_at: now + chrono::Duration::days(1),
        };
        store.create_invitation(&invitation).await.unwrap();
        store.accept_invitation_as(&token_hash, user_id, email, now).await.unwrap();
        notifications.push(NewNotification {
            user_id,
            account_id: account.id,
            kind: "invoices",
            message: format!("Invoice {n} was issued"),
            record_type: "invoice".into(),
            record_id: Uuid::new_v4(),
            by_email: true,
        });
    }
    assert!(store.commit_notifications(0, 0, &notifications, now).await.unwrap());

    let smtp = SmtpServer::start();
    let mut server = serve(&db, &smtp);
    eventually("a fifth of the mails sent", Duration::from_secs(120), || async {
        (smtp.messages().len() >= MAILS / 5).then_some(())
    })
    .await;
    server.sigkill();
    let at_kill = smtp.messages().len();
    // The dead worker's claims would lapse after five minutes: time moved on by hand.
    let past = Utc::now() - chrono::Duration::seconds(1);
    raw_sql(&db, "UPDATE notifications SET mail_claimed_until = $1 WHERE mail_status = 'pending'", |query| {
        query.bind(past)
    })
    .await;
    let _restarted = serve(&db, &smtp);
    eventually("every notification mailed", Duration::from_secs(180), || async {
        let pending = raw_count(&db, "SELECT COUNT(*) FROM notifications WHERE mail_status = 'pending'").await;
        (pending == 0).then_some(())
    })
    .await;

    let messages = smtp.messages();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for message in &messages {
        let id = message
            .split("\r\n\r\n")
            .next()
            .unwrap()
            .lines()
            .find_map(|line| line.strip_prefix("Message-ID: "))
            .expect("a Message-ID")
            .to_owned();
        *by_id.entry(id).or_default() += 1;
    }
    let twice: Vec<&String> = by_id.iter().filter(|(_, count)| **count > 1).map(|(id, _)| id).collect();
    eprintln!(
        "mail crash: {} messages for {MAILS} notifications, {} at the kill, {} sent twice",
        messages.len(),
        at_kill,
        twice.len()
    );
    assert_eq!(by_id.len(), MAILS, "every notification arrived");
    assert!(twice.len() <= 1, "only the mail in flight at the kill may go twice: {twice:?}");
    assert!(by_id.keys().all(|id| id.starts_with("<notification-")), "ids made from the notifications");
    let failed = raw_count(&db, "SELECT COUNT(*) FROM notifications WHERE mail_status <> 'sent'").await;
    assert_eq!(failed, 0);
}
