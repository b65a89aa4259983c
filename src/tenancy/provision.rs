//! Creating workspaces: the operator's CLI (on the migrator pool) and signed-in users through
//! the API (`createWorkspace`, on the runtime pool) go through one SQL function,
//! `public.tessera_provision_workspace`, owned by the migrator and run with its rights.
//!
//! A workspace is: a `public.tenants` row, a schema `tenant_<slug>` cloned from the
//! pre-migrated template, a NOLOGIN role that can use that schema only (taken from the pool
//! of roles made ahead of time, see [`super::role_pool`]), and its audit chain's wrapped key
//! and genesis head. All of it is created in
//! the caller's transaction (PostgreSQL DDL and role creation are transactional), so a
//! failure at any step leaves nothing behind. The runtime role cannot create a schema or a
//! role itself: it can only ask the function for one workspace with a validated slug.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::slug::{Slug, SlugError};
use crate::audit::{self, EntryMeta, NewEntry};
use crate::crypto::Keyring;
use crate::db;

#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    #[error(transparent)]
    Slug(#[from] SlugError),
    #[error("a workspace with this slug already exists")]
    Conflict,
    #[error("workspace name must be 1 to 200 characters")]
    InvalidName,
    #[error(
        "the tenant template is at version {found:?}, expected {expected}: run `tessera migrate`"
    )]
    TemplateNotReady { found: Option<i32>, expected: i32 },
    #[error("no such workspace")]
    NotFound,
    #[error("audit: {0}")]
    Audit(String),
    #[error("database error: {0}")]
    Db(#[from] db::Error),
}

#[derive(Debug, Clone, db::FromRow)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub db_role: String,
    pub state: String,
    pub schema_version: i32,
    pub created_at: DateTime<Utc>,
}

/// Workspaces created by this process, and how many a migrator connection may create
/// before it is closed (see [`create_tenant`]).
static CREATED: AtomicU32 = AtomicU32::new(0);
const RECYCLE_AFTER: u32 = 25;

/// What provisioning needs besides the slug and name.
#[derive(Debug, Clone, Copy)]
pub struct Provision<'a> {
    pub keyring: &'a Keyring,
    /// The tenant schema version this binary was built for; the template must be there.
    pub expected_version: i32,
    /// The user who becomes the workspace's first owner, if any (the API's caller).
    pub owner: Option<Uuid>,
}

/// Provisions a workspace in `conn`'s transaction (see the module docs). Returns its id and
/// creation time; nothing is audited yet (the caller appends `workspace.create` in the same
/// transaction, with its own actor).
pub async fn provision(
    conn: &mut db::Conn,
    slug: &Slug,
    name: &str,
    p: Provision<'_>,
) -> Result<Uuid, TenancyError> {
    let name = check_name(name)?;
    let id = Uuid::now_v7();
    let wrapped = audit::new_wrapped_audit_key(p.keyring, id);
    let outcome: String =
        db::query_scalar("SELECT public.tessera_provision_workspace($1, $2, $3, $4, $5, $6, $7)")
            .bind(id)
            .bind(slug.as_str())
            .bind(name)
            .bind(p.expected_version)
            .bind(&wrapped)
            .bind(&audit::GENESIS_HASH[..])
            .bind(p.owner)
            .fetch_one(&mut *conn)
            .await?;
    match outcome.as_str() {
        "created" => Ok(id),
        "taken" => Err(TenancyError::Conflict),
        _ => {
            let found: Option<i32> = db::query_scalar("SELECT version FROM public.template_state")
                .fetch_optional(&mut *conn)
                .await
                .unwrap_or(None);
            Err(TenancyError::TemplateNotReady {
                found,
                expected: p.expected_version,
            })
        }
    }
}

fn check_name(name: &str) -> Result<&str, TenancyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.contains('\0') {
        return Err(TenancyError::InvalidName);
    }
    Ok(name)
}

/// Creates a workspace atomically with the migrator pool (the CLI, the demo, imports):
/// [`provision`], then the `workspace.create` audit entry by `provisioning`.
pub async fn create_tenant(
    migrator: &db::MigratorPool,
    keyring: &Keyring,
    slug: &Slug,
    name: &str,
    expected_version: i32,
) -> Result<Tenant, TenancyError> {
    let mut conn = migrator.acquire().await?;
    // A backend that clones the template keeps a cache entry for every relation it created,
    // and its commit sends more invalidations than PostgreSQL's queue holds, so it has a
    // cache reset to process before its next statement; the reset costs more the more
    // workspaces that backend has created. Connections are therefore retired after every
    // `RECYCLE_AFTER` workspaces created (counted per process, close enough with a small
    // migrator pool), which keeps their caches warm but bounded.
    if CREATED.fetch_add(1, Ordering::Relaxed) % RECYCLE_AFTER == RECYCLE_AFTER - 1 {
        conn.close_on_drop();
    }
    let mut tx = db::begin(&mut conn).await?;
    let p = Provision {
        keyring,
        expected_version,
        owner: None,
    };
    let id = provision(&mut tx, slug, name, p).await?;
    let tenant: Tenant = db::query_as(
        "SELECT id, slug, name, db_role, state, schema_version, created_at
         FROM public.tenants WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut tx)
    .await?;
    audit::append(
        &mut tx,
        keyring,
        tenant.id,
        tenant.created_at,
        &EntryMeta::system("provisioning"),
        NewEntry {
            action: "workspace.create",
            target_type: "Workspace",
            target_id: tenant.id.to_string(),
            payload: serde_json::json!({ "after": { "slug": tenant.slug, "name": tenant.name } }),
        },
    )
    .await
    .map_err(|e| match e {
        audit::AuditError::Db(e) => TenancyError::Db(e),
        other => TenancyError::Audit(other.to_string()),
    })?;
    tx.commit().await?;
    tracing::info!(tenant = %slug, tenant_id = %tenant.id, "workspace created");
    Ok(tenant)
}

/// Creates a workspace for a signed-in user (`createWorkspace`) in their request's global
/// transaction: [`provision`] with the user as owner, then, as the new workspace's own role,
/// its first audit entries (`workspace.create` and `member.add`, by the user). Nothing is
/// visible to anyone until the transaction commits.
#[allow(clippy::too_many_arguments)]
pub async fn create_for_user(
    gtx: &mut super::GlobalTx,
    keyring: &Keyring,
    user: Uuid,
    slug: &Slug,
    name: &str,
    expected_version: i32,
    meta: &EntryMeta,
    at: DateTime<Utc>,
) -> Result<Uuid, TenancyError> {
    let p = Provision {
        keyring,
        expected_version,
        owner: Some(user),
    };
    let id = provision(gtx.conn(), slug, name, p).await?;
    gtx.enter_workspace(slug, Some(user))
        .await?
        .ok_or(TenancyError::NotFound)?;
    let audit_err = |e: audit::AuditError| match e {
        audit::AuditError::Db(e) => TenancyError::Db(e),
        other => TenancyError::Audit(other.to_string()),
    };
    audit::append(
        gtx.conn(),
        keyring,
        id,
        at,
        meta,
        NewEntry {
            action: "workspace.create",
            target_type: "Workspace",
            target_id: id.to_string(),
            payload: serde_json::json!({ "after": { "slug": slug.as_str(), "name": name.trim() } }),
        },
    )
    .await
    .map_err(audit_err)?;
    audit::append(
        gtx.conn(),
        keyring,
        id,
        at,
        meta,
        NewEntry {
            action: "member.add",
            target_type: "Member",
            target_id: user.to_string(),
            payload: serde_json::json!({ "after": { "role": "owner" }, "via": "createWorkspace" }),
        },
    )
    .await
    .map_err(audit_err)?;
    gtx.leave_workspace(user).await?;
    tracing::info!(tenant = %slug, tenant_id = %id, "workspace created by a user");
    Ok(id)
}

pub async fn list_tenants(pool: &db::MigratorPool) -> Result<Vec<Tenant>, db::Error> {
    db::query_as(
        "SELECT id, slug, name, db_role, state, schema_version, created_at
         FROM public.tenants ORDER BY slug",
    )
    .fetch_all(&mut *pool.acquire().await?)
    .await
}
