//! Anchors: every chained checkpoint, also written to the object store.
//!
//! The database's superuser can rewrite a chain and delete its checkpoints together; the
//! anchors are out of reach. Each one is the checkpoint's receipt (the same document the
//! `audit.checkpoint` webhook sends) under `audit-anchors/<workspace id>/<counter>.json`,
//! never overwritten, and kept in S3 Object Lock's compliance mode for the workspace's
//! retention window where the bucket has Object Lock. `tessera audit verify` reads them back
//! and checks the database against them like receipts: a database behind its newest anchor
//! (a rollback to an older backup) is a break unless the restore was recorded
//! (`tessera audit restored`), and the signer refuses to sign a checkpoint whose counter
//! the store already holds.
//!
//! A checkpoint is anchored after its transaction commits, never before: an anchor always
//! names a checkpoint the database held. `audit_anchored` remembers which ones are out, so
//! a pass that failed half-way is completed by the next.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::checkpoints::{self, Stored};
use super::receipts::Receipt;
use crate::db;
use crate::storage::{BlobStore, RecordName, StorageError, Written};

/// The folder of anchors.
pub const FOLDER: &str = "audit-anchors";

/// Anchors written per workspace and pass (a backlog is worked off over several passes).
const BATCH: i64 = 200;

#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("database: {0}")]
    Db(#[from] db::Error),
    #[error("object store: {0}")]
    Store(#[from] StorageError),
    /// The store holds a different document under a checkpoint's name.
    #[error("the store's anchor {counter} differs from the database's checkpoint {counter}")]
    Differs { counter: i64, seq: i64 },
    /// An object in the anchors' folder that is not a readable receipt.
    #[error("{0} in the object store is not a readable anchor")]
    Unreadable(String),
    /// An anchor that is not this server's signature for this workspace.
    #[error("anchor {0} is not signed by this server for this workspace: it was altered or forged")]
    Forged(i64),
    /// The anchors past the database's newest checkpoint do not follow on from it.
    #[error("anchor {0} is missing from the object store")]
    Missing(i64),
}

fn folder(tenant_id: Uuid) -> RecordName {
    RecordName::built(format!("{FOLDER}/{tenant_id}/"))
}

/// The name of a workspace's anchor `counter` (zero-padded: names sort by counter).
pub fn name(tenant_id: Uuid, counter: i64) -> RecordName {
    RecordName::built(format!("{FOLDER}/{tenant_id}/{counter:020}.json"))
}

fn document(tenant_id: Uuid, c: &Stored) -> Option<Vec<u8>> {
    Receipt::of(tenant_id, c).and_then(|r| serde_json::to_vec(&r).ok())
}

/// Whether the store already holds an anchor numbered `counter`: signing a checkpoint with
/// that counter would mean the database is behind its anchors.
pub async fn taken(
    store: &dyn BlobStore,
    tenant_id: Uuid,
    counter: i64,
) -> Result<bool, StorageError> {
    Ok(store.get_record(&name(tenant_id, counter)).await?.is_some())
}

/// The workspace's newest checkpoint counter (0 before the first).
pub async fn latest_counter(conn: &mut db::Conn, tenant_id: Uuid) -> Result<i64, db::Error> {
    Ok(checkpoints::latest(conn, tenant_id)
        .await?
        .and_then(|c| c.counter)
        .unwrap_or(0))
}

/// Writes the workspace's checkpoints not yet anchored, oldest first, each kept until
/// `retain_until`. Returns how many were written.
pub async fn publish(
    conn: &mut db::Conn,
    store: &dyn BlobStore,
    tenant_id: Uuid,
    retain_until: DateTime<Utc>,
) -> Result<usize, AnchorError> {
    let pending: Vec<Stored> = db::query_as(
        "SELECT c.seq, c.hash, c.signature, c.key_id, c.counter, c.prev_checkpoint, c.restored
         FROM public.audit_checkpoints c
         WHERE c.tenant_id = $1 AND c.counter IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM public.audit_anchored a
                           WHERE a.tenant_id = c.tenant_id AND a.counter = c.counter)
         ORDER BY c.counter LIMIT $2",
    )
    .bind(tenant_id)
    .bind(BATCH)
    .fetch_all(&mut *conn)
    .await?;
    let mut written = 0;
    for c in &pending {
        let (Some(counter), Some(doc)) = (c.counter, document(tenant_id, c)) else {
            continue;
        };
        let key = name(tenant_id, counter);
        let locked_until = match store.put_record(&key, doc.clone(), retain_until).await? {
            Written::Locked(until) => Some(until),
            Written::Unlocked => None,
            // Written before the pass that failed to note it, or by someone else: only the
            // very same document counts.
            Written::Exists => {
                if store.get_record(&key).await?.as_deref() != Some(&doc[..]) {
                    return Err(AnchorError::Differs {
                        counter,
                        seq: c.seq,
                    });
                }
                None
            }
        };
        db::query(
            "INSERT INTO public.audit_anchored (tenant_id, counter, locked_until) VALUES ($1, $2, $3)",
        )
        .bind(tenant_id)
        .bind(counter)
        .bind(locked_until)
        .execute(&mut *conn)
        .await?;
        written += 1;
    }
    Ok(written)
}

/// Every anchor of a workspace, by counter.
pub async fn read(store: &dyn BlobStore, tenant_id: Uuid) -> Result<Vec<Receipt>, AnchorError> {
    let mut out = Vec::new();
    for key in store.list_records(&folder(tenant_id)).await? {
        let Some(bytes) = store.get_record(&key).await? else {
            continue;
        };
        let receipt: Receipt = serde_json::from_slice(&bytes)
            .map_err(|_| AnchorError::Unreadable(key.as_str().to_owned()))?;
        out.push(receipt);
    }
    out.sort_by_key(|r| r.counter);
    Ok(out)
}

/// What a recorded restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The entry the database came back at.
    pub seq: i64,
    /// The restore checkpoint's counter.
    pub counter: i64,
    /// Anchored checkpoints the database no longer held, now stored back (their entries
    /// are the ones the restore lost).
    pub recovered: Vec<i64>,
}

/// Records a restore: stores back the anchored checkpoints the restored database lacks
/// (each checked: this workspace's, signed by this server, linked in order), then signs a
/// restore checkpoint of the current head. The caller verified the chain first and appends
/// an audit entry about it in the same transaction.
pub async fn record_restore(
    conn: &mut db::Conn,
    keyring: &crate::crypto::Keyring,
    anchors: &[Receipt],
    tenant_id: Uuid,
) -> Result<Restored, AnchorError> {
    let newest = latest_counter(&mut *conn, tenant_id).await?;
    let mut recovered = Vec::new();
    for r in anchors.iter().filter(|r| r.counter > newest) {
        let expected = newest + 1 + i64::try_from(recovered.len()).unwrap_or(i64::MAX);
        if r.counter != expected {
            return Err(AnchorError::Missing(expected));
        }
        let stored = r
            .stored()
            .filter(|_| r.tenant_id == tenant_id)
            .filter(|c| c.signature_valid(tenant_id, keyring) == Some(true))
            .ok_or(AnchorError::Forged(r.counter))?;
        checkpoints::import(&mut *conn, tenant_id, &stored).await?;
        recovered.push(r.counter);
    }
    let (seq, hash): (i64, Vec<u8>) =
        db::query_as("SELECT seq, hash FROM public.audit_heads WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(&mut *conn)
            .await?;
    let counter = checkpoints::sign_kind(&mut *conn, keyring, tenant_id, seq, &hash, true).await?;
    Ok(Restored {
        seq,
        counter,
        recovered,
    })
}
