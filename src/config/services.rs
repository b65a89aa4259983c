//! Settings of what the server talks to: attachment storage, the background worker, webhook
//! delivery and the outbound address policy.

use std::path::PathBuf;

use serde::Deserialize;

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
    /// The bucket audit anchors are written to, created with Object Lock enabled (anchors
    /// are then kept in compliance mode for the workspace's retention window). Unset: the
    /// attachment bucket. Keep attachments out of a locked bucket's default retention, or
    /// deleting a workspace could not remove its files.
    pub anchor_bucket: Option<String>,
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
            anchor_bucket: None,
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
    /// Copy every signed audit checkpoint to the store as an anchor (see `docs/audit.md`).
    pub audit_anchors: bool,
}

impl Default for Storage {
    fn default() -> Self {
        Self {
            backend: Backend::Filesystem,
            dir: None,
            s3: S3::default(),
            max_upload_bytes: 25 * 1024 * 1024,
            url_ttl_secs: 60,
            audit_anchors: true,
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

/// Outgoing mail: invitations, address verification, password resets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mail {
    /// The sender: `Name <address>` or an address.
    pub from: String,
    /// The SMTP relay. Unset: mail is written to `mailbox_dir` instead (development, the demo).
    pub smtp: Option<Smtp>,
    /// Where mail goes without SMTP, one `.eml` file per message. Unset: `<data_dir>/mail`.
    pub mailbox_dir: Option<PathBuf>,
    /// Attempts per mail before it is given up.
    pub max_attempts: i32,
}

impl Mail {
    /// The local mailbox mail is written to when no SMTP relay is configured.
    pub fn mailbox(&self, data_dir: &std::path::Path) -> Option<PathBuf> {
        match self.smtp {
            Some(_) => None,
            None => Some(
                self.mailbox_dir
                    .clone()
                    .unwrap_or_else(|| data_dir.join("mail")),
            ),
        }
    }
}

impl Default for Mail {
    fn default() -> Self {
        Self {
            from: "Tessera <no-reply@tessera.invalid>".into(),
            smtp: None,
            mailbox_dir: None,
            max_attempts: 8,
        }
    }
}

/// How the connection to the SMTP relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only for a relay on a loopback address (a local test server).
    None,
}

/// An SMTP relay.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    /// Never logged (`TESSERA_SMTP_PASSWORD` or `_FILE`).
    pub password: Option<crate::crypto::Secret<String>>,
    /// Seconds one delivery may take.
    pub timeout_secs: u64,
}

impl Default for Smtp {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: None,
            password: None,
            timeout_secs: 20,
        }
    }
}
