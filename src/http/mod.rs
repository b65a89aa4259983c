//! The HTTP surface: routing, transport checks and the request middleware.

mod attachments;
mod auth;
mod exports;
mod graphql;
mod oidc;

use std::sync::Arc;
use std::time::Instant;

use crate::db::AppPool;
use axum::Router;
use axum::routing::get;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::config::Limits;
use crate::graphql::{GlobalSchema, TenantSchema};

/// Shared, immutable server state.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    pool: AppPool,
    tenant_schema: TenantSchema,
    global_schema: GlobalSchema,
    limits: Limits,
    keyring: Arc<crate::crypto::Keyring>,
    clock: Arc<dyn crate::Clock>,
    auth: crate::config::Auth,
    passwords: crate::identity::Passwords,
    auth_limits: Arc<crate::ratelimit::AuthLimits>,
    /// Request limits per workspace, actor and route.
    request_limits: Arc<crate::ratelimit::RequestLimits>,
    webhooks: crate::config::Webhooks,
    /// Bearer token `/metrics` requires, if any.
    metrics_token: Option<crate::crypto::Secret<String>>,
    webauthn: Arc<webauthn_rs::prelude::Webauthn>,
    outbound: Arc<crate::net::Outbound>,
    blobs: Arc<dyn crate::storage::BlobStore>,
    /// The filesystem backend, whose signed links this server serves itself.
    fs_blobs: Option<Arc<crate::storage::FsStore>>,
    storage: crate::config::Storage,
    /// Automatic persisted queries.
    apq: Arc<crate::graphql::apq::PersistedQueries>,
    /// Parsed query documents.
    documents: Arc<crate::graphql::documents::Documents>,
    /// The (public, tenant) migration versions this binary expects (`/readyz`).
    expected_migrations: (i32, i32),
    started: Instant,
}

impl AppState {
    /// The server's state from its configuration (limits, auth, network, storage).
    pub async fn new(
        pool: AppPool,
        tenant_schema: TenantSchema,
        global_schema: GlobalSchema,
        keyring: crate::crypto::Keyring,
        cfg: &crate::config::Config,
    ) -> Result<Self, String> {
        let (limits, auth, network, storage) = (
            cfg.limits.clone(),
            cfg.auth.clone(),
            &cfg.network,
            &cfg.storage,
        );
        let data_dir = &cfg.data_dir;
        let passwords = crate::identity::Passwords::new(
            auth.argon2_memory_kib,
            auth.argon2_iterations,
            auth.argon2_parallelism,
            auth.password_min_length,
            auth.max_concurrent_hashes,
        )
        .map_err(|e| format!("password hashing set-up: {}", e.describe()))?;
        let webauthn = Arc::new(crate::identity::passkeys::relying_party(
            &auth.public_origin,
        )?);
        let (blobs, fs_blobs) = crate::storage::open(storage, data_dir, &keyring).await?;
        let apq = Arc::new(crate::graphql::apq::PersistedQueries::new(
            limits.apq_entries,
        ));
        let documents = Arc::new(crate::graphql::documents::Documents::new(
            limits.document_cache_entries,
        ));
        let set = crate::db::migrate::MigrationSet::load(cfg.migrations_dir.as_deref())
            .map_err(|e| format!("migrations: {e}"))?;
        let buckets = Arc::new(match &cfg.rate_limits.redis_url {
            Some(url) => {
                crate::ratelimit::Buckets::shared(url.expose(), &cfg.rate_limits.redis_prefix)?
            }
            None => crate::ratelimit::Buckets::in_process(),
        });
        crate::observability::metrics::install();
        let outbound = Arc::new(crate::net::Outbound::new(crate::net::AddressPolicy {
            allow_loopback: network.allow_loopback,
            allow_private: network.allow_private,
        })?);
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                tenant_schema,
                global_schema,
                limits,
                keyring: Arc::new(keyring),
                clock: Arc::new(crate::SystemClock),
                auth_limits: Arc::new(crate::ratelimit::AuthLimits::new(&auth, buckets.clone())),
                request_limits: Arc::new(crate::ratelimit::RequestLimits::new(
                    cfg.rate_limits.clone(),
                    buckets,
                )),
                metrics_token: cfg.metrics_token.clone(),
                webhooks: cfg.webhooks.clone(),
                webauthn,
                outbound,
                blobs,
                fs_blobs,
                storage: storage.clone(),
                expected_migrations: (set.public_latest(), set.tenant_latest()),
                apq,
                documents,
                auth,
                passwords,
                started: Instant::now(),
            }),
        })
    }
}

impl AppState {
    /// The background worker over this server's pool, keys and store (run it with
    /// [`crate::jobs::Worker::run`]).
    pub fn worker(&self, cfg: crate::config::Jobs) -> crate::jobs::Worker {
        let i = &self.inner;
        let exports = crate::export::job::Exports {
            pool: i.pool.clone(),
            keyring: i.keyring.clone(),
            blobs: i.blobs.clone(),
            clock: i.clock.clone(),
            keep_days: cfg.export_keep_days,
        };
        let delivery = crate::webhooks::Delivery {
            pool: i.pool.clone(),
            keyring: i.keyring.clone(),
            clock: i.clock.clone(),
            outbound: i.outbound.clone(),
            webhooks: i.webhooks.clone(),
        };
        let [write, expire] = exports.jobs();
        crate::jobs::Worker::new(i.pool.clone(), cfg)
            .with(write)
            .with(expire)
            .with(Arc::new(delivery))
    }
}

pub(crate) const REQUEST_ID: &str = "x-request-id";

pub fn router(state: AppState) -> Router {
    let header = axum::http::HeaderName::from_static(REQUEST_ID);
    Router::new()
        .route("/w/{slug}/graphql", get(graphql::tenant).post(graphql::tenant))
        .route("/graphql", get(graphql::global).post(graphql::global))
        .route("/auth/signup", axum::routing::post(auth::signup))
        .route("/auth/signin", axum::routing::post(auth::signin))
        .route("/auth/signout", axum::routing::post(auth::signout))
        .route("/auth/mfa", axum::routing::post(auth::second_factor))
        .route("/auth/passkey/options", axum::routing::post(auth::passkey_options))
        .route("/auth/passkey", axum::routing::post(auth::passkey_signin))
        .route("/w/{slug}/attachments", axum::routing::post(attachments::upload))
        .route("/w/{slug}/attachments/{id}/content", get(attachments::content))
        .route("/blobs/{tenant}/{object}", get(attachments::blob))
        .route("/w/{slug}/export", get(exports::json))
        .route("/w/{slug}/export/{file}", get(exports::csv))
        .route("/w/{slug}/exports/{id}/content", get(exports::content))
        .route("/auth/oidc/{slug}/start", get(oidc::start))
        .route("/auth/oidc/{slug}/callback", get(oidc::callback))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .fallback(|| async { crate::graphql::errors::ApiError::not_found().into_http() })
        .with_state(state)
        .layer(axum::middleware::from_fn(crate::observability::log_requests))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let id = req
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                // The path only: query strings are not logged.
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            })
            // The request's own line is written by `observability::log_requests`.
            .on_request(())
            .on_response(()),
        )
        .layer(PropagateRequestIdLayer::new(header.clone()))
        .layer(SetRequestIdLayer::new(header, MakeRequestUuid))
}

/// Ready to serve: the database answers through the pool, and its public and tenant
/// migrations are the ones this binary expects. The body names no internals.
async fn readyz(
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

async fn status(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "build": option_env!("TESSERA_BUILD_SHA").unwrap_or("dev"),
        "uptime_seconds": state.inner.started.elapsed().as_secs(),
    }))
}

/// Prometheus metrics. With `metrics_token` set, only for `Authorization: Bearer <token>`.
async fn metrics(
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

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
