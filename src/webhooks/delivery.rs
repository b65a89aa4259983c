//! Delivery: a job per message. With several replicas exactly one worker claims it (`FOR
//! UPDATE SKIP LOCKED`); it signs the message, posts it through the SSRF-guarded client,
//! records the attempt, and schedules a retry with backoff or settles the message.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::endpoints::{previous_name, secret_name};
use super::outbox::{KIND, message_id};
use super::signature::{self, WebhookSecret};
use crate::Clock;
use crate::crypto::Keyring;
use crate::crypto::store::{self, SecretKind};
use crate::db;
use crate::db::AppPool;
use crate::jobs::{Job, JobError};
use crate::tenancy::Slug;

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

/// What delivery needs: the runtime pool, the keys, a clock, the outbound client under the
/// address policy, and the delivery settings. Registered with the worker as a job.
pub struct Delivery {
    pub pool: AppPool,
    pub keyring: Arc<Keyring>,
    pub clock: Arc<dyn Clock>,
    pub outbound: Arc<crate::net::Outbound>,
    pub webhooks: crate::config::Webhooks,
}

#[async_trait::async_trait]
impl Job for Delivery {
    fn kind(&self) -> &'static str {
        KIND
    }

    /// Retries are scheduled by the delivery itself (with the webhook backoff), so a delivery
    /// that returns is done.
    async fn run(&self, slug: Option<&Slug>, message: Uuid) -> Result<(), JobError> {
        let slug = slug.ok_or("a workspace job without a workspace")?;
        deliver(self, slug, message).await
    }
}

/// The delivery job: sends one message, records the attempt, schedules a retry or settles.
async fn deliver(worker: &Delivery, slug: &Slug, message: Uuid) -> Result<(), JobError> {
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
    let row: Option<Row> = db::query_as(
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
    db::query(
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
            db::query(
                "UPDATE webhook_messages SET status = 'delivered', attempts = $2, delivered_at = now()
                 WHERE id = $1",
            )
            .bind(message)
            .bind(number)
            .execute(tx.conn())
            .await?;
            db::query("UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE id = $1")
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
            db::query(
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
                crate::jobs::enqueue(&mut tx, KIND, message, Some(at)).await?;
            } else if enabled {
                // Concatenation, not `format()`: Citus refuses a non-immutable function inside
                // CASE in an UPDATE of a distributed table.
                let disabled: Option<bool> = db::query_scalar(
                    "UPDATE webhook_endpoints
                        SET consecutive_failures = consecutive_failures + 1,
                            enabled = consecutive_failures + 1 < $2,
                            disabled_reason = CASE WHEN consecutive_failures + 1 >= $2
                                THEN (consecutive_failures + 1)::text || ' messages in a row failed every attempt'
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
    worker: &Delivery,
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
    fn backoff_doubles_with_bounded_jitter_and_caps_at_an_hour() {
        for attempt in 1..=5 {
            let d = backoff(1000, attempt).as_millis() as u64;
            let base = 1000u64 << (attempt - 1);
            assert!((base..=base + base / 5).contains(&d), "{attempt}: {d}");
        }
        assert!(backoff(10_000, 40).as_millis() <= 3_600_000 * 6 / 5);
    }
}
