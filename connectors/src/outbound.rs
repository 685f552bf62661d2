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
/// NAT, unspecified, broadcast, multicast and documentation ranges, in v4 and v6,
/// and any v6 address that carries an internal v4 address ([`embedded_ipv4`]).
pub fn is_internal(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6) || embedded_ipv4(v6).into_iter().any(is_internal_v4),
    }
}

/// True for addresses refused even where private networks are allowed (an
/// on-premises upstream): link-local, where cloud metadata services answer
/// (169.254.169.254, AWS's fd00:ec2::254), in any form that reaches them.
pub fn is_metadata_or_link_local(address: IpAddr) -> bool {
    const AWS_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);
    match address {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6 == AWS_METADATA_V6
                || embedded_ipv4(v6).into_iter().any(|v4| v4.is_link_local())
        }
    }
}

/// Whether `policy` forbids connecting to `address`.
pub fn is_forbidden(address: IpAddr, policy: AddressPolicy) -> bool {
    match policy {
        AddressPolicy::PublicOnly => is_internal(address),
        AddressPolicy::AllowPrivate => is_metadata_or_link_local(address),
    }
}

/// The IPv4 addresses an IPv6 address routes to, in every form that embeds one:
/// v4-mapped (`::ffff:a.b.c.d`), SIIT (`::ffff:0:a.b.c.d`), the deprecated
/// v4-compatible form (`::a.b.c.d`), NAT64 (`64:ff9b::/96`, `64:ff9b:1::/48`),
/// 6to4 (`2002:AABB:CCDD::/48`), Teredo (`2001:0::/32`: server and obfuscated
/// client) and ISATAP interface ids (`…:5efe:a.b.c.d`).
pub fn embedded_ipv4(address: Ipv6Addr) -> Vec<Ipv4Addr> {
    let segments = address.segments();
    let octets = address.octets();
    let low32 = Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]);
    let mut carried = Vec::new();
    if segments[..5] == [0; 5] && (segments[5] == 0xffff || segments[5] == 0) {
        carried.push(low32); // mapped and compatible
    }
    if segments[..4] == [0; 4] && segments[4] == 0xffff && segments[5] == 0 {
        carried.push(low32); // SIIT
    }
    if segments[0] == 0x0064 && segments[1] == 0xff9b && (segments[2..6] == [0; 4] || segments[2] == 0x0001) {
        carried.push(low32); // NAT64, well-known and local-use prefixes
    }
    if segments[0] == 0x2002 {
        carried.push(Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5])); // 6to4
    }
    if segments[0] == 0x2001 && segments[1] == 0 {
        carried.push(Ipv4Addr::new(octets[4], octets[5], octets[6], octets[7])); // Teredo server
        carried.push(Ipv4Addr::from(!u32::from(low32))); // Teredo client, obfuscated
    }
    if segments[5] == 0x5efe && (segments[4] & 0xfdff) == 0 {
        carried.push(low32); // ISATAP
    }
    carried
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
        || (first & 0xffc0) == 0xfec0 // fec0::/10, site-local (deprecated, still routed inside some networks)
        || address.segments()[..4] == [0x0100, 0, 0, 0] // 100::/64, discard-only
        || first == 0x2001 && address.segments()[1] == 0x0db8 // documentation
}

/// Checks a URL before it is requested (or followed as a redirect).
pub fn check_url(url: &Url, policy: AddressPolicy) -> Result<(), OutboundError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(OutboundError::UnsupportedScheme);
    }
    // The URL parser has already turned every spelling of an IPv4 literal
    // (decimal, octal, hex, shortened) into the address it means.
    let literal = match url.host() {
        Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        _ => None,
    };
    match literal {
        Some(address) if is_forbidden(address, policy) => Err(OutboundError::ForbiddenAddress(address.to_string())),
        _ => Ok(()),
    }
}

/// Resolves names, then drops the addresses the policy forbids; a name with
/// nothing left fails.
#[derive(Debug, Clone)]
struct GuardedResolver {
    policy: AddressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> =
                resolved.into_iter().filter(|address| !is_forbidden(address.ip(), policy)).collect();
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
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(redirect_policy)
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("portico/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .build()
            .expect("the TLS backend initializes");
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

    /// Every IPv6 spelling of an IPv4 address, as URL literals.
    fn v6_forms(v4: Ipv4Addr) -> Vec<Ipv6Addr> {
        let [a, b, c, d] = v4.octets();
        let (high, low) = (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]));
        let inverted = !u32::from(v4);
        let (inv_high, inv_low) = ((inverted >> 16) as u16, inverted as u16);
        vec![
            v4.to_ipv6_mapped(),
            Ipv6Addr::new(0, 0, 0, 0, 0, 0, high, low),         // ::a.b.c.d
            Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, high, low),    // SIIT
            Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, high, low), // NAT64
            Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, high, low), // NAT64, local use
            Ipv6Addr::new(0x2002, high, low, 0, 0, 0, 0, 1),    // 6to4
            Ipv6Addr::new(0x2001, 0, high, low, 0, 0, 0, 1),    // Teredo server
            Ipv6Addr::new(0x2001, 0, 0x4136, 0xe378, 0x8000, 0x63bf, inv_high, inv_low), // Teredo client
            Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0x5efe, high, low), // ISATAP (link-local prefix)
            Ipv6Addr::new(0x2001, 0x470, 0, 0, 0, 0x5efe, high, low), // ISATAP (global prefix)
        ]
    }

    /// A small deterministic generator (xorshift), so the property runs the same
    /// cases everywhere without a property-testing dependency.
    fn addresses(count: usize, seed: u64) -> impl Iterator<Item = u32> {
        let mut state = seed;
        (0..count).map(move |_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u32
        })
    }

    #[test]
    fn an_internal_ipv4_address_is_internal_in_every_ipv6_and_url_spelling() {
        let internal_networks: [(u32, u32); 8] = [
            (0x7f00_0000, 8),  // loopback
            (0x0a00_0000, 8),  // private
            (0xac10_0000, 12), // private
            (0xc0a8_0000, 16), // private
            (0xa9fe_0000, 16), // link-local, metadata
            (0x6440_0000, 10), // carrier-grade NAT
            (0x0000_0000, 8),  // "this network"
            (0xf000_0000, 4),  // reserved
        ];
        for (network, prefix) in internal_networks {
            for random in addresses(200, u64::from(network) | 1) {
                let host_bits = if prefix == 32 { 0 } else { random & (u32::MAX >> prefix) };
                let v4 = Ipv4Addr::from(network | host_bits);
                assert!(is_internal(IpAddr::V4(v4)), "{v4}");
                for v6 in v6_forms(v4) {
                    assert!(is_internal(IpAddr::V6(v6)), "{v4} as {v6}");
                    let url = Url::parse(&format!("http://[{v6}]/")).unwrap();
                    assert!(check_url(&url, AddressPolicy::PublicOnly).is_err(), "{url}");
                }
                let decimal = Url::parse(&format!("http://{}/", u32::from(v4))).unwrap();
                assert!(check_url(&decimal, AddressPolicy::PublicOnly).is_err(), "{decimal}");
                let hex = Url::parse(&format!("http://0x{:x}/", u32::from(v4))).unwrap();
                assert!(check_url(&hex, AddressPolicy::PublicOnly).is_err(), "{hex}");
            }
        }
        for spelling in
            ["http://127.1/", "http://0177.0.0.1/", "http://0x7f.0.0.1/", "http://[::127.0.0.1]/", "http://[fec0::1]/"]
        {
            assert!(check_url(&Url::parse(spelling).unwrap(), AddressPolicy::PublicOnly).is_err(), "{spelling}");
        }
    }

    #[test]
    fn public_addresses_stay_reachable_in_their_plain_forms() {
        for random in addresses(2_000, 0x5eed) {
            let v4 = Ipv4Addr::from(random);
            let expected_internal = is_internal_v4(v4);
            assert_eq!(is_internal(IpAddr::V6(v4.to_ipv6_mapped())), expected_internal, "{v4}");
        }
        for address in ["2606:4700:4700::1111", "2a00:1450:4001:82a::200e", "2002:5db8:d822::1"] {
            assert!(!is_internal(address.parse().unwrap()), "{address}");
        }
    }

    #[test]
    fn private_networks_allowed_still_never_reach_link_local_or_metadata() {
        let allow = |url: &str| check_url(&Url::parse(url).unwrap(), AddressPolicy::AllowPrivate);
        assert!(allow("http://10.0.0.5/").is_ok());
        assert!(allow("http://127.0.0.1:8080/").is_ok());
        for metadata in [
            "http://169.254.169.254/latest/meta-data",
            "http://[fd00:ec2::254]/",
            "http://[fe80::1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://2852039166/",
        ] {
            assert!(allow(metadata).is_err(), "{metadata}");
        }
    }
}
