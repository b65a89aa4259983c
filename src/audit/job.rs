//! The in-server job: periodically signs a checkpoint of every workspace's chain head and
//! re-verifies the chain, logging any break. Each new checkpoint also goes out as a receipt
//! to the workspace's `audit.checkpoint` webhook endpoints (see [`super::receipts`]) and,
//! once committed, to the object store as an anchor (see [`super::anchors`]).

use std::time::Duration;

use crate::db::AppPool;

use super::{checkpoint, verify};
use crate::crypto::Keyring;
use crate::db;
use crate::storage::BlobStore;
use crate::tenancy::{self, Access, Slug};

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    pub signed: usize,
    pub anchored: usize,
    /// Workspaces whose chain is broken, or whose database is behind its anchors.
    pub broken: usize,
}

/// One pass over all active workspaces; `anchors`: the store checkpoints are anchored in.
pub async fn checkpoint_all(
    pool: &AppPool,
    keyring: &Keyring,
    anchors: Option<&dyn BlobStore>,
) -> Result<Pass, db::Error> {
    let tenants: Vec<(String, i32)> = db::query_as(
        "SELECT slug, audit_retention_days FROM public.tenants WHERE state = 'active' ORDER BY slug",
    )
    .fetch_all(&mut *pool.acquire().await?)
    .await?;
    let mut pass = Pass::default();
    for (slug, retention_days) in tenants {
        let Ok(slug) = Slug::parse(&slug) else {
            continue;
        };
        let Some(mut tx) = tenancy::begin(pool, &slug, Access::ReadWrite).await? else {
            continue;
        };
        let tenant_id = tx.tenant_id();
        let report = verify(tx.conn(), keyring, tenant_id).await?;
        if let Some(b) = &report.problem {
            pass.broken += 1;
            tracing::error!(tenant = %slug, seq = b.seq, reason = %b.reason, "audit chain broken; not checkpointing it");
            tx.rollback().await?;
            continue;
        }
        if checkpoint(tx.conn(), keyring, tenant_id).await?.is_some() {
            let latest = super::checkpoints::latest(tx.conn(), tenant_id).await?;
            // The store holds this counter already: the database went back to an older
            // state nobody recorded as a restore. Sign nothing until an operator looks.
            if let (Some(store), Some(counter)) = (anchors, latest.as_ref().and_then(|c| c.counter))
            {
                match super::anchors::taken(store, tenant_id, counter).await {
                    Ok(false) => {}
                    Ok(true) => {
                        pass.broken += 1;
                        tracing::error!(tenant = %slug, counter, "the database is behind its audit anchors (restored from an older backup without `tessera audit restored`?); not checkpointing it");
                        tx.rollback().await?;
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(tenant = %slug, error = %e, "audit anchors unreachable; checkpoint not signed this pass");
                        tx.rollback().await?;
                        continue;
                    }
                }
            }
            pass.signed += 1;
            let receipt = latest.and_then(|c| super::receipts::Receipt::of(tenant_id, &c));
            if let Some(r) = receipt {
                let at = crate::Clock::now(&crate::SystemClock);
                crate::webhooks::emit_receipt(
                    &mut tx,
                    serde_json::to_value(&r).unwrap_or_default(),
                    at,
                )
                .await?;
            }
        }
        tx.commit().await?;
        if let Some(store) = anchors {
            let until = crate::Clock::now(&crate::SystemClock)
                + chrono::Duration::days(i64::from(retention_days));
            match anchor(pool, store, &slug, until).await {
                Ok(n) => pass.anchored += n,
                Err(super::anchors::AnchorError::Differs { counter, seq }) => {
                    pass.broken += 1;
                    tracing::error!(tenant = %slug, counter, seq, "the object store holds a different audit anchor under this checkpoint's number");
                }
                Err(e) => {
                    tracing::warn!(tenant = %slug, error = %e, "audit anchors not written this pass")
                }
            }
        }
    }
    Ok(pass)
}

/// Anchors the workspace's checkpoints not yet in the store, in a transaction of its own.
async fn anchor(
    pool: &AppPool,
    store: &dyn BlobStore,
    slug: &Slug,
    until: chrono::DateTime<chrono::Utc>,
) -> Result<usize, super::anchors::AnchorError> {
    let Some(mut tx) = tenancy::begin(pool, slug, Access::ReadWrite).await? else {
        return Ok(0);
    };
    let tenant_id = tx.tenant_id();
    let n = super::anchors::publish(tx.conn(), store, tenant_id, until).await?;
    tx.commit().await?;
    Ok(n)
}

/// Runs [`checkpoint_all`] every `interval` until the task is dropped.
pub async fn run(
    pool: AppPool,
    keyring: Keyring,
    anchors: Option<std::sync::Arc<dyn BlobStore>>,
    interval: Duration,
) {
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    loop {
        tick.tick().await;
        match checkpoint_all(&pool, &keyring, anchors.as_deref()).await {
            Ok(p) => tracing::info!(
                signed = p.signed,
                anchored = p.anchored,
                broken = p.broken,
                "audit checkpoint pass"
            ),
            Err(e) => tracing::warn!(error = %e, "audit checkpoint pass failed"),
        }
    }
}
