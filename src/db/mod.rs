//! Database access: the role model, connection pools, the migration runner and the
//! embedded development cluster.
//!
//! Two pools exist, for two different roles, never for one role twice: the runtime pool
//! (`<prefix>_app`, serves requests) and a small migrator pool that only migration and
//! provisioning code receives. Request handlers never see the migrator pool.

mod app_pool;
mod bootstrap;
pub mod citus;
mod driver;
pub mod embedded;
pub mod migrate;
mod pool;
pub mod sql_split;
mod tx_conn;

pub use app_pool::{AppPool, HOME_WAIT, PooledConn};
pub use bootstrap::{
    BootstrapError, admin_connect as admin_connect_url, bootstrap_database, drop_database,
};
pub use driver::*;
pub use pool::{Pools, connect_app_pool, connect_migrator_pool, rebuild_role_memberships};
pub use tx_conn::TxConn;

/// Database role names derived from the configured prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleNames {
    /// Owns every object and runs migrations and provisioning.
    pub migrator: String,
    /// The runtime login role: owns nothing, NOBYPASSRLS, NOINHERIT.
    pub app: String,
    /// Group role every tenant role belongs to; carries grants on shared tables.
    pub tenant_group: String,
    prefix: String,
}

impl RoleNames {
    pub fn new(prefix: &str) -> Self {
        Self {
            migrator: format!("{prefix}_migrator"),
            app: format!("{prefix}_app"),
            tenant_group: format!("{prefix}_tenant"),
            prefix: prefix.to_owned(),
        }
    }

    /// What every tenant role's name starts with.
    pub fn tenant_role_prefix(&self) -> String {
        format!("{}_t_", self.prefix)
    }

    /// The LIKE pattern matching every tenant role of this prefix.
    pub fn tenant_role_pattern(&self) -> String {
        format!("{}\\_t\\_%", self.prefix.replace('_', "\\_"))
    }
}

/// How many ready workspace roles the pool is topped up to (`public.tenant_role_pool`,
/// migration 0015): by `migrate`, and by the `role_pool` job when fewer than 64 are left.
/// Each top-up is one role change, after which every runtime backend rebuilds its role
/// membership list once, so a larger batch spreads that cost over more workspaces.
pub const ROLE_POOL_TARGET: i32 = 256;

/// Tops the pool of ready workspace roles up to `target`; returns how many were made. Does
/// nothing on a database whose migrations predate the pool.
pub async fn fill_role_pool(conn: &mut Conn, target: i32) -> Result<i32, Error> {
    let present: bool = query_scalar(
        "SELECT to_regprocedure('public.tessera_role_pool_fill(integer)') IS NOT NULL",
    )
    .fetch_one(&mut *conn)
    .await?;
    if !present {
        return Ok(0);
    }
    query_scalar("SELECT public.tessera_role_pool_fill($1)")
        .bind(target)
        .fetch_one(conn)
        .await
}

/// Quote an SQL identifier. Only used on names this crate derived and validated.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
