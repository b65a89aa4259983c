//! Citus mode: what the cluster looks like, and moving a workspace between nodes.
//!
//! Tessera detects Citus by its extension in the database; provisioning then distributes
//! each workspace's schema (migration `public/0020_citus.sql`). Everything here reads or
//! calls Citus's own catalog and functions with the migrator role; without Citus the status
//! is a single node.

use sqlx::PgConnection;

/// Whether the database is a Citus coordinator.
pub async fn enabled(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT public.tessera_citus()")
        .fetch_one(conn)
        .await
}

/// A node and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Node {
    /// `host:port`.
    pub node: String,
    pub role: String,
    pub workspaces: i64,
    pub bytes: i64,
}

/// Every node of the cluster with the workspaces (distributed schemas) and bytes it holds;
/// one line for the database itself without Citus.
pub async fn status(conn: &mut PgConnection) -> Result<Vec<Node>, sqlx::Error> {
    if !enabled(&mut *conn).await? {
        return sqlx::query_as(
            "SELECT coalesce(host(inet_server_addr()), 'local') || ':' || current_setting('port') AS node,
                    'single node' AS role,
                    (SELECT count(*) FROM public.tenants WHERE state = 'active') AS workspaces,
                    pg_database_size(current_database()) AS bytes",
        )
        .fetch_all(conn)
        .await;
    }
    sqlx::query_as(
        "WITH placed AS (
             SELECT s.schema_name::text AS schema, sh.nodename, sh.nodeport, sum(sh.shard_size) AS bytes
             FROM citus_schemas s
             JOIN citus_shards sh ON sh.colocation_id = s.colocation_id
             GROUP BY 1, 2, 3)
         SELECT n.nodename || ':' || n.nodeport AS node,
                CASE WHEN n.groupid = 0 THEN 'coordinator' ELSE 'worker' END AS role,
                count(p.schema) AS workspaces,
                coalesce(sum(p.bytes), 0)::bigint AS bytes
         FROM pg_dist_node n
         LEFT JOIN placed p ON p.nodename = n.nodename AND p.nodeport = n.nodeport
         WHERE n.isactive AND n.noderole = 'primary'
         GROUP BY n.nodename, n.nodeport, n.groupid
         ORDER BY n.groupid, n.nodename, n.nodeport",
    )
    .fetch_all(conn)
    .await
}

/// Where a workspace's schema is (`host:port`), on a Citus cluster.
pub async fn placement(
    conn: &mut PgConnection,
    schema: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT sh.nodename || ':' || sh.nodeport
         FROM citus_schemas s JOIN citus_shards sh ON sh.colocation_id = s.colocation_id
         WHERE s.schema_name = $1::regnamespace LIMIT 1",
    )
    .bind(schema)
    .fetch_optional(conn)
    .await
}

/// The active workspaces whose schema is not distributed yet (made before Citus was
/// installed), by slug.
pub async fn undistributed(
    conn: &mut PgConnection,
) -> Result<Vec<(uuid::Uuid, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.id, t.slug FROM public.tenants t
         WHERE t.state = 'active'
           AND NOT EXISTS (SELECT 1 FROM citus_schemas s
                           WHERE s.schema_name = to_regnamespace('tenant_' || t.slug))
         ORDER BY t.slug",
    )
    .fetch_all(conn)
    .await
}

/// Lets every workspace role (assigned or pooled) log in, as Citus needs on the workers
/// (migration `public/0020_citus.sql` does it only when Citus was there as it ran). Returns
/// how many roles changed.
pub async fn enable_role_logins(conn: &mut PgConnection) -> Result<usize, sqlx::Error> {
    let roles: Vec<String> = sqlx::query_scalar(
        "SELECT r.rolname::text FROM pg_roles r
         WHERE NOT r.rolcanlogin
           AND r.rolname IN (SELECT db_role FROM public.tenants
                             UNION SELECT role_name FROM public.tenant_role_pool)",
    )
    .fetch_all(&mut *conn)
    .await?;
    for role in &roles {
        sqlx::raw_sql(&format!("ALTER ROLE {} LOGIN", super::quote_ident(role)))
            .execute(&mut *conn)
            .await?;
    }
    Ok(roles.len())
}

/// Distributes a workspace's schema (placed whole on a worker Citus chooses). Takes the
/// workspace's tables' locks while it copies them.
pub async fn distribute(conn: &mut PgConnection, schema: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT citus_schema_distribute($1::regnamespace)")
        .bind(schema)
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves a workspace's schema to the node `host:port` with Citus's online move (logical
/// replication; writes continue until a short final lock). Needs `wal_level = logical` on
/// the nodes.
pub async fn move_schema(
    conn: &mut PgConnection,
    schema: &str,
    host: &str,
    port: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT citus_schema_move($1::regnamespace, $2, $3, 'force_logical')")
        .bind(schema)
        .bind(host)
        .bind(port)
        .execute(conn)
        .await?;
    Ok(())
}
