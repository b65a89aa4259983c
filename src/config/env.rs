//! The environment layer: `TESSERA_*` variables over the defaults and the TOML file, with
//! `_FILE` variants for secrets.

use std::path::PathBuf;

use super::{Backend, Config, ConfigError};

impl Config {
    pub(super) fn apply_env(
        &mut self,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
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
        if let Some(v) = secret("TESSERA_DATABASE_LISTEN_URL")? {
            self.database_listen_url = Some(v);
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
        if let Some(v) = env("TESSERA_METRICS_LISTEN") {
            self.metrics_listen = Some(parse("TESSERA_METRICS_LISTEN", v)?);
        }
        if let Some(v) = env("TESSERA_METRICS_PUBLIC") {
            self.metrics_public = parse("TESSERA_METRICS_PUBLIC", v)?;
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
        if let Some(v) = env("TESSERA_POOL_MAX_WORKSPACES_PER_CONNECTION") {
            self.pool_max_workspaces_per_connection =
                parse("TESSERA_POOL_MAX_WORKSPACES_PER_CONNECTION", v)?;
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
        if let Some(v) = env("TESSERA_S3_ANCHOR_BUCKET") {
            self.storage.s3.anchor_bucket = Some(v);
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
        if let Some(v) = env("TESSERA_MAIL_FROM") {
            self.mail.from = v;
        }
        if let Some(v) = env("TESSERA_MAILBOX_DIR") {
            self.mail.mailbox_dir = Some(PathBuf::from(v));
        }
        if let Some(host) = env("TESSERA_SMTP_HOST") {
            let smtp = self.mail.smtp.get_or_insert_with(Default::default);
            smtp.host = host;
        }
        if let Some(smtp) = self.mail.smtp.as_mut() {
            if let Some(v) = env("TESSERA_SMTP_PORT") {
                smtp.port = parse("TESSERA_SMTP_PORT", v)?;
            }
            if let Some(v) = env("TESSERA_SMTP_TLS") {
                smtp.tls = match v.trim() {
                    "starttls" => super::SmtpTls::Starttls,
                    "tls" => super::SmtpTls::Tls,
                    "none" => super::SmtpTls::None,
                    _ => {
                        return Err(ConfigError::Invalid {
                            key: "TESSERA_SMTP_TLS",
                            reason: "starttls, tls or none".into(),
                        });
                    }
                };
            }
            if let Some(v) = env("TESSERA_SMTP_USERNAME") {
                smtp.username = Some(v);
            }
            if let Some(v) = secret("TESSERA_SMTP_PASSWORD")? {
                smtp.password = Some(crate::crypto::Secret::new(v));
            }
        }
        if let Some(v) = env("TESSERA_TRUSTED_PROXIES") {
            self.trusted_proxies = parse("TESSERA_TRUSTED_PROXIES", v)?;
        }
        if let Some(v) = env("TESSERA_FORWARDED_HEADER") {
            self.forwarded_header = parse("TESSERA_FORWARDED_HEADER", v)?;
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
}
