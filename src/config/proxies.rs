//! The proxies whose `Forwarded` / `X-Forwarded-For` headers are believed
//! (`trusted_proxies`, `TESSERA_TRUSTED_PROXIES`).

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::Deserialize;

/// Networks (`10.0.0.0/8`, `2001:db8::/32`) or single addresses of the load balancers and
/// proxies in front of the server. Empty (the default): the client is the socket's peer,
/// whatever the headers say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Whether `ip` (IPv4-mapped IPv6 counts as IPv4) is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The header the trusted proxies write the client into (`forwarded_header`,
/// `TESSERA_FORWARDED_HEADER`). Only that one is read: a proxy passes the other on from the
/// client untouched, so reading it would let a client name its own address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For` (nginx and most ingress controllers, cloud load balancers).
    #[default]
    XForwardedFor,
    /// `Forwarded` (RFC 7239).
    Forwarded,
}

impl ForwardedHeader {
    /// The header's name, lowercase.
    pub fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }
}

impl FromStr for ForwardedHeader {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            other => Err(format!("{other:?}: x-forwarded-for or forwarded")),
        }
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of networks or addresses; blank entries are skipped.
    fn from_str(s: &str) -> Result<Self, String> {
        s.split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(network)
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

fn network(entry: &str) -> Result<IpNet, String> {
    if let Ok(net) = entry.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    entry
        .parse::<IpAddr>()
        .map(|ip| IpNet::from(ip.to_canonical()))
        .map_err(|_| format!("{entry:?} is neither an address nor a network (10.0.0.0/8)"))
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let entries = Vec::<String>::deserialize(d)?;
        entries
            .iter()
            .map(|e| network(e.trim()))
            .collect::<Result<_, _>>()
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_addresses_parse_and_match() {
        let t: TrustedProxies = "10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,".parse().unwrap();
        assert!(t.contains("10.1.2.3".parse().unwrap()));
        assert!(t.contains("192.0.2.7".parse().unwrap()));
        assert!(!t.contains("192.0.2.8".parse().unwrap()));
        assert!(t.contains("2001:db8::1".parse().unwrap()));
        // A dual-stack socket reports IPv4 peers as mapped IPv6 addresses.
        assert!(t.contains("::ffff:10.9.9.9".parse().unwrap()));
        assert!(!t.contains("11.0.0.1".parse().unwrap()));
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
    }

    #[test]
    fn a_typo_is_an_error_that_names_the_entry() {
        let e = "10.0.0.0/8, 10.0.0.300"
            .parse::<TrustedProxies>()
            .unwrap_err();
        assert!(e.contains("10.0.0.300"), "{e}");
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("x-real-ip".parse::<ForwardedHeader>().is_err());
        assert_eq!(
            "Forwarded".parse::<ForwardedHeader>(),
            Ok(ForwardedHeader::Forwarded)
        );
    }
}
