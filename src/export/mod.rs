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
//! It is written as a stream from one `REPEATABLE READ` snapshot, row by row, so memory stays
//! bounded whatever the workspace size. Rows arrive as typed columns and are written as JSON
//! here (timestamps in RFC 3339 UTC, `bytea` as `\x` hex), which is faster than having
//! PostgreSQL render them (`docs/benchmarks.md`).
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
use crate::db;
use crate::tenancy::TenantTx;

pub const FORMAT: &str = "tessera-workspace-export";
pub const VERSION: u32 = 1;

#[derive(Debug)]
pub enum ExportError {
    Io(std::io::Error),
    Db(db::Error),
    Audit(String),
    /// A column of a type the export cannot render (found before anything is written).
    Unsupported(String),
    Encode(serde_json::Error),
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "writing the export: {e}"),
            Self::Db(e) => write!(f, "reading the workspace: {e}"),
            Self::Audit(e) => write!(f, "reading the audit chain: {e}"),
            Self::Unsupported(e) => write!(f, "cannot export column {e}"),
            Self::Encode(e) => write!(f, "encoding a row: {e}"),
        }
    }
}

impl std::error::Error for ExportError {}

impl From<std::io::Error> for ExportError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<db::Error> for ExportError {
    fn from(e: db::Error) -> Self {
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

/// The tenant-schema and shared parts, in order: (name, query, columns left out). Every
/// column of the query is exported under its own name, so a column added by a migration is
/// exported without a change here.
const PARTS: &[(&str, &str, &[&str])] = &[
    ("teams", "SELECT * FROM teams ORDER BY id", &[]),
    (
        "team_members",
        "SELECT * FROM team_members ORDER BY team_id, user_id",
        &[],
    ),
    (
        "members",
        "SELECT u.id AS user_id, u.email, u.display_name, m.role, m.created_at AS joined_at
         FROM public.memberships m JOIN public.users u ON u.id = m.user_id
         WHERE m.tenant_id = $1 ORDER BY u.id",
        &[],
    ),
    ("goals", "SELECT * FROM goals ORDER BY id", &[]),
    ("projects", "SELECT * FROM projects ORDER BY id", &[]),
    ("records", "SELECT * FROM records ORDER BY id", &[]),
    ("ideas", "SELECT * FROM ideas ORDER BY id", &[]),
    (
        "versions",
        "SELECT * FROM versions ORDER BY entity_type, entity_id, version",
        &[],
    ),
    // Where the file lives is internal.
    (
        "attachments",
        "SELECT * FROM attachments ORDER BY id",
        &["object_key"],
    ),
];

/// How a column's value becomes JSON.
#[derive(Debug, Clone, Copy)]
enum Render {
    Uuid,
    Text,
    Int2,
    Int4,
    Int8,
    Bool,
    /// RFC 3339 in UTC.
    Timestamptz,
    Json,
    /// `\x` and hex, as PostgreSQL writes `bytea`.
    Bytea,
}

impl Render {
    fn of(type_name: &str) -> Option<Self> {
        Some(match type_name {
            "UUID" => Self::Uuid,
            "TEXT" | "VARCHAR" | "NAME" => Self::Text,
            "INT2" => Self::Int2,
            "INT4" => Self::Int4,
            "INT8" => Self::Int8,
            "BOOL" => Self::Bool,
            "TIMESTAMPTZ" => Self::Timestamptz,
            "JSONB" | "JSON" => Self::Json,
            "BYTEA" => Self::Bytea,
            _ => return None,
        })
    }
}

/// The columns of a part in canonical order (sorted by name, as `serde_json::Value` sorts
/// object keys), with their JSON key already encoded.
struct Plan {
    columns: Vec<(usize, Vec<u8>, Render)>,
}

impl Plan {
    /// From the query's description, before any row is read: a column of a type without a
    /// rendering fails the export before it starts.
    async fn describe(
        conn: &mut db::Conn,
        part: &str,
        sql: &str,
        skip: &[&str],
    ) -> Result<Self, ExportError> {
        let mut columns = Vec::new();
        for (i, (name, ty)) in db::result_columns(conn, sql).await?.into_iter().enumerate() {
            if skip.contains(&name.as_str()) {
                continue;
            }
            let render = Render::of(&ty)
                .ok_or_else(|| ExportError::Unsupported(format!("{part}.{name} has type {ty}")))?;
            let key = serde_json::to_vec(&name).map_err(ExportError::Encode)?;
            columns.push((i, name, key, render));
        }
        columns.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(Self {
            columns: columns.into_iter().map(|(i, _, k, r)| (i, k, r)).collect(),
        })
    }

    /// Writes `row` as compact JSON with sorted keys into `out` (cleared first): the same
    /// bytes `serde_json` gives for the equivalent `Value`, without building one.
    fn render(&self, row: &db::Row, out: &mut Vec<u8>) -> Result<(), ExportError> {
        use db::RowExt;
        out.clear();
        out.push(b'{');
        for (n, (i, key, render)) in self.columns.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            out.push(b':');
            let i = *i;
            let json = |out: &mut Vec<u8>, v: &dyn erased::Json| v.write(out);
            match render {
                Render::Uuid => match row.try_get::<Option<uuid::Uuid>, _>(i)? {
                    Some(u) => {
                        out.push(b'"');
                        out.extend_from_slice(
                            u.hyphenated()
                                .encode_lower(&mut uuid::Uuid::encode_buffer())
                                .as_bytes(),
                        );
                        out.push(b'"');
                    }
                    None => out.extend_from_slice(b"null"),
                },
                Render::Text => json(out, &row.try_get::<Option<String>, _>(i)?)?,
                Render::Int2 => json(out, &row.try_get::<Option<i16>, _>(i)?)?,
                Render::Int4 => json(out, &row.try_get::<Option<i32>, _>(i)?)?,
                Render::Int8 => json(out, &row.try_get::<Option<i64>, _>(i)?)?,
                Render::Bool => json(out, &row.try_get::<Option<bool>, _>(i)?)?,
                Render::Json => json(out, &row.try_get::<Option<serde_json::Value>, _>(i)?)?,
                Render::Timestamptz => json(
                    out,
                    &row.try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(i)?
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
                )?,
                Render::Bytea => json(
                    out,
                    &row.try_get::<Option<Vec<u8>>, _>(i)?
                        .map(|b| format!("\\x{}", hex::encode(b))),
                )?,
            }
        }
        out.push(b'}');
        Ok(())
    }
}

/// Serialising any value through `serde_json` behind one object-safe call.
mod erased {
    pub trait Json {
        fn write(&self, out: &mut Vec<u8>) -> Result<(), super::ExportError>;
    }

    impl<T: serde::Serialize> Json for T {
        fn write(&self, out: &mut Vec<u8>) -> Result<(), super::ExportError> {
            serde_json::to_writer(out, self).map_err(super::ExportError::Encode)
        }
    }
}

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
        let bytes = serde_json::to_vec(row).map_err(ExportError::Encode)?;
        self.raw(hasher, n, &bytes).await
    }

    /// A row already in canonical form.
    async fn raw(
        &mut self,
        hasher: &mut Sha256,
        n: &mut u64,
        bytes: &[u8],
    ) -> Result<(), ExportError> {
        hasher.update(bytes);
        hasher.update(b"\n");
        if *n > 0 {
            self.out.write_all(b",").await?;
        }
        self.out.write_all(bytes).await?;
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
    // Rows are small: write them in 64 KiB batches.
    let mut out = tokio::io::BufWriter::with_capacity(64 * 1024, out);
    let out = &mut out;
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
    let mut buf = Vec::with_capacity(1024);
    for (part, sql, skip) in PARTS {
        let plan = Plan::describe(tx.conn(), part, sql, skip).await?;
        w.begin(part).await?;
        let (mut hasher, mut n) = (Sha256::new(), 0u64);
        let mut q = db::query(sql);
        if sql.contains("$1") {
            q = q.bind(tenant_id);
        }
        let mut rows = q.fetch(tx.conn());
        while let Some(row) = rows.try_next().await? {
            plan.render(&row, &mut buf)?;
            w.raw(&mut hasher, &mut n, &buf).await?;
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
    let m = serde_json::to_string(&manifest).map_err(ExportError::Encode)?;
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
