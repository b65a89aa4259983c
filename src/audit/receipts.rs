//! Receipts: a workspace's signed checkpoints in the customer's hands.
//!
//! Each checkpoint the server signs is also sent to the workspace's webhook endpoints
//! subscribed to `audit.checkpoint` (or `*`), as a self-contained receipt: the workspace,
//! counter, entry position and hash, the previous checkpoint's digest, the key id and the
//! signature. Kept by the customer, outside the database, receipts prove what the database
//! held: `tessera audit verify --receipts <dir>` reports a database behind a receipt
//! (restored from an older backup, or its newest entries and checkpoints removed), an entry
//! that differs from one, and a receipt that is not the server's or not the workspace's.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use uuid::Uuid;

use super::checkpoints::{self, Stored};
use super::verify::Break;
use crate::crypto::Keyring;
use crate::db;

/// The `format` of a receipt.
pub const FORMAT: &str = "tessera-audit-receipt-v1";

/// A signed checkpoint as handed out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Receipt {
    pub format: String,
    pub tenant_id: Uuid,
    pub counter: i64,
    pub seq: i64,
    /// Hex SHA-256 of entry `seq`.
    pub hash: String,
    /// Hex digest of the previous checkpoint (zeros before the first).
    pub prev_checkpoint: String,
    pub key_id: i64,
    /// Base64 Ed25519 signature over the chained checkpoint message.
    pub signature: String,
    /// A restore checkpoint (see `docs/audit.md`); absent on plain ones.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restored: bool,
}

impl Receipt {
    /// The receipt of a chained checkpoint (`None` for an unchained, older one).
    pub fn of(tenant_id: Uuid, c: &Stored) -> Option<Self> {
        Some(Self {
            format: FORMAT.to_owned(),
            tenant_id,
            counter: c.counter?,
            seq: c.seq,
            hash: hex::encode(&c.hash),
            prev_checkpoint: hex::encode(c.prev_checkpoint.as_deref()?),
            key_id: c.key_id,
            signature: STANDARD.encode(&c.signature),
            restored: c.restored,
        })
    }

    /// The checkpoint it carries.
    pub(crate) fn stored(&self) -> Option<Stored> {
        Some(Stored {
            seq: self.seq,
            hash: hex::decode(&self.hash).ok()?,
            signature: STANDARD.decode(&self.signature).ok()?,
            key_id: self.key_id,
            counter: Some(self.counter),
            prev_checkpoint: Some(hex::decode(&self.prev_checkpoint).ok()?),
            restored: self.restored,
        })
    }
}

/// Checks `receipts` of `tenant_id` against the database. Answers the first problem, by the
/// entry position it concerns. `what` names them in the messages ("receipt", "anchor").
pub async fn check(
    conn: &mut db::Conn,
    keyring: &Keyring,
    tenant_id: Uuid,
    receipts: &[Receipt],
    what: &str,
) -> Result<Option<Break>, db::Error> {
    let stored = checkpoints::list(&mut *conn, tenant_id).await?;
    let lost = checkpoints::lost(&stored);
    let newest = stored.iter().filter_map(|c| c.counter).max().unwrap_or(0);
    let floor: i64 = db::query_scalar(
        "SELECT coalesce((SELECT seq FROM public.audit_floors WHERE tenant_id = $1), 1)",
    )
    .bind(tenant_id)
    .fetch_one(&mut *conn)
    .await?;
    let mut sorted: Vec<&Receipt> = receipts.iter().collect();
    sorted.sort_by_key(|r| r.counter);
    let mut pending = None;
    for r in sorted {
        let brk = |reason: String| Ok(Some(Break { seq: r.seq, reason }));
        if r.tenant_id != tenant_id {
            return brk(format!(
                "{what} {} belongs to another workspace ({})",
                r.counter, r.tenant_id
            ));
        }
        let Some(given) = r.stored().filter(|_| r.format == FORMAT) else {
            return brk(format!("{what} {} is not a readable receipt", r.counter));
        };
        match given.signature_valid(tenant_id, keyring) {
            Some(true) => {}
            Some(false) => {
                return brk(format!(
                    "{what} {} is not signed by this server's key: it was altered or forged",
                    r.counter
                ));
            }
            None => {
                return brk(format!(
                    "{what} {} is signed by key {}, which this keyring does not hold",
                    r.counter, r.key_id
                ));
            }
        }
        // A database behind the evidence (rolled back, or its newest checkpoints removed):
        // reported where the entries part from it, else at the first checkpoint it lacks.
        let behind = r.counter > newest;
        let behind_note = || {
            format!(
                "the database is behind {what} {}: its checkpoints end at {newest} (restored from an older backup without `tessera audit restored`, or checkpoints removed)",
                r.counter
            )
        };
        if !behind {
            let held = stored.iter().find(|c| c.counter == Some(r.counter));
            let same = held.is_some_and(|c| {
                c.seq == given.seq
                    && c.hash == given.hash
                    && c.prev_checkpoint == given.prev_checkpoint
            });
            if !same {
                return brk(format!(
                    "checkpoint {} in the database is missing or differs from the {what}",
                    r.counter
                ));
            }
        }
        // A checkpoint of entries a recorded restore lost: its entry is gone by design.
        if r.seq >= floor && !lost.contains(&r.counter) {
            let hash: Option<Vec<u8>> = db::query_scalar(
                "SELECT hash FROM public.audit_log WHERE tenant_id = $1 AND seq = $2",
            )
            .bind(tenant_id)
            .bind(r.seq)
            .fetch_optional(&mut *conn)
            .await?;
            let suffix = if behind {
                format!(": {}", behind_note())
            } else {
                String::new()
            };
            match hash {
                None => {
                    return brk(format!(
                        "entry {} is gone, but {what} {} covers it{suffix}",
                        r.seq, r.counter
                    ));
                }
                Some(h) if h != given.hash => {
                    return brk(format!(
                        "entry {} differs from {what} {}{suffix}",
                        r.seq, r.counter
                    ));
                }
                Some(_) => {}
            }
        }
        if behind && pending.is_none() {
            pending = Some(Break {
                seq: r.seq,
                reason: behind_note(),
            });
        }
    }
    Ok(pending)
}
