//! Outbound webhooks: endpoints, the outbox, and delivery.
//!
//! - **Endpoints** are registered per workspace with a URL and the event types they want
//!   (mutation names such as `createProject`, or `*`). The URL is checked against the address
//!   policy when registered (literal addresses in every spelling, and what the host resolves
//!   to). The signing secret is generated here, shown once, and kept sealed in the tenant
//!   secrets store; a rotation keeps the previous secret signing for an overlap period, so
//!   receivers see two signatures meanwhile.
//! - **Events** are written by the audit extension, in the mutation's own transaction: one
//!   outbox message per subscribed endpoint, each with a job in `public.jobs`. A mutation that
//!   rolls back leaves no message; one that commits always has them.
//! - **Delivery** is a job: with several replicas exactly one worker claims it (`FOR UPDATE
//!   SKIP LOCKED`). The worker signs the message (Standard Webhooks), posts it through
//!   [`crate::net::Outbound`], which resolves the host again and refuses forbidden addresses
//!   at connect time (a DNS answer that changed since registration cannot reach the inside)
//!   and never follows redirects. Every attempt is recorded; a failure is retried with
//!   exponential backoff and jitter; a message that fails every attempt counts against its
//!   endpoint, which is disabled after `webhooks.disable_after_failures` such messages in a
//!   row. Delivery is at least once: receivers deduplicate by `webhook-id`.
//!
//! Events are thin: the type, the workspace, the target's type and id, the actor and the audit
//! sequence number. Receivers read details through the API with their own credentials, so a
//! webhook never carries more than its endpoint's owner could already see.

pub mod signature;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::crypto::store::{self, SecretKind};
use crate::crypto::{Keyring, Secret};
use crate::tenancy::TenantTx;
use signature::WebhookSecret;

/// Why a webhook operation was refused. Not `Display`: it reaches clients only through
/// [`crate::graphql::errors::ApiError`], which keeps internal causes out of responses.
#[derive(Debug)]
pub enum WebhookError {
    Invalid(String),
    NotFound,
    Store(store::StoreError),
    Db(sqlx::Error),
}

impl From<sqlx::Error> for WebhookError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

impl From<store::StoreError> for WebhookError {
    fn from(e: store::StoreError) -> Self {
        Self::Store(e)
    }
}

/// A registered endpoint.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Endpoint {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i32,
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// One outbox message and its latest attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Message {
    pub id: Uuid,
    pub event_type: String,
    pub status: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
}

const ENDPOINT_COLUMNS: &str = "id, url, events, enabled, disabled_reason, consecutive_failures, \
                                previous_secret_until, created_at";

fn secret_name(endpoint: Uuid) -> String {
    format!("webhook:{endpoint}")
}

fn previous_name(endpoint: Uuid) -> String {
    format!("webhook:{endpoint}:previous")
}

/// Event types: `*` or mutation names.
fn check_events(events: &[String]) -> Result<Vec<String>, WebhookError> {
    if events.is_empty() || events.len() > 100 {
        return Err(WebhookError::Invalid(
            "subscribe to 1 to 100 event types".into(),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(events.len());
    for e in events {
        let e = e.trim();
        let ok = e == "*"
            || (!e.is_empty()
                && e.len() <= 64
                && e.starts_with(|c: char| c.is_ascii_lowercase())
                && e.chars().all(|c| c.is_ascii_alphanumeric()));
        if !ok {
            return Err(WebhookError::Invalid(format!(
                "{e:?} is not an event type (a mutation name such as createProject, or *)"
            )));
        }
        if !out.iter().any(|x| x == e) {
            out.push(e.to_owned());
        }
    }
    Ok(out)
}

/// Checks a destination against the address policy: scheme, credentials, literal addresses
/// in every spelling, and every address its host resolves to now.
pub async fn check_destination(
    outbound: &crate::net::Outbound,
    url: &str,
) -> Result<String, WebhookError> {
    if url.len() > 2048 {
        return Err(WebhookError::Invalid("the URL is too long".into()));
    }
    let parsed = outbound
        .policy
        .check_url(url)
        .map_err(WebhookError::Invalid)?;
    outbound
        .policy
        .check_resolves(&parsed)
        .await
        .map_err(WebhookError::Invalid)?;
    Ok(parsed.to_string())
}

/// Generates and stores a new signing secret for endpoint `id`.
async fn new_secret(
    tx: &mut TenantTx,
    keyring: &Keyring,
    id: Uuid,
) -> Result<WebhookSecret, WebhookError> {
    let secret = WebhookSecret::generate();
    store::put(
        tx,
        keyring,
        SecretKind::WebhookSecret,
        &secret_name(id),
        &Secret::new(secret.expose()),
    )
    .await?;
    Ok(secret)
}

/// Registers an endpoint; returns it with its new secret (shown once).
pub async fn create(
    tx: &mut TenantTx,
    keyring: &Keyring,
    outbound: &crate::net::Outbound,
    created_by: Uuid,
    url: &str,
    events: &[String],
) -> Result<(Endpoint, WebhookSecret), WebhookError> {
    let events = check_events(events)?;
    let url = check_destination(outbound, url).await?;
    let id = Uuid::now_v7();
    let endpoint: Endpoint = sqlx::query_as(&format!(
        "INSERT INTO webhook_endpoints (id, url, events, created_by) VALUES ($1, $2, $3, $4)
         RETURNING {ENDPOINT_COLUMNS}"
    ))
    .bind(id)
    .bind(&url)
    .bind(&events)
    .bind(created_by)
    .fetch_one(tx.conn())
    .await?;
    let secret = new_secret(tx, keyring, id).await?;
    Ok((endpoint, secret))
}

/// A new secret for an endpoint; the old one keeps signing (second signature) for
/// `overlap_hours`.
pub async fn rotate(
    tx: &mut TenantTx,
    keyring: &Keyring,
    id: Uuid,
    overlap_hours: i32,
) -> Result<(Endpoint, WebhookSecret), WebhookError> {
    let endpoint: Endpoint = sqlx::query_as(&format!(
        "UPDATE webhook_endpoints SET previous_secret_until = now() + make_interval(hours => $2)
         WHERE id = $1 RETURNING {ENDPOINT_COLUMNS}"
    ))
    .bind(id)
    .bind(overlap_hours.max(0))
    .fetch_optional(tx.conn())
    .await?
    .ok_or(WebhookError::NotFound)?;
    let current = store::get(tx, keyring, SecretKind::WebhookSecret, &secret_name(id)).await?;
    store::put(
        tx,
        keyring,
        SecretKind::WebhookSecret,
        &previous_name(id),
        &current,
    )
    .await?;
    let secret = new_secret(tx, keyring, id).await?;
    Ok((endpoint, secret))
}

/// Removes an endpoint, its messages and its secrets.
pub async fn delete(tx: &mut TenantTx, id: Uuid) -> Result<bool, WebhookError> {
    let gone = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected()
        > 0;
    let tenant = tx.tenant_id();
    sqlx::query(
        "DELETE FROM public.tenant_secrets WHERE tenant_id = $1 AND kind = $2 AND name IN ($3, $4)",
    )
    .bind(tenant)
    .bind(SecretKind::WebhookSecret.as_str())
    .bind(secret_name(id))
    .bind(previous_name(id))
    .execute(tx.conn())
    .await?;
    Ok(gone)
}

/// Enables an endpoint again (after it was disabled for failing), clearing its failures.
pub async fn enable(tx: &mut TenantTx, id: Uuid) -> Result<Endpoint, WebhookError> {
    sqlx::query_as(&format!(
        "UPDATE webhook_endpoints SET enabled = true, disabled_reason = NULL, consecutive_failures = 0
         WHERE id = $1 RETURNING {ENDPOINT_COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(WebhookError::NotFound)
}

pub async fn list(tx: &mut TenantTx) -> Result<Vec<Endpoint>, WebhookError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY created_at, id"
    ))
    .fetch_all(tx.conn())
    .await?)
}

/// The newest `first` messages of an endpoint, with their latest attempt.
pub async fn messages(
    tx: &mut TenantTx,
    endpoint: Uuid,
    first: i64,
) -> Result<Vec<Message>, WebhookError> {
    Ok(sqlx::query_as(
        "SELECT m.id, m.event_type, m.status, m.attempts, m.created_at, m.delivered_at,
                a.status_code AS last_status_code, a.error AS last_error
         FROM webhook_messages m
         LEFT JOIN LATERAL (SELECT status_code, error FROM webhook_attempts
                            WHERE message_id = m.id ORDER BY attempt DESC LIMIT 1) a ON true
         WHERE m.endpoint_id = $1
         ORDER BY m.created_at DESC, m.id DESC
         LIMIT $2",
    )
    .bind(endpoint)
    .bind(first)
    .fetch_all(tx.conn())
    .await?)
}

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
pub async fn emit(tx: &mut TenantTx, event: &Event<'_>) -> Result<usize, sqlx::Error> {
    let endpoints: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM webhook_endpoints
         WHERE enabled AND (events @> ARRAY[$1]::text[] OR events @> ARRAY['*']::text[])",
    )
    .bind(event.event_type)
    .fetch_all(tx.conn())
    .await?;
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
    for endpoint in &endpoints {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO webhook_messages (id, endpoint_id, event_type, payload)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(endpoint)
        .bind(event.event_type)
        .bind(&payload)
        .execute(tx.conn())
        .await?;
        crate::jobs::enqueue(tx, crate::jobs::Kind::Webhook, id, None).await?;
    }
    Ok(endpoints.len())
}

/// The `webhook-id` of a message.
pub fn message_id(id: Uuid) -> String {
    format!("msg_{}", id.simple())
}

/// One delivery attempt's result.
enum Attempt {
    Delivered(u16),
    Failed {
        status: Option<u16>,
        error: String,
        refused: bool,
    },
}

/// The delay before retry `attempt` (1-based): `base × 2^(attempt-1)`, at most one hour, with
/// up to 20% jitter so retries of many messages spread out.
fn backoff(base_ms: u64, attempt: i32) -> std::time::Duration {
    use rand::Rng;
    let exp = u32::try_from((attempt - 1).clamp(0, 20)).unwrap_or(0);
    let ms = base_ms.saturating_mul(1u64 << exp).min(3_600_000);
    let jitter = rand::rng().random_range(0..=ms / 5);
    std::time::Duration::from_millis(ms + jitter)
}

/// The delivery job: sends one message, records the attempt, schedules a retry or settles.
pub async fn deliver(
    worker: &crate::jobs::Worker,
    slug: &crate::tenancy::Slug,
    message: Uuid,
) -> Result<(), crate::jobs::JobError> {
    use crate::tenancy::{self, Access};
    let cfg = &worker.webhooks;
    // Read what to send in a short transaction: no connection is held during the request.
    let Some(mut tx) = tenancy::begin(&worker.pool, slug, Access::ReadOnly).await? else {
        return Ok(());
    };
    type Row = (
        String,
        serde_json::Value,
        i32,
        Uuid,
        String,
        bool,
        Option<DateTime<Utc>>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT m.status, m.payload, m.attempts, e.id, e.url, e.enabled, e.previous_secret_until
         FROM webhook_messages m JOIN webhook_endpoints e ON e.id = m.endpoint_id
         WHERE m.id = $1",
    )
    .bind(message)
    .fetch_optional(tx.conn())
    .await?;
    let Some((status, payload, attempts, endpoint, url, enabled, previous_until)) = row else {
        // The endpoint was deleted with its messages.
        return Ok(());
    };
    if status != "pending" {
        return Ok(());
    }
    let now = worker.clock.now();
    let mut secrets = vec![
        store::get(
            &mut tx,
            &worker.keyring,
            SecretKind::WebhookSecret,
            &secret_name(endpoint),
        )
        .await
        .map_err(|e| format!("webhook secret: {e:?}"))?,
    ];
    if previous_until.is_some_and(|t| t > now)
        && let Ok(prev) = store::get(
            &mut tx,
            &worker.keyring,
            SecretKind::WebhookSecret,
            &previous_name(endpoint),
        )
        .await
    {
        secrets.push(prev);
    }
    tx.rollback().await?;
    let secrets: Vec<WebhookSecret> = secrets
        .iter()
        .filter_map(|s| WebhookSecret::parse(s.expose()))
        .collect();

    let started = std::time::Instant::now();
    let attempt = if secrets.is_empty() {
        // Never send unsigned: a secret replaced through `setSecret` by something that is
        // not a `whsec_` key fails here.
        Attempt::Failed {
            status: None,
            error: "the endpoint has no valid signing secret".into(),
            refused: false,
        }
    } else if enabled {
        send(worker, &url, message, &payload, &secrets, now.timestamp()).await
    } else {
        Attempt::Failed {
            status: None,
            error: "the endpoint is disabled".into(),
            refused: false,
        }
    };
    let elapsed = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);

    let Some(mut tx) = tenancy::begin(&worker.pool, slug, Access::ReadWrite).await? else {
        return Ok(());
    };
    let number = attempts + 1;
    let (code, error) = match &attempt {
        Attempt::Delivered(code) => (Some(i32::from(*code)), None),
        Attempt::Failed { status, error, .. } => (
            status.map(i32::from),
            Some(error.chars().take(300).collect::<String>()),
        ),
    };
    sqlx::query(
        "INSERT INTO webhook_attempts (message_id, attempt, status_code, error, duration_ms)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(message)
    .bind(number)
    .bind(code)
    .bind(&error)
    .bind(elapsed)
    .execute(tx.conn())
    .await?;
    match attempt {
        Attempt::Delivered(_) => {
            crate::observability::metrics::webhook_delivery("delivered");
            sqlx::query(
                "UPDATE webhook_messages SET status = 'delivered', attempts = $2, delivered_at = now()
                 WHERE id = $1",
            )
            .bind(message)
            .bind(number)
            .execute(tx.conn())
            .await?;
            sqlx::query("UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE id = $1")
                .bind(endpoint)
                .execute(tx.conn())
                .await?;
        }
        Attempt::Failed { refused, .. } => {
            crate::observability::metrics::webhook_delivery(if refused {
                "refused"
            } else {
                "failed"
            });
            let last = number >= cfg.max_attempts || !enabled;
            sqlx::query(
                "UPDATE webhook_messages SET attempts = $2,
                        status = CASE WHEN $3 THEN 'failed' ELSE status END
                 WHERE id = $1",
            )
            .bind(message)
            .bind(number)
            .bind(last)
            .execute(tx.conn())
            .await?;
            if !last {
                let wait = backoff(cfg.retry_base_ms, number);
                let at =
                    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(60));
                crate::jobs::enqueue(&mut tx, crate::jobs::Kind::Webhook, message, Some(at))
                    .await?;
            } else if enabled {
                let disabled: Option<bool> = sqlx::query_scalar(
                    "UPDATE webhook_endpoints
                        SET consecutive_failures = consecutive_failures + 1,
                            enabled = consecutive_failures + 1 < $2,
                            disabled_reason = CASE WHEN consecutive_failures + 1 >= $2
                                THEN format('%s messages in a row failed every attempt', consecutive_failures + 1)
                                ELSE disabled_reason END
                      WHERE id = $1
                  RETURNING NOT enabled",
                )
                .bind(endpoint)
                .bind(cfg.disable_after_failures.max(1))
                .fetch_optional(tx.conn())
                .await?;
                if disabled == Some(true) {
                    crate::observability::metrics::webhook_delivery("disabled");
                    tracing::warn!(tenant = %slug, endpoint = %endpoint, "webhook endpoint disabled after repeated failures");
                }
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

async fn send(
    worker: &crate::jobs::Worker,
    url: &str,
    message: Uuid,
    payload: &serde_json::Value,
    secrets: &[WebhookSecret],
    timestamp: i64,
) -> Attempt {
    let refused = |error: String| Attempt::Failed {
        status: None,
        error,
        refused: true,
    };
    // Literal addresses are checked here; host names by the resolver, at connect time.
    let url = match worker.outbound.policy.check_url(url) {
        Ok(u) => u,
        Err(e) => return refused(e),
    };
    let Ok(body) = serde_json::to_vec(payload) else {
        return refused("the message could not be encoded".into());
    };
    let id = message_id(message);
    let refs: Vec<&WebhookSecret> = secrets.iter().collect();
    let signature = signature::sign(&refs, &id, timestamp, &body);
    let sent = worker
        .outbound
        .client()
        .post(url)
        .timeout(std::time::Duration::from_secs(
            worker.webhooks.timeout_secs.max(1),
        ))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, "Tessera-Webhooks/1")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(resp) if resp.status().is_success() => Attempt::Delivered(resp.status().as_u16()),
        Ok(resp) => Attempt::Failed {
            status: Some(resp.status().as_u16()),
            error: if resp.status().is_redirection() {
                "redirects are not followed".into()
            } else {
                format!("the endpoint answered {}", resp.status().as_u16())
            },
            refused: false,
        },
        Err(e) => {
            let chain = std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(": ");
            if chain.contains("no allowed address") {
                refused("the host resolves only to addresses that are not allowed".into())
            } else if e.is_timeout() {
                Attempt::Failed {
                    status: None,
                    error: "timed out".into(),
                    refused: false,
                }
            } else {
                Attempt::Failed {
                    status: None,
                    error: if e.is_connect() {
                        "could not connect".into()
                    } else {
                        "the request failed".into()
                    },
                    refused: false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_mutation_names_or_everything() {
        let ok = check_events(&["createProject".into(), "*".into(), "createProject".into()]);
        assert_eq!(ok.unwrap(), vec!["createProject", "*"]);
        for bad in ["", "Create", "create-project", "a b", &"x".repeat(65)] {
            assert!(check_events(&[bad.to_owned()]).is_err(), "{bad:?}");
        }
        assert!(check_events(&[]).is_err());
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter_and_caps_at_an_hour() {
        for attempt in 1..=5 {
            let d = backoff(1000, attempt).as_millis() as u64;
            let base = 1000u64 << (attempt - 1);
            assert!((base..=base + base / 5).contains(&d), "{attempt}: {d}");
        }
        assert!(backoff(10_000, 40).as_millis() <= 3_600_000 * 6 / 5);
    }
}
