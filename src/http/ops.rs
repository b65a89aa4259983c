//! Operational endpoints: `/readyz`, `/status` and `/metrics`.

use super::state::AppState;

/// Ready to serve: the database answers through the pool, and its public and tenant
/// migrations are the ones this binary expects. The body names no internals.
pub(super) async fn readyz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let found: Result<(Option<i32>, Option<i32>), sqlx::Error> = async {
        let mut conn = state.inner.pool.acquire().await?;
        sqlx::query_as(
            "SELECT public_version, tenant_version FROM public.tessera_migration_state()",
        )
        .fetch_one(&mut *conn)
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

/// Prometheus metrics. With `metrics_token` set, only for `Authorization: Bearer <token>`.
pub(super) async fn metrics(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Some(token) = &state.inner.metrics_token {
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let ok: bool =
            subtle::ConstantTimeEq::ct_eq(presented.as_bytes(), token.expose().as_bytes()).into();
        if !ok {
            return crate::graphql::errors::ApiError::unauthenticated().into_http();
        }
    }
    let pool = &state.inner.pool;
    crate::observability::metrics::pool_usage(pool.size(), pool.num_idle(), pool.max_connections());
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::observability::metrics::render(),
    )
        .into_response()
}
