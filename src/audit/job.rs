//! The in-server job: periodically signs a checkpoint of every workspace's chain head and
//! re-verifies the chain, logging any break. Each new checkpoint also goes out as a receipt
//! to the workspace's `audit.checkpoint` webhook endpoints (see [`super::receipts`]).

use std::time::Duration;

use crate::db::AppPool;

use super::{checkpoint, verify};
use crate::crypto::Keyring;
use crate::tenancy::{self, Access, Slug};

/// One pass over all active workspaces. Returns (checkpoints signed, broken chains).
pub async fn checkpoint_all(
    pool: &AppPool,
    keyring: &Keyring,
) -> Result<(usize, usize), sqlx::Error> {
    let slugs: Vec<String> =
        sqlx::query_scalar("SELECT slug FROM public.tenants WHERE state = 'active' ORDER BY slug")
            .fetch_all(&mut *pool.acquire().await?)
            .await?;
    let (mut signed, mut broken) = (0, 0);
    for slug in slugs {
        let Ok(slug) = Slug::parse(&slug) else {
            continue;
        };
        let Some(mut tx) = tenancy::begin(pool, &slug, Access::ReadWrite).await? else {
            continue;
        };
        let tenant_id = tx.tenant_id();
        let report = verify(tx.conn(), keyring, tenant_id).await?;
        if let Some(b) = &report.problem {
            broken += 1;
            tracing::error!(tenant = %slug, seq = b.seq, reason = %b.reason, "audit chain broken; not checkpointing it");
            tx.rollback().await?;
            continue;
        }
        if checkpoint(tx.conn(), keyring, tenant_id).await?.is_some() {
            signed += 1;
            let receipt = super::checkpoints::latest(tx.conn(), tenant_id)
                .await?
                .and_then(|c| super::receipts::Receipt::of(tenant_id, &c));
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
    }
    Ok((signed, broken))
}

/// Runs [`checkpoint_all`] every `interval` until the task is dropped.
pub async fn run(pool: AppPool, keyring: Keyring, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    loop {
        tick.tick().await;
        match checkpoint_all(&pool, &keyring).await {
            Ok((signed, broken)) => tracing::info!(signed, broken, "audit checkpoint pass"),
            Err(e) => tracing::warn!(error = %e, "audit checkpoint pass failed"),
        }
    }
}
