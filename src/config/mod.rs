//! Typed, layered configuration: built-in defaults, then an optional TOML file, then
//! `TESSERA_*` environment variables. Unknown TOML keys are an error, so a typo cannot
//! silently fall back to a default. Secrets may be given as `*_FILE` paths.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

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
    /// Migrator database URL (owns every object). Unset: same host as `database_url` is not
    /// assumed; the embedded cluster provides one.
    pub migrator_database_url: Option<String>,
    /// Prefix of the database roles: `<prefix>_migrator`, `<prefix>_app`, `<prefix>_tenant`,
    /// and `<prefix>_t_<tenant id>` for each workspace.
    pub role_prefix: String,
    /// Where the embedded cluster and other local state live.
    pub data_dir: PathBuf,
    /// Maximum connections of the runtime pool.
    pub pool_max_connections: u32,
    /// Maximum lifetime of a pooled connection, in seconds (bounds per-backend catalog caches).
    pub pool_max_lifetime_secs: u64,
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
    /// Bearer token `/metrics` requires (`TESSERA_METRICS_TOKEN[_FILE]`). Unset: `/metrics`
    /// is open, for deployments that keep it off the public ingress.
    pub metrics_token: Option<crate::crypto::Secret<String>>,
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
}

/// How webhook messages are delivered. Destinations are also bound by `network`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Webhooks {
    /// Attempts per message before it is marked failed.
    pub max_attempts: i32,
    /// Delay before the first retry, in milliseconds; doubled per attempt (with jitter), at
    /// most one hour.
    pub retry_base_ms: u64,
    /// An endpoint is disabled after this many messages in a row failed every attempt.
    pub disable_after_failures: i32,
    /// Seconds a delivery may take (connect, send, response).
    pub timeout_secs: u64,
    /// Hours the previous secret keeps signing (second signature) after a rotation.
    pub rotation_overlap_hours: i32,
}

impl Default for Webhooks {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            retry_base_ms: 10_000,
            disable_after_failures: 5,
            timeout_secs: 10,
            rotation_overlap_hours: 24,
        }
    }
}

/// Token buckets per workspace, per actor (token or user) and per route. A tier is a set of
/// quotas; workspaces get `default_tier` unless `workspaces` names another for their slug.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// Off: no request limits (sign-in and sign-up limits stay on).
    pub enabled: bool,
    /// `redis://host:port[/db]`: buckets shared by every replica. Unset: in-process buckets,
    /// which each replica enforces on its own. Secret-like (may carry a password), so it can
    /// be given as `TESSERA_REDIS_URL_FILE`.
    pub redis_url: Option<crate::crypto::Secret<String>>,
    /// Prefix of every Redis key, so deployments can share one Redis.
    pub redis_prefix: String,
    /// The tier of workspaces not named in `workspaces`.
    pub default_tier: String,
    /// Quotas by tier name.
    pub tiers: std::collections::BTreeMap<String, Tier>,
    /// Workspace slug → tier name.
    pub workspaces: std::collections::BTreeMap<String, String>,
}

/// One tier's quotas, in operations per minute; each is also the burst a bucket allows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tier {
    /// All requests of a workspace, from every token and user.
    pub workspace_per_minute: u32,
    /// One token's or one user's requests, on every route. A GraphQL request counts once per
    /// root field (aliases included) and once per operation of a batch.
    pub actor_per_minute: u32,
    /// Attachment uploads by one actor.
    pub upload_per_minute: u32,
    /// Attachment and export downloads by one actor.
    pub download_per_minute: u32,
    /// Exports (streamed, CSV, background) by one actor.
    pub export_per_minute: u32,
}

impl Default for Tier {
    fn default() -> Self {
        Self {
            workspace_per_minute: 6_000,
            actor_per_minute: 1_200,
            upload_per_minute: 120,
            download_per_minute: 600,
            export_per_minute: 20,
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            enabled: true,
            redis_url: None,
            redis_prefix: "tessera".into(),
            default_tier: "standard".into(),
            tiers: [("standard".to_owned(), Tier::default())].into(),
            workspaces: Default::default(),
        }
    }
}

impl RateLimits {
    /// The quotas of a workspace.
    pub fn tier_of(&self, slug: &str) -> &Tier {
        static FALLBACK: std::sync::LazyLock<Tier> = std::sync::LazyLock::new(Tier::default);
        let name = self.workspaces.get(slug).unwrap_or(&self.default_tier);
        self.tiers.get(name).unwrap_or(&FALLBACK)
    }
}

/// The background worker: each server runs one; with several replicas each job is still run
/// by one worker at a time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Jobs {
    /// How often an idle worker looks for due jobs, in milliseconds.
    pub poll_interval_ms: u64,
    /// How long a claimed job is reserved for its worker, in seconds; a job whose worker
    /// died is claimed again after this.
    pub lease_secs: i32,
    /// Attempts before a job is given up (an export is then marked `failed`).
    pub max_attempts: i32,
    /// Days a finished background export stays downloadable before its file is deleted.
    pub export_keep_days: i32,
}

impl Default for Jobs {
    fn default() -> Self {
        Self {
            poll_interval_ms: 1000,
            lease_secs: 3600,
            max_attempts: 3,
            export_keep_days: 7,
        }
    }
}

/// Which attachment store to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Filesystem,
    S3,
}

/// An S3-compatible service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3 {
    /// Endpoint URL; unset: AWS's own for the region.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), as most S3-compatible servers need.
    pub path_style: bool,
    /// Credentials; unset: the standard AWS chain (environment, profile, instance role).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<crate::crypto::Secret<String>>,
}

impl Default for S3 {
    fn default() -> Self {
        Self {
            endpoint: None,
            region: "us-east-1".into(),
            bucket: None,
            path_style: false,
            access_key_id: None,
            secret_access_key: None,
        }
    }
}

/// Attachment storage.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Storage {
    /// `filesystem` (the default) or `s3`.
    pub backend: Backend,
    /// Where the filesystem backend keeps objects. Unset: `<data_dir>/blobs`.
    pub dir: Option<PathBuf>,
    pub s3: S3,
    /// Largest accepted upload, in bytes (413 beyond).
    pub max_upload_bytes: u64,
    /// How long a signed download link works, in seconds.
    pub url_ttl_secs: i64,
}

impl Default for Storage {
    fn default() -> Self {
        Self {
            backend: Backend::Filesystem,
            dir: None,
            s3: S3::default(),
            max_upload_bytes: 25 * 1024 * 1024,
            url_ttl_secs: 60,
        }
    }
}

/// Which destinations outbound requests may reach besides public addresses. Cloud metadata
/// and link-local addresses are never reachable.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    /// Allow loopback addresses (tests, single-host development).
    pub allow_loopback: bool,
    /// Allow private ranges (RFC 1918, CGNAT, unique-local IPv6).
    pub allow_private: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    /// Allow `POST /auth/signup`.
    pub signup_enabled: bool,
    /// Minimum password length, in characters (at least 8).
    pub password_min_length: usize,
    /// Argon2id memory cost in KiB.
    pub argon2_memory_kib: u32,
    /// Argon2id iterations.
    pub argon2_iterations: u32,
    /// Argon2id lanes.
    pub argon2_parallelism: u32,
    /// Password hashes computed at once; further sign-ins wait up to 2 s, then get 503.
    pub max_concurrent_hashes: usize,
    /// A session ends after this many idle seconds.
    pub session_idle_secs: i32,
    /// A session ends this many seconds after sign-in, however active.
    pub session_absolute_secs: i32,
    /// Origins (scheme://host[:port]) allowed to make cookie-authenticated writes besides
    /// the server's own.
    pub allowed_origins: Vec<String>,
    /// Development only: name the cookie without `__Host-` and drop `Secure`, for plain
    /// HTTP on loopback. Never enable it in production.
    pub dev_insecure_cookies: bool,
    /// The origin browsers use to reach Tessera (`https://host[:port]`): the WebAuthn relying
    /// party (its host is the RP id) and the base of OIDC redirect URIs.
    pub public_origin: String,
    /// Sign-in attempts per minute from one IP address.
    pub signin_per_minute_per_ip: u32,
    /// Sign-in attempts per minute for one account (email), from anywhere.
    pub signin_per_minute_per_account: u32,
    /// Sign-ups per minute from one IP address.
    pub signup_per_minute_per_ip: u32,
    /// Second-factor attempts (TOTP or recovery code) per minute for one account. Every
    /// attempt counts, including each alias of a GraphQL request.
    pub second_factor_per_minute_per_account: u32,
    /// Second-factor attempts per minute from one IP address.
    pub second_factor_per_minute_per_ip: u32,
    /// How recent a second-factor check must be for sensitive changes (disabling a factor,
    /// changing the password, regenerating recovery codes) made without a code.
    pub reauth_window_secs: i64,
}

impl Default for Auth {
    fn default() -> Self {
        Self {
            signup_enabled: true,
            password_min_length: 12,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            max_concurrent_hashes: 4,
            session_idle_secs: 2 * 3600,
            session_absolute_secs: 7 * 24 * 3600,
            allowed_origins: Vec::new(),
            dev_insecure_cookies: false,
            public_origin: "https://localhost".into(),
            signin_per_minute_per_ip: 30,
            signin_per_minute_per_account: 10,
            signup_per_minute_per_ip: 5,
            second_factor_per_minute_per_account: 5,
            second_factor_per_minute_per_ip: 30,
            reauth_window_secs: 300,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest accepted request body, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Longest accepted query document, in bytes.
    pub max_query_bytes: usize,
    /// Deepest bracket nesting (`{`, `[`, `(`) accepted before the parser runs.
    pub max_nesting: usize,
    /// Maximum selection depth.
    pub max_depth: usize,
    /// Maximum aliased fields in one operation (fragment spreads counted each time).
    pub max_aliases: usize,
    /// Most operations in one batched request (a JSON array); 0 refuses batches.
    pub max_batch: usize,
    /// Automatic persisted queries remembered per server (oldest out first); 0 turns them off.
    pub apq_entries: usize,
    /// Parsed query documents remembered per server (oldest out first); 0 turns it off.
    pub document_cache_entries: usize,
    /// Maximum complexity, with list fields counted as `first × child`.
    pub max_complexity: usize,
    /// Largest page size a list field accepts.
    pub max_page_size: i32,
    /// Default page size when `first` is not given.
    pub default_page_size: i32,
    /// Request timeout in seconds.
    pub request_timeout_secs: u64,
    /// Allow introspection queries.
    pub introspection: bool,
    /// Diagnostics: report the number of SQL statements a tenant request issued in the
    /// response's `extensions.tessera.statements`. Off in production.
    pub report_statement_count: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 256 * 1024,
            max_query_bytes: 32 * 1024,
            max_nesting: 48,
            max_depth: 12,
            max_aliases: 30,
            max_batch: 10,
            apq_entries: 1000,
            document_cache_entries: 512,
            max_complexity: 20_000,
            max_page_size: 100,
            default_page_size: 20,
            request_timeout_secs: 30,
            introspection: true,
            report_statement_count: false,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            migrator_database_url: None,
            role_prefix: "tessera".to_owned(),
            data_dir: PathBuf::from(".tessera"),
            pool_max_connections: 16,
            pool_max_lifetime_secs: 30 * 60,
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
            auth: Auth::default(),
            limits: Limits::default(),
            network: Network::default(),
            storage: Storage::default(),
            jobs: Jobs::default(),
            rate_limits: RateLimits::default(),
            webhooks: Webhooks::default(),
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

    fn apply_env(&mut self, env: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(key: &'static str, v: String) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
                key,
                reason: e.to_string(),
            })
        }
        let secret = |key: &'static str| -> Result<Option<String>, ConfigError> {
            if let Some(v) = env(key) {
                return Ok(Some(v));
            }
            let file_key = format!("{key}_FILE");
            match env(&file_key) {
                Some(path) => std::fs::read_to_string(&path)
                    .map(|s| Some(s.trim().to_owned()))
                    .map_err(|e| ConfigError::Invalid {
                        key,
                        reason: format!("cannot read {path}: {e}"),
                    }),
                None => Ok(None),
            }
        };
        if let Some(v) = env("TESSERA_LISTEN") {
            self.listen = parse("TESSERA_LISTEN", v)?;
        }
        if let Some(v) = secret("TESSERA_DATABASE_URL")? {
            self.database_url = Some(v);
        }
        if let Some(v) = secret("TESSERA_MIGRATOR_DATABASE_URL")? {
            self.migrator_database_url = Some(v);
        }
        if let Some(v) = secret("TESSERA_MASTER_KEY")? {
            self.master_key = Some(crate::crypto::Secret::new(v));
        }
        if let Some(v) = secret("TESSERA_PREVIOUS_MASTER_KEYS")? {
            self.previous_master_keys = Some(crate::crypto::Secret::new(v));
        }
        if let Some(v) = env("TESSERA_AUDIT_CHECKPOINT_INTERVAL_SECS") {
            self.audit_checkpoint_interval_secs =
                parse("TESSERA_AUDIT_CHECKPOINT_INTERVAL_SECS", v)?;
        }
        if let Some(v) = secret("TESSERA_METRICS_TOKEN")? {
            self.metrics_token = Some(crate::crypto::Secret::new(v));
        }
        if let Some(v) = secret("TESSERA_REDIS_URL")? {
            self.rate_limits.redis_url = Some(crate::crypto::Secret::new(v));
        }
        if let Some(v) = env("TESSERA_RATE_LIMITS_ENABLED") {
            self.rate_limits.enabled = parse("TESSERA_RATE_LIMITS_ENABLED", v)?;
        }
        if let Some(v) = env("TESSERA_SHUTDOWN_GRACE_SECS") {
            self.shutdown_grace_secs = parse("TESSERA_SHUTDOWN_GRACE_SECS", v)?;
        }
        if let Some(v) = env("TESSERA_ROLE_PREFIX") {
            self.role_prefix = v;
        }
        if let Some(v) = env("TESSERA_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("TESSERA_POOL_MAX_CONNECTIONS") {
            self.pool_max_connections = parse("TESSERA_POOL_MAX_CONNECTIONS", v)?;
        }
        if let Some(v) = env("TESSERA_POOL_MAX_LIFETIME_SECS") {
            self.pool_max_lifetime_secs = parse("TESSERA_POOL_MAX_LIFETIME_SECS", v)?;
        }
        if let Some(v) = env("TESSERA_MIGRATE_CONCURRENCY") {
            self.migrate_concurrency = parse("TESSERA_MIGRATE_CONCURRENCY", v)?;
        }
        if let Some(v) = env("TESSERA_MIGRATE_ON_START") {
            self.migrate_on_start = parse("TESSERA_MIGRATE_ON_START", v)?;
        }
        if let Some(v) = env("TESSERA_MIGRATIONS_DIR") {
            self.migrations_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = env("TESSERA_SIGNUP_ENABLED") {
            self.auth.signup_enabled = parse("TESSERA_SIGNUP_ENABLED", v)?;
        }
        if let Some(v) = env("TESSERA_ALLOWED_ORIGINS") {
            self.auth.allowed_origins = v
                .split(',')
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect();
        }
        if let Some(v) = env("TESSERA_ALLOW_LOOPBACK_OUTBOUND") {
            self.network.allow_loopback = parse("TESSERA_ALLOW_LOOPBACK_OUTBOUND", v)?;
        }
        if let Some(v) = env("TESSERA_STORAGE_BACKEND") {
            self.storage.backend = match v.as_str() {
                "filesystem" => Backend::Filesystem,
                "s3" => Backend::S3,
                _ => {
                    return Err(ConfigError::Invalid {
                        key: "TESSERA_STORAGE_BACKEND",
                        reason: "filesystem or s3".into(),
                    });
                }
            };
        }
        if let Some(v) = env("TESSERA_S3_ENDPOINT") {
            self.storage.s3.endpoint = Some(v);
        }
        if let Some(v) = env("TESSERA_S3_REGION") {
            self.storage.s3.region = v;
        }
        if let Some(v) = env("TESSERA_S3_BUCKET") {
            self.storage.s3.bucket = Some(v);
        }
        if let Some(v) = env("TESSERA_S3_PATH_STYLE") {
            self.storage.s3.path_style = parse("TESSERA_S3_PATH_STYLE", v)?;
        }
        if let Some(v) = env("TESSERA_STORAGE_DIR") {
            self.storage.dir = Some(PathBuf::from(v));
        }
        if let Some(v) = env("TESSERA_MAX_UPLOAD_BYTES") {
            self.storage.max_upload_bytes = parse("TESSERA_MAX_UPLOAD_BYTES", v)?;
        }
        if let Some(v) = env("TESSERA_PUBLIC_ORIGIN") {
            self.auth.public_origin = v;
        }
        if let Some(v) = env("TESSERA_DEV_INSECURE_COOKIES") {
            self.auth.dev_insecure_cookies = parse("TESSERA_DEV_INSECURE_COOKIES", v)?;
        }
        if let Some(v) = env("TESSERA_MAX_BODY_BYTES") {
            self.limits.max_body_bytes = parse("TESSERA_MAX_BODY_BYTES", v)?;
        }
        if let Some(v) = env("TESSERA_MAX_PAGE_SIZE") {
            self.limits.max_page_size = parse("TESSERA_MAX_PAGE_SIZE", v)?;
        }
        if let Some(v) = env("TESSERA_INTROSPECTION") {
            self.limits.introspection = parse("TESSERA_INTROSPECTION", v)?;
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
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
