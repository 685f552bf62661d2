//! Builds connectors for configured instances: the one place credentials are
//! decrypted, the outbound address policy is chosen and rate budgets are shared.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use portico_connectors::budget::Budgets;
use portico_connectors::cache::InstanceCache;
use portico_connectors::outbound::{AddressPolicy, OutboundClient};
use portico_connectors::settings::SettingsError;
use portico_connectors::upstream::Upstream;
use portico_connectors::{Connector, ConnectorKind, InstanceConfig, Registry};
use serde_json::Value;
use uuid::Uuid;

use crate::config::{OutboundSettings, SyncSettings};
use crate::core::crypto::SecretCipher;
use crate::store::ConnectorInstanceRow;

/// Associated data binding sealed credentials to their purpose.
/// Credentials sealed before they were bound to their instance; opened, never
/// written any more (an update re-seals them under the instance's own context).
const LEGACY_CREDENTIALS_CONTEXT: &str = "portico.connector.credentials.v1";

/// Associated data binding sealed credentials to one instance: copied onto
/// another instance's row, they do not open.
fn credentials_context(connector_id: Uuid) -> String {
    format!("portico.connector.credentials.v2:{connector_id}")
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("unknown connector kind {0}")]
    UnknownKind(String),
    #[error("stored credentials do not open with this master key")]
    Credentials,
    #[error("invalid configuration: {0}")]
    Settings(#[from] SettingsError),
}

/// A local folder a `files` instance names must lie inside an allowed root.
fn check_local_root(kind: &str, settings: &Value, allowed: &[PathBuf]) -> Result<(), SettingsError> {
    if kind != "files" || settings.pointer("/store/type").and_then(Value::as_str) != Some("local") {
        return Ok(());
    }
    let refused = || SettingsError::new("settings.store.root", "must be a folder inside one of sync.local_file_roots");
    let root = settings.pointer("/store/root").and_then(Value::as_str).ok_or_else(refused)?;
    // Canonical paths, so `..` and symbolic links cannot step outside.
    let root = std::fs::canonicalize(root).map_err(|_| refused())?;
    let inside = allowed
        .iter()
        .filter_map(|allowed| std::fs::canonicalize(allowed).ok())
        .any(|allowed| root.starts_with(allowed));
    if inside { Ok(()) } else { Err(refused()) }
}

/// An instance's cache, with the settings version (`updated_at`) it was made for.
type VersionedCache = (DateTime<Utc>, InstanceCache);

/// Shared by the HTTP API, the workers and the CLI; cheap to clone.
#[derive(Clone)]
pub struct ConnectorHost {
    registry: Arc<Registry>,
    budgets: Budgets,
    cipher: SecretCipher,
    public_client: OutboundClient,
    private_client: OutboundClient,
    allow_private_everywhere: bool,
    rate_limits: Arc<std::collections::BTreeMap<String, f64>>,
    local_file_roots: Arc<Vec<PathBuf>>,
    /// One upstream request's limit unless an instance sets its own.
    request_timeout: Duration,
    caches: Arc<Mutex<HashMap<Uuid, VersionedCache>>>,
}

impl std::fmt::Debug for ConnectorHost {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("ConnectorHost")
    }
}

impl ConnectorHost {
    pub fn new(cipher: SecretCipher, outbound: &OutboundSettings, sync: &SyncSettings) -> Self {
        let timeout = Duration::from_secs(outbound.timeout_secs);
        Self {
            registry: Arc::new(Registry::default()),
            budgets: Budgets::default(),
            cipher,
            public_client: OutboundClient::new(AddressPolicy::PublicOnly, timeout),
            private_client: OutboundClient::new(AddressPolicy::AllowPrivate, timeout),
            allow_private_everywhere: outbound.allow_private_addresses,
            rate_limits: Arc::new(sync.rate_limits.clone()),
            local_file_roots: Arc::new(sync.local_file_roots.clone()),
            caches: Default::default(),
            request_timeout: Duration::from_secs(sync.request_timeout_secs),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Whether a stored instance takes the write-back `operation` (its kind does,
    /// and, for kinds configured per instance, its settings declare it).
    pub fn accepts(&self, instance: &ConnectorInstanceRow, operation: &str) -> bool {
        self.registry.get(&instance.kind).is_some_and(|kind| kind.accepts(&instance.settings.0, operation))
    }

    /// The kinds whose connectors accept the write-back `operation`.
    pub fn kinds_accepting(&self, operation: &str) -> Vec<&'static str> {
        self.registry.kinds().filter(|kind| kind.push_operations().contains(&operation)).map(|kind| kind.id()).collect()
    }

    pub fn kind(&self, id: &str) -> Result<&dyn ConnectorKind, HostError> {
        self.registry.get(id).ok_or_else(|| HostError::UnknownKind(id.to_owned()))
    }

    /// Seals an instance's credentials, bound to its id.
    pub fn seal_credentials(&self, connector_id: Uuid, credentials: &Value) -> Vec<u8> {
        let plaintext = serde_json::to_vec(credentials).expect("JSON values serialize");
        self.cipher.seal(&plaintext, &credentials_context(connector_id))
    }

    fn open_credentials(&self, connector_id: Uuid, sealed: Option<&[u8]>) -> Result<Value, HostError> {
        let Some(sealed) = sealed else { return Ok(Value::Object(Default::default())) };
        let plaintext = self
            .cipher
            .open(sealed, &credentials_context(connector_id))
            .or_else(|_| self.cipher.open(sealed, LEGACY_CREDENTIALS_CONTEXT))
            .map_err(|_| HostError::Credentials)?;
        serde_json::from_slice(&plaintext).map_err(|_| HostError::Credentials)
    }

    /// The upstream client for an instance: its address policy and its rate budget
    /// (shared with every instance naming the same budget key).
    fn upstream(&self, kind: &str, allow_private: bool, budget_key: Option<&str>, rate: Option<f64>) -> Upstream {
        let client = if allow_private || self.allow_private_everywhere {
            self.private_client.clone()
        } else {
            self.public_client.clone()
        };
        let key = budget_key.unwrap_or(kind);
        let rate = self.rate_limits.get(key).copied().or(rate);
        Upstream::new(client, self.budgets.get(key, rate)).with_request_timeout(self.request_timeout)
    }

    /// Validates settings and credentials as an admin submits them, building the
    /// connector they describe (nothing is called upstream).
    pub fn validate(
        &self,
        kind: &str,
        settings: &Value,
        credentials: &Value,
        allow_private: bool,
    ) -> Result<Box<dyn Connector>, HostError> {
        check_local_root(kind, settings, &self.local_file_roots)?;
        let upstream = self.upstream(kind, allow_private, None, None);
        let config = InstanceConfig {
            settings: settings.clone(),
            credentials: credentials.clone(),
            upstream,
            cache: InstanceCache::default(),
        };
        Ok(self.kind(kind)?.build(config)?)
    }

    /// The connector for a stored instance.
    pub fn build(&self, instance: &ConnectorInstanceRow) -> Result<Box<dyn Connector>, HostError> {
        check_local_root(&instance.kind, &instance.settings.0, &self.local_file_roots)?;
        let credentials = self.open_credentials(instance.id, instance.credentials_sealed.as_deref())?;
        let mut upstream = self.upstream(
            &instance.kind,
            instance.allow_private_network,
            instance.rate_budget_key.as_deref(),
            instance.rate_limit_per_sec,
        );
        if let Some(secs) = instance.request_timeout_secs.filter(|secs| *secs > 0) {
            upstream = upstream.with_request_timeout(Duration::from_secs(secs as u64));
        }
        let cache = self.cache_of(instance);
        let config = InstanceConfig { settings: instance.settings.0.clone(), credentials, upstream, cache };
        Ok(self.kind(&instance.kind)?.build(config)?)
    }

    /// The instance's cache; a fresh one once its settings changed (an edit
    /// may point it at another upstream).
    fn cache_of(&self, instance: &ConnectorInstanceRow) -> InstanceCache {
        let mut caches = self.caches.lock().expect("cache map lock");
        match caches.get(&instance.id) {
            Some((version, cache)) if *version == instance.updated_at => cache.clone(),
            _ => {
                let cache = InstanceCache::default();
                caches.insert(instance.id, (instance.updated_at, cache.clone()));
                cache
            }
        }
    }

    /// The stored credentials, opened, for an update that keeps them.
    pub fn credentials_of(&self, instance: &ConnectorInstanceRow) -> Result<Value, HostError> {
        self.open_credentials(instance.id, instance.credentials_sealed.as_deref())
    }
}

/// Where an instance's settings send its credentials: the origin of every
/// absolute URL in them, however deep, including URLs inside text such as a
/// REST manifest's YAML (its base URL, token URL, absolute endpoints), plus
/// storage buckets and folders. Sealed credentials follow an instance only while
/// this stays the same; a change needs them entered again, or whoever may edit
/// connectors could point stored secrets at a listener of their own.
pub fn credential_destinations(settings: &Value) -> std::collections::BTreeSet<String> {
    fn collect(value: &Value, key: Option<&str>, found: &mut std::collections::BTreeSet<String>) {
        match value {
            Value::String(text) => {
                if let Some(key) = key
                    && matches!(key, "bucket" | "root" | "endpoint" | "region" | "host")
                {
                    found.insert(format!("{key}={text}"));
                }
                let words = text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '<' | '>'));
                for word in words.filter(|word| word.contains("://")) {
                    if let Ok(url) = url::Url::parse(word) {
                        let port = url.port_or_known_default().map(|port| format!(":{port}")).unwrap_or_default();
                        found.insert(format!("{}://{}{port}", url.scheme(), url.host_str().unwrap_or_default()));
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| collect(item, key, found)),
            Value::Object(fields) => fields.iter().for_each(|(name, item)| collect(item, Some(name), found)),
            _ => {}
        }
    }
    let mut found = std::collections::BTreeSet::new();
    collect(settings, None, &mut found);
    found
}

#[cfg(test)]
mod destination_tests {
    use serde_json::json;

    use super::credential_destinations;

    #[test]
    fn destinations_are_every_origin_and_storage_location_in_the_settings() {
        let manifest = "base_url: https://api.example.com/v2\nauth:\n  token_url: 'https://login.example.com/token'\n";
        let settings = json!({ "manifest": manifest, "store": { "type": "s3", "bucket": "docs", "endpoint": "https://s3.example.com" } });
        let found: Vec<String> = credential_destinations(&settings).into_iter().collect();
        assert_eq!(
            found,
            [
                "bucket=docs",
                "endpoint=https://s3.example.com",
                "https://api.example.com:443",
                "https://login.example.com:443",
                "https://s3.example.com:443",
            ]
        );
        // A path or a schedule changing is no new destination; a host is.
        let same = json!({ "manifest": manifest.replace("/v2", "/v3"), "store": settings["store"].clone() });
        assert_eq!(credential_destinations(&same), credential_destinations(&settings));
        let moved = json!({ "manifest": manifest.replace("api.example.com", "listener.attacker.test"), "store": settings["store"].clone() });
        assert_ne!(credential_destinations(&moved), credential_destinations(&settings));
    }
}
