//! Security mail: the person is told at once when their password or second
//! factor changes or a new API token is made, so a stranger's change does not
//! go unnoticed. It cannot be turned off, and it carries no unsubscribe link.
//!
//! It is sent beside the request (the change is already made and audited): a
//! mail server that is slow or down delays the mail, never the answer, and a
//! failure is logged and counted (`portico_security_mails_total{outcome}`).

use chrono::Utc;

use crate::auth::Caller;
use crate::mail::Message;
use crate::server::AppState;
use crate::telemetry::SECURITY_MAILS;

/// What changed.
#[derive(Debug, Clone)]
pub enum SecurityChange {
    PasswordChanged,
    SecondFactorOn,
    SecondFactorOff,
    ApiTokenCreated { name: String },
}

impl SecurityChange {
    fn says(&self) -> (String, String) {
        match self {
            SecurityChange::PasswordChanged => ("your password was changed".into(), "Your password was changed".into()),
            SecurityChange::SecondFactorOn => (
                "two-step sign-in was turned on".into(),
                "Two-step sign-in (an authenticator app) was turned on".into(),
            ),
            SecurityChange::SecondFactorOff => (
                "two-step sign-in was turned off".into(),
                "Two-step sign-in (an authenticator app) was turned off".into(),
            ),
            SecurityChange::ApiTokenCreated { name } => {
                ("a new API token was made".into(), format!("A new API token, \"{name}\", was made"))
            }
        }
    }
}

/// The message telling `caller` of `change`.
pub fn message(state: &AppState, caller: &Caller, change: &SecurityChange) -> Message {
    let business = &state.settings.portal.name;
    let (subject, headline) = change.says();
    let greeting = match caller.display_name.trim() {
        "" => "Hello,".to_owned(),
        name => format!("Hello {name},"),
    };
    let from = caller.ip_address.as_deref().map(|ip| format!(" from {ip}")).unwrap_or_default();
    let help = match state.settings.portal.support_email.as_str() {
        "" => String::new(),
        support => format!(", and tell us at {support}"),
    };
    let public_url = state.settings.public_url.trim_end_matches('/');
    Message::new(
        caller.email.clone(),
        format!("{business}: {subject}"),
        format!(
            "{greeting}\n\n{headline} on your {business} portal sign-in ({email}), {when} UTC{from}.\n\n\
             If this was you, there is nothing to do. If not, reset your password at once at \
             {public_url}/forgot-password{help}.\n",
            email = caller.email,
            when = Utc::now().format("%Y-%m-%d %H:%M"),
        ),
    )
}

/// Tells the caller of `change`, beside the request.
pub fn tell(state: &AppState, caller: &Caller, change: SecurityChange) {
    let message = message(state, caller, &change);
    let mailer = state.mailer.clone();
    tokio::spawn(async move {
        match mailer.send(&message).await {
            Ok(()) => metrics::counter!(SECURITY_MAILS, "outcome" => "sent").increment(1),
            Err(error) => {
                tracing::error!(error = %error, change = ?change, "a security mail was not sent");
                metrics::counter!(SECURITY_MAILS, "outcome" => "failed").increment(1);
            }
        }
    });
}
