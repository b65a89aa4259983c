//! The request transaction. The only way to reach tenant tables.
//!
//! A tenant request enters its workspace with `BEGIN` and then the prepared statement `SELECT * FROM public.tessera_enter_v3($1, $2, $3, $4, $5)`, which resolves the
//! slug, decides whether the workspace's IP allowlist admits the client's address, sets
//! `search_path`, `role` and `tessera.tenant_id` transaction-locally and, already as the
//! workspace's role, looks up the caller's token or membership. [`TenantTx`] tracks the
//! transaction through the pool's [`TxConn`] rather than the driver's transaction type: a
//! connection is only ever returned to the pool after its COMMIT or ROLLBACK completed, or
//! closed, and one that ended cleanly goes back without a check.
//!
//! Both are written before either answer is read ([`db::begin_with`]): one round trip.
//! Why not one simple-query message instead: both statements used to travel as one
//! simple-query message, with the values as SQL literals. The simple protocol parses and plans the entry
//! on every request; preparing it cost an extra round trip on sqlx and still gave 9% more reads
//! with 15% less database time per read (`docs/benchmarks.md`). The values are now bound
//! parameters, so no request value is ever spliced into SQL text.

use std::net::IpAddr;

use uuid::Uuid;

use super::Slug;
use crate::db::{self, AppPool, Executor, RowExt, TxConn};

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
/// COMMIT or ROLLBACK. Constructed only by [`begin`] and [`enter`].
///
/// The transaction is begun in the same message as the scoping (see [`enter`]), so it is a
/// [`TxConn`]: dropped before [`TenantTx::commit`] or [`TenantTx::rollback`] completed (an
/// early error, a refused request, a cancelled one), it rolls back before its connection
/// returns to the pool, or closes it. A pooled connection is therefore never handed out
/// inside a transaction, let alone one scoped to another workspace.
pub struct TenantTx {
    tx: TxConn,
    tenant: TenantRef,
    access: Access,
    /// Statements issued through [`TenantTx::conn`] (the scoping statement included).
    statements: u32,
    /// Root fields answered by a compiled read (`graphql::compiled`), for diagnostics.
    compiled_reads: u32,
    /// Field-level changes recorded in this transaction and not yet audited.
    changes: Vec<serde_json::Value>,
    /// The workspace refuses sessions below `aal2`.
    mfa_required: bool,
    /// The workspace accepts only sessions from its own SSO.
    sso_only: bool,
    /// Deletion was asked for: the request handler performs it last, before COMMIT.
    delete_requested: bool,
    /// The workspace's IP allowlist admits the client address given to [`enter`].
    ip_allowed: bool,
    /// The next [`TenantTx::fetch_last`] may end the transaction ([`TenantTx::end_with_next`]).
    end_with_next: bool,
}

impl std::fmt::Debug for TenantTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantTx")
            .field("tenant", &self.tenant)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

/// Who enters a workspace, looked up in the same round trip as the scoping.
#[derive(Debug, Clone, Copy)]
pub enum Entrant<'a> {
    /// Server work on the workspace's behalf (jobs, audit appends): no caller to look up.
    System,
    /// An API token, by its SHA-256. Its `last_used_at` counts as stale when older than
    /// `stale_after_secs`.
    Token {
        hash: &'a [u8; 32],
        stale_after_secs: u32,
    },
    /// A signed-in user, by id: their membership of the workspace.
    Member(Uuid),
}

/// What the entry found for its [`Entrant`]. `None` from [`enter`]'s caller columns means
/// the credential is not valid in this workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub user_id: Uuid,
    /// The membership role, as stored (`owner`, `admin`, `member`).
    pub role: String,
    /// For a token: its id, scopes as stored, and whether `last_used_at` is stale.
    pub token: Option<TokenStanding>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenStanding {
    pub id: Uuid,
    pub scopes: Vec<String>,
    pub stale: bool,
}

/// Opens a tenant transaction for `slug` for server work. `Ok(None)`: no active workspace
/// has this slug.
pub async fn begin(
    pool: &AppPool,
    slug: &Slug,
    access: Access,
) -> Result<Option<TenantTx>, db::Error> {
    Ok(enter(pool, slug, access, Entrant::System, None)
        .await?
        .map(|(tx, _)| tx))
}

/// Opens a tenant transaction for `slug` and looks up `entrant` in it: `BEGIN`, then
/// `public.tessera_enter(..)` as a prepared statement with bound parameters. `Ok(None)`: no
/// active workspace has this slug. The [`Standing`] is `None` when the entrant is
/// [`Entrant::System`] or its credential is not valid in this workspace. `client` is the
/// caller's address, checked against the workspace's allowlist ([`TenantTx::ip_allowed`]);
/// an unknown address is admitted only by a workspace without a list.
pub async fn enter(
    pool: &AppPool,
    slug: &Slug,
    access: Access,
    entrant: Entrant<'_>,
    client: Option<IpAddr>,
) -> Result<Option<(TenantTx, Option<Standing>)>, db::Error> {
    let begin = begin_statement(access);
    let mut attempt = 0u32;
    let (mut tx, rows) = loop {
        let waited = std::time::Instant::now();
        let conn = pool.acquire_for(slug.as_str()).await?;
        crate::observability::metrics::pool_wait(waited.elapsed());
        // The transaction is open from the moment BEGIN may have been sent: if this
        // future is dropped while waiting for the answer (the client went away), dropping `tx`
        // rolls back before the connection returns to the pool, as after any other error.
        let mut tx = TenantTx {
            tx: TxConn::begin(conn),
            tenant: TenantRef {
                id: Uuid::nil(),
                slug: slug.clone(),
                name: String::new(),
                schema_version: 0,
            },
            access,
            statements: 1,
            compiled_reads: 0,
            changes: Vec::new(),
            mfa_required: false,
            sso_only: false,
            delete_requested: false,
            ip_allowed: false,
            end_with_next: false,
        };
        let entered = db::begin_with(tx.tx.conn(), begin, entry_query(slug, entrant, client)).await;
        match entered {
            Ok(rows) => break (tx, rows),
            Err(e) => {
                // Pooled connections are not pinged before use (`db::pool`). One that died
                // while idle (a database restart, a terminated backend) fails here, before
                // anything ran, so the entry is tried again on another connection; after a
                // restart every pooled connection may be dead, hence up to the pool's size.
                // (Dropping `tx` tries a rollback, which fails on a dead connection and
                // closes it.)
                attempt += 1;
                if attempt as usize > pool.max_connections() || !db::connection_lost(&e) {
                    return Err(e);
                }
            }
        }
    };
    let Some(row) = rows.first() else {
        // Nothing was set; end the empty transaction and keep the connection.
        tx.tx.end("ROLLBACK").await?;
        return Ok(None);
    };
    tx.tenant.id = row.try_get("tenant_id")?;
    tx.tenant.schema_version = row.try_get("schema_version")?;
    tx.tenant.name = row.try_get("name")?;
    tx.mfa_required = row.try_get("mfa_required")?;
    tx.sso_only = row.try_get("sso_only")?;
    tx.ip_allowed = row.try_get("ip_allowed")?;
    let standing = standing_of(row)?;
    if row.try_get::<Option<bool>, _>("replan")?.unwrap_or(false) {
        // This database session's prepared statements were planned for another schema
        // version: drop them before the first tenant statement (see `replan`).
        replan(tx.tx.conn()).await?;
    }
    Ok(Some((tx, standing)))
}

fn standing_of(row: &db::Row) -> Result<Option<Standing>, db::Error> {
    let (Some(user_id), Some(role)) = (
        row.try_get::<Option<Uuid>, _>("user_id")?,
        row.try_get::<Option<String>, _>("role")?,
    ) else {
        return Ok(None);
    };
    let token = match row.try_get::<Option<Uuid>, _>("token_id")? {
        Some(id) => Some(TokenStanding {
            id,
            scopes: row
                .try_get::<Option<String>, _>("scopes")?
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            stale: row.try_get::<Option<bool>, _>("stale")?.unwrap_or(true),
        }),
        None => None,
    };
    Ok(Some(Standing {
        user_id,
        role,
        token,
    }))
}

fn begin_statement(access: Access) -> &'static str {
    match access {
        Access::ReadOnly => "BEGIN READ ONLY",
        Access::ReadWrite => "BEGIN",
        Access::Snapshot => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    }
}

/// The entry, the second statement of a tenant transaction. Prepared once per connection
/// (it names its function schema-qualified, so it plans the same under any `search_path`).
fn entry_query<'a>(slug: &'a Slug, entrant: Entrant<'a>, client: Option<IpAddr>) -> db::Query<'a> {
    let (token, member, stale): (Option<&[u8]>, Option<Uuid>, f64) = match entrant {
        Entrant::System => (None, None, 0.0),
        Entrant::Token {
            hash,
            stale_after_secs,
        } => (Some(hash.as_slice()), None, f64::from(stale_after_secs)),
        Entrant::Member(id) => (None, Some(id), 0.0),
    };
    db::query("SELECT * FROM public.tessera_enter_v3($1, $2, $3, $4, $5::inet)")
        .bind(slug.as_str())
        .bind(token)
        .bind(member)
        .bind(stale)
        .bind(client.map(|ip| ip.to_canonical().to_string()))
}

/// Records that backend `pid` now serves a tenant at schema `version` and tells whether it
/// served another version before.
///
/// Drops the prepared statements of a session that served another schema version.
///
/// A connection caches prepared statements by SQL text. PostgreSQL re-plans them when
/// `search_path` changes, but refuses to run one whose result type changed ("cached plan
/// must not change result type") — which is what happens when the same statement runs
/// against workspaces on either side of a migration mid-rollout. The entry function tells
/// when the database session last served another version (a session-level setting, so it
/// holds behind PgBouncer, where one session serves many servers in turn); then the
/// driver's cache is emptied and `DEALLOCATE ALL` drops what the session holds — PgBouncer
/// recognises it and forgets the statements it prepared there. Within one version nothing
/// is dropped.
async fn replan(conn: &mut db::Conn) -> Result<(), db::Error> {
    db::deallocate_all(conn).await
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
    pub async fn finish_delete(&mut self, keep_days: i32) -> Result<bool, db::Error> {
        if !std::mem::take(&mut self.delete_requested) {
            return Ok(false);
        }
        db::query_scalar("SELECT public.tessera_delete_workspace($1)")
            .bind(keep_days)
            .fetch_one(self.tx.conn())
            .await
    }

    /// Whether the workspace's IP allowlist admits the address the transaction was entered
    /// for (always true without a list).
    pub fn ip_allowed(&self) -> bool {
        self.ip_allowed
    }

    /// Whether the workspace accepts only sessions created by its own SSO.
    pub fn sso_only(&self) -> bool {
        self.sso_only
    }

    /// The connection, for repository functions. Each call counts as one statement.
    pub fn conn(&mut self) -> &mut db::Conn {
        self.statements += 1;
        self.tx.conn()
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

        let mut chunks = db::copy_out(self.conn(), copy).await?;
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

    /// Counts a root field answered by a compiled read.
    pub fn count_compiled_read(&mut self) {
        self.compiled_reads += 1;
    }

    /// Root fields answered by compiled reads in this transaction (tests and benches).
    pub fn compiled_reads(&self) -> u32 {
        self.compiled_reads
    }

    /// Says that the next statement run with [`TenantTx::fetch_last`] is this transaction's
    /// last: a read-only request of one root field answered by one compiled statement. That
    /// statement then travels with `COMMIT` in one round trip. Ignored for a transaction that
    /// may write: its `COMMIT` must wait until the whole operation succeeded.
    pub fn end_with_next(&mut self) {
        self.end_with_next = self.access == Access::ReadOnly;
    }

    /// Runs `query` and answers its rows; after [`TenantTx::end_with_next`], commits in the
    /// same round trip, after which the transaction is over ([`TenantTx::is_finished`]).
    pub async fn fetch_last(&mut self, query: db::Query<'_>) -> Result<Vec<db::Row>, db::Error> {
        self.statements += 1;
        if std::mem::take(&mut self.end_with_next) {
            return self.tx.end_with(query, "COMMIT").await;
        }
        query.fetch_all(self.tx.conn()).await
    }

    /// Whether the transaction has ended: no statement may run in it any more.
    pub fn is_finished(&self) -> bool {
        !self.tx.is_open()
    }

    pub async fn commit(mut self) -> Result<(), db::Error> {
        self.tx.end("COMMIT").await
    }

    pub async fn rollback(mut self) -> Result<(), db::Error> {
        self.tx.end("ROLLBACK").await
    }
}

/// Why [`TenantTx::copy_out`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("database: {0}")]
    Db(#[from] db::Error),
    /// The destination failed; the COPY was still read to its end.
    #[error("destination: {0}")]
    Write(std::io::Error),
}

/// A read-only transaction for the global endpoint, scoped to one user through
/// `tessera.user_id` (RLS lets the runtime role see only that user's rows).
pub struct GlobalTx {
    tx: TxConn,
}

/// Opens the global transaction (read-only for queries); [`GlobalTx::set_user`] scopes it once the
/// caller is authenticated.
pub async fn begin_global(pool: &AppPool, access: Access) -> Result<GlobalTx, db::Error> {
    let mut tx = TxConn::begin(pool.acquire().await?);
    let begin = match access {
        Access::ReadOnly | Access::Snapshot => "BEGIN READ ONLY",
        Access::ReadWrite => "BEGIN",
    };
    tx.conn().execute(begin).await?;
    Ok(GlobalTx { tx })
}

impl GlobalTx {
    pub async fn rollback(mut self) -> Result<(), db::Error> {
        self.tx.end("ROLLBACK").await
    }

    pub async fn set_user(&mut self, user_id: Uuid) -> Result<(), db::Error> {
        db::query("SELECT set_config('tessera.user_id', $1, true)")
            .bind(user_id.to_string())
            .execute(self.tx.conn())
            .await?;
        Ok(())
    }

    pub fn conn(&mut self) -> &mut db::Conn {
        self.tx.conn()
    }

    pub async fn commit(mut self) -> Result<(), db::Error> {
        self.tx.end("COMMIT").await
    }

    /// Scopes this transaction to workspace `slug` as a tenant request's entry does (its
    /// role, `search_path` and `tessera.tenant_id`, transaction-locally), for work that a
    /// global request does in one workspace: creating it, joining it. `member`: the user whose
    /// membership to look up. `Ok(None)`: no active workspace has this slug (nothing was set).
    /// Until [`GlobalTx::leave_workspace`], statements run as the workspace's role, under its
    /// Row-Level Security; the caller's own account rows are not visible meanwhile.
    pub async fn enter_workspace(
        &mut self,
        slug: &Slug,
        member: Option<Uuid>,
    ) -> Result<Option<(Uuid, Option<Standing>)>, db::Error> {
        let entrant = match member {
            Some(id) => Entrant::Member(id),
            None => Entrant::System,
        };
        // No address: these global requests create rows (a workspace, a membership) but read
        // no workspace data, so the allowlist is not consulted (docs/network-access.md).
        let rows = entry_query(slug, entrant, None)
            .fetch_all(self.tx.conn())
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        Ok(Some((row.try_get("tenant_id")?, standing_of(row)?)))
    }

    /// Ends [`GlobalTx::enter_workspace`]: back to the runtime role, scoped to `user` again.
    pub async fn leave_workspace(&mut self, user: Uuid) -> Result<(), db::Error> {
        db::query(
            "SELECT set_config('role', 'none', true), set_config('search_path', 'public', true),
                    set_config('tessera.tenant_id', '', true), set_config('tessera.user_id', $1, true)",
        )
        .bind(user.to_string())
        .execute(self.tx.conn())
        .await?;
        Ok(())
    }
}
