//! Outgoing mail behind one small interface, so delivery can change without
//! touching the flows that send (invitations, password resets, verification,
//! notifications).
//!
//! Every message is built once as RFC 5322 bytes ([`mime`]): multipart text and
//! HTML, `Message-ID`, `Date`, and for notification mail `List-Unsubscribe` with
//! one-click `List-Unsubscribe-Post` (RFC 8058). Then a transport takes it:
//! - `log`: written as an `.eml` file under `data_dir/mail/` and noted in the log
//!   (development; in production mode the log line names recipient and subject
//!   only: bodies carry single-use links);
//! - `smtp` ([`smtp`]): handed to a mail server over a pooled connection, with
//!   STARTTLS or TLS required unless the configuration relaxes it for a local relay.

pub mod mime;
pub mod smtp;

use std::path::PathBuf;

use chrono::Utc;

use crate::config::{MailTransport, Mode, Settings};

/// One message to one person.
#[derive(Debug, Clone, Default)]
pub struct Message {
    pub to: String,
    pub subject: String,
    /// The plain-text part; the HTML part says the same (see [`mime`]).
    pub text: String,
    /// Where one click turns this kind of mail off: notification mail only
    /// (security mail cannot be turned off).
    pub unsubscribe_url: Option<String>,
    /// The `Message-ID` (`<…@…>`) when the sender recorded it before sending;
    /// otherwise one is made.
    pub message_id: Option<String>,
}

impl Message {
    pub fn new(to: impl Into<String>, subject: impl Into<String>, text: impl Into<String>) -> Self {
        Message { to: to.into(), subject: subject.into(), text: text.into(), ..Default::default() }
    }
}

/// Why a message did not go, as a sender must act on it.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Try again later: the server said so (4xx), or it could not be reached or timed out.
    #[error("mail not delivered yet: {0}")]
    Transient(String),
    /// The server refused it for good (5xx): sending again will not help.
    #[error("mail refused: {0}")]
    Permanent(String),
    /// It could not be built or written (an address that is no address, a full disk).
    #[error("could not deliver mail: {0}")]
    Local(String),
}

impl From<std::io::Error> for MailError {
    fn from(error: std::io::Error) -> Self {
        MailError::Local(error.to_string())
    }
}

#[derive(Clone)]
pub enum Mailer {
    /// Writes messages to a folder and notes them in the log.
    Log { folder: PathBuf, from: String, log_bodies: bool, branding: mime::Branding },
    /// Hands messages to a mail server.
    Smtp { transport: smtp::Smtp, from: String, branding: mime::Branding },
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mailer::Log { folder, .. } => write!(formatter, "Mailer::Log({})", folder.display()),
            Mailer::Smtp { transport, .. } => write!(formatter, "Mailer::Smtp({transport:?})"),
        }
    }
}

impl Mailer {
    /// The configured transport (the SMTP settings are checked when the
    /// configuration loads; building the pool opens no connection yet).
    pub fn from_settings(settings: &Settings) -> Result<Self, MailError> {
        let branding = mime::Branding::of(settings);
        Ok(match settings.mail.transport {
            MailTransport::Log => Mailer::Log {
                folder: settings.data_dir.join("mail"),
                from: settings.mail.from.clone(),
                log_bodies: settings.mode == Mode::Development,
                branding,
            },
            MailTransport::Smtp => Mailer::Smtp {
                transport: smtp::Smtp::from_settings(&settings.mail.smtp)?,
                from: settings.mail.from.clone(),
                branding,
            },
        })
    }

    pub async fn send(&self, message: &Message) -> Result<(), MailError> {
        match self {
            Mailer::Log { folder, from, log_bodies, branding } => {
                let built = mime::build(from, branding, message)?;
                tokio::fs::create_dir_all(folder).await?;
                let name = format!("{}-{}.eml", Utc::now().format("%Y%m%dT%H%M%S%.6fZ"), uuid::Uuid::new_v4().simple());
                write_private(&folder.join(&name), built.formatted()).await?;
                if *log_bodies {
                    tracing::info!(to = %message.to, subject = %message.subject, body = %message.text, file = %name, "mail written");
                } else {
                    tracing::info!(to = %message.to, subject = %message.subject, file = %name, "mail written");
                }
                Ok(())
            }
            Mailer::Smtp { transport, from, branding } => {
                let built = mime::build(from, branding, message)?;
                transport.send(&built).await?;
                tracing::info!(to = %message.to, subject = %message.subject, "mail sent");
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
