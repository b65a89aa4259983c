//! Prometheus metrics, rendered at `/metrics`.
//!
//! Every label has a bounded set of values: routes are axum's route templates
//! (`/w/{slug}/graphql`, never a concrete slug), and GraphQL operation names are kept for
//! the first [`MAX_OPERATION_NAMES`] distinct well-formed names a process sees and counted as
//! `_other` beyond, so a client cannot grow the metric set without bound.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Distinct GraphQL operation names a process labels metrics with.
pub const MAX_OPERATION_NAMES: usize = 200;

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder (once; later calls reuse it). `None` if another recorder
/// was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let built = PrometheusBuilder::new()
                .set_buckets(LATENCY_BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match built {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// The text exposition of every metric.
pub fn render() -> String {
    match install() {
        Some(h) => {
            h.run_upkeep();
            h.render()
        }
        None => String::new(),
    }
}

/// A label value for a client-chosen GraphQL operation name.
pub fn operation_label(name: Option<&str>) -> String {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let Some(name) = name else {
        return "_anonymous".into();
    };
    let well_formed = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !well_formed {
        return "_other".into();
    }
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    let seen = seen.get_or_insert_with(HashSet::new);
    if seen.contains(name) || seen.len() < MAX_OPERATION_NAMES {
        seen.insert(name.to_owned());
        name.to_owned()
    } else {
        "_other".into()
    }
}

pub fn http_request(route: &str, method: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("route", route.to_owned()),
        ("method", method.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::histogram!("tessera_http_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
}

pub fn graphql_operation(operation: &str, kind: &'static str, ok: bool, elapsed: Duration) {
    let labels = [
        ("operation", operation.to_owned()),
        ("type", kind.to_owned()),
        ("outcome", if ok { "ok" } else { "error" }.to_owned()),
    ];
    metrics::histogram!("tessera_graphql_operation_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
}

/// Time spent waiting for a pooled connection.
pub fn pool_wait(elapsed: Duration) {
    metrics::histogram!("tessera_db_pool_wait_seconds").record(elapsed.as_secs_f64());
}

/// Connections of the pool: open and idle.
pub fn pool_usage(size: usize, idle: usize, max: usize) {
    metrics::gauge!("tessera_db_pool_connections").set(size as f64);
    metrics::gauge!("tessera_db_pool_idle_connections").set(idle as f64);
    metrics::gauge!("tessera_db_pool_max_connections").set(max as f64);
}

pub fn pool_timeout() {
    metrics::counter!("tessera_db_pool_timeouts_total").increment(1);
}

pub fn rate_limited(route: &'static str) {
    metrics::counter!("tessera_rate_limited_total", "route" => route).increment(1);
}

pub fn rate_limit_backend_error() {
    metrics::counter!("tessera_rate_limit_backend_errors_total").increment(1);
}

/// A request refused for its credentials (401), by route template.
pub fn auth_failure(route: &str) {
    metrics::counter!("tessera_auth_failures_total", "route" => route.to_owned()).increment(1);
}

pub fn audit_append() {
    metrics::counter!("tessera_audit_appends_total").increment(1);
}

/// A webhook delivery attempt: `delivered`, `failed`, `refused` (address policy) or `disabled`.
pub fn webhook_delivery(outcome: &'static str) {
    metrics::counter!("tessera_webhook_deliveries_total", "outcome" => outcome).increment(1);
}

pub fn idempotent_replay() {
    metrics::counter!("tessera_idempotent_replays_total").increment(1);
}

/// Live (WebSocket) connections opened (`+1`) and closed (`-1`).
pub fn live_connection(delta: i8) {
    metrics::gauge!("tessera_live_connections").increment(f64::from(delta));
}

/// A live connection closed because its credentials stopped holding.
pub fn live_revoked() {
    metrics::counter!("tessera_live_revoked_total").increment(1);
}

/// A request refused because its address is outside the workspace's IP allowlist, by
/// surface (`graphql`, `live`, `attachments`, `blobs`, `exports`, `scim`).
pub fn ip_refused(surface: &'static str) {
    metrics::counter!("tessera_ip_allowlist_refusals_total", "surface" => surface).increment(1);
}
