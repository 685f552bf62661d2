//! Outbound HTTP: the SSRF-safe client lives with the connectors (they are its main
//! users); this module builds it from Portico's configuration.

use std::time::Duration;

pub use portico_connectors::outbound::{AddressPolicy, OutboundClient, OutboundError, check_url, is_internal};

use crate::config::OutboundSettings;

pub fn client_from_settings(settings: &OutboundSettings) -> OutboundClient {
    OutboundClient::new(policy_from_settings(settings), Duration::from_secs(settings.timeout_secs))
}

pub fn policy_from_settings(settings: &OutboundSettings) -> AddressPolicy {
    if settings.allow_private_addresses { AddressPolicy::AllowPrivate } else { AddressPolicy::PublicOnly }
}
