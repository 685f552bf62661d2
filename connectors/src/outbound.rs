//! The one HTTP client for calls Portico makes to other systems (connectors,
//! single sign-on discovery, webhooks back). It cannot be pointed at internal
//! addresses unless configuration allows it: a URL naming an IP literal is
//! checked before sending, every name's resolved addresses are filtered when
//! connecting, and each redirect hop is checked again. Proxy variables from the
//! environment are ignored, so they cannot route around the check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use url::{Host, Url};

const MAX_REDIRECTS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPolicy {
    /// Only public, routable addresses (the default).
    PublicOnly,
    /// Anything, including loopback and private ranges (tests, on-premises upstreams).
    AllowPrivate,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("refusing to connect to {0}: not a public address")]
    ForbiddenAddress(String),
    #[error("only http and https URLs can be requested")]
    UnsupportedScheme,
    #[error("request failed: {0}")]
    Request(#[from] reqwest::Error),
}

/// True for addresses no outbound call should reach by default: loopback,
/// private, link-local (cloud metadata lives at 169.254.169.254), carrier-grade
/// NAT, unspecified, broadcast, multicast and documentation ranges, in v4 and v6
/// (including v4 addresses mapped into v6).
pub fn is_internal(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_internal_v4(v4),
            None => is_internal_v6(v6),
        },
    }
}

fn is_internal_v4(address: Ipv4Addr) -> bool {
    let [a, b, ..] = address.octets();
    address.is_loopback()
        || address.is_private()
        || address.is_link_local()
        || address.is_unspecified()
        || address.is_broadcast()
        || address.is_multicast()
        || address.is_documentation()
        || a == 0
        || (a == 100 && (64..=127).contains(&b)) // 100.64.0.0/10, carrier-grade NAT
        || (a == 192 && b == 0 && address.octets()[2] == 0) // 192.0.0.0/24, IETF protocol assignments
        || (a == 198 && (18..=19).contains(&b)) // 198.18.0.0/15, benchmarking
        || a >= 240 // reserved
}

fn is_internal_v6(address: Ipv6Addr) -> bool {
    let first = address.segments()[0];
    address.is_loopback()
        || address.is_unspecified()
        || address.is_multicast()
        || (first & 0xfe00) == 0xfc00 // fc00::/7, unique local
        || (first & 0xffc0) == 0xfe80 // fe80::/10, link-local
        || first == 0x2001 && address.segments()[1] == 0x0db8 // documentation
}

/// Checks a URL before it is requested (or followed as a redirect).
pub fn check_url(url: &Url, policy: AddressPolicy) -> Result<(), OutboundError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(OutboundError::UnsupportedScheme);
    }
    if policy == AddressPolicy::AllowPrivate {
        return Ok(());
    }
    let literal = match url.host() {
        Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        _ => None,
    };
    match literal {
        Some(address) if is_internal(address) => Err(OutboundError::ForbiddenAddress(address.to_string())),
        _ => Ok(()),
    }
}

/// Resolves names, then drops internal addresses; a name with nothing left fails.
#[derive(Debug, Clone)]
struct PublicResolver;

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = resolved.into_iter().filter(|address| !is_internal(address.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(OutboundError::ForbiddenAddress(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// A configured outbound client; cheap to clone.
#[derive(Debug, Clone)]
pub struct OutboundClient {
    client: reqwest::Client,
    policy: AddressPolicy,
}

impl OutboundClient {
    pub fn new(policy: AddressPolicy, timeout: Duration) -> Self {
        let redirect_policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error("too many redirects");
            }
            match check_url(attempt.url(), policy) {
                Ok(()) => attempt.follow(),
                Err(error) => attempt.error(error),
            }
        });
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(redirect_policy)
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("portico/", env!("CARGO_PKG_VERSION")));
        if policy == AddressPolicy::PublicOnly {
            builder = builder.dns_resolver(Arc::new(PublicResolver));
        }
        let client = builder.build().expect("the TLS backend initializes");
        Self { client, policy }
    }

    pub fn policy(&self) -> AddressPolicy {
        self.policy
    }

    /// The underlying client, for libraries that take one (object storage). Its
    /// resolver and redirect policy still apply; IP-literal URLs must be checked by
    /// the caller with [`check_url`].
    pub fn reqwest_client(&self) -> &reqwest::Client {
        &self.client
    }

    /// A GET, after checking the URL.
    pub async fn get(&self, url: &Url) -> Result<reqwest::Response, OutboundError> {
        check_url(url, self.policy)?;
        Ok(self.client.get(url.clone()).send().await?)
    }

    /// A request to finish building; the URL is checked first.
    pub fn request(&self, method: reqwest::Method, url: &Url) -> Result<reqwest::RequestBuilder, OutboundError> {
        check_url(url, self.policy)?;
        Ok(self.client.request(method, url.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_ranges_are_recognised() {
        for address in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(address.parse().unwrap()), "{address}");
        }
        for address in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "172.32.0.1", "100.128.0.1"] {
            assert!(!is_internal(address.parse().unwrap()), "{address}");
        }
    }

    #[test]
    fn ip_literal_urls_are_checked_before_sending() {
        let check = |url: &str| check_url(&Url::parse(url).unwrap(), AddressPolicy::PublicOnly);
        assert!(check("http://127.0.0.1:8080/").is_err());
        assert!(check("http://[::1]/").is_err());
        assert!(check("http://169.254.169.254/latest/meta-data").is_err());
        assert!(check("https://93.184.216.34/").is_ok());
        assert!(check("https://api.example.com/").is_ok(), "names are checked when resolved");
        assert!(check("file:///etc/passwd").is_err());
        assert!(check_url(&Url::parse("http://127.0.0.1/").unwrap(), AddressPolicy::AllowPrivate).is_ok());
    }
}
