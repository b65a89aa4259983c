//! Audit export for a date range and action set: JSON Lines or CSV, written page by page to
//! an async writer (memory stays bounded however long the chain is, and a slow reader slows
//! the export instead of filling memory). Each entry carries its sealed payload,
//! `prev_hash` and `hash`, so an export can be checked against the chain without Tessera:
//! `docs/audit.md` has the recipe and `scripts/verify_audit_export.py` implements it.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use uuid::Uuid;

use super::chain::{Filter, Payload, list_filtered};
use super::error::AuditError;
use crate::crypto::Keyring;
use crate::db;

const PAGE: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    JsonLines,
    Csv,
}

#[derive(Debug)]
pub enum ExportError {
    Audit(AuditError),
    Io(std::io::Error),
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Audit(e) => write!(f, "{e}"),
            Self::Io(e) => write!(f, "write failed: {e}"),
        }
    }
}

fn csv_field(s: &str) -> String {
    // Quote everything; neutralise spreadsheet formulas.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Writes the tenant's entries matching `filter`. Returns the number written.
pub async fn export(
    conn: &mut db::Conn,
    keyring: &Keyring,
    tenant_id: Uuid,
    filter: &Filter,
    format: Format,
    out: &mut (impl AsyncWrite + Unpin),
) -> Result<u64, ExportError> {
    let io = ExportError::Io;
    // Each page is formatted here, then written out before the next is read.
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let buf = &mut buf;
    match format {
        Format::JsonLines => {
            let key_id = keyring.current().id();
            let public = keyring
                .checkpoint_verifier(key_id)
                .map(|v| STANDARD.encode(v.to_bytes()))
                .unwrap_or_default();
            writeln!(
                buf,
                "{}",
                serde_json::json!({
                    "format": "tessera-audit-export-v1",
                    "tenant_id": tenant_id,
                    // Ed25519 public key that signs checkpoints, by master key id.
                    "checkpoint_keys": { key_id.to_string(): public },
                })
            )
            .map_err(io)?
        }
        Format::Csv => writeln!(
            buf,
            "seq,at,actor_type,actor_id,actor_user,action,target_type,target_id,request_id,client_ip,payload,erased,prev_hash,hash"
        )
        .map_err(io)?,
    }
    let (mut after, mut count) = (0i64, 0u64);
    loop {
        let page = list_filtered(conn, keyring, tenant_id, filter, after, PAGE)
            .await
            .map_err(ExportError::Audit)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            let (payload, erased) = match &e.payload {
                Payload::Plain(v) => (v.clone(), false),
                Payload::Erased => (serde_json::Value::Null, true),
            };
            match format {
                Format::JsonLines => {
                    let line = serde_json::json!({
                        "seq": e.seq,
                        "at": e.at,
                        "at_micros": e.at.timestamp_micros(),
                        "actor_type": e.actor_type,
                        "actor_id": e.actor_id,
                        "actor_user": e.actor_user,
                        "action": e.action,
                        "target_type": e.target_type,
                        "target_id": e.target_id,
                        "request_id": e.request_id,
                        "client_ip": e.client_ip,
                        "payload": payload,
                        "erased": erased,
                        "sealed_payload": e.sealed.as_ref().map(|b| STANDARD.encode(b)),
                        "prev_hash": hex::encode(&e.prev_hash),
                        "hash": hex::encode(&e.hash),
                    });
                    writeln!(buf, "{line}").map_err(io)?;
                }
                Format::Csv => {
                    let fields = [
                        e.seq.to_string(),
                        e.at.to_rfc3339(),
                        e.actor_type.clone(),
                        e.actor_id.clone(),
                        e.actor_user.clone(),
                        e.action.clone(),
                        e.target_type.clone(),
                        e.target_id.clone(),
                        e.request_id.clone(),
                        e.client_ip.clone(),
                        payload.to_string(),
                        erased.to_string(),
                        hex::encode(&e.prev_hash),
                        hex::encode(&e.hash),
                    ];
                    let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                    writeln!(buf, "{}", row.join(",")).map_err(io)?;
                }
            }
            count += 1;
        }
        out.write_all(buf).await.map_err(io)?;
        buf.clear();
    }
    if format == Format::JsonLines {
        // The signed checkpoints, so the export can be checked against them.
        let checkpoints = super::checkpoints::list(&mut *conn, tenant_id)
            .await
            .map_err(|e| ExportError::Audit(AuditError::Db(e)))?;
        for c in checkpoints {
            let line = serde_json::json!({ "checkpoint": {
                "seq": c.seq,
                "hash": hex::encode(&c.hash),
                "signature": STANDARD.encode(&c.signature),
                "key_id": c.key_id,
                // Chained checkpoints (see `checkpoints`): null on older, unchained ones.
                "counter": c.counter,
                "prev_checkpoint": c.prev_checkpoint.as_deref().map(hex::encode),
                // A restore checkpoint (see `docs/audit.md`).
                "restored": c.restored,
            }});
            writeln!(buf, "{line}").map_err(io)?;
        }
    }
    out.write_all(buf).await.map_err(io)?;
    out.flush().await.map_err(io)?;
    Ok(count)
}
