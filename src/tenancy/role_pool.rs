//! The `role_pool` job: tops up the workspace roles made ahead of time.
//!
//! Creating a role makes every runtime backend rebuild its list of role memberships, which on
//! PostgreSQL 15 takes time quadratic in the number of workspaces (~320 ms at 10,000).
//! Provisioning therefore takes a ready role from `public.tenant_role_pool`, and queues this
//! job when fewer than 64 are left; the worker makes [`ROLE_POOL_TARGET`] at once, so the
//! rebuild happens once per batch, and the worker then rebuilds each idle connection's list
//! itself instead of leaving it to that connection's next request (migration `public/0015_tenant_role_pool.sql`, `docs/decisions.md`).

use uuid::Uuid;

use crate::db::{AppPool, ROLE_POOL_TARGET, fill_role_pool, rebuild_role_memberships};
use crate::jobs::{Job, JobError};
use crate::tenancy::Slug;

/// The job's kind in `public.jobs`.
pub const KIND: &str = "role_pool";

pub struct RolePoolJob {
    pub pool: AppPool,
}

#[async_trait::async_trait]
impl Job for RolePoolJob {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn run(&self, _slug: Option<&Slug>, _ref_id: Uuid) -> Result<(), JobError> {
        let made = fill_role_pool(&mut *self.pool.acquire().await?, ROLE_POOL_TARGET).await?;
        let rebuilt = rebuild_role_memberships(&self.pool).await;
        tracing::info!(made, rebuilt, "workspace role pool topped up");
        Ok(())
    }
}
