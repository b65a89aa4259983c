use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::Config;

/// How long a pooled connection may sit idle before it is checked with a round trip
/// before use.
const PING_AFTER_IDLE: Duration = Duration::from_secs(10);

/// The runtime pool. Connections carry no session state of their own: tenant context is
/// set transaction-locally per request, so `after_release` has nothing to reset. Each
/// connection is retired after `pool_max_lifetime`, which bounds the per-backend catalog
/// and plan caches that grow as one backend touches thousands of tenant schemas.
pub async fn connect_app_pool(cfg: &Config, url: &str) -> Result<PgPool, sqlx::Error> {
    let opts: PgConnectOptions = url
        .parse::<PgConnectOptions>()?
        .application_name("tessera")
        .statement_cache_capacity(cfg.statement_cache_capacity);
    PgPoolOptions::new()
        .max_connections(cfg.pool_max_connections)
        .min_connections(0)
        // sqlx would ping every idle connection it hands out: a round trip added to each
        // request. Only connections idle for a while are checked; one that died while in
        // recent use fails the statement that draws it, and is dropped. A tenant entry,
        // which runs before anything else, then retries once on another connection
        // (`tenancy::enter`), so a database restart costs requests nothing.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .max_lifetime(cfg.pool_max_lifetime())
        .idle_timeout(Duration::from_secs(300))
        .acquire_timeout(Duration::from_secs(cfg.pool_acquire_timeout_secs))
        .connect_with(opts)
        .await
}

/// The migrator pool, sized for migration concurrency. Only migration and provisioning
/// code receives it.
pub async fn connect_migrator_pool(cfg: &Config, url: &str) -> Result<PgPool, sqlx::Error> {
    let opts: PgConnectOptions = url
        .parse::<PgConnectOptions>()?
        .application_name("tessera-migrator");
    PgPoolOptions::new()
        .max_connections(u32::try_from(cfg.migrate_concurrency + 1).unwrap_or(u32::MAX))
        .acquire_timeout(Duration::from_secs(60))
        .max_lifetime(Duration::from_secs(600))
        .connect_with(opts)
        .await
}

/// Both pools, as the CLI and `serve` hold them.
#[derive(Clone, Debug)]
pub struct Pools {
    pub app: PgPool,
    pub migrator: PgPool,
}
