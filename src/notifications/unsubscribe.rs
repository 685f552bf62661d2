//! One-click unsubscribe (RFC 8058) for notification mail: each mail carries a
//! link naming the person and the kind of news, sealed under the master key, so
//! it cannot be made for anyone else or another kind. Opening it (a POST from
//! the mail provider, or the button on its page) stops mail of that kind without
//! signing in; the portal still tells it. Security mail has no such link.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{KINDS, Preferences};
use crate::audit::{self, ActorKind, AuditEvent};
use crate::core::crypto::SecretCipher;
use crate::store::{Store, StoreError};

const CONTEXT: &str = "portico unsubscribe v1";
/// The kind of a digest that gathered several kinds: its link stops notification mail altogether.
pub const ALL: &str = "all";

/// Whose mail of which kind a link stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsubscribe {
    pub user_id: Uuid,
    pub kind: String,
}

/// The link's token for `user_id`'s mail of `kind`.
pub fn token(cipher: &SecretCipher, user_id: Uuid, kind: &str) -> String {
    let json = serde_json::to_vec(&Unsubscribe { user_id, kind: kind.to_owned() }).expect("serializes");
    URL_SAFE_NO_PAD.encode(cipher.seal(&json, CONTEXT))
}

/// What a token says, if it is ours and names a kind.
pub fn open(cipher: &SecretCipher, token: &str) -> Option<Unsubscribe> {
    let sealed = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    let json = cipher.open(&sealed, CONTEXT).ok()?;
    let unsubscribe: Unsubscribe = serde_json::from_slice(&json).ok()?;
    (KINDS.contains(&unsubscribe.kind.as_str()) || unsubscribe.kind == ALL).then_some(unsubscribe)
}

/// The link a mail carries: `{public_url}/unsubscribe?token=…`.
pub fn url(public_url: &str, cipher: &SecretCipher, user_id: Uuid, kind: &str) -> String {
    format!("{}/unsubscribe?token={}", public_url.trim_end_matches('/'), token(cipher, user_id, kind))
}

/// Stops mail of the link's kind for its person (again is fine), audited.
/// `false` when the person is gone.
pub async fn apply(store: &Store, unsubscribe: &Unsubscribe) -> Result<bool, StoreError> {
    let Some(profile) = store.user_profile(unsubscribe.user_id).await? else { return Ok(false) };
    let mut preferences: Preferences = serde_json::from_value(profile.notification_preferences.0).unwrap_or_default();
    let changed = if unsubscribe.kind == ALL {
        std::mem::replace(&mut preferences.email, false)
    } else {
        preferences.email_off.insert(unsubscribe.kind.clone())
    };
    if changed {
        let json = serde_json::to_value(&preferences).expect("serializes");
        store.set_notification_preferences(unsubscribe.user_id, &json).await?;
        let event = AuditEvent::new("notifications.email_unsubscribed", ActorKind::User)
            .actor(unsubscribe.user_id)
            .details(serde_json::json!({"kind": unsubscribe.kind}));
        audit::record(store, event).await?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MasterKey;

    #[test]
    fn a_token_opens_for_its_person_and_kind_only_under_our_key() {
        let cipher = SecretCipher::new(&MasterKey::generate());
        let user_id = Uuid::new_v4();
        let token = token(&cipher, user_id, "invoices");
        assert_eq!(open(&cipher, &token), Some(Unsubscribe { user_id, kind: "invoices".into() }));
        let other_key = SecretCipher::new(&MasterKey::generate());
        assert_eq!(open(&other_key, &token), None, "forged");
        assert_eq!(open(&cipher, "not-a-token"), None);
        let mut altered = token.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(open(&cipher, &String::from_utf8(altered).unwrap()), None, "altered");
        assert_eq!(open(&cipher, &super::token(&cipher, user_id, "everything")), None, "no such kind");
        let all = super::token(&cipher, user_id, ALL);
        assert_eq!(open(&cipher, &all).map(|link| link.kind), Some(ALL.to_owned()), "a digest's: every kind");
        assert!(
            url("https://portal.example.com/", &cipher, user_id, "tasks")
                .starts_with("https://portal.example.com/unsubscribe?token=")
        );
    }
}
