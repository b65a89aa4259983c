//! Creating workspaces. Runs with the migrator pool, never from a request handler.
//!
//! A workspace is: a `public.tenants` row, a schema `tenant_<slug>` cloned from the
//! pre-migrated template, and a NOLOGIN role that can use that schema only. All of it is
//! created in one transaction (PostgreSQL DDL and role creation are transactional), so a
//! failure at any step leaves nothing behind.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgPool};
use uuid::Uuid;

use super::slug::{Slug, SlugError};
use crate::audit::{self, EntryMeta, NewEntry};
use crate::crypto::Keyring;
use crate::db::migrate::TEMPLATE_SCHEMA;
use crate::db::{RoleNames, quote_ident};

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
    Db(#[from] sqlx::Error),
}

#[derive(Debug, Clone, sqlx::FromRow)]
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

/// Creates a workspace atomically. `expected_version` is the tenant schema version this
/// binary was built for; the template must be exactly there.
pub async fn create_tenant(
    migrator: &PgPool,
    roles: &RoleNames,
    keyring: &Keyring,
    slug: &Slug,
    name: &str,
    expected_version: i32,
) -> Result<Tenant, TenancyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(TenancyError::InvalidName);
    }
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
    let mut tx = conn.begin().await?;
    // FOR SHARE: a concurrent template migration waits for us, and we for it.
    let found: Option<i32> =
        sqlx::query_scalar("SELECT version FROM public.template_state FOR SHARE")
            .fetch_optional(&mut *tx)
            .await?;
    if found != Some(expected_version) {
        return Err(TenancyError::TemplateNotReady {
            found,
            expected: expected_version,
        });
    }
    let id = Uuid::now_v7();
    let role = roles.tenant_role(id);
    let inserted = sqlx::query_as::<_, Tenant>(
        "INSERT INTO public.tenants (id, slug, name, db_role, schema_version)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, slug, name, db_role, state, schema_version, created_at",
    )
    .bind(id)
    .bind(slug.as_str())
    .bind(name)
    .bind(&role)
    .bind(expected_version)
    .fetch_one(&mut *tx)
    .await;
    let tenant = match inserted {
        Ok(t) => t,
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("tenants_slug_key") => {
            return Err(TenancyError::Conflict);
        }
        Err(e) => return Err(e.into()),
    };
    let schema = quote_ident(&slug.schema());
    let role_q = quote_ident(&role);
    let ddl = format!(
        "CREATE ROLE {role_q} NOLOGIN INHERIT NOBYPASSRLS IN ROLE {group};
         GRANT {role_q} TO {app};
         CREATE SCHEMA {schema};
         REVOKE ALL ON SCHEMA {schema} FROM PUBLIC;
         GRANT USAGE ON SCHEMA {schema} TO {role_q};
         ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}
             GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role_q};",
        group = quote_ident(&roles.tenant_group),
        app = quote_ident(&roles.app),
    );
    sqlx::raw_sql(&ddl).execute(&mut *tx).await?;
    sqlx::query("SELECT public.tessera_clone_schema($1, $2)")
        .bind(TEMPLATE_SCHEMA)
        .bind(slug.schema())
        .execute(&mut *tx)
        .await?;
    audit::create_tenant_audit(&mut tx, keyring, tenant.id).await?;
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

pub async fn list_tenants(pool: &PgPool) -> Result<Vec<Tenant>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, slug, name, db_role, state, schema_version, created_at
         FROM public.tenants ORDER BY slug",
    )
    .fetch_all(pool)
    .await
}
