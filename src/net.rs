//! Outbound HTTP with an address policy: requests to addresses a tenant could use to reach
//! the inside of the deployment (loopback, private, link-local and cloud metadata, unique-local
//! IPv6, and IPv4 hidden inside IPv6 forms) are refused unless configured otherwise.
//!
//! The check runs where the connection is made: host names are resolved by a resolver that
//! drops forbidden addresses (so a DNS answer that changes between a check and the connect
//! cannot slip through), and literal addresses are checked before the request. Redirects are
//! never followed. Numeric spellings such as `2130706433` or `0x7f000001` are normalised by the
//! URL parser before the check. Used by OIDC discovery and token calls (and by webhooks).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Which otherwise-refused destinations are allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Loopback (`127.0.0.0/8`, `::1`): for tests and single-host development.
    pub allow_loopback: bool,
    /// RFC 1918, CGNAT and unique-local IPv6 ranges: for deployments whose identity
    /// providers live on a private network.
    pub allow_private: bool,
}

fn v4_class(ip: Ipv4Addr) -> Class {
    let o = ip.octets();
    if ip.is_loopback() {
        Class::Loopback
    } else if ip.is_private() || (o[0] == 100 && (64..128).contains(&o[1])) {
        Class::Private
    } else if ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || o[0] >= 240
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
    {
        // Link-local includes 169.254.169.254, the metadata service of most clouds.
        Class::Never
    } else {
        Class::Public
    }
}

fn v6_class(ip: Ipv6Addr) -> Class {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_class(v4);
    }
    if ip.is_loopback() {
        return Class::Loopback;
    }
    if ip.is_unspecified() || ip.is_multicast() {
        return Class::Never;
    }
    match s[0] {
        // Unique local.
        x if x & 0xfe00 == 0xfc00 => Class::Private,
        // Link-local and the deprecated site-local.
        x if x & 0xffc0 == 0xfe80 || x & 0xffc0 == 0xfec0 => Class::Never,
        // 6to4 embeds an IPv4 address.
        0x2002 => v4_class(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        )),
        // Teredo and documentation.
        0x2001 if s[1] == 0 || s[1] == 0x0db8 => Class::Never,
        // NAT64 (64:ff9b::/96) and IPv4-compatible (::a.b.c.d) embed an IPv4 address.
        _ if (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0])
            || s[..6] == [0, 0, 0, 0, 0, 0] =>
        {
            v4_class(Ipv4Addr::new(
                (s[6] >> 8) as u8,
                s[6] as u8,
                (s[7] >> 8) as u8,
                s[7] as u8,
            ))
        }
        _ => Class::Public,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Public,
    Loopback,
    Private,
    Never,
}

impl AddressPolicy {
    /// Whether a connection to `ip` is allowed.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let class = match ip {
            IpAddr::V4(v4) => v4_class(v4),
            IpAddr::V6(v6) => v6_class(v6),
        };
        match class {
            Class::Public => true,
            Class::Loopback => self.allow_loopback,
            Class::Private => self.allow_private,
            Class::Never => false,
        }
    }

    /// Checks a URL before any request: `http`/`https` only, no credentials in it, and a
    /// literal address (if that is what the host is) allowed.
    pub fn check_url(&self, url: &str) -> Result<reqwest::Url, String> {
        let u = reqwest::Url::parse(url).map_err(|e| format!("not a valid URL: {e}"))?;
        if !matches!(u.scheme(), "https" | "http") {
            return Err("only http and https URLs are allowed".into());
        }
        if !u.username().is_empty() || u.password().is_some() {
            return Err("URLs must not carry credentials".into());
        }
        let literal = match u.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err("the URL has no host".into()),
        };
        if literal.is_some_and(|ip| !self.allows(ip)) {
            return Err(
                "the address is not allowed (private, loopback, link-local or reserved)".into(),
            );
        }
        Ok(u)
    }

    /// Resolves `host` and checks that at least one address is allowed (an early, clear
    /// answer at configuration time; the connection is checked again when it is made).
    ///
    /// A name that does not resolve and a name that resolves only to refused addresses get
    /// the same answer: telling them apart would let an outsider probe which internal names
    /// exist. The difference is logged for the operator.
    pub async fn check_resolves(&self, url: &reqwest::Url) -> Result<(), String> {
        let Some(url::Host::Domain(host)) = url.host() else {
            return Ok(());
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let refused = || format!("{host} does not resolve to an address this server may reach");
        let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host, port)).await {
            Ok(found) => found.collect(),
            Err(e) => {
                tracing::info!(host, error = %e, "outbound destination does not resolve");
                return Err(refused());
            }
        };
        if addrs.iter().any(|a| self.allows(a.ip())) {
            Ok(())
        } else {
            tracing::info!(
                host,
                "outbound destination resolves only to refused addresses"
            );
            Err(refused())
        }
    }
}

/// A resolver that drops addresses the policy forbids.
struct GuardedResolver(AddressPolicy);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let allowed: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| policy.allows(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(format!("{host}: no allowed address").into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// An HTTP client bound to `policy`: no redirects, short timeouts, guarded resolution.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    pub policy: AddressPolicy,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Outbound {
    pub fn new(policy: AddressPolicy) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver(policy)))
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { client, policy })
    }

    /// The client: no redirects, guarded resolution. Check literal-address URLs with
    /// [`AddressPolicy::check_url`] before using it.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

type OidcFuture<'c> = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<
                    openidconnect::HttpResponse,
                    openidconnect::HttpClientError<reqwest::Error>,
                >,
            > + Send
            + Sync
            + 'c,
    >,
>;

impl<'c> openidconnect::AsyncHttpClient<'c> for Outbound {
    type Error = openidconnect::HttpClientError<reqwest::Error>;
    type Future = OidcFuture<'c>;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(async move {
            self.policy
                .check_url(&request.uri().to_string())
                .map_err(openidconnect::HttpClientError::Other)?;
            self.client.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> AddressPolicy {
        AddressPolicy::default()
    }

    #[test]
    fn internal_addresses_in_every_spelling_are_refused() {
        for url in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:a9fe:a9fe::1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/",
            "http://172.16.5.4/",
            "http://192.168.1.1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::]/",
            "ftp://example.com/",
            "http://user:pw@example.com/",
        ] {
            assert!(strict().check_url(url).is_err(), "{url} must be refused");
        }
    }

    #[test]
    fn public_addresses_pass_and_loopback_only_when_allowed() {
        for url in [
            "https://93.184.215.14/",
            "https://[2606:4700::1]/",
            "https://idp.example.com/",
        ] {
            assert!(strict().check_url(url).is_ok(), "{url}");
        }
        let dev = AddressPolicy {
            allow_loopback: true,
            allow_private: false,
        };
        assert!(dev.check_url("http://127.0.0.1:8080/").is_ok());
        assert!(dev.check_url("http://10.0.0.1/").is_err());
        assert!(
            dev.check_url("http://169.254.169.254/").is_err(),
            "metadata is never allowed"
        );
    }
}
