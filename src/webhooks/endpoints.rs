//! Endpoints: registration (the destination checked against the address policy), the signing
//! secret (generated, shown once, sealed; rotated with an overlap), and the outbox as seen by
//! the workspace's admins.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::signature::WebhookSecret;
use crate::crypto::store::{self, SecretKind};
use crate::crypto::{Keyring, Secret};
use crate::db;
use crate::tenancy::TenantTx;

/// Why a webhook operation was refused. Not `Display`: it reaches clients only through
/// [`crate::graphql::errors::ApiError`], which keeps internal causes out of responses.
#[derive(Debug)]
pub enum WebhookError {
    Invalid(String),
    NotFound,
    Store(store::StoreError),
    Db(db::Error),
}

impl From<db::Error> for WebhookError {
    fn from(e: db::Error) -> Self {
        Self::Db(e)
    }
}

impl From<store::StoreError> for WebhookError {
    fn from(e: store::StoreError) -> Self {
        Self::Store(e)
    }
}

/// A registered endpoint.
#[derive(Debug, Clone, db::FromRow)]
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
#[derive(Debug, Clone, db::FromRow)]
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

pub(super) fn secret_name(endpoint: Uuid) -> String {
    format!("webhook:{endpoint}")
}

pub(super) fn previous_name(endpoint: Uuid) -> String {
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
            || e == super::CHECKPOINT_EVENT
            || (!e.is_empty()
                && e.len() <= 64
                && e.starts_with(|c: char| c.is_ascii_lowercase())
                && e.chars().all(|c| c.is_ascii_alphanumeric()));
        if !ok {
            return Err(WebhookError::Invalid(format!(
                "{e:?} is not an event type (a mutation name such as createProject, audit.checkpoint, or *)"
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
    let endpoint: Endpoint = db::query_as(&format!(
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
    let endpoint: Endpoint = db::query_as(&format!(
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
    let gone = db::query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected()
        > 0;
    let tenant = tx.tenant_id();
    db::query(
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
    db::query_as(&format!(
        "UPDATE webhook_endpoints SET enabled = true, disabled_reason = NULL, consecutive_failures = 0
         WHERE id = $1 RETURNING {ENDPOINT_COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(WebhookError::NotFound)
}

pub async fn list(tx: &mut TenantTx) -> Result<Vec<Endpoint>, WebhookError> {
    Ok(db::query_as(&format!(
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
    Ok(db::query_as(
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
}
