//! Verifying an audit export without the database or the server's keys:
//! `tessera audit verify-export <file> [--receipts <dir>] [--keys <file>]`. The same checks
//! as `scripts/verify_audit_export.py`, which re-implements them from `docs/audit.md`.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use uuid::Uuid;

use super::chain::{canonical_bytes, entry_hash};
use super::checkpoints::{Stored, link_problem};
use super::receipts::{FORMAT as RECEIPT_FORMAT, Receipt};
use super::verify::Break;

/// What an export held, once verified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfflineReport {
    pub entries: u64,
    pub checkpoints: usize,
    /// Checkpoint and receipt signatures checked against a known key.
    pub signatures: usize,
    pub receipts: usize,
}

fn broken(seq: i64, reason: impl Into<String>) -> Break {
    Break {
        seq,
        reason: reason.into(),
    }
}

#[derive(serde::Deserialize)]
struct Line {
    seq: i64,
    at_micros: i64,
    actor_type: String,
    actor_id: String,
    actor_user: String,
    action: String,
    target_type: String,
    target_id: String,
    request_id: String,
    client_ip: String,
    sealed_payload: Option<String>,
    prev_hash: String,
    hash: String,
}

#[derive(serde::Deserialize)]
struct CheckpointLine {
    seq: i64,
    hash: String,
    signature: String,
    key_id: i64,
    counter: Option<i64>,
    prev_checkpoint: Option<String>,
    #[serde(default)]
    restored: bool,
}

fn hex32(s: &str) -> Option<Vec<u8>> {
    hex::decode(s).ok().filter(|b| b.len() == 32)
}

/// Public keys by id, from a `/.well-known/tessera-audit-keys` document.
pub fn keys_document(text: &str) -> Result<HashMap<i64, VerifyingKey>, String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("the keys file is not JSON: {e}"))?;
    let mut out = HashMap::new();
    for k in doc["keys"].as_array().into_iter().flatten() {
        let (Some(id), Some(public)) = (k["key_id"].as_i64(), k["public_key"].as_str()) else {
            return Err("a key lacks key_id or public_key".into());
        };
        out.insert(id, public_key(public)?);
    }
    Ok(out)
}

fn public_key(b64: &str) -> Result<VerifyingKey, String> {
    let bytes: [u8; 32] = STANDARD
        .decode(b64)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("a public key is not 32 bytes of base64")?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("a public key does not parse: {e}"))
}

fn signed_by(c: &Stored, tenant_id: Uuid, keys: &HashMap<i64, VerifyingKey>) -> Option<bool> {
    let key = keys.get(&c.key_id)?;
    Some(
        Signature::from_slice(&c.signature)
            .map(|s| key.verify(&c.message(tenant_id), &s).is_ok())
            .unwrap_or(false),
    )
}

/// Verifies an export (JSON Lines) and receipts. `keys` adds public keys to those the
/// export's header names (for example the published document, kept with the receipts).
pub fn verify_export(
    text: &str,
    receipts: &[Receipt],
    mut keys: HashMap<i64, VerifyingKey>,
) -> Result<OfflineReport, Break> {
    let mut lines = text.lines();
    let header: serde_json::Value = lines
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| broken(0, "the file does not start with an export header"))?;
    if header["format"] != "tessera-audit-export-v1" {
        return Err(broken(0, "not a tessera audit export"));
    }
    let tenant_id = header["tenant_id"]
        .as_str()
        .and_then(|t| Uuid::parse_str(t).ok())
        .ok_or_else(|| broken(0, "the header names no workspace"))?;
    for (id, public) in header["checkpoint_keys"].as_object().into_iter().flatten() {
        if let (Ok(id), Some(public)) = (id.parse::<i64>(), public.as_str())
            && let Ok(k) = public_key(public)
        {
            keys.entry(id).or_insert(k);
        }
    }
    let mut report = OfflineReport::default();
    let mut hashes: BTreeMap<i64, Vec<u8>> = BTreeMap::new();
    let mut checkpoints = Vec::new();
    let mut previous: Option<(i64, Vec<u8>)> = None;
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|_| broken(0, "a line is not JSON"))?;
        if let Some(c) = v.get("checkpoint") {
            let c: CheckpointLine = serde_json::from_value(c.clone())
                .map_err(|_| broken(0, "a checkpoint line does not parse"))?;
            checkpoints.push(Stored {
                seq: c.seq,
                hash: hex32(&c.hash)
                    .ok_or_else(|| broken(c.seq, "a checkpoint hash is not hex"))?,
                signature: STANDARD
                    .decode(&c.signature)
                    .map_err(|_| broken(c.seq, "a checkpoint signature is not base64"))?,
                key_id: c.key_id,
                counter: c.counter,
                prev_checkpoint: c.prev_checkpoint.as_deref().and_then(hex32),
                restored: c.restored,
            });
            continue;
        }
        let e: Line =
            serde_json::from_value(v).map_err(|_| broken(0, "an entry line does not parse"))?;
        let sealed = e
            .sealed_payload
            .as_deref()
            .map(|p| STANDARD.decode(p))
            .transpose()
            .map_err(|_| broken(e.seq, "a sealed payload is not base64"))?;
        let prev = hex32(&e.prev_hash).ok_or_else(|| broken(e.seq, "prev_hash is not hex"))?;
        let canonical = canonical_bytes(
            tenant_id,
            e.seq,
            e.at_micros,
            (&e.actor_type, &e.actor_id, &e.actor_user),
            &e.action,
            (&e.target_type, &e.target_id),
            (&e.request_id, &e.client_ip),
            sealed.as_deref(),
        );
        let hash = entry_hash(&prev, &canonical);
        if hex::encode(hash) != e.hash {
            return Err(broken(
                e.seq,
                format!("entry {} does not match its hash", e.seq),
            ));
        }
        if let Some((p_seq, p_hash)) = &previous
            && e.seq == p_seq + 1
            && prev != *p_hash
        {
            return Err(broken(
                e.seq,
                format!("entry {} does not link to entry {p_seq}", e.seq),
            ));
        }
        hashes.insert(e.seq, hash.to_vec());
        previous = Some((e.seq, hash.to_vec()));
        report.entries += 1;
    }
    if let Some((seq, reason)) = link_problem(tenant_id, &checkpoints) {
        return Err(broken(seq, reason));
    }
    // Checkpoints of entries a recorded restore lost describe entries no longer there.
    let lost = super::checkpoints::lost(&checkpoints);
    for c in &checkpoints {
        let gone = c.counter.is_some_and(|n| lost.contains(&n));
        if !gone && hashes.get(&c.seq).is_some_and(|h| *h != c.hash) {
            return Err(broken(
                c.seq,
                format!("entry {} differs from the signed checkpoint", c.seq),
            ));
        }
        match signed_by(c, tenant_id, &keys) {
            Some(true) => report.signatures += 1,
            Some(false) => {
                return Err(broken(
                    c.seq,
                    format!("checkpoint at {} has an invalid signature", c.seq),
                ));
            }
            None => {}
        }
    }
    report.checkpoints = checkpoints.len();
    let newest = checkpoints
        .iter()
        .filter_map(|c| c.counter)
        .max()
        .unwrap_or(0);
    for r in receipts {
        if r.tenant_id != tenant_id {
            return Err(broken(
                r.seq,
                format!("receipt {} belongs to another workspace", r.counter),
            ));
        }
        if r.format != RECEIPT_FORMAT {
            return Err(broken(
                r.seq,
                format!("receipt {} is not a receipt", r.counter),
            ));
        }
        if r.counter > newest {
            return Err(broken(
                r.seq,
                format!(
                    "the export is behind receipt {} (its checkpoints end at {newest})",
                    r.counter
                ),
            ));
        }
        let held = checkpoints.iter().find(|c| c.counter == Some(r.counter));
        let same = held.is_some_and(|c| {
            hex::encode(&c.hash) == r.hash
                && c.seq == r.seq
                && c.prev_checkpoint.as_deref().map(hex::encode).as_deref()
                    == Some(r.prev_checkpoint.as_str())
                && STANDARD.encode(&c.signature) == r.signature
        });
        if !same {
            return Err(broken(
                r.seq,
                format!("checkpoint {} differs from the receipt", r.counter),
            ));
        }
        report.receipts += 1;
    }
    Ok(report)
}
