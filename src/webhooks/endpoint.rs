//! A webhook endpoint as the gateway uses it: the scheme it verifies with, its
//! live signing secrets, its limits, parsed once from the stored row and cached
//! briefly so a busy endpoint is not read from the database per delivery.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use portico_connectors::webhook::schemes::Scheme;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::core::crypto::SecretCipher;
use crate::store::{Store, StoreError, WebhookEndpointFields, WebhookEndpointRow};

/// One signing secret. An old secret stays valid until `expires_at` while the
/// sender moves to the new one (rotation with a grace period).
#[derive(Clone, Serialize, Deserialize)]
pub struct SigningSecret {
    pub id: Uuid,
    pub secret: String,
    pub added_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SigningSecret")
            .field("id", &self.id)
            .field("added_at", &self.added_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl SigningSecret {
    pub fn new(secret: String, now: DateTime<Utc>) -> Self {
        Self { id: Uuid::new_v4(), secret, added_at: now, expires_at: None }
    }

    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|expires_at| expires_at > now)
    }
}

/// Associated data binding sealed secrets to their endpoint: a sealed value
/// copied onto another endpoint does not open.
fn secrets_context(endpoint_id: Uuid) -> String {
    format!("portico.webhook.secrets.v1:{endpoint_id}")
}

pub fn seal_secrets(cipher: &SecretCipher, endpoint_id: Uuid, secrets: &[SigningSecret]) -> Vec<u8> {
    let plaintext = serde_json::to_vec(secrets).expect("secrets serialize");
    cipher.seal(&plaintext, &secrets_context(endpoint_id))
}

/// Stores a new endpoint of `instance_id` under a random (unguessable) id, with
/// its first signing secret sealed.
pub async fn create_endpoint(
    store: &Store,
    cipher: &SecretCipher,
    instance_id: Uuid,
    fields: &WebhookEndpointFields,
    secret: String,
) -> Result<Uuid, StoreError> {
    let id = Uuid::new_v4();
    let now = Utc::now();
    let sealed = seal_secrets(cipher, id, &[SigningSecret::new(secret, now)]);
    store.create_webhook_endpoint(id, instance_id, fields, &sealed, now).await?;
    Ok(id)
}

pub fn open_secrets(
    cipher: &SecretCipher,
    endpoint_id: Uuid,
    sealed: &[u8],
) -> Result<Vec<SigningSecret>, EndpointError> {
    let plaintext = cipher.open(sealed, &secrets_context(endpoint_id)).map_err(|_| EndpointError::Secrets)?;
    serde_json::from_slice(&plaintext).map_err(|_| EndpointError::Secrets)
}

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("the endpoint's secrets do not open with this master key")]
    Secrets,
    #[error("the endpoint's configuration is invalid: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An endpoint ready to verify deliveries.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: Uuid,
    pub connector_instance_id: Uuid,
    pub scheme: Scheme,
    pub secrets: Vec<SigningSecret>,
    pub tolerance: Duration,
    pub body_limit: usize,
    /// `None`: deliveries are accepted from anywhere.
    pub allowed_sources: Option<Vec<IpNet>>,
    pub enabled: bool,
}

impl Endpoint {
    pub fn from_row(row: &WebhookEndpointRow, cipher: &SecretCipher) -> Result<Self, EndpointError> {
        let scheme = Scheme::configured(&row.scheme, row.scheme_settings.as_ref().map(|settings| &settings.0))
            .map_err(EndpointError::Config)?;
        let allowed_sources = row
            .allowed_sources
            .as_ref()
            .map(|sources| parse_sources(&sources.0))
            .transpose()
            .map_err(EndpointError::Config)?;
        Ok(Self {
            id: row.id,
            connector_instance_id: row.connector_instance_id,
            scheme,
            secrets: open_secrets(cipher, row.id, &row.secrets_sealed)?,
            tolerance: Duration::from_secs(row.tolerance_secs.max(0) as u64),
            body_limit: row.body_limit_bytes.max(0) as usize,
            allowed_sources,
            enabled: row.enabled,
        })
    }

    /// The secrets a delivery may be signed with now.
    pub fn live_secrets(&self, now: DateTime<Utc>) -> Vec<String> {
        self.secrets.iter().filter(|secret| secret.is_live(now)).map(|secret| secret.secret.clone()).collect()
    }

    pub fn admits_source(&self, address: Option<IpAddr>) -> bool {
        match (&self.allowed_sources, address) {
            (None, _) => true,
            (Some(networks), Some(address)) => {
                // An IPv4 peer may appear as an IPv6-mapped address on a dual-stack socket.
                let address = match address {
                    IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(address),
                    v4 => v4,
                };
                networks.iter().any(|network| network.contains(&address))
            }
            (Some(_), None) => false,
        }
    }
}

/// CIDR blocks (`203.0.113.0/24`) or single addresses.
pub fn parse_sources(sources: &[String]) -> Result<Vec<IpNet>, String> {
    sources
        .iter()
        .map(|source| {
            source
                .parse::<IpNet>()
                .or_else(|_| source.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("`{source}` is not an address or CIDR block"))
        })
        .collect()
}

/// When it was loaded, and the endpoint (`None`: no such endpoint).
type CachedEndpoint = (Instant, Option<Arc<Endpoint>>);

/// Endpoints by id, each kept for a short while. `None` entries remember ids
/// that do not exist, so probing random ids does not reach the database each time.
#[derive(Debug, Clone)]
pub struct EndpointCache {
    entries: Arc<Mutex<HashMap<Uuid, CachedEndpoint>>>,
    ttl: Duration,
}

/// Entries kept at most; past this the cache starts over (ids are random, so an
/// attacker's probes could otherwise grow it without bound).
const CACHE_CAPACITY: usize = 10_000;

impl EndpointCache {
    pub fn new(ttl: Duration) -> Self {
        Self { entries: Arc::new(Mutex::new(HashMap::new())), ttl }
    }

    pub async fn get(
        &self,
        store: &Store,
        cipher: &SecretCipher,
        id: Uuid,
    ) -> Result<Option<Arc<Endpoint>>, EndpointError> {
        if let Some((loaded_at, endpoint)) = self.entries.lock().expect("cache lock").get(&id)
            && loaded_at.elapsed() < self.ttl
        {
            return Ok(endpoint.clone());
        }
        let endpoint = match store.webhook_endpoint(id).await? {
            Some(row) => Some(Arc::new(Endpoint::from_row(&row, cipher)?)),
            None => None,
        };
        let mut entries = self.entries.lock().expect("cache lock");
        if entries.len() >= CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(id, (Instant::now(), endpoint.clone()));
        Ok(endpoint)
    }

    /// Forgets an endpoint at once (after an admin changed it in this process).
    pub fn forget(&self, id: Uuid) {
        self.entries.lock().expect("cache lock").remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_as_blocks_or_addresses_and_mapped_v4_matches() {
        let networks = parse_sources(&["203.0.113.0/24".into(), "2001:db8::1".into()]).unwrap();
        let endpoint = Endpoint {
            id: Uuid::nil(),
            connector_instance_id: Uuid::nil(),
            scheme: Scheme::GitHub,
            secrets: Vec::new(),
            tolerance: Duration::from_secs(300),
            body_limit: 1,
            allowed_sources: Some(networks),
            enabled: true,
        };
        assert!(endpoint.admits_source(Some("203.0.113.9".parse().unwrap())));
        assert!(endpoint.admits_source(Some("::ffff:203.0.113.9".parse().unwrap())));
        assert!(endpoint.admits_source(Some("2001:db8::1".parse().unwrap())));
        assert!(!endpoint.admits_source(Some("198.51.100.1".parse().unwrap())));
        assert!(!endpoint.admits_source(None));
        assert!(parse_sources(&["not-an-address".into()]).is_err());
    }

    #[test]
    fn an_expired_secret_no_longer_verifies() {
        let now = Utc::now();
        let mut old = SigningSecret::new("old".into(), now);
        old.expires_at = Some(now - chrono::Duration::seconds(1));
        let current = SigningSecret::new("new".into(), now);
        assert!(!old.is_live(now));
        assert!(current.is_live(now));
        assert!(!format!("{old:?}").contains("old\""), "secrets never reach logs");
    }
}
