//! Who the client is: the socket's peer, or — when the peer is a trusted proxy
//! (`trusted_proxies`) — the nearest address in its forwarding chain that is not one.
//!
//! The chain is read from `Forwarded` (RFC 7239) when the request has one, else from
//! `X-Forwarded-For`, and walked from the right: each trusted proxy appends the address it
//! received the request from, so the rightmost untrusted entry is the first one no trusted
//! party vouches for. Entries further left are whatever the client sent and are never
//! believed. An entry that is not an address (`unknown`, an obfuscated name) ends the walk at
//! the proxy that wrote it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use super::state::AppState;
use crate::config::TrustedProxies;

/// The client's address, as the middleware resolved it for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Resolves the client's address once per request and stores it as [`ClientIp`].
pub async fn resolve_client(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(peer) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    {
        let ip = client_ip(peer, req.headers(), &state.inner.trusted_proxies);
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

/// The client's address for a request from `peer` with `headers`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let mut client = peer.to_canonical();
    if !trusted.contains(client) {
        return client;
    }
    for entry in chain(headers).iter().rev() {
        let Some(ip) = entry else { return client };
        client = *ip;
        if !trusted.contains(client) {
            return client;
        }
    }
    client
}

/// The forwarding chain, left to right (`None` for an entry that is not an address).
fn chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = headers
        .get_all("forwarded")
        .iter()
        .map(|v| v.to_str().unwrap_or("unknown"))
        .collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(|element| {
                let node = element.split(';').find_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("for")
                        .then_some(value.trim())
                });
                node.and_then(address)
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("unknown").split(','))
        .map(|e| address(e.trim()))
        .collect()
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`, any of them in double quotes.
fn address(node: &str) -> Option<IpAddr> {
    let node = node.trim_matches('"');
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = node.strip_prefix('[') {
        let (ip, _port) = rest.split_once(']')?;
        return ip.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
    }
    let (ip, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=203.0.113.9"),
        ]);
        assert_eq!(
            client_ip(ip("198.51.100.1"), &h, &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &h, &TrustedProxies::default()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn the_rightmost_untrusted_entry_wins_over_what_the_client_wrote() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        // The client claims 1.2.3.4; the first proxy appends the address it saw; a second
        // proxy in front of the server appends the first's.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.0.0.5")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("198.51.100.7"));
        // Several header lines form one list, in order.
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "198.51.100.7"),
        ]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("198.51.100.7"));
        // Every hop trusted: the leftmost is the client.
        let h = headers(&[("x-forwarded-for", "10.2.2.2, 10.0.0.5")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("10.2.2.2"));
        // No header: the proxy itself.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn forwarded_is_preferred_and_its_forms_are_read() {
        let trusted: TrustedProxies = "10.0.0.0/8, ::1".parse().unwrap();
        let h = headers(&[
            ("x-forwarded-for", "192.0.2.99"),
            (
                "forwarded",
                "for=1.2.3.4, for=\"[2001:db8:cafe::17]:4711\";proto=https;by=10.0.0.5",
            ),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &h, &trusted),
            ip("2001:db8:cafe::17")
        );
        let h = headers(&[("forwarded", "proto=https;For=\"192.0.2.60:8080\"")]);
        assert_eq!(client_ip(ip("::1"), &h, &trusted), ip("192.0.2.60"));
        // A peer on a dual-stack socket, IPv4-mapped.
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.1"), &h, &trusted),
            ip("192.0.2.60")
        );
    }

    #[test]
    fn an_entry_that_is_not_an_address_stops_at_the_proxy_that_wrote_it() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "198.51.100.7, nonsense, 10.0.0.5")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("10.0.0.5"));
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("10.0.0.1"));
        let h = headers(&[("forwarded", "for=_hidden, for=198.51.100.7")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("198.51.100.7"));
        assert_eq!(address("198.51.100.7:abc"), None);
        assert_eq!(address("[2001:db8::1"), None);
    }
}
