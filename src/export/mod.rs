//! Workspace export: one JSON document with every part of a workspace and a manifest.
//!
//! ```text
//! {"format":"tessera-workspace-export","version":1,"workspace":{...},
//!  "parts":{"teams":[...],"team_members":[...],"members":[...],"goals":[...],
//!           "projects":[...],"records":[...],"ideas":[...],"versions":[...],
//!           "attachments":[...],"audit":[...]},
//!  "manifest":{"schema_version":N,"counts":{...},"sha256":{...}}}
//! ```
//!
//! It is written as a stream from one `REPEATABLE READ` snapshot, row by row (PostgreSQL
//! renders each row with `to_jsonb`), so memory stays bounded whatever the workspace size.
//! Each part's SHA-256 is taken over its rows in order, each row as compact JSON with sorted
//! keys followed by `\n` — what a verifier gets by re-serialising the parsed rows the same
//! way. Members carry no secrets (no password hash, no token); the audit part carries each
//! entry's decrypted payload (or `"erased"`) with `prev_hash` and `hash`, so the chain can be
//! re-verified from the export (`docs/audit.md`).

use std::collections::BTreeMap;

pub mod import;
pub mod job;

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::audit::{self, Payload};
use crate::crypto::Keyring;
use crate::tenancy::TenantTx;

pub const FORMAT: &str = "tessera-workspace-export";
pub const VERSION: u32 = 1;

#[derive(Debug)]
pub enum ExportError {
    Io(std::io::Error),
    Db(sqlx::Error),
    Audit(String),
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "writing the export: {e}"),
            Self::Db(e) => write!(f, "reading the workspace: {e}"),
            Self::Audit(e) => write!(f, "reading the audit chain: {e}"),
        }
    }
}

impl std::error::Error for ExportError {}

impl From<std::io::Error> for ExportError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<sqlx::Error> for ExportError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

/// Counts and hashes of the parts written.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub schema_version: i32,
    pub counts: BTreeMap<String, u64>,
    pub sha256: BTreeMap<String, String>,
}

/// The tenant-schema and shared parts, in order: (name, query yielding one JSON row each).
const PARTS: &[(&str, &str)] = &[
    ("teams", "SELECT to_jsonb(t) FROM teams t ORDER BY t.id"),
    (
        "team_members",
        "SELECT to_jsonb(t) FROM team_members t ORDER BY t.team_id, t.user_id",
    ),
    (
        "members",
        "SELECT jsonb_build_object('user_id', u.id, 'email', u.email, 'display_name', u.display_name,
                                   'role', m.role, 'joined_at', m.created_at)
         FROM public.memberships m JOIN public.users u ON u.id = m.user_id
         WHERE m.tenant_id = $1 ORDER BY u.id",
    ),
    ("goals", "SELECT to_jsonb(t) FROM goals t ORDER BY t.id"),
    ("projects", "SELECT to_jsonb(t) FROM projects t ORDER BY t.id"),
    ("records", "SELECT to_jsonb(t) FROM records t ORDER BY t.id"),
    ("ideas", "SELECT to_jsonb(t) FROM ideas t ORDER BY t.id"),
    (
        "versions",
        "SELECT to_jsonb(t) FROM versions t ORDER BY t.entity_type, t.entity_id, t.version",
    ),
    (
        "attachments",
        "SELECT to_jsonb(t) - 'object_key' FROM attachments t ORDER BY t.id",
    ),
];

/// Writes parts as `"name":[row,row,...]`, hashing each row's canonical form.
struct PartWriter<'w, W> {
    out: &'w mut W,
    manifest: Manifest,
    first_part: bool,
}

impl<W: AsyncWrite + Unpin + Send> PartWriter<'_, W> {
    async fn begin(&mut self, name: &str) -> Result<(), ExportError> {
        let sep = if self.first_part { "" } else { "," };
        self.first_part = false;
        self.out
            .write_all(format!("{sep}\"{name}\":[").as_bytes())
            .await?;
        Ok(())
    }

    async fn row(
        &mut self,
        hasher: &mut Sha256,
        n: &mut u64,
        row: &serde_json::Value,
    ) -> Result<(), ExportError> {
        // `serde_json::Value` keeps object keys sorted: this is the canonical form.
        let bytes = serde_json::to_vec(row).map_err(|e| ExportError::Audit(e.to_string()))?;
        hasher.update(&bytes);
        hasher.update(b"\n");
        if *n > 0 {
            self.out.write_all(b",").await?;
        }
        self.out.write_all(&bytes).await?;
        *n += 1;
        Ok(())
    }

    async fn end(&mut self, name: &str, hasher: Sha256, n: u64) -> Result<(), ExportError> {
        self.out.write_all(b"]").await?;
        self.manifest.counts.insert(name.to_owned(), n);
        self.manifest
            .sha256
            .insert(name.to_owned(), hex::encode(hasher.finalize()));
        Ok(())
    }
}

/// Writes the whole export of the workspace of `tx` (which should be a
/// [`crate::tenancy::Access::Snapshot`] transaction) to `out`.
pub async fn write<W: AsyncWrite + Unpin + Send>(
    tx: &mut TenantTx,
    keyring: &Keyring,
    out: &mut W,
) -> Result<Manifest, ExportError> {
    let tenant_id = tx.tenant_id();
    let schema_version = tx.tenant().schema_version;
    let header = serde_json::json!({
        "id": tenant_id, "slug": tx.tenant().slug.as_str(), "name": tx.tenant().name,
    });
    out.write_all(
        format!(
            "{{\"format\":\"{FORMAT}\",\"version\":{VERSION},\"workspace\":{header},\"parts\":{{"
        )
        .as_bytes(),
    )
    .await?;
    let mut w = PartWriter {
        out,
        manifest: Manifest {
            schema_version,
            ..Manifest::default()
        },
        first_part: true,
    };
    for (part, sql) in PARTS {
        w.begin(part).await?;
        let (mut hasher, mut n) = (Sha256::new(), 0u64);
        let mut q = sqlx::query_scalar::<_, serde_json::Value>(sql);
        if sql.contains("$1") {
            q = q.bind(tenant_id);
        }
        let mut rows = q.fetch(tx.conn());
        while let Some(row) = rows.try_next().await? {
            w.row(&mut hasher, &mut n, &row).await?;
        }
        drop(rows);
        w.end(part, hasher, n).await?;
    }
    // The audit chain, page by page, payloads opened.
    w.begin("audit").await?;
    let (mut hasher, mut n) = (Sha256::new(), 0u64);
    let mut after = 0i64;
    loop {
        let page = audit::list(tx.conn(), keyring, tenant_id, after, 1000)
            .await
            .map_err(|e| ExportError::Audit(e.to_string()))?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            let row = serde_json::json!({
                "seq": e.seq, "at": e.at, "actor_type": e.actor_type, "actor_id": e.actor_id,
                "actor_user": e.actor_user, "action": e.action, "target_type": e.target_type,
                "target_id": e.target_id, "request_id": e.request_id, "client_ip": e.client_ip,
                "payload": match &e.payload {
                    Payload::Plain(v) => v.clone(),
                    Payload::Erased => serde_json::Value::String("erased".into()),
                },
                "prev_hash": hex::encode(&e.prev_hash), "hash": hex::encode(&e.hash),
            });
            w.row(&mut hasher, &mut n, &row).await?;
        }
    }
    w.end("audit", hasher, n).await?;
    let manifest = w.manifest;
    let m = serde_json::to_string(&manifest).map_err(|e| ExportError::Audit(e.to_string()))?;
    out.write_all(format!("}},\"manifest\":{m}}}\n").as_bytes())
        .await?;
    out.flush().await?;
    Ok(manifest)
}

/// Checks a parsed export against its manifest: every part present, counted and hashed as
/// the manifest says. Returns the manifest.
pub fn verify(doc: &serde_json::Value) -> Result<Manifest, String> {
    if doc["format"] != FORMAT || doc["version"] != VERSION {
        return Err("not a Tessera workspace export of a supported version".into());
    }
    let manifest: Manifest =
        serde_json::from_value(doc["manifest"].clone()).map_err(|e| format!("manifest: {e}"))?;
    let parts = doc["parts"].as_object().ok_or("the export has no parts")?;
    for (name, expected) in &manifest.sha256 {
        let rows = parts
            .get(name)
            .and_then(|p| p.as_array())
            .ok_or_else(|| format!("part {name} is missing"))?;
        let mut h = Sha256::new();
        for row in rows {
            h.update(serde_json::to_vec(row).map_err(|e| e.to_string())?);
            h.update(b"\n");
        }
        if &hex::encode(h.finalize()) != expected {
            return Err(format!("part {name} does not match its SHA-256"));
        }
        if manifest.counts.get(name) != Some(&(rows.len() as u64)) {
            return Err(format!("part {name} does not match its count"));
        }
    }
    if parts.keys().any(|k| !manifest.sha256.contains_key(k)) {
        return Err("a part is not in the manifest".into());
    }
    Ok(manifest)
}
