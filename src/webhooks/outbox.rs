//! Events: one outbox message per subscribed endpoint, written in the mutation's own
//! transaction, each with its delivery job.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db;
use crate::tenancy::TenantTx;

/// The delivery job's name in `public.jobs` (see [`super::Delivery`]).
pub(super) const KIND: &str = "webhook";

/// What happened, for an event: who did what to which object.
#[derive(Debug)]
pub struct Event<'a> {
    pub event_type: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub actor_type: &'a str,
    pub actor_id: &'a str,
    pub audit_seq: i64,
    pub at: DateTime<Utc>,
}

/// Writes a message per enabled endpoint subscribed to `event`, each with its delivery job,
/// in the mutation's transaction.
pub async fn emit(tx: &mut TenantTx, event: &Event<'_>) -> Result<usize, db::Error> {
    let endpoints = subscribed(tx, event.event_type).await?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let payload = serde_json::json!({
        "type": event.event_type,
        "timestamp": event.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": {
            "workspace": tx.tenant().slug.as_str(),
            "target": { "type": event.target_type, "id": event.target_id },
            "actor": { "type": event.actor_type, "id": event.actor_id },
            "auditSeq": event.audit_seq,
        },
    });
    enqueue(tx, &endpoints, event.event_type, &payload).await
}

/// The event type of audit checkpoint receipts.
pub const CHECKPOINT_EVENT: &str = "audit.checkpoint";

/// Sends a signed audit checkpoint (a receipt, see `audit::receipts`) to the endpoints
/// subscribed to `audit.checkpoint` (or `*`), in the checkpoint's transaction.
pub async fn emit_receipt(
    tx: &mut TenantTx,
    receipt: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<usize, db::Error> {
    let endpoints = subscribed(tx, CHECKPOINT_EVENT).await?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let payload = serde_json::json!({
        "type": CHECKPOINT_EVENT,
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": { "workspace": tx.tenant().slug.as_str(), "receipt": receipt },
    });
    enqueue(tx, &endpoints, CHECKPOINT_EVENT, &payload).await
}

/// The enabled endpoints subscribed to `event_type` (or to every event).
async fn subscribed(tx: &mut TenantTx, event_type: &str) -> Result<Vec<Uuid>, db::Error> {
    db::query_scalar(
        "SELECT id FROM webhook_endpoints
         WHERE enabled AND (events @> ARRAY[$1]::text[] OR events @> ARRAY['*']::text[])",
    )
    .bind(event_type)
    .fetch_all(tx.conn())
    .await
}

async fn enqueue(
    tx: &mut TenantTx,
    endpoints: &[Uuid],
    event_type: &str,
    payload: &serde_json::Value,
) -> Result<usize, db::Error> {
    for endpoint in endpoints {
        let id = Uuid::now_v7();
        db::query(
            "INSERT INTO webhook_messages (id, endpoint_id, event_type, payload)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(endpoint)
        .bind(event_type)
        .bind(payload)
        .execute(tx.conn())
        .await?;
        crate::jobs::enqueue(tx, KIND, id, None).await?;
    }
    Ok(endpoints.len())
}

/// The `webhook-id` of a message.
pub fn message_id(id: Uuid) -> String {
    format!("msg_{}", id.simple())
}
