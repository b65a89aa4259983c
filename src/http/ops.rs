//! Operational endpoints: `/readyz`, `/status` and `/metrics`.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::state::{AppState, MetricsAccess};
use crate::db;
use crate::graphql::errors::ApiError;

/// Ready to serve: the database answers through the pool, and its public and tenant
/// migrations are the ones this binary expects. The body names no internals.
pub(super) async fn readyz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let found: Result<(Option<i32>, Option<i32>), db::Error> = async {
        let mut conn = state.inner.pool.acquire().await?;
        db::query_as("SELECT public_version, tenant_version FROM public.tessera_migration_state()")
            .fetch_one(&mut conn)
            .await
    }
    .await;
    let not_ready = |reason: &str| {
        (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({ "ready": false, "reason": reason })),
        )
            .into_response()
    };
    match found {
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unavailable");
            not_ready("database unavailable")
        }
        Ok((p, t)) if (p.unwrap_or(0), t.unwrap_or(0)) != state.inner.expected_migrations => {
            not_ready("migrations pending")
        }
        Ok(_) => axum::Json(serde_json::json!({ "ready": true })).into_response(),
    }
}

pub(super) async fn status(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "build": env!("TESSERA_BUILD_SHA"),
        "uptime_seconds": state.inner.started.elapsed().as_secs(),
    }))
}

/// Prometheus metrics on the main listener: off unless `metrics_token` is set (then only for
/// `Authorization: Bearer <token>`) or `metrics_public` is (development). With
/// `metrics_listen`, they are served there instead ([`metrics_router`]).
pub(super) async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve_metrics(&state, &headers, state.inner.metrics_on_main)
}

/// The router of the separate metrics listener (`metrics_listen`): `/metrics` only, with the
/// token when one is set.
pub fn metrics_router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(
                |State(state): State<AppState>, headers: HeaderMap| async move {
                    let access = if state.inner.metrics_token.is_some() {
                        MetricsAccess::Token
                    } else {
                        MetricsAccess::Open
                    };
                    serve_metrics(&state, &headers, access)
                },
            ),
        )
        .with_state(state)
}

fn serve_metrics(state: &AppState, headers: &HeaderMap, access: MetricsAccess) -> Response {
    match (access, &state.inner.metrics_token) {
        (MetricsAccess::Off, _) => return ApiError::not_found().into_http(),
        (MetricsAccess::Token, Some(token)) => {
            let presented = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            let ok: bool =
                subtle::ConstantTimeEq::ct_eq(presented.as_bytes(), token.expose().as_bytes())
                    .into();
            if !ok {
                return ApiError::unauthenticated().into_http();
            }
        }
        (MetricsAccess::Token, None) => return ApiError::not_found().into_http(),
        (MetricsAccess::Open, _) => {}
    }
    let pool = &state.inner.pool;
    crate::observability::metrics::pool_usage(pool.size(), pool.num_idle(), pool.max_connections());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::observability::metrics::render(),
    )
        .into_response()
}

/// `GET /.well-known/tessera-audit-keys`: the Ed25519 public keys that sign audit
/// checkpoints and receipts, by master key id, so a customer can check an export and its
/// receipts without the server. Keys of a finished rotation stay listed while configured as
/// previous keys; keep a copy of this document with your receipts.
pub async fn audit_keys(State(state): State<AppState>) -> axum::response::Response {
    use base64::Engine;
    let current = state.inner.keyring.current().id();
    let keys: Vec<serde_json::Value> = state
        .inner
        .keyring
        .all()
        .filter_map(|k| {
            let public = state.inner.keyring.checkpoint_verifier(k.id())?;
            Some(serde_json::json!({
                "key_id": k.id(),
                "algorithm": "Ed25519",
                "public_key": base64::engine::general_purpose::STANDARD.encode(public.to_bytes()),
                "current": k.id() == current,
            }))
        })
        .collect();
    let mut resp = axum::Json(serde_json::json!({
        "format": "tessera-audit-keys-v1",
        "keys": keys,
    }))
    .into_response();
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("public, max-age=300"),
    );
    resp
}
