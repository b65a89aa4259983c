//! Who the client is: the socket's peer, or — when the peer is a trusted proxy
//! (`trusted_proxies`) — the nearest address in its forwarding chain that is not one.
//!
//! The chain is read from the one header the proxies are configured to append to
//! (`forwarded_header`: `X-Forwarded-For`, or `Forwarded` of RFC 7239) — never the other,
//! which a proxy passes on from the client as it came — and walked from the right: each
//! trusted proxy appends the address it received the request from, so the rightmost
//! untrusted entry is the first one no trusted party vouches for. Entries further left are
//! whatever the client sent and are never believed. An entry that is not an address
//! (`unknown`, an obfuscated name) ends the walk at the proxy that wrote it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use super::state::AppState;
use crate::config::{ForwardedHeader, TrustedProxies};

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
        let inner = &state.inner;
        let ip = client_ip(
            peer,
            req.headers(),
            &inner.trusted_proxies,
            inner.forwarded_header,
        );
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

/// The client's address for a request from `peer` with `headers`, the proxies writing
/// into `header`.
pub fn client_ip(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
    header: ForwardedHeader,
) -> IpAddr {
    let mut client = peer.to_canonical();
    if !trusted.contains(client) {
        return client;
    }
    for entry in chain(headers, header).iter().rev() {
        let Some(ip) = entry else { return client };
        client = *ip;
        if !trusted.contains(client) {
            return client;
        }
    }
    client
}

/// The forwarding chain in `header`, left to right (`None` for an entry that is not an
/// address). Several lines of the header form one list, in order.
fn chain(headers: &HeaderMap, header: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let elements = headers
        .get_all(header.name())
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("unknown").split(','));
    match header {
        ForwardedHeader::XForwardedFor => elements.map(|e| address(e.trim())).collect(),
        ForwardedHeader::Forwarded => elements
            .map(|element| {
                element
                    .split(';')
                    .find_map(|pair| {
                        let (key, value) = pair.split_once('=')?;
                        key.trim()
                            .eq_ignore_ascii_case("for")
                            .then_some(value.trim())
                    })
                    .and_then(address)
            })
            .collect(),
    }
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

    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;
    const FWD: ForwardedHeader = ForwardedHeader::Forwarded;

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=203.0.113.9"),
        ]);
        for header in [XFF, FWD] {
            let peer = ip("198.51.100.1");
            assert_eq!(client_ip(peer, &h, &trusted, header), peer);
            let none = TrustedProxies::default();
            assert_eq!(client_ip(ip("10.0.0.1"), &h, &none, header), ip("10.0.0.1"));
        }
    }

    #[test]
    fn the_rightmost_untrusted_entry_wins_over_what_the_client_wrote() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let at = |h: &HeaderMap| client_ip(ip("10.0.0.1"), h, &trusted, XFF);
        // The client claims 1.2.3.4; the first proxy appends the address it saw; a second
        // proxy in front of the server appends the first's.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.0.0.5")]);
        assert_eq!(at(&h), ip("198.51.100.7"));
        // Several header lines form one list, in order.
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "198.51.100.7"),
        ]);
        assert_eq!(at(&h), ip("198.51.100.7"));
        // Every hop trusted: the leftmost is the client.
        let h = headers(&[("x-forwarded-for", "10.2.2.2, 10.0.0.5")]);
        assert_eq!(at(&h), ip("10.2.2.2"));
        // No header: the proxy itself.
        assert_eq!(at(&HeaderMap::new()), ip("10.0.0.1"));
    }

    #[test]
    fn only_the_configured_header_is_read() {
        let trusted: TrustedProxies = "10.0.0.0/8, ::1".parse().unwrap();
        // The proxy appends to X-Forwarded-For and passes the client's own `Forwarded` on.
        let forged = headers(&[
            ("x-forwarded-for", "198.51.100.7"),
            ("forwarded", "for=1.2.3.4"),
        ]);
        let peer = ip("10.0.0.1");
        assert_eq!(client_ip(peer, &forged, &trusted, XFF), ip("198.51.100.7"));
        // And the other way round.
        let forged = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("forwarded", "for=198.51.100.7"),
        ]);
        assert_eq!(client_ip(peer, &forged, &trusted, FWD), ip("198.51.100.7"));
        // `Forwarded` with the configured header missing: the proxy itself.
        let h = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(client_ip(peer, &h, &trusted, FWD), peer);
    }

    #[test]
    fn the_forms_of_forwarded_are_read() {
        let trusted: TrustedProxies = "10.0.0.0/8, ::1".parse().unwrap();
        let h = headers(&[(
            "forwarded",
            "for=1.2.3.4, for=\"[2001:db8:cafe::17]:4711\";proto=https;by=10.0.0.5",
        )]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &h, &trusted, FWD),
            ip("2001:db8:cafe::17")
        );
        let h = headers(&[("forwarded", "proto=https;For=\"192.0.2.60:8080\"")]);
        assert_eq!(client_ip(ip("::1"), &h, &trusted, FWD), ip("192.0.2.60"));
        // A peer on a dual-stack socket, IPv4-mapped.
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.1"), &h, &trusted, FWD),
            ip("192.0.2.60")
        );
    }

    #[test]
    fn an_entry_that_is_not_an_address_stops_at_the_proxy_that_wrote_it() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let peer = ip("10.0.0.1");
        let h = headers(&[("x-forwarded-for", "198.51.100.7, nonsense, 10.0.0.5")]);
        assert_eq!(client_ip(peer, &h, &trusted, XFF), ip("10.0.0.5"));
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(client_ip(peer, &h, &trusted, FWD), peer);
        let h = headers(&[("forwarded", "for=_hidden, for=198.51.100.7")]);
        assert_eq!(client_ip(peer, &h, &trusted, FWD), ip("198.51.100.7"));
        assert_eq!(address("198.51.100.7:abc"), None);
        assert_eq!(address("[2001:db8::1"), None);
    }
}
