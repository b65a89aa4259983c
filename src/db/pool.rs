use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::AppPool;
use crate::config::Config;

/// The runtime pool (see [`AppPool`]). Connections carry no session state of their own:
/// tenant context is set transaction-locally per request.
pub async fn connect_app_pool(cfg: &Config, url: &str) -> Result<AppPool, super::Error> {
    AppPool::connect(cfg, url).await
}

/// The migrator pool, sized for migration concurrency. Only migration and provisioning
/// code receives it.
pub async fn connect_migrator_pool(
    cfg: &Config,
    url: &str,
) -> Result<super::MigratorPool, sqlx::Error> {
    let max = u32::try_from(cfg.migrate_concurrency + 1).unwrap_or(u32::MAX);
    let opts: PgConnectOptions = url
        .parse::<PgConnectOptions>()?
        .application_name("tessera-migrator");
    let pool = PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(60))
        .max_lifetime(Duration::from_secs(600))
        .connect_with(opts)
        .await?;
    let pool = {
        // The server's own statements run on this driver's connections of the same role.
        let mut own = cfg.clone();
        own.pool_max_connections = max;
        own.pool_acquire_timeout_secs = 60;
        let conns = AppPool::connect(&own, url)
            .await
            .map_err(|e| sqlx::Error::Configuration(e.to_string().into()))?;
        super::MigratorPool::new(pool, conns)
    };
    Ok(pool)
}

/// Rebuilds each idle runtime connection's cached list of the runtime role's memberships,
/// one connection at a time, after the workspace roles changed (the `role_pool` job): the
/// rebuild then costs the worker instead of each connection's next request. A connection in
/// use at the time rebuilds on its own next `SET ROLE`. Returns how many were rebuilt.
pub async fn rebuild_role_memberships(pool: &AppPool) -> usize {
    let mut rebuilt = 0;
    for slot in 0..pool.max_connections() {
        let Some(mut conn) = pool.take_idle(slot).await else {
            continue;
        };
        // Any membership test of the session user rebuilds its whole list.
        let done = super::query("SELECT pg_has_role(session_user, 'pg_monitor', 'MEMBER')")
            .execute(&mut conn)
            .await;
        if done.is_ok() {
            rebuilt += 1;
        }
    }
    rebuilt
}

/// Both pools, as the CLI and `serve` hold them.
#[derive(Clone, Debug)]
pub struct Pools {
    pub app: AppPool,
    pub migrator: super::MigratorPool,
}
