//! Typed, layered configuration: built-in defaults, then an optional TOML file, then
//! `TESSERA_*` environment variables. Unknown TOML keys are an error, so a typo cannot
//! silently fall back to a default. Secrets may be given as `*_FILE` paths.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

mod auth;
mod env;
mod limits;
mod proxies;
mod services;

pub use auth::Auth;
pub use limits::{Limits, RateLimits, Tier};
pub use proxies::{ForwardedHeader, TrustedProxies};
pub use services::{Backend, Jobs, Mail, Network, S3, Smtp, SmtpTls, Storage, Webhooks};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid value for {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

/// Every setting, with its default. The README's configuration table mirrors this struct.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Runtime (application) database URL. Unset: an embedded cluster under `data_dir`.
    pub database_url: Option<String>,
    /// A direct connection to the database (not through PgBouncer in transaction mode) for
    /// the live-updates `LISTEN`. Unset: `database_url`.
    pub database_listen_url: Option<String>,
    /// Migrator database URL (owns every object). Unset: same host as `database_url` is not
    /// assumed; the embedded cluster provides one.
    pub migrator_database_url: Option<String>,
    /// Prefix of the database roles: `<prefix>_migrator`, `<prefix>_app`, `<prefix>_tenant`,
    /// and `<prefix>_t_<random uuid>` for each workspace.
    pub role_prefix: String,
    /// Where the embedded cluster and other local state live.
    pub data_dir: PathBuf,
    /// Maximum connections of the runtime pool.
    pub pool_max_connections: u32,
    /// Maximum lifetime of a pooled connection, in seconds (bounds per-backend catalog caches).
    pub pool_max_lifetime_secs: u64,
    /// A pooled connection that has served this many distinct workspaces is closed when it
    /// is next released (0: no cap). Bounds the workspaces whose catalog entries and plans one
    /// backend holds; measured in `docs/benchmarks.md` and off by default.
    pub pool_max_workspaces_per_connection: usize,
    /// How long a request waits for a pooled connection, in seconds.
    pub pool_acquire_timeout_secs: u64,
    /// Prepared statements cached per connection.
    pub statement_cache_capacity: usize,
    /// Tenant schemas migrated in parallel.
    pub migrate_concurrency: usize,
    /// Apply pending migrations when `serve` starts.
    pub migrate_on_start: bool,
    /// Load migrations from this directory instead of the embedded ones.
    pub migrations_dir: Option<PathBuf>,
    /// The 32-byte master key, base64 (`TESSERA_MASTER_KEY` or `TESSERA_MASTER_KEY_FILE`).
    /// Required with an external database; the embedded default keeps one in `data_dir`.
    pub master_key: Option<crate::crypto::Secret<String>>,
    /// Earlier master keys, base64, comma-separated (`TESSERA_PREVIOUS_MASTER_KEYS` or
    /// `_FILE`): kept during a rotation to open what they sealed until `keys rotate` ran.
    pub previous_master_keys: Option<crate::crypto::Secret<String>>,
    /// Seconds between signed audit checkpoints (and chain verifications) in the server.
    pub audit_checkpoint_interval_secs: u64,
    /// On SIGTERM or Ctrl-C: seconds to let in-flight requests and a running background job
    /// finish before the process exits anyway. New connections are refused at once.
    pub shutdown_grace_secs: u64,
    /// Bearer token `/metrics` requires (`TESSERA_METRICS_TOKEN[_FILE]`).
    pub metrics_token: Option<crate::crypto::Secret<String>>,
    /// Serve `/metrics` on this address instead of the main listener (a port the public
    /// ingress does not route to). `TESSERA_METRICS_LISTEN`.
    pub metrics_listen: Option<SocketAddr>,
    /// Serve `/metrics` on the main listener without a token (development only; `serve
    /// --demo` turns it on). Otherwise, without `metrics_token` or `metrics_listen`, the main
    /// listener's `/metrics` answers 404.
    pub metrics_public: bool,
    /// Load balancers and proxies whose `Forwarded` / `X-Forwarded-For` name the client
    /// (networks or addresses; `TESSERA_TRUSTED_PROXIES`, comma-separated). Empty: the
    /// client is the socket's peer and those headers are ignored.
    pub trusted_proxies: TrustedProxies,
    /// The header those proxies append the client to (`x-forwarded-for`, the default, or
    /// `forwarded`; `TESSERA_FORWARDED_HEADER`); the other is never read.
    pub forwarded_header: ForwardedHeader,
    /// Sign-in, sessions and CSRF.
    pub auth: Auth,
    /// GraphQL and HTTP limits.
    pub limits: Limits,
    /// Outbound requests (OIDC providers).
    pub network: Network,
    /// Attachment storage.
    pub storage: Storage,
    /// The background worker (workspace exports).
    pub jobs: Jobs,
    /// Request rate limits (token buckets), in-process or shared through Redis.
    pub rate_limits: RateLimits,
    /// Outbound webhook delivery.
    pub webhooks: Webhooks,
    /// Outgoing mail.
    pub mail: Mail,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            database_listen_url: None,
            migrator_database_url: None,
            role_prefix: "tessera".to_owned(),
            data_dir: PathBuf::from(".tessera"),
            pool_max_connections: 16,
            pool_max_lifetime_secs: 30 * 60,
            pool_max_workspaces_per_connection: 0,
            pool_acquire_timeout_secs: 5,
            statement_cache_capacity: 256,
            migrate_concurrency: 4,
            migrate_on_start: true,
            migrations_dir: None,
            master_key: None,
            previous_master_keys: None,
            audit_checkpoint_interval_secs: 300,
            shutdown_grace_secs: 25,
            metrics_token: None,
            metrics_listen: None,
            metrics_public: false,
            trusted_proxies: TrustedProxies::default(),
            forwarded_header: ForwardedHeader::default(),
            auth: Auth::default(),
            limits: Limits::default(),
            network: Network::default(),
            storage: Storage::default(),
            jobs: Jobs::default(),
            rate_limits: RateLimits::default(),
            webhooks: Webhooks::default(),
            mail: Mail::default(),
        }
    }
}

impl Config {
    /// Defaults → TOML file (if given) → environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, |k| std::env::var(k).ok())
    }

    /// Same as [`Config::load`] with an explicit environment, for tests.
    pub fn load_from(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| env("TESSERA_CONFIG").map(PathBuf::from));
        let mut cfg = match file {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse { path, source })?
            }
            None => Config::default(),
        };
        cfg.apply_env(&env)?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(smtp) = &self.mail.smtp {
            if smtp.host.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    key: "mail.smtp.host",
                    reason:
                        "set the relay's host name (or remove [mail.smtp] to use the local mailbox)"
                            .into(),
                });
            }
            // Credentials and messages (with their links) would cross the network in clear.
            let loopback = smtp.host == "localhost"
                || smtp
                    .host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if smtp.tls == SmtpTls::None && !loopback {
                return Err(ConfigError::Invalid {
                    key: "mail.smtp.tls",
                    reason: "none is only allowed for a relay on a loopback address".into(),
                });
            }
        }
        if self.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::Invalid {
                key: "mail.from",
                reason: "must be an address or `Name <address>`".into(),
            });
        }
        let prefix_ok = !self.role_prefix.is_empty()
            && self.role_prefix.len() <= 24
            && self
                .role_prefix
                .starts_with(|c: char| c.is_ascii_lowercase())
            && self
                .role_prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !prefix_ok {
            return Err(ConfigError::Invalid {
                key: "role_prefix",
                reason: "must match ^[a-z][a-z0-9_]{0,23}$".into(),
            });
        }
        if self.pool_max_connections == 0 {
            return Err(ConfigError::Invalid {
                key: "pool_max_connections",
                reason: "must be at least 1".into(),
            });
        }
        if self.migrate_concurrency == 0 {
            return Err(ConfigError::Invalid {
                key: "migrate_concurrency",
                reason: "must be at least 1".into(),
            });
        }
        let r = &self.rate_limits;
        for tier in std::iter::once(&r.default_tier).chain(r.workspaces.values()) {
            if !r.tiers.contains_key(tier) {
                return Err(ConfigError::Invalid {
                    key: "rate_limits.tiers",
                    reason: format!("tier {tier:?} is used but not defined"),
                });
            }
        }
        if r.tiers.values().any(|t| {
            [
                t.workspace_per_minute,
                t.actor_per_minute,
                t.upload_per_minute,
                t.download_per_minute,
                t.export_per_minute,
            ]
            .contains(&0)
        }) {
            return Err(ConfigError::Invalid {
                key: "rate_limits.tiers",
                reason: "every quota must be at least 1 (turn limits off with enabled = false)"
                    .into(),
            });
        }
        let l = &self.limits;
        if l.max_page_size < 1 || l.default_page_size < 1 || l.default_page_size > l.max_page_size {
            return Err(ConfigError::Invalid {
                key: "limits.max_page_size",
                reason: "need 1 <= default_page_size <= max_page_size".into(),
            });
        }
        Ok(())
    }

    pub fn pool_max_lifetime(&self) -> Duration {
        Duration::from_secs(self.pool_max_lifetime_secs)
    }

    /// The database role names derived from the prefix.
    pub fn roles(&self) -> crate::db::RoleNames {
        crate::db::RoleNames::new(&self.role_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_defaults_and_bad_values_are_errors() {
        let cfg = Config::load_from(None, |k| match k {
            "TESSERA_LISTEN" => Some("127.0.0.1:9999".into()),
            "TESSERA_MIGRATE_CONCURRENCY" => Some("8".into()),
            _ => None,
        });
        let cfg = match cfg {
            Ok(c) => c,
            Err(e) => panic!("unexpected error {e}"),
        };
        assert_eq!(cfg.listen.port(), 9999);
        assert_eq!(cfg.migrate_concurrency, 8);
        let bad = Config::load_from(None, |k| {
            (k == "TESSERA_MIGRATE_CONCURRENCY").then(|| "many".to_owned())
        });
        assert!(matches!(bad, Err(ConfigError::Invalid { .. })));
        let bad_prefix = Config::load_from(None, |k| {
            (k == "TESSERA_ROLE_PREFIX").then(|| "X;drop".into())
        });
        assert!(matches!(bad_prefix, Err(ConfigError::Invalid { .. })));
    }

    #[test]
    fn unknown_toml_keys_are_refused() {
        let dir = std::env::temp_dir().join(format!("tessera-cfg-{}", uuid::Uuid::new_v4()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("c.toml");
        let _ = std::fs::write(&path, "listne = \"127.0.0.1:1\"\n");
        let res = Config::load_from(Some(&path), |_| None);
        assert!(matches!(res, Err(ConfigError::Parse { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
