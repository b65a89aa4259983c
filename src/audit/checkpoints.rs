//! Signed checkpoints of a workspace's chain, themselves chained.
//!
//! A checkpoint signs (workspace, counter, entry sequence number, entry hash, digest of the
//! workspace's previous checkpoint). The counter runs 1, 2, … per workspace and the digest
//! links each checkpoint to the one before, so a checkpoint deleted from the middle, or two
//! swapped, no longer verifies. Checkpoints signed before the counter existed carry none and
//! are checked with their original message (`tessera-checkpoint-v1`).
//!
//! A restore checkpoint (`tessera-restore-v2`, signed by `tessera audit restored` after the
//! database came back from a backup) signs the restored head; checkpoints before it in
//! counter order that cover later positions describe entries the restore lost ([`lost`]).

use ed25519_dalek::{Signature, Signer, Verifier};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::crypto::Keyring;
use crate::db;

/// The bytes a first-version checkpoint signature covers (no counter, no link).
pub fn checkpoint_message(tenant_id: Uuid, seq: i64, hash: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(80);
    m.extend_from_slice(b"tessera-checkpoint-v1\0");
    m.extend_from_slice(tenant_id.as_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash);
    m
}

/// The bytes a chained checkpoint signature covers (`restored`: a restore checkpoint).
pub fn chained_message(
    tenant_id: Uuid,
    counter: i64,
    seq: i64,
    hash: &[u8],
    prev: &[u8],
    restored: bool,
) -> Vec<u8> {
    let mut m = Vec::with_capacity(128);
    let prefix: &[u8] = if restored {
        b"tessera-restore-v2\0"
    } else {
        b"tessera-checkpoint-v2\0"
    };
    m.extend_from_slice(prefix);
    m.extend_from_slice(tenant_id.as_bytes());
    m.extend_from_slice(&counter.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash);
    m.extend_from_slice(prev);
    m
}

/// What the next checkpoint links to: SHA-256 of the previous one's signed message (32 zero
/// bytes before the first).
pub fn digest(message: &[u8]) -> [u8; 32] {
    Sha256::digest(message).into()
}

/// A stored checkpoint.
#[derive(Debug, Clone, db::FromRow)]
pub struct Stored {
    pub seq: i64,
    pub hash: Vec<u8>,
    pub signature: Vec<u8>,
    pub key_id: i64,
    pub counter: Option<i64>,
    pub prev_checkpoint: Option<Vec<u8>>,
    pub restored: bool,
}

impl Stored {
    /// The message its signature covers.
    pub fn message(&self, tenant_id: Uuid) -> Vec<u8> {
        match self.counter {
            Some(counter) => chained_message(
                tenant_id,
                counter,
                self.seq,
                &self.hash,
                self.prev_checkpoint.as_deref().unwrap_or_default(),
                self.restored,
            ),
            None => checkpoint_message(tenant_id, self.seq, &self.hash),
        }
    }

    /// Whether a key of `keyring` signed it: `None` when that key is not held.
    pub fn signature_valid(&self, tenant_id: Uuid, keyring: &Keyring) -> Option<bool> {
        let verifier = u32::try_from(self.key_id)
            .ok()
            .and_then(|id| keyring.checkpoint_verifier(id))?;
        Some(
            Signature::from_slice(&self.signature)
                .map(|s| verifier.verify(&self.message(tenant_id), &s).is_ok())
                .unwrap_or(false),
        )
    }
}

/// Every checkpoint of a workspace: unchained ones first by position, then by counter.
pub async fn list(conn: &mut db::Conn, tenant_id: Uuid) -> Result<Vec<Stored>, db::Error> {
    db::query_as(
        "SELECT seq, hash, signature, key_id, counter, prev_checkpoint, restored
         FROM public.audit_checkpoints WHERE tenant_id = $1
         ORDER BY counter NULLS FIRST, seq, signed_at",
    )
    .bind(tenant_id)
    .fetch_all(conn)
    .await
}

/// The workspace's newest chained checkpoint.
pub async fn latest(conn: &mut db::Conn, tenant_id: Uuid) -> Result<Option<Stored>, db::Error> {
    db::query_as(
        "SELECT seq, hash, signature, key_id, counter, prev_checkpoint, restored
         FROM public.audit_checkpoints WHERE tenant_id = $1 AND counter IS NOT NULL
         ORDER BY counter DESC LIMIT 1",
    )
    .bind(tenant_id)
    .fetch_optional(conn)
    .await
}

/// The first problem in the links between a workspace's chained checkpoints (the counter
/// runs without gaps from 1 and each names the digest of the one before; positions may go
/// back, as a retention anchor signs an older entry), as (entry sequence number, reason).
pub fn link_problem(tenant_id: Uuid, checkpoints: &[Stored]) -> Option<(i64, String)> {
    let (mut expected, mut prev) = (1i64, [0u8; 32]);
    for c in checkpoints.iter().filter(|c| c.counter.is_some()) {
        let counter = c.counter.unwrap_or_default();
        if counter != expected {
            return Some((
                c.seq,
                format!(
                    "checkpoint {expected} is missing: checkpoint {} follows {}",
                    counter,
                    expected - 1
                ),
            ));
        }
        if c.prev_checkpoint.as_deref() != Some(&prev[..]) {
            return Some((
                c.seq,
                format!(
                    "checkpoint {counter} does not link to checkpoint {}",
                    counter - 1
                ),
            ));
        }
        prev = digest(&c.message(tenant_id));
        expected += 1;
    }
    None
}

/// The counters of checkpoints that describe entries a recorded restore lost: a restore
/// checkpoint later in counter order signs an earlier position. Such checkpoints still count
/// in the links between checkpoints; only their entries are gone.
pub fn lost(checkpoints: &[Stored]) -> std::collections::HashSet<i64> {
    let mut chained: Vec<&Stored> = checkpoints.iter().filter(|c| c.counter.is_some()).collect();
    chained.sort_by_key(|c| std::cmp::Reverse(c.counter));
    // Walking back from the newest: the lowest position a later restore went back to.
    let mut restored_to: Option<i64> = None;
    let mut out = std::collections::HashSet::new();
    for c in chained {
        if restored_to.is_some_and(|r| c.seq > r) {
            out.insert(c.counter.unwrap_or_default());
        }
        if c.restored {
            restored_to = Some(restored_to.map_or(c.seq, |r| r.min(c.seq)));
        }
    }
    out
}

/// The head this workspace's next checkpoint links to: (next counter, digest of the last).
/// Locks the workspace's chain head, so concurrent signers take turns.
async fn next_link(conn: &mut db::Conn, tenant_id: Uuid) -> Result<(i64, [u8; 32]), db::Error> {
    db::query("SELECT 1 FROM public.audit_heads WHERE tenant_id = $1 FOR UPDATE")
        .bind(tenant_id)
        .execute(&mut *conn)
        .await?;
    Ok(match latest(&mut *conn, tenant_id).await? {
        Some(c) => (
            c.counter.unwrap_or_default() + 1,
            digest(&c.message(tenant_id)),
        ),
        None => (1, [0; 32]),
    })
}

/// Signs a chained checkpoint of entry `seq` (whose hash is `hash`) with the current key.
/// Returns the checkpoint's counter.
pub(crate) async fn sign(
    conn: &mut db::Conn,
    keyring: &Keyring,
    tenant_id: Uuid,
    seq: i64,
    hash: &[u8],
) -> Result<i64, db::Error> {
    sign_kind(conn, keyring, tenant_id, seq, hash, false).await
}

/// Signs a chained checkpoint, a restore checkpoint when `restored`.
pub(crate) async fn sign_kind(
    conn: &mut db::Conn,
    keyring: &Keyring,
    tenant_id: Uuid,
    seq: i64,
    hash: &[u8],
    restored: bool,
) -> Result<i64, db::Error> {
    let (counter, prev) = next_link(conn, tenant_id).await?;
    let signature = keyring.checkpoint_signer().sign(&chained_message(
        tenant_id, counter, seq, hash, &prev, restored,
    ));
    db::query(
        "INSERT INTO public.audit_checkpoints (tenant_id, seq, hash, key_id, signature, counter, prev_checkpoint, restored)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant_id)
    .bind(seq)
    .bind(hash)
    .bind(i64::from(keyring.current().id()))
    .bind(&signature.to_bytes()[..])
    .bind(counter)
    .bind(&prev[..])
    .bind(restored)
    .execute(&mut *conn)
    .await?;
    Ok(counter)
}

/// Stores a checkpoint this server signed that the database does not hold (one read back
/// from an anchor or a receipt, for a recorded restore). The caller checked its signature.
pub(crate) async fn import(
    conn: &mut db::Conn,
    tenant_id: Uuid,
    c: &Stored,
) -> Result<(), db::Error> {
    db::query(
        "INSERT INTO public.audit_checkpoints (tenant_id, seq, hash, key_id, signature, counter, prev_checkpoint, restored)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant_id)
    .bind(c.seq)
    .bind(&c.hash)
    .bind(c.key_id)
    .bind(&c.signature)
    .bind(c.counter)
    .bind(&c.prev_checkpoint)
    .bind(c.restored)
    .execute(conn)
    .await?;
    Ok(())
}
