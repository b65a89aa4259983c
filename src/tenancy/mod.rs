//! Workspaces (tenants): slugs, provisioning, and the request-scoped tenant transaction.
//!
//! The isolation invariant lives here: tenant tables are reachable only through a
//! [`TenantTx`], whose first statement sets `search_path`, `role` and `tessera.tenant_id`
//! transaction-locally. Nothing here issues a session-level `SET`, so a pooled connection
//! can never carry one tenant's context into another request.

pub mod allowlist;
mod context;
mod provision;
mod slug;

pub mod purge;
pub mod role_pool;
pub use context::{
    Access, CopyError, Entrant, GlobalTx, Standing, TenantRef, TenantTx, TokenStanding, begin,
    begin_global, enter,
};
pub use provision::{
    Provision, TenancyError, Tenant, create_for_user, create_tenant, list_tenants, provision,
};
pub use slug::{Slug, SlugError};

/// The schema of a workspace. Slugs are validated, so the name needs no quoting, but
/// callers still quote it when building SQL.
pub fn schema_name(slug: &str) -> String {
    format!("tenant_{slug}")
}
