//! Outgoing mail behind one small interface, so delivery can change without
//! touching the flows that send (invitations, password resets, verification).
//!
//! The only transport so far is `log`: each message is written as an `.eml` file
//! under `data_dir/mail/` and noted in the log — enough for development and for a
//! first deployment before SMTP is configured. In production mode the log line
//! names recipient and subject only: bodies carry single-use links.

use std::path::PathBuf;

use chrono::Utc;

use crate::config::{Mode, Settings};

#[derive(Debug, Clone)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
#[error("could not deliver mail: {0}")]
pub struct MailError(#[from] std::io::Error);

/// A header's value on one line: subjects carry text from other systems (an
/// invoice's number, an account's name), which must not start headers of its own.
fn header_value(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[derive(Debug, Clone)]
pub enum Mailer {
    /// Writes messages to a folder and notes them in the log.
    Log { folder: PathBuf, from: String, log_bodies: bool },
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> Self {
        Mailer::Log {
            folder: settings.data_dir.join("mail"),
            from: settings.mail.from.clone(),
            log_bodies: settings.mode == Mode::Development,
        }
    }

    pub async fn send(&self, message: &Message) -> Result<(), MailError> {
        match self {
            Mailer::Log { folder, from, log_bodies } => {
                tokio::fs::create_dir_all(folder).await?;
                let name = format!("{}-{}.eml", Utc::now().format("%Y%m%dT%H%M%S%.6fZ"), uuid::Uuid::new_v4().simple());
                let eml = format!(
                    "From: {from}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
                    header_value(&message.to),
                    header_value(&message.subject),
                    Utc::now().to_rfc2822(),
                    message.text.replace('\n', "\r\n"),
                );
                write_private(&folder.join(&name), eml.into_bytes()).await?;
                if *log_bodies {
                    tracing::info!(to = %message.to, subject = %message.subject, body = %message.text, file = %name, "mail written");
                } else {
                    tracing::info!(to = %message.to, subject = %message.subject, file = %name, "mail written");
                }
                Ok(())
            }
        }
    }
}

/// Writes a file only its owner can read: mail holds reset and sign-in links.
async fn write_private(path: &std::path::Path, bytes: Vec<u8>) -> std::io::Result<()> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        file.write_all(&bytes)?;
        file.sync_all()
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::header_value;

    #[test]
    fn header_values_stay_on_one_line() {
        assert_eq!(header_value("Invoice 7\r\nBcc: everyone@example.com"), "Invoice 7  Bcc: everyone@example.com");
    }
}
