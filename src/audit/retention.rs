//! Retention: a workspace keeps its audit entries for its window (7 years unless its owner
//! chooses otherwise); older ones are removed behind a signed anchor.
//!
//! Pruning runs as the operator's migrator role (`tessera audit prune`; the runtime role
//! cannot delete entries). It verifies the chain first, signs a chained checkpoint of the
//! last entry it will remove (unless one exists), moves the workspace's floor to the first
//! kept entry with that entry's link, deletes below it and appends an `audit.retention`
//! entry saying so. The verifier then starts from the floor, and only if the anchor is
//! signed.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::chain::{EntryMeta, NewEntry, append};
use super::error::AuditError;
use super::{checkpoints, verify};
use crate::crypto::Keyring;
use crate::db;

/// Default window: 7 years.
pub const DEFAULT_DAYS: i32 = 2557;

/// What a prune did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pruned {
    /// The first entry kept: the chain now starts here.
    pub first_kept: i64,
    pub removed: i64,
    pub window_days: i32,
}

/// Removes the entries of `tenant_id` older than its window, as of `now`, inside the
/// caller's (migrator) transaction. `None` when nothing is old enough. Refuses a chain that
/// does not verify: evidence of tampering is never pruned away.
pub async fn prune(
    conn: &mut db::Conn,
    keyring: &Keyring,
    tenant_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Pruned>, AuditError> {
    let window_days: i32 =
        db::query_scalar("SELECT audit_retention_days FROM public.tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(AuditError::NoChain)?;
    let report = verify(&mut *conn, keyring, tenant_id).await?;
    if let Some(b) = report.problem {
        return Err(AuditError::Broken(b.seq, b.reason));
    }
    let cutoff = now - chrono::Duration::days(i64::from(window_days));
    // The first entry inside the window; the newest entry is always kept, so the chain
    // still ends at its head.
    let first_kept: Option<i64> = db::query_scalar(
        "SELECT least(
             coalesce((SELECT min(seq) FROM public.audit_log WHERE tenant_id = $1 AND at >= $2),
                      (SELECT seq FROM public.audit_heads WHERE tenant_id = $1)),
             (SELECT seq FROM public.audit_heads WHERE tenant_id = $1))",
    )
    .bind(tenant_id)
    .bind(cutoff)
    .fetch_one(&mut *conn)
    .await?;
    let floor = report.floor.unwrap_or(1);
    let Some(first_kept) = first_kept.filter(|k| *k > floor) else {
        return Ok(None);
    };
    let anchor = first_kept - 1;
    let hash: Vec<u8> =
        db::query_scalar("SELECT hash FROM public.audit_log WHERE tenant_id = $1 AND seq = $2")
            .bind(tenant_id)
            .bind(anchor)
            .fetch_one(&mut *conn)
            .await?;
    let signed: bool = db::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM public.audit_checkpoints
                        WHERE tenant_id = $1 AND seq = $2 AND key_id = $3)",
    )
    .bind(tenant_id)
    .bind(anchor)
    .bind(i64::from(keyring.current().id()))
    .fetch_one(&mut *conn)
    .await?;
    if !signed {
        checkpoints::sign(&mut *conn, keyring, tenant_id, anchor, &hash).await?;
    }
    let removed: i64 = db::query_scalar("SELECT public.tessera_audit_prune($1, $2, $3)")
        .bind(tenant_id)
        .bind(first_kept)
        .bind(&hash)
        .fetch_one(&mut *conn)
        .await?;
    let meta = EntryMeta {
        actor_type: "system",
        actor_id: "retention".into(),
        actor_user: String::new(),
        request_id: String::new(),
        client_ip: String::new(),
    };
    append(
        &mut *conn,
        keyring,
        tenant_id,
        now,
        &meta,
        NewEntry {
            action: "audit.retention",
            target_type: "Workspace",
            target_id: tenant_id.to_string(),
            payload: serde_json::json!({
                "removed": removed, "first_kept": first_kept, "window_days": window_days,
                "cutoff": cutoff,
            }),
        },
    )
    .await?;
    Ok(Some(Pruned {
        first_kept,
        removed,
        window_days,
    }))
}
