//! Which address a request comes from, when Portico sits behind proxies.
//!
//! The TCP peer is the client unless it is one of `http.trusted_proxies`; only
//! then are `X-Forwarded-For` (or, without it, RFC 7239 `Forwarded`) believed,
//! read from the right: each trusted proxy appends the address it saw, so the
//! first address from the right that is not itself a trusted proxy is the
//! client. Anything further left was written by the client and proves nothing.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted_proxies.iter().any(|network| network.contains(address));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut chain = forwarded_for(headers);
    if chain.is_empty() {
        chain = forwarded(headers);
    }
    // Right to left: the last hop is the one the trusted peer itself saw.
    let mut client = peer;
    for address in chain.into_iter().rev() {
        let Some(address) = address else { break };
        client = address;
        if !is_trusted(&address) {
            break;
        }
    }
    client
}

/// `X-Forwarded-For` across all its header lines, in order; None for an entry
/// that is not an address (which ends the trusted chain).
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| value.to_str().unwrap_or_default().split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(parse_node)
        .collect()
}

/// The `for=` parameters of RFC 7239 `Forwarded`, in order.
fn forwarded(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("forwarded")
        .iter()
        .flat_map(|value| value.to_str().unwrap_or_default().split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.trim().eq_ignore_ascii_case("for").then(|| parse_node(value.trim().trim_matches('"')))
            })
        })
        .collect()
}

/// An address as proxies write it: bare, `[v6]`, `[v6]:port` or `v4:port`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(address) = node.parse() {
        return Some(address);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']').and_then(|(address, _)| address.parse().ok());
    }
    node.rsplit_once(':').and_then(|(address, _port)| address.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, value.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(client_ip(ip("203.0.113.9"), &spoofed, &trusted), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("203.0.113.9"), &spoofed, &[]), ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_first_untrusted_hop_from_the_right_is_the_client() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()];
        // The client wrote 6.6.6.6 itself; the edge proxy saw 198.51.100.7.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7"), ("x-forwarded-for", "10.1.2.3")]);
        assert_eq!(client_ip(ip("10.9.9.9"), &chain, &trusted), ip("198.51.100.7"));
        let rfc7239 = headers(&[("forwarded", r#"for=6.6.6.6, for="[2001:db8::1]:4711";proto=https, for=fd00::2"#)]);
        assert_eq!(client_ip(ip("10.9.9.9"), &rfc7239, &trusted), ip("2001:db8::1"));
        let with_port = headers(&[("x-forwarded-for", "192.0.2.60:5000")]);
        assert_eq!(client_ip(ip("10.9.9.9"), &with_port, &trusted), ip("192.0.2.60"));
    }

    #[test]
    fn a_garbled_or_missing_chain_leaves_the_last_address_believed() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(client_ip(ip("10.0.0.1"), &HeaderMap::new(), &trusted), ip("10.0.0.1"));
        let garbled = headers(&[("x-forwarded-for", "198.51.100.7, not-an-address, 10.0.0.5")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &garbled, &trusted), ip("10.0.0.5"));
    }
}
