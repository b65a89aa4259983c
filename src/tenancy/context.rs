//! The request transaction. The only way to reach tenant tables.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use sqlx::{Connection, PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::Slug;

/// Whether the request may write. Queries run in a `READ ONLY` transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    ReadWrite,
    /// Read-only with one snapshot for the whole transaction (`REPEATABLE READ`): exports.
    Snapshot,
}

/// The workspace a transaction is scoped to.
#[derive(Debug, Clone)]
pub struct TenantRef {
    pub id: Uuid,
    pub slug: Slug,
    pub name: String,
    /// The tenant schema's migration version.
    pub schema_version: i32,
}

/// A transaction whose first statement scoped it to one tenant: `search_path`,
/// `role` and `tessera.tenant_id` are set with `set_config(.., true)`, so they vanish at
/// COMMIT or ROLLBACK. Constructed only by [`begin`].
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    tenant: TenantRef,
    access: Access,
    /// Statements issued through [`TenantTx::conn`] (the scoping statement included).
    statements: u32,
    /// Field-level changes recorded in this transaction and not yet audited.
    changes: Vec<serde_json::Value>,
    /// The workspace refuses sessions below `aal2`.
    mfa_required: bool,
    /// The workspace accepts only sessions from its own SSO.
    sso_only: bool,
    /// Deletion was asked for: the request handler performs it last, before COMMIT.
    delete_requested: bool,
}

impl std::fmt::Debug for TenantTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantTx")
            .field("tenant", &self.tenant)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

/// Opens a tenant transaction for `slug`. `Ok(None)`: no active workspace has this slug.
///
/// One statement resolves the slug and sets all three settings; when the slug is unknown
/// it returns no row and sets nothing.
pub async fn begin(
    pool: &PgPool,
    slug: &Slug,
    access: Access,
) -> Result<Option<TenantTx>, sqlx::Error> {
    let waited = std::time::Instant::now();
    let mut tx = match access {
        Access::ReadOnly => pool.begin_with("BEGIN READ ONLY").await?,
        Access::ReadWrite => pool.begin().await?,
        Access::Snapshot => {
            pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?
        }
    };
    crate::observability::metrics::pool_wait(waited.elapsed());
    type Row = (Uuid, i32, i32, bool, bool, String);
    let row: Option<Row> = sqlx::query_as(
        "SELECT t.id, t.schema_version, pg_backend_pid(), t.mfa_required, t.sso_only, t.name
         FROM public.tenants t,
              LATERAL (SELECT set_config('search_path', format('%I, public', 'tenant_' || t.slug), true),
                              set_config('role', t.db_role, true),
                              set_config('tessera.tenant_id', t.id::text, true)) s
         WHERE t.slug = $1 AND t.state = 'active'",
    )
    .bind(slug.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, version, backend, mfa_required, sso_only, name)) = row else {
        return Ok(None);
    };
    if switches_version(backend, version) {
        // Prepared statements were planned against another schema version: drop them
        // before the first tenant statement (see `switches_version`).
        tx.clear_cached_statements().await?;
    }
    Ok(Some(TenantTx {
        tx,
        tenant: TenantRef {
            id,
            slug: slug.clone(),
            name,
            schema_version: version,
        },
        access,
        statements: 1,
        changes: Vec::new(),
        mfa_required,
        sso_only,
        delete_requested: false,
    }))
}

/// Records that backend `pid` now serves a tenant at schema `version` and tells whether it
/// served another version before.
///
/// A pooled connection caches prepared statements by SQL text. PostgreSQL re-plans them
/// when `search_path` changes, but refuses to run one whose result type changed ("cached
/// plan must not change result type") — which is what happens when the same statement
/// runs against tenants on either side of a migration mid-rollout. Clearing the cache when
/// a connection crosses versions avoids that; within one version nothing is cleared.
/// Keyed by backend pid: a reused pid belongs to a new connection with an empty cache, so
/// a stale entry can only cause one unneeded clear.
fn switches_version(pid: i32, version: i32) -> bool {
    static SEEN: OnceLock<Mutex<HashMap<i32, i32>>> = OnceLock::new();
    let Ok(mut seen) = SEEN.get_or_init(Default::default).lock() else {
        return true;
    };
    if seen.len() > 4096 {
        seen.clear();
    }
    seen.insert(pid, version)
        .is_some_and(|before| before != version)
}

impl TenantTx {
    pub fn tenant(&self) -> &TenantRef {
        &self.tenant
    }

    pub fn tenant_id(&self) -> Uuid {
        self.tenant.id
    }

    pub fn access(&self) -> Access {
        self.access
    }

    /// Whether the workspace requires a second factor of browser sessions (as of the start
    /// of this transaction).
    pub fn mfa_required(&self) -> bool {
        self.mfa_required
    }

    /// Asks for the workspace's deletion when this transaction commits.
    pub fn request_delete(&mut self) {
        self.delete_requested = true;
    }

    /// Performs a requested deletion (the last statement before COMMIT, so the request's
    /// audit entries are written while the workspace is still active). True if it did.
    pub async fn finish_delete(&mut self, keep_days: i32) -> Result<bool, sqlx::Error> {
        if !std::mem::take(&mut self.delete_requested) {
            return Ok(false);
        }
        sqlx::query_scalar("SELECT public.tessera_delete_workspace($1)")
            .bind(keep_days)
            .fetch_one(&mut *self.tx)
            .await
    }

    /// Whether the workspace accepts only sessions created by its own SSO.
    pub fn sso_only(&self) -> bool {
        self.sso_only
    }

    /// The connection, for repository functions. Each call counts as one statement.
    pub fn conn(&mut self) -> &mut PgConnection {
        self.statements += 1;
        &mut self.tx
    }

    /// Runs `copy` (a `COPY ... TO STDOUT`) and writes what PostgreSQL sends to `out`;
    /// answers the bytes written.
    ///
    /// The COPY is read to its end even after `out` fails (a client that went away): the
    /// driver does not track a COPY left unread, so the connection would return to the pool
    /// with the rest of it still queued and answer later statements with stale data. The
    /// cost of draining is bounded by the export the caller was allowed to run.
    pub async fn copy_out(
        &mut self,
        copy: &str,
        out: &mut (impl tokio::io::AsyncWrite + Unpin),
    ) -> Result<u64, CopyError> {
        use futures_util::StreamExt;
        use tokio::io::AsyncWriteExt;

        #[allow(clippy::disallowed_methods)] // the one caller that reads a COPY to its end
        let mut chunks = self.conn().copy_out_raw(copy).await?;
        let mut written = 0u64;
        let mut failed = None;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            if failed.is_none() {
                match out.write_all(&chunk).await {
                    Ok(()) => written += chunk.len() as u64,
                    Err(e) => failed = Some(e),
                }
            }
        }
        drop(chunks);
        match failed {
            Some(e) => Err(CopyError::Write(e)),
            None => {
                out.shutdown().await.map_err(CopyError::Write)?;
                Ok(written)
            }
        }
    }

    /// Notes a field-level change, for the audit entry of the current mutation.
    pub fn note_change(&mut self, change: serde_json::Value) {
        self.changes.push(change);
    }

    /// The changes noted since the last call.
    pub fn take_changes(&mut self) -> Vec<serde_json::Value> {
        std::mem::take(&mut self.changes)
    }

    /// Statements issued in this transaction so far (N+1 detection in tests and benches).
    pub fn statements(&self) -> u32 {
        self.statements
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

/// Why [`TenantTx::copy_out`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// The destination failed; the COPY was still read to its end.
    #[error("destination: {0}")]
    Write(std::io::Error),
}

/// A read-only transaction for the global endpoint, scoped to one user through
/// `tessera.user_id` (RLS lets the runtime role see only that user's rows).
pub struct GlobalTx {
    tx: Transaction<'static, Postgres>,
}

/// Opens the global transaction (read-only for queries); [`GlobalTx::set_user`] scopes it once the
/// caller is authenticated.
pub async fn begin_global(pool: &PgPool, access: Access) -> Result<GlobalTx, sqlx::Error> {
    let tx = match access {
        Access::ReadOnly | Access::Snapshot => pool.begin_with("BEGIN READ ONLY").await?,
        Access::ReadWrite => pool.begin().await?,
    };
    Ok(GlobalTx { tx })
}

impl GlobalTx {
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }

    pub async fn set_user(&mut self, user_id: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT set_config('tessera.user_id', $1, true)")
            .bind(user_id.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}
