//! Re-checking a chain, and signing checkpoints of its head.

use std::collections::BTreeMap;

use futures_util::TryStreamExt;
use uuid::Uuid;

use super::chain::{canonical_bytes, entry_hash};
use super::checkpoints;
use super::keys::GENESIS_HASH;
use crate::crypto::Keyring;
use crate::db;

/// The first problem found in a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The first sequence number that cannot be trusted.
    pub seq: i64,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub tenant_id: Uuid,
    pub entries: u64,
    pub last_seq: i64,
    /// Checkpoints verified (signed by a master key the keyring holds).
    pub checkpoints: usize,
    /// Retention removed the entries before this one; the chain was verified from the
    /// signed checkpoint of the entry before it.
    pub floor: Option<i64>,
    /// The first entry no verified checkpoint covers, and when it was written.
    pub first_uncovered: Option<(i64, chrono::DateTime<chrono::Utc>)>,
    /// Recorded restores: (the restore checkpoint's counter, the entry it restored to).
    pub restores: Vec<(i64, i64)>,
    /// Checkpoints of entries those restores lost (kept, signed, no longer compared).
    pub lost: usize,
    pub problem: Option<Break>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }

    /// The first entry written more than `grace` before `now` that no checkpoint covers:
    /// checkpoints are signed every interval, so past a couple of intervals such entries
    /// mean checkpoints were removed (or the signer is not running).
    pub fn uncovered_beyond(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        grace: chrono::Duration,
    ) -> Option<i64> {
        self.first_uncovered
            .filter(|(_, at)| *at < now - grace)
            .map(|(seq, _)| seq)
    }
}

#[derive(db::FromRow)]
struct Row {
    seq: i64,
    at: chrono::DateTime<chrono::Utc>,
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

fn first(current: &mut Option<Break>, seq: i64, reason: String) {
    if current.as_ref().is_none_or(|b| seq < b.seq) {
        *current = Some(Break { seq, reason });
    }
}

/// Re-checks a tenant's whole chain, streaming (memory does not grow with its length):
/// sequence numbers are gapless from 1, each `prev_hash` is the previous entry's hash, each
/// hash matches the recomputed canonical bytes, the head record agrees with the last entry,
/// and every signed checkpoint has a valid signature and matches the chain at its position.
pub async fn verify(
    conn: &mut db::Conn,
    keyring: &Keyring,
    tenant_id: Uuid,
) -> Result<VerifyReport, db::Error> {
    let mut problem = None;
    let checkpoints = checkpoints::list(&mut *conn, tenant_id).await?;
    let mut expected_at: BTreeMap<i64, Vec<u8>> = BTreeMap::new();
    // Checkpoints signed by a master key no longer held (retired after a rotation) cannot be
    // checked. They are acceptable only when a verified checkpoint at the same or a later
    // position supersedes them (rotation signs one); otherwise relabelling checkpoints
    // would be a way to disarm them.
    let mut unverifiable = Vec::new();
    let lost = checkpoints::lost(&checkpoints);
    for c in &checkpoints {
        match c.signature_valid(tenant_id, keyring) {
            None => unverifiable.push(c.seq),
            Some(true) if c.counter.is_some_and(|n| lost.contains(&n)) => {}
            Some(true) => {
                expected_at.insert(c.seq, c.hash.clone());
            }
            Some(false) => first(
                &mut problem,
                c.seq,
                format!("checkpoint at {} has an invalid signature", c.seq),
            ),
        }
    }
    if let Some((seq, reason)) = checkpoints::link_problem(tenant_id, &checkpoints) {
        first(&mut problem, seq, reason);
    }
    // Retention's floor: the chain starts at its first kept entry, linked to the hash a
    // signed checkpoint recorded for the entry before it.
    let floor: Option<(i64, Vec<u8>)> =
        db::query_as("SELECT seq, prev_hash FROM public.audit_floors WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(&mut *conn)
            .await?;
    let (start_seq, start_prev) = match &floor {
        Some((seq, prev)) => {
            if expected_at.get(&(seq - 1)) != Some(prev) {
                first(
                    &mut problem,
                    *seq,
                    format!(
                        "entries before {seq} were removed, but no signed checkpoint of entry {} anchors the rest",
                        seq - 1
                    ),
                );
            }
            (*seq, prev.clone())
        }
        None => (1, GENESIS_HASH.to_vec()),
    };
    let head: Option<i64> =
        db::query_scalar("SELECT seq FROM public.audit_heads WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(&mut *conn)
            .await?;

    let mut rows = db::query_as::<Row>(
        "SELECT seq, at, actor_type, actor_id, actor_user, action, target_type, target_id, request_id,
                client_ip, payload, prev_hash, hash
         FROM public.audit_log WHERE tenant_id = $1 ORDER BY seq",
    )
    .bind(tenant_id)
    .fetch(&mut *conn);
    let (mut expected_seq, mut prev, mut entries) = (start_seq, start_prev, 0u64);
    let covered_to = expected_at.keys().next_back().copied().unwrap_or(0);
    let mut first_uncovered = None;
    while let Some(r) = rows.try_next().await? {
        entries += 1;
        if r.seq > covered_to && first_uncovered.is_none() {
            first_uncovered = Some((r.seq, r.at));
        }
        if problem.is_none() {
            if r.seq != expected_seq {
                first(
                    &mut problem,
                    expected_seq,
                    format!("entry {expected_seq} is missing (found {} next)", r.seq),
                );
            } else if r.prev_hash != prev {
                first(
                    &mut problem,
                    r.seq,
                    format!("entry {} does not link to entry {}", r.seq, r.seq - 1),
                );
            } else {
                let canonical = canonical_bytes(
                    tenant_id,
                    r.seq,
                    r.at.timestamp_micros(),
                    (&r.actor_type, &r.actor_id, &r.actor_user),
                    &r.action,
                    (&r.target_type, &r.target_id),
                    (&r.request_id, &r.client_ip),
                    r.payload.as_deref(),
                );
                if entry_hash(&r.prev_hash, &canonical)[..] != r.hash[..] {
                    first(
                        &mut problem,
                        r.seq,
                        format!("entry {} was altered (hash mismatch)", r.seq),
                    );
                }
            }
            if let Some(want) = expected_at.get(&r.seq)
                && *want != r.hash
            {
                first(
                    &mut problem,
                    r.seq,
                    format!("entry {} differs from the signed checkpoint", r.seq),
                );
            }
        }
        prev = r.hash;
        expected_seq = r.seq + 1;
    }
    drop(rows);
    let last_seq = expected_seq - 1;
    let newest_verified = expected_at.keys().next_back().copied();
    if let Some(&seq) = unverifiable
        .iter()
        .find(|s| newest_verified.is_none_or(|v| **s > v))
    {
        first(
            &mut problem,
            seq,
            format!("checkpoint at {seq} is signed by a key this keyring does not hold"),
        );
    }
    if let Some((&cp, _)) = expected_at.range(last_seq + 1..).next() {
        first(
            &mut problem,
            last_seq + 1,
            format!(
                "the chain ends at {last_seq} but a checkpoint covers {cp}: entries were removed"
            ),
        );
    }
    match head {
        Some(h) if h != last_seq => first(
            &mut problem,
            h.min(last_seq) + 1,
            format!("the chain ends at {last_seq} but its head records {h}"),
        ),
        None if entries > 0 => first(
            &mut problem,
            start_seq,
            "the chain has no head record".into(),
        ),
        _ => {}
    }
    Ok(VerifyReport {
        tenant_id,
        entries,
        last_seq,
        checkpoints: checkpoints.len() - unverifiable.len(),
        floor: floor.map(|(seq, _)| seq),
        first_uncovered,
        restores: checkpoints
            .iter()
            .filter(|c| c.restored)
            .map(|c| (c.counter.unwrap_or_default(), c.seq))
            .collect(),
        lost: lost.len(),
        problem,
    })
}

/// Signs the tenant's current head if it moved since the last checkpoint.
/// Returns the sequence number signed.
pub async fn checkpoint(
    conn: &mut db::Conn,
    keyring: &Keyring,
    tenant_id: Uuid,
) -> Result<Option<i64>, db::Error> {
    sign_head(conn, keyring, tenant_id, false).await
}

/// Signs the current head with the current key even if an older key already signed it
/// (after a rotation). The chain must have been verified first.
pub async fn checkpoint_force(
    conn: &mut db::Conn,
    keyring: &Keyring,
    tenant_id: Uuid,
) -> Result<Option<i64>, db::Error> {
    sign_head(conn, keyring, tenant_id, true).await
}

async fn sign_head(
    conn: &mut db::Conn,
    keyring: &Keyring,
    tenant_id: Uuid,
    force: bool,
) -> Result<Option<i64>, db::Error> {
    // Unless a checkpoint signs this very entry already (position and hash: after a
    // restore, positions past the restored head may carry checkpoints of lost entries).
    let head: Option<(i64, Vec<u8>)> = db::query_as(
        "SELECT h.seq, h.hash FROM public.audit_heads h
         WHERE h.tenant_id = $1 AND h.seq > 0
           AND ($2 OR NOT EXISTS (SELECT 1 FROM public.audit_checkpoints c
                                  WHERE c.tenant_id = $1 AND c.seq = h.seq AND c.hash = h.hash))",
    )
    .bind(tenant_id)
    .bind(force)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((seq, hash)) = head else {
        return Ok(None);
    };
    checkpoints::sign(conn, keyring, tenant_id, seq, &hash).await?;
    Ok(Some(seq))
}

/// The newest signed checkpoint of a tenant's chain: (sequence number, when it was signed,
/// signing key id).
pub async fn last_checkpoint(
    conn: &mut db::Conn,
    tenant_id: Uuid,
) -> Result<Option<(i64, chrono::DateTime<chrono::Utc>, i64)>, db::Error> {
    db::query_as(
        "SELECT seq, signed_at, key_id FROM public.audit_checkpoints
         WHERE tenant_id = $1 ORDER BY counter DESC NULLS LAST, seq DESC, signed_at DESC LIMIT 1",
    )
    .bind(tenant_id)
    .fetch_optional(conn)
    .await
}
