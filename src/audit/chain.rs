use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::error::AuditError;
use super::keys::unwrap_key;
use crate::crypto::{self, Aad, Keyring};
use crate::db;

const CANONICAL_TAG: &[u8] = b"tessera-audit-v1\0";
const PAYLOAD_KIND: &str = "audit-payload";

/// Who did it and from where.
#[derive(Debug, Clone)]
pub struct EntryMeta {
    /// `token`, `user` or `system`.
    pub actor_type: &'static str,
    pub actor_id: String,
    pub actor_user: String,
    pub request_id: String,
    pub client_ip: String,
}

impl EntryMeta {
    /// An action of the operator's command line or of the server itself.
    pub fn system(what: &str) -> Self {
        Self {
            actor_type: "system",
            actor_id: what.to_owned(),
            actor_user: String::new(),
            request_id: String::new(),
            client_ip: String::new(),
        }
    }
}

/// What happened.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: String,
    /// Before/after values and arguments; sealed before it is stored.
    pub payload: serde_json::Value,
}

/// The canonical bytes an entry's hash covers. Every field is length-prefixed
/// (u32 big-endian), integers are big-endian, time is microseconds since the Unix epoch.
/// `docs/audit.md` shows how to recompute it outside Tessera.
#[allow(clippy::too_many_arguments)]
pub fn canonical_bytes(
    tenant_id: Uuid,
    seq: i64,
    at_micros: i64,
    actor: (&str, &str, &str),
    action: &str,
    target: (&str, &str),
    request: (&str, &str),
    payload: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + payload.map_or(0, <[u8]>::len));
    out.extend_from_slice(CANONICAL_TAG);
    out.extend_from_slice(tenant_id.as_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&at_micros.to_be_bytes());
    for field in [
        actor.0.as_bytes(),
        actor.1.as_bytes(),
        actor.2.as_bytes(),
        action.as_bytes(),
        target.0.as_bytes(),
        target.1.as_bytes(),
        request.0.as_bytes(),
        request.1.as_bytes(),
        payload.unwrap_or(b""),
    ] {
        out.extend_from_slice(&u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(field);
    }
    out
}

pub(crate) fn entry_hash(prev: &[u8], canonical: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical);
    h.finalize().into()
}

fn payload_aad(tenant_id: Uuid, seq: &[u8; 8]) -> Aad<'_> {
    Aad {
        tenant_id,
        kind: PAYLOAD_KIND,
        row: seq,
    }
}

#[derive(db::FromRow)]
struct Head {
    seq: i64,
    hash: Vec<u8>,
    wrapped: Option<Vec<u8>>,
}

/// Appends an entry to the tenant's chain inside the caller's transaction. Two statements:
/// lock the head (with the wrapped key), then insert the entry, move the head and announce
/// the change to live subscribers (`NOTIFY`, delivered at commit; see [`crate::live`]).
pub async fn append(
    conn: &mut db::Conn,
    keyring: &Keyring,
    tenant_id: Uuid,
    at: DateTime<Utc>,
    meta: &EntryMeta,
    entry: NewEntry<'_>,
) -> Result<i64, AuditError> {
    let head: Head = db::query_as(
        "SELECT h.seq, h.hash, k.wrapped FROM public.audit_heads h
         LEFT JOIN public.tenant_keys k ON k.tenant_id = h.tenant_id AND k.purpose = 'audit'
         WHERE h.tenant_id = $1 FOR UPDATE OF h",
    )
    .bind(tenant_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AuditError::NoChain)?;
    let seq = head.seq + 1;
    let at_micros = at.timestamp_micros();
    let key = unwrap_key(keyring, tenant_id, head.wrapped.as_deref())?;
    let plaintext = serde_json::to_vec(&entry.payload).unwrap_or_default();
    let seq_bytes = seq.to_be_bytes();
    let payload = key.map(|k| crypto::seal(&k, &payload_aad(tenant_id, &seq_bytes), &plaintext));
    let canonical = canonical_bytes(
        tenant_id,
        seq,
        at_micros,
        (meta.actor_type, &meta.actor_id, &meta.actor_user),
        entry.action,
        (entry.target_type, &entry.target_id),
        (&meta.request_id, &meta.client_ip),
        payload.as_deref(),
    );
    let hash = entry_hash(&head.hash, &canonical);
    let at_stored = DateTime::<Utc>::from_timestamp_micros(at_micros).unwrap_or(at);
    db::query(
        "WITH e AS (
             INSERT INTO public.audit_log (tenant_id, seq, at, actor_type, actor_id, actor_user, action,
                 target_type, target_id, request_id, client_ip, payload, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             RETURNING tenant_id, seq, hash),
         h AS (
             UPDATE public.audit_heads h SET seq = e.seq, hash = e.hash FROM e
             WHERE h.tenant_id = e.tenant_id RETURNING h.seq)
         SELECT pg_notify($15, json_build_object('t', $1::uuid, 's', $2::bigint, 'a', $7::text,
             'tt', $8::text, 'ti', $9::text, 'at', $3::timestamptz)::text) FROM h",
    )
    .bind(tenant_id)
    .bind(seq)
    .bind(at_stored)
    .bind(meta.actor_type)
    .bind(&meta.actor_id)
    .bind(&meta.actor_user)
    .bind(entry.action)
    .bind(entry.target_type)
    .bind(&entry.target_id)
    .bind(&meta.request_id)
    .bind(&meta.client_ip)
    .bind(payload.as_deref())
    .bind(&head.hash)
    .bind(&hash[..])
    .bind(crate::live::CHANNEL)
    .execute(&mut *conn)
    .await?;
    crate::observability::metrics::audit_append();
    Ok(seq)
}

/// A payload as a reader sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Plain(serde_json::Value),
    /// The tenant's audit key was destroyed: the contents are gone for good.
    Erased,
}

/// An entry with its payload opened.
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_type: String,
    pub actor_id: String,
    pub actor_user: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub request_id: String,
    pub client_ip: String,
    pub payload: Payload,
    /// The stored (sealed) payload, which the hash covers.
    pub sealed: Option<Vec<u8>>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// Which entries to read.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Empty: every action.
    pub actions: Vec<String>,
    pub actor_user: Option<String>,
    pub target_id: Option<String>,
}

#[derive(db::FromRow)]
struct Row {
    seq: i64,
    at: DateTime<Utc>,
    actor_type: String,
    actor_id: String,
    actor_user: String,
    action: String,
    target_type: String,
    target_id: String,
    request_id: String,
    client_ip: String,
    payload: Option<Vec<u8>>,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

/// Entries after `after_seq`, oldest first, with payloads opened (or marked erased).
pub async fn list(
    conn: &mut db::Conn,
    keyring: &Keyring,
    tenant_id: Uuid,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<Entry>, AuditError> {
    list_filtered(
        conn,
        keyring,
        tenant_id,
        &Filter::default(),
        after_seq,
        limit,
    )
    .await
}

/// Like [`list`], restricted by time range and actions.
pub async fn list_filtered(
    conn: &mut db::Conn,
    keyring: &Keyring,
    tenant_id: Uuid,
    filter: &Filter,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<Entry>, AuditError> {
    let wrapped: Option<Option<Vec<u8>>> = db::query_scalar(
        "SELECT wrapped FROM public.tenant_keys WHERE tenant_id = $1 AND purpose = 'audit'",
    )
    .bind(tenant_id)
    .fetch_optional(&mut *conn)
    .await?;
    let key = unwrap_key(keyring, tenant_id, wrapped.flatten().as_deref())?;
    let rows: Vec<Row> = db::query_as(
        "SELECT seq, at, actor_type, actor_id, actor_user, action, target_type, target_id, request_id,
                client_ip, payload, prev_hash, hash
         FROM public.audit_log
         WHERE tenant_id = $1 AND seq > $2
           AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5)
           AND (cardinality($6::text[]) = 0 OR action = ANY($6))
           AND ($7::text IS NULL OR actor_user = $7) AND ($8::text IS NULL OR target_id = $8)
         ORDER BY seq LIMIT $3",
    )
    .bind(tenant_id)
    .bind(after_seq)
    .bind(limit)
    .bind(filter.from)
    .bind(filter.to)
    .bind(&filter.actions)
    .bind(&filter.actor_user)
    .bind(&filter.target_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let seq_bytes = r.seq.to_be_bytes();
            let payload = match (&key, &r.payload) {
                (Some(k), Some(blob)) => crypto::open(k, &payload_aad(tenant_id, &seq_bytes), blob)
                    .ok()
                    .and_then(|p| serde_json::from_slice(&p).ok())
                    .map_or(Payload::Erased, Payload::Plain),
                _ => Payload::Erased,
            };
            Entry {
                seq: r.seq,
                at: r.at,
                actor_type: r.actor_type,
                actor_id: r.actor_id,
                actor_user: r.actor_user,
                action: r.action,
                target_type: r.target_type,
                target_id: r.target_id,
                request_id: r.request_id,
                client_ip: r.client_ip,
                payload,
                sealed: r.payload,
                prev_hash: r.prev_hash,
                hash: r.hash,
            }
        })
        .collect())
}
