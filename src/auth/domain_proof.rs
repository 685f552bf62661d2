//! Proof that an account holds an email domain, before its single sign-on is
//! offered to everyone at it: a TXT record at `_portico-verification.<domain>`
//! holding `portico-verification=<token>`. One confirmed address at a domain
//! proves nothing (anyone has a gmail.com address); changing its DNS does.
//!
//! The token is derived from the account and the domain, so nothing is stored
//! before the proof and one account's record proves nothing for another. It is
//! no secret: what proves is that the domain's DNS names this account.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The label the proof sits under, before the domain.
const LABEL: &str = "_portico-verification";
/// What the record's value starts with.
const PREFIX: &str = "portico-verification=";

/// The record a domain's DNS must hold for an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofRecord {
    /// Where: `_portico-verification.example.com`.
    pub name: String,
    /// What: `portico-verification=<token>`.
    pub value: String,
}

impl ProofRecord {
    pub fn for_account(account_id: Uuid, domain: &str) -> Self {
        let digest = Sha256::digest(format!("portico sso domain\0{account_id}\0{domain}").as_bytes());
        Self { name: format!("{LABEL}.{domain}"), value: format!("{PREFIX}{}", hex::encode(&digest[..16])) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("the domain's DNS could not be asked: {0}")]
    Lookup(String),
    #[error("no DNS resolver is configured on this server")]
    NoResolver,
}

/// Looks proofs up, uncached: someone who has just added the record wants it
/// seen now, and proofs are rare.
#[derive(Clone)]
pub struct DomainProofs {
    resolver: Option<TokioResolver>,
}

impl std::fmt::Debug for DomainProofs {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("DomainProofs").field("resolver", &self.resolver.is_some()).finish()
    }
}

impl DomainProofs {
    /// Asks `nameservers` (over UDP), or the system's resolvers when none are
    /// given. Without a usable system configuration, every lookup fails and says so.
    pub fn new(nameservers: &[SocketAddr]) -> Self {
        let builder = if nameservers.is_empty() {
            match Resolver::builder_tokio() {
                Ok(builder) => builder,
                Err(error) => {
                    tracing::warn!(%error, "no system DNS configuration: email domains cannot be proved");
                    return Self { resolver: None };
                }
            }
        } else {
            let servers = nameservers
                .iter()
                .map(|address| {
                    let mut connection = ConnectionConfig::udp();
                    connection.port = address.port();
                    let mut server = NameServerConfig::udp(address.ip());
                    server.connections = vec![connection];
                    server
                })
                .collect();
            Resolver::builder_with_config(ResolverConfig::from_name_servers(servers), TokioRuntimeProvider::default())
        };
        let mut builder = builder;
        let options = builder.options_mut();
        options.cache_size = 0;
        options.timeout = Duration::from_secs(5);
        options.attempts = 2;
        match builder.build() {
            Ok(resolver) => Self { resolver: Some(resolver) },
            Err(error) => {
                tracing::warn!(%error, "DNS resolver unavailable: email domains cannot be proved");
                Self { resolver: None }
            }
        }
    }

    /// Whether `domain`'s DNS holds the account's proof record.
    pub async fn holds(&self, account_id: Uuid, domain: &str) -> Result<bool, ProofError> {
        let resolver = self.resolver.as_ref().ok_or(ProofError::NoResolver)?;
        let expected = ProofRecord::for_account(account_id, domain);
        // Fully qualified: no search domain of this server is tried.
        let lookup = match resolver.txt_lookup(format!("{}.", expected.name)).await {
            Ok(lookup) => lookup,
            Err(error) if error.is_no_records_found() => return Ok(false),
            Err(error) => return Err(ProofError::Lookup(error.to_string())),
        };
        Ok(lookup.answers().iter().any(|record| match &record.data {
            // A TXT record's strings are one value, split at 255 bytes.
            RData::TXT(txt) => txt.txt_data.concat() == expected.value.as_bytes(),
            _ => false,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_names_its_account_and_domain() {
        let account = Uuid::now_v7();
        let record = ProofRecord::for_account(account, "example.com");
        assert_eq!(record.name, "_portico-verification.example.com");
        assert!(record.value.starts_with("portico-verification=") && record.value.len() == PREFIX.len() + 32);
        assert_eq!(record, ProofRecord::for_account(account, "example.com"), "the same each time");
        assert_ne!(record.value, ProofRecord::for_account(Uuid::now_v7(), "example.com").value);
        assert_ne!(record.value, ProofRecord::for_account(account, "example.org").value);
    }
}
