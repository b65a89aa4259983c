//! Identity events: the account security log and the workspaces' audit chains.
//!
//! Every identity event (sign-up, sign-in, failed sign-in of a known account, verification,
//! password changes and resets, second-factor changes, session revocations) goes to the
//! account's own security log, which the user reads (`viewer.securityEvents`). Users are
//! global, but audit chains belong to workspaces: the event is also appended to the chain of
//! every workspace the user belongs to, where a workspace's owners and auditors look for what
//! happened to their members' accounts. Events of an unknown account are logged only (WARN, no
//! secrets). Each write is its own transaction, after the event took effect; a failed write is
//! logged as an error and does not undo the event.

use crate::db::AppPool;
use uuid::Uuid;

use crate::audit::{self, EntryMeta, NewEntry};
use crate::crypto::Keyring;
use crate::db;
use crate::tenancy::{self, Access, Slug};

/// One identity event, before it is fanned out.
#[derive(Debug, Clone)]
pub struct Event {
    pub action: &'static str,
    pub payload: serde_json::Value,
}

impl Event {
    pub fn new(action: &'static str, payload: serde_json::Value) -> Self {
        Self { action, payload }
    }
}

/// Writes `events` of `user_id` to the account's security log and appends them to the chains
/// of the user's workspaces.
pub async fn record(
    pool: &AppPool,
    keyring: &Keyring,
    clock: &dyn crate::Clock,
    user_id: Uuid,
    meta: &EntryMeta,
    user_agent: &str,
    events: &[Event],
) {
    if events.is_empty() {
        return;
    }
    if let Err(e) = account_log(pool, user_id, meta, user_agent, events).await {
        tracing::error!(error = %e, user = %user_id, "account security log: write failed");
    }
    let slugs = match workspaces(pool, user_id).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, user = %user_id, "identity audit: listing workspaces failed");
            return;
        }
    };
    for slug in slugs {
        if let Err(e) = append_all(pool, keyring, clock, &slug, user_id, meta, events).await {
            tracing::error!(error = %e, workspace = %slug.as_str(), "identity audit: append failed");
        }
    }
}

async fn account_log(
    pool: &AppPool,
    user_id: Uuid,
    meta: &EntryMeta,
    user_agent: &str,
    events: &[Event],
) -> Result<(), db::Error> {
    let mut conn = pool.acquire().await?;
    for ev in events {
        super::account::record_event(
            &mut conn,
            user_id,
            ev.action,
            &meta.client_ip,
            user_agent,
            &ev.payload,
        )
        .await?;
    }
    Ok(())
}

async fn workspaces(pool: &AppPool, user_id: Uuid) -> Result<Vec<Slug>, db::Error> {
    let mut gtx = tenancy::begin_global(pool, Access::ReadOnly).await?;
    gtx.set_user(user_id).await?;
    let rows = super::workspaces_of(gtx.conn(), user_id, None).await?;
    gtx.commit().await?;
    Ok(rows
        .into_iter()
        .filter_map(|(slug, _, _)| Slug::parse(&slug).ok())
        .collect())
}

async fn append_all(
    pool: &AppPool,
    keyring: &Keyring,
    clock: &dyn crate::Clock,
    slug: &Slug,
    user_id: Uuid,
    meta: &EntryMeta,
    events: &[Event],
) -> Result<(), String> {
    let Some(mut tx) = tenancy::begin(pool, slug, Access::ReadWrite)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let tenant_id = tx.tenant_id();
    for ev in events {
        audit::append(
            tx.conn(),
            keyring,
            tenant_id,
            clock.now(),
            meta,
            NewEntry {
                action: ev.action,
                target_type: "user",
                target_id: user_id.to_string(),
                payload: ev.payload.clone(),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    tx.commit().await.map_err(|e| e.to_string())
}
