//! Database access: the role model, connection pools, the migration runner and the
//! embedded development cluster.
//!
//! Two pools exist, for two different roles, never for one role twice: the runtime pool
//! (`<prefix>_app`, serves requests) and a small migrator pool that only migration and
//! provisioning code receives. Request handlers never see the migrator pool.

mod app_pool;
mod bootstrap;
pub mod embedded;
pub mod migrate;
mod pool;

pub use app_pool::{AppPool, HOME_WAIT, PooledConn, TxConn};
pub use bootstrap::{
    BootstrapError, admin_connect as admin_connect_url, bootstrap_database, drop_database,
};
pub use pool::{Pools, connect_app_pool, connect_migrator_pool};

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

    /// The NOLOGIN role of one tenant: derived from its id, so it is unique in the cluster.
    /// (`tessera_provision_workspace` derives the same name in SQL.)
    pub fn tenant_role(&self, tenant_id: uuid::Uuid) -> String {
        format!("{}{}", self.tenant_role_prefix(), tenant_id.simple())
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

/// Quote an SQL identifier. Only used on names this crate derived and validated.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
