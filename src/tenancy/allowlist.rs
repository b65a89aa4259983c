//! A workspace's IP allowlist: the networks its requests may come from.
//!
//! Stored as `public.tenants.ip_allowlist` (`cidr[]`) and enforced by the workspace entry
//! (`tessera_enter_v3`) on every request that reaches the workspace; the signing proxy's
//! `/blobs` checks it too (`tessera_link_client_allowed`). An empty list restricts nothing.
//! Owners change it (`setIpAllowlist`, never from outside the new list: the lock-out guard),
//! the operator clears it (`tessera tenant allowlist-clear`).

use std::net::IpAddr;

use crate::db;
use ipnet::IpNet;

/// The most networks one workspace's list holds (the database function enforces it too).
pub const MAX_NETWORKS: usize = 100;

/// Why an entry of a new list was refused, worded for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("an allowlist holds at most {MAX_NETWORKS} networks")]
    TooMany,
    #[error(
        "\"{0}\" is not an IP address or network (write 203.0.113.0/24, 2001:db8::/32 or one address)"
    )]
    NotANetwork(String),
    #[error("\"{given}\" has bits set beyond its prefix: the network is {network}")]
    HostBits { given: String, network: IpNet },
    #[error("\"{0}\" is an IPv4-mapped IPv6 network: write it in IPv4 form")]
    Mapped(String),
}

/// Parses the entries of a new list: networks (`10.0.0.0/8`, `2001:db8::/32`) or single
/// addresses (kept as `/32` or `/128`). Blank entries are skipped and repeats dropped, in
/// order. A network with host bits set is refused rather than widened or narrowed silently.
pub fn parse(entries: &[String]) -> Result<Vec<IpNet>, EntryError> {
    let mut out: Vec<IpNet> = Vec::new();
    for raw in entries {
        let given = raw.trim();
        if given.is_empty() {
            continue;
        }
        let net = match given.parse::<IpNet>() {
            Ok(net) => net,
            Err(_) => match given.parse::<IpAddr>() {
                Ok(ip) => IpNet::from(ip),
                Err(_) => return Err(EntryError::NotANetwork(clip(given))),
            },
        };
        if net.trunc() != net {
            return Err(EntryError::HostBits {
                given: clip(given),
                network: net.trunc(),
            });
        }
        if let IpNet::V6(v6) = net
            && v6.network().to_ipv4_mapped().is_some()
        {
            return Err(EntryError::Mapped(clip(given)));
        }
        if !out.contains(&net) {
            out.push(net);
        }
        if out.len() > MAX_NETWORKS {
            return Err(EntryError::TooMany);
        }
    }
    Ok(out)
}

/// An entry as typed, cut short for an error message.
fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Whether `list` admits `ip`: an empty list admits every address; a non-empty one only
/// addresses inside one of its networks, and never an unknown one. IPv4-mapped IPv6
/// addresses count as their IPv4 address, as the entry sees them.
pub fn admits(list: &[IpNet], ip: Option<IpAddr>) -> bool {
    list.is_empty() || ip.is_some_and(|ip| list.iter().any(|n| n.contains(&ip.to_canonical())))
}

/// The current workspace's list, as stored.
pub async fn current(conn: &mut db::Conn) -> Result<Vec<String>, db::Error> {
    let list: Option<Vec<String>> =
        db::query_scalar("SELECT public.tessera_ip_allowlist()::text[]")
            .fetch_one(conn)
            .await?;
    Ok(list.unwrap_or_default())
}

/// Replaces the current workspace's list; answers the previous one (`None`: no such
/// workspace). The caller has checked the entries and the lock-out guard.
pub async fn replace(
    conn: &mut db::Conn,
    list: &[IpNet],
) -> Result<Option<Vec<String>>, db::Error> {
    let texts: Vec<String> = list.iter().map(ToString::to_string).collect();
    db::query_scalar("SELECT public.tessera_set_ip_allowlist($1::cidr[])::text[]")
        .bind(texts)
        .fetch_one(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Result<Vec<IpNet>, EntryError> {
        parse(&entries.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn networks_and_single_addresses_parse() {
        let l = list(&[
            " 10.0.0.0/8 ",
            "2001:db8::/32",
            "198.51.100.7",
            "::1",
            "",
            "10.0.0.0/8",
        ])
        .unwrap();
        let shown: Vec<String> = l.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            ["10.0.0.0/8", "2001:db8::/32", "198.51.100.7/32", "::1/128"]
        );
    }

    #[test]
    fn bad_entries_are_refused_with_what_to_write() {
        assert_eq!(
            list(&["10.0.0.1/8"]),
            Err(EntryError::HostBits {
                given: "10.0.0.1/8".into(),
                network: "10.0.0.0/8".parse().unwrap()
            })
        );
        assert!(matches!(list(&["office"]), Err(EntryError::NotANetwork(_))));
        assert!(matches!(
            list(&["10.0.0.0/33"]),
            Err(EntryError::NotANetwork(_))
        ));
        assert!(matches!(
            list(&["::ffff:10.0.0.0/104"]),
            Err(EntryError::Mapped(_))
        ));
        let many: Vec<String> = (0..=MAX_NETWORKS)
            .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
            .collect();
        assert_eq!(parse(&many), Err(EntryError::TooMany));
        assert_eq!(
            parse(&many[..MAX_NETWORKS]).map(|l| l.len()),
            Ok(MAX_NETWORKS)
        );
    }

    #[test]
    fn admission() {
        let l = list(&["203.0.113.0/24", "2001:db8::/32"]).unwrap();
        assert!(admits(&l, ip("203.0.113.200")));
        assert!(admits(&l, ip("::ffff:203.0.113.5")));
        assert!(admits(&l, ip("2001:db8:1::9")));
        assert!(!admits(&l, ip("203.0.114.1")));
        assert!(!admits(&l, ip("2001:db9::1")));
        assert!(!admits(&l, None));
        assert!(admits(&[], None));
        assert!(admits(&[], ip("192.0.2.1")));
    }
}
