//! The single sign-on form, one for both places that connect a provider: an
//! account's settings page (its people) and the console's staff page (the
//! business's staff). The page shows the connection as stored (never its
//! secret) and a form that sends what the API's own function takes.

use secrecy::SecretString;
use serde::Deserialize;

use crate::api::identity::sso::{self, ConnectionRequest, SsoConnection};
use crate::server::AppState;
use crate::server::problem::{ApiError, FieldError};

use super::page::Page;

/// The form as sent (and as shown again when refused: all but the secret).
/// No Debug: it may hold the client secret.
#[derive(Default, Deserialize)]
pub struct SsoForm {
    #[serde(default)]
    pub issuer: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub client_secret: String,
    #[serde(default)]
    pub default_role: String,
    /// Separated by commas, spaces or lines.
    #[serde(default)]
    pub email_domains: String,
}

impl SsoForm {
    /// The form as a stored connection fills it, or empty with `default_role`.
    pub fn showing(connection: Option<&SsoConnection>, default_role: &str) -> Self {
        match connection {
            Some(connection) => SsoForm {
                issuer: connection.issuer.clone(),
                client_id: connection.client_id.clone(),
                client_secret: String::new(),
                default_role: connection.default_role.clone(),
                email_domains: connection.email_domains.join(", "),
            },
            None => SsoForm { default_role: default_role.to_owned(), ..Default::default() },
        }
    }

    /// The same form to show again after a refusal: never the secret.
    pub fn refilled(self) -> Self {
        SsoForm { client_secret: String::new(), ..self }
    }

    /// The domains as typed, split on commas and white space.
    pub fn domains(&self) -> Vec<String> {
        self.email_domains
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|domain| !domain.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The secret as typed: left empty, the API keeps the stored one.
    pub fn secret(&self) -> SecretString {
        SecretString::from(self.client_secret.trim().to_owned())
    }

    /// The request for the API's function, with a role already checked by the page.
    pub fn request<'a>(
        &'a self,
        role: &'a str,
        secret: &'a SecretString,
        domains: &'a [String],
    ) -> ConnectionRequest<'a> {
        ConnectionRequest {
            issuer: self.issuer.trim(),
            client_id: self.client_id.trim(),
            client_secret: Some(secret),
            default_role: role,
            email_domains: Some(domains),
        }
    }
}

/// A role the form offered, or the field's refusal.
pub fn chosen_role<Role>(text: &str, parse: impl Fn(&str) -> Option<Role>) -> Result<Role, ApiError> {
    parse(text.trim()).ok_or_else(|| {
        ApiError::validation(vec![FieldError { field: "default_role".into(), message: "choose a role".into() }])
    })
}

/// What `sso_section.html` shows: the stored connection, the form, and the words
/// that differ between an account's people and the staff.
pub struct SsoSection {
    pub connection: Option<SsoConnection>,
    /// The stored connection's role, in words.
    pub role_label: String,
    pub form: SsoForm,
    /// The roles people arriving through the provider may get: (value, label).
    pub roles: Vec<(String, String)>,
    /// The redirect URI to register at the provider.
    pub redirect_uri: String,
    /// Where the form posts (`…/sso`) and the removal posts (`…/sso/remove`).
    pub action: String,
    pub intro: String,
    pub none: String,
    pub domains_hint: String,
}

impl SsoSection {
    /// The section for `connection`; `words` names the locale keys of the intro,
    /// the "none yet" line and the domains' hint, in that order.
    pub fn new(
        state: &AppState,
        page: &Page,
        connection: Option<SsoConnection>,
        form: SsoForm,
        roles: Vec<(String, String)>,
        action: String,
        words: [&str; 3],
    ) -> Self {
        let role_label = connection
            .as_ref()
            .and_then(|connection| roles.iter().find(|(value, _)| *value == connection.default_role))
            .map(|(_, label)| label.clone())
            .or_else(|| connection.as_ref().map(|connection| connection.default_role.clone()))
            .unwrap_or_default();
        SsoSection {
            connection,
            role_label,
            form,
            roles,
            redirect_uri: sso::redirect_uri(state),
            action,
            intro: page.t(words[0]),
            none: page.t(words[1]),
            domains_hint: page.t(words[2]),
        }
    }
}
