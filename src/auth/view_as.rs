//! "View as customer": a staff admin or support member opens an account's
//! portal as one of its roles sees it, to answer "what do you see?" without
//! asking for a password.
//!
//! Started from the console, it lives in a cookie sealed under the master key
//! and bound to the staff member's session (copied into another session it
//! opens nothing) for 30 minutes. While it applies to an account:
//! - the staff member holds exactly the role's read-only permissions there
//!   (never their own staff rights), so what they see is what that role sees;
//! - nothing can be changed: every unsafe request in the account is refused;
//! - every page viewed is recorded in the account's audit log, which its owners read.
//!
//! The rules are applied where access to an account is decided
//! ([`crate::auth::AccountAccess`]), so no page or API route can forget them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use cookie::Cookie;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::permissions::{AccountRole, RecordType};
use super::session::own_cookie;
use crate::config::Settings;
use crate::core::crypto::SecretCipher;

const PLAIN_NAME: &str = "portico_view_as";
const HOST_PREFIXED_NAME: &str = "__Host-portico_view_as";
const CONTEXT: &str = "portico view-as v2";
pub const LIFETIME_MINUTES: i64 = 30;

/// Whom a staff member is viewing an account as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewingAs {
    pub account_id: Uuid,
    pub account_name: String,
    pub role: ViewedRole,
    session_id: Uuid,
    expires_at: DateTime<Utc>,
}

impl ViewingAs {
    pub fn new(session_id: Uuid, account_id: Uuid, account_name: String, role: ViewedRole, now: DateTime<Utc>) -> Self {
        Self { account_id, account_name, role, session_id, expires_at: now + Duration::minutes(LIFETIME_MINUTES) }
    }
}

/// The role an account is viewed as: any a member of it may hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ViewedRole {
    /// A built-in role.
    Role { role: AccountRole },
    /// One of the account's own roles. Its permissions are read on each
    /// request, so a change to the role shows at once; a deleted one opens nothing.
    Custom { role_id: Uuid, name: String },
    /// An outside party limited to one kind of record.
    Partner { record_type: RecordType },
}

impl ViewedRole {
    /// The role a console form chose: `billing`, `custom:{id}` (named by the
    /// caller, who looked it up in the account) or `partner:{record type}`.
    pub fn parse(choice: &str) -> Option<ChosenRole> {
        match choice.split_once(':') {
            Some(("custom", id)) => Uuid::parse_str(id).ok().map(ChosenRole::Custom),
            Some(("partner", record_type)) => {
                let record_type = serde_json::from_value(serde_json::Value::String(record_type.into())).ok()?;
                Some(ChosenRole::Ready(ViewedRole::Partner { record_type }))
            }
            Some(_) => None,
            None => AccountRole::parse(choice).map(|role| ChosenRole::Ready(ViewedRole::Role { role })),
        }
    }

    /// What the console's form sends for this role.
    pub fn form_value(&self) -> String {
        match self {
            ViewedRole::Role { role } => role.as_str().to_owned(),
            ViewedRole::Custom { role_id, .. } => format!("custom:{role_id}"),
            ViewedRole::Partner { record_type } => format!("partner:{}", record_type.as_str()),
        }
    }

    /// How the audit log names it (`billing`, `custom:Accounts payable`, `partner:tickets`).
    pub fn audit_name(&self) -> String {
        match self {
            ViewedRole::Role { role } => role.as_str().to_owned(),
            ViewedRole::Custom { name, .. } => format!("custom:{name}"),
            ViewedRole::Partner { record_type } => format!("partner:{}", record_type.as_str()),
        }
    }
}

/// A role as the form chose it: ready, or a custom role still to be found in the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChosenRole {
    Ready(ViewedRole),
    Custom(Uuid),
}

pub fn cookie_name(settings: &Settings) -> &'static str {
    if settings.uses_https() { HOST_PREFIXED_NAME } else { PLAIN_NAME }
}

/// `Set-Cookie` carrying `viewing`, sealed.
pub fn cookie(settings: &Settings, cipher: &SecretCipher, viewing: &ViewingAs) -> String {
    let json = serde_json::to_vec(viewing).expect("serializes");
    let value = URL_SAFE_NO_PAD.encode(cipher.seal(&json, CONTEXT));
    own_cookie(settings, cookie_name(settings), value, cookie::time::Duration::minutes(LIFETIME_MINUTES))
}

/// `Set-Cookie` that ends viewing.
pub fn clearing_cookie(settings: &Settings) -> String {
    own_cookie(settings, cookie_name(settings), String::new(), cookie::time::Duration::ZERO)
}

/// What the request's cookie says, if it opens, belongs to `session_id` and has
/// not expired.
pub fn from_headers(
    headers: &axum::http::HeaderMap,
    settings: &Settings,
    cipher: &SecretCipher,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> Option<ViewingAs> {
    let name = cookie_name(settings);
    let value = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)?
        .value()
        .to_owned();
    let sealed = URL_SAFE_NO_PAD.decode(value).ok()?;
    let json = cipher.open(&sealed, CONTEXT).ok()?;
    let viewing: ViewingAs = serde_json::from_slice(&json).ok()?;
    (viewing.session_id == session_id && viewing.expires_at > now).then_some(viewing)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::*;
    use crate::config::MasterKey;

    fn headers_with(set_cookie: &str) -> HeaderMap {
        let pair = set_cookie.split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(axum::http::header::COOKIE, pair.parse().unwrap());
        headers
    }

    #[test]
    fn the_cookie_opens_only_for_its_session_and_its_half_hour() {
        let settings = Settings::defaults();
        let cipher = SecretCipher::new(&MasterKey::generate());
        let (session, other_session, account) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let now = Utc::now();
        let billing = ViewedRole::Role { role: AccountRole::Billing };
        let viewing = ViewingAs::new(session, account, "Acme".into(), billing, now);
        let set_cookie = cookie(&settings, &cipher, &viewing);
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
        let headers = headers_with(&set_cookie);
        assert_eq!(from_headers(&headers, &settings, &cipher, session, now), Some(viewing));
        assert_eq!(from_headers(&headers, &settings, &cipher, other_session, now), None, "another session");
        let later = now + Duration::minutes(LIFETIME_MINUTES + 1);
        assert_eq!(from_headers(&headers, &settings, &cipher, session, later), None, "expired");
        let other_key = SecretCipher::new(&MasterKey::generate());
        assert_eq!(from_headers(&headers, &settings, &other_key, session, now), None, "forged");
    }

    #[test]
    fn a_chosen_role_round_trips_through_the_form_and_nothing_else_parses() {
        let custom = Uuid::new_v4();
        let roles =
            [ViewedRole::Role { role: AccountRole::Billing }, ViewedRole::Partner { record_type: RecordType::Tickets }];
        for role in roles {
            assert_eq!(ViewedRole::parse(&role.form_value()), Some(ChosenRole::Ready(role)));
        }
        let named = ViewedRole::Custom { role_id: custom, name: "Accounts payable".into() };
        assert_eq!(ViewedRole::parse(&named.form_value()), Some(ChosenRole::Custom(custom)));
        assert_eq!(named.audit_name(), "custom:Accounts payable");
        for refused in ["", "superuser", "custom:", "custom:not-an-id", "partner:everything", "staff:admin"] {
            assert_eq!(ViewedRole::parse(refused), None, "{refused}");
        }
    }
}
