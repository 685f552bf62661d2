//! Builds connectors for configured instances: the one place credentials are
//! decrypted, the outbound address policy is chosen and rate budgets are shared.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use portico_connectors::budget::Budgets;
use portico_connectors::outbound::{AddressPolicy, OutboundClient};
use portico_connectors::settings::SettingsError;
use portico_connectors::upstream::Upstream;
use portico_connectors::{Connector, ConnectorKind, InstanceConfig, Registry};
use serde_json::Value;

use crate::config::{OutboundSettings, SyncSettings};
use crate::core::crypto::SecretCipher;
use crate::store::ConnectorInstanceRow;

/// Associated data binding sealed credentials to their purpose.
const CREDENTIALS_CONTEXT: &str = "portico.connector.credentials.v1";

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

    pub fn seal_credentials(&self, credentials: &Value) -> Vec<u8> {
        let plaintext = serde_json::to_vec(credentials).expect("JSON values serialize");
        self.cipher.seal(&plaintext, CREDENTIALS_CONTEXT)
    }

    fn open_credentials(&self, sealed: Option<&[u8]>) -> Result<Value, HostError> {
        let Some(sealed) = sealed else { return Ok(Value::Object(Default::default())) };
        let plaintext = self.cipher.open(sealed, CREDENTIALS_CONTEXT).map_err(|_| HostError::Credentials)?;
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
        Upstream::new(client, self.budgets.get(key, rate))
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
        let config = InstanceConfig { settings: settings.clone(), credentials: credentials.clone(), upstream };
        Ok(self.kind(kind)?.build(config)?)
    }

    /// The connector for a stored instance.
    pub fn build(&self, instance: &ConnectorInstanceRow) -> Result<Box<dyn Connector>, HostError> {
        check_local_root(&instance.kind, &instance.settings.0, &self.local_file_roots)?;
        let credentials = self.open_credentials(instance.credentials_sealed.as_deref())?;
        let upstream = self.upstream(
            &instance.kind,
            instance.allow_private_network,
            instance.rate_budget_key.as_deref(),
            instance.rate_limit_per_sec,
        );
        let config = InstanceConfig { settings: instance.settings.0.clone(), credentials, upstream };
        Ok(self.kind(&instance.kind)?.build(config)?)
    }

    /// The stored credentials, opened, for an update that keeps them.
    pub fn credentials_of(&self, instance: &ConnectorInstanceRow) -> Result<Value, HostError> {
        self.open_credentials(instance.credentials_sealed.as_deref())
    }
}
