//! Mail handed to a mail server (`mail.transport = "smtp"`), through lettre's
//! pooled async transport.
//!
//! - `mail.smtp.url`: `smtps://host[:465]` (TLS from the first byte) or
//!   `smtp://host[:587]` (STARTTLS, required: a server that does not offer it is
//!   refused, so nothing goes in clear by accident);
//! - `mail.smtp.tls = "none"` relaxes that for a relay on the same machine or
//!   network that speaks plain SMTP; it is never the default;
//! - credentials from `mail.smtp.username` and `mail.smtp.password` (or
//!   `PORTICO_MAIL__SMTP__PASSWORD`); the password is never logged;
//! - a pool of connections reused between messages, and a timeout per command.
//!
//! The server's answer decides what a sender does next: 4xx and failures to
//! connect are [`MailError::Transient`] (try again later), 5xx
//! [`MailError::Permanent`] (with the server's words).

use std::time::Duration;

use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;

use super::MailError;
use crate::config::{SmtpSettings, SmtpTls};

#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// Host and port, for logs (never the credentials).
    server: String,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.server)
    }
}

/// How the connection is secured, from the URL's scheme and `mail.smtp.tls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte.
    Wrapper,
    /// `smtp://`: STARTTLS, and a server without it is refused.
    StartTls,
    /// `smtp://` with `tls = "none"`: plain text, for a local relay only.
    Plain,
}

/// The server, port and security a URL and the TLS setting name, or why not.
pub fn endpoint(settings: &SmtpSettings) -> Result<(String, u16, Security), String> {
    let url = url::Url::parse(settings.url.trim()).map_err(|error| format!("mail.smtp.url: {error}"))?;
    let host = url.host_str().filter(|host| !host.is_empty()).ok_or("mail.smtp.url: no host")?.to_owned();
    if !url.username().is_empty() || url.password().is_some() {
        return Err("mail.smtp.url: put credentials in mail.smtp.username and mail.smtp.password, not the URL".into());
    }
    let (security, default_port) = match (url.scheme(), settings.tls) {
        ("smtps", SmtpTls::Required) => (Security::Wrapper, 465),
        ("smtps", SmtpTls::None) => return Err("mail.smtp.tls = \"none\" contradicts an smtps:// URL".into()),
        ("smtp", SmtpTls::Required) => (Security::StartTls, 587),
        ("smtp", SmtpTls::None) => (Security::Plain, 25),
        (scheme, _) => return Err(format!("mail.smtp.url: `{scheme}://` is not smtp:// or smtps://")),
    };
    Ok((host, url.port().unwrap_or(default_port), security))
}

impl Smtp {
    pub fn from_settings(settings: &SmtpSettings) -> Result<Self, MailError> {
        let (host, port, security) = endpoint(settings).map_err(MailError::Local)?;
        let tls_parameters = || TlsParameters::new(host.clone()).map_err(|error| MailError::Local(error.to_string()));
        let tls = match security {
            Security::Wrapper => Tls::Wrapper(tls_parameters()?),
            Security::StartTls => Tls::Required(tls_parameters()?),
            Security::Plain => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(settings.timeout_secs)))
            .pool_config(PoolConfig::new().max_size(settings.pool_size));
        if !settings.username.is_empty() {
            let password = settings.password.expose_secret().to_owned();
            builder = builder.credentials(Credentials::new(settings.username.clone(), password));
        }
        Ok(Smtp { transport: builder.build(), server: format!("{host}:{port}") })
    }

    pub async fn send(&self, message: &lettre::Message) -> Result<(), MailError> {
        self.transport.send(message.clone()).await.map(|_| ()).map_err(classify)
    }
}

/// What a failed send means for the sender.
fn classify(error: lettre::transport::smtp::Error) -> MailError {
    let words = error.to_string();
    if error.is_permanent() {
        MailError::Permanent(words)
    } else if error.is_transient() || error.is_timeout() || error.is_client() || error.is_transport_shutdown() {
        MailError::Transient(words)
    } else if error.is_tls() {
        // A server without the TLS we require stays so until it is configured: not
        // a reason to give up on the message, but one an admin must see.
        MailError::Transient(format!("TLS: {words}"))
    } else {
        MailError::Transient(words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str, tls: SmtpTls) -> SmtpSettings {
        SmtpSettings { url: url.into(), tls, ..SmtpSettings::default() }
    }

    #[test]
    fn urls_name_the_server_and_tls_is_required_unless_relaxed() {
        assert_eq!(
            endpoint(&settings("smtp://mail.example.com", SmtpTls::Required)),
            Ok(("mail.example.com".into(), 587, Security::StartTls))
        );
        assert_eq!(
            endpoint(&settings("smtps://mail.example.com", SmtpTls::Required)),
            Ok(("mail.example.com".into(), 465, Security::Wrapper))
        );
        assert_eq!(
            endpoint(&settings("smtp://127.0.0.1:2525", SmtpTls::None)),
            Ok(("127.0.0.1".into(), 2525, Security::Plain))
        );
        assert!(endpoint(&settings("smtps://mail.example.com", SmtpTls::None)).is_err());
        assert!(endpoint(&settings("http://mail.example.com", SmtpTls::Required)).is_err());
        assert!(
            endpoint(&settings("smtp://user:secret@mail.example.com", SmtpTls::Required))
                .unwrap_err()
                .contains("credentials")
        );
        assert!(endpoint(&settings("", SmtpTls::Required)).is_err());
    }
}
