//! Citus mode: what the cluster looks like, and moving a workspace between nodes.
//!
//! Tessera detects Citus by its extension in the database; provisioning then distributes
//! each workspace's schema (migration `public/0020_citus.sql`). Everything here reads or
//! calls Citus's own catalog and functions with the migrator role; without Citus the status
//! is a single node.

use sqlx::PgConnection;

/// Whether the database is a Citus coordinator.
pub async fn enabled(conn: &mut super::Conn) -> Result<bool, super::Error> {
    super::query_scalar("SELECT public.tessera_citus()")
        .fetch_one(conn)
        .await
}

/// A node and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, super::FromRow)]
pub struct Node {
    /// `host:port`.
    pub node: String,
    pub role: String,
    pub workspaces: i64,
    pub bytes: i64,
    /// How the coordinator reaches the node: its pooler's `host=… port=…`
    /// (`pg_dist_poolinfo`), or `direct`.
    pub via: String,
}

/// Every node of the cluster with the workspaces (distributed schemas) and bytes it holds;
/// one line for the database itself without Citus.
pub async fn status(conn: &mut super::Conn) -> Result<Vec<Node>, super::Error> {
    if !enabled(&mut *conn).await? {
        return super::query_as(
            "SELECT coalesce(host(inet_server_addr()), 'local') || ':' || current_setting('port') AS node,
                    'single node' AS role,
                    (SELECT count(*) FROM public.tenants WHERE state = 'active') AS workspaces,
                    pg_database_size(current_database()) AS bytes,
                    'direct' AS via",
        )
        .fetch_all(conn)
        .await;
    }
    super::query_as(
        "WITH placed AS (
             SELECT s.schema_name::text AS schema, sh.nodename, sh.nodeport, sum(sh.shard_size) AS bytes
             FROM citus_schemas s
             JOIN citus_shards sh ON sh.colocation_id = s.colocation_id
             GROUP BY 1, 2, 3)
         SELECT n.nodename || ':' || n.nodeport AS node,
                CASE WHEN n.groupid = 0 THEN 'coordinator' ELSE 'worker' END AS role,
                count(p.schema) AS workspaces,
                coalesce(sum(p.bytes), 0)::bigint AS bytes,
                CASE WHEN n.groupid = 0 THEN 'local'
                     ELSE coalesce(min(i.poolinfo), 'direct') END AS via
         FROM pg_dist_node n
         LEFT JOIN placed p ON p.nodename = n.nodename AND p.nodeport = n.nodeport
         LEFT JOIN pg_dist_poolinfo i ON i.nodeid = n.nodeid
         WHERE n.isactive AND n.noderole = 'primary'
         GROUP BY n.nodename, n.nodeport, n.groupid
         ORDER BY n.groupid, n.nodename, n.nodeport",
    )
    .fetch_all(conn)
    .await
}

/// Where a workspace's schema is (`host:port`), on a Citus cluster.
pub async fn placement(
    conn: &mut super::Conn,
    schema: &str,
) -> Result<Option<String>, super::Error> {
    super::query_scalar(
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
    conn: &mut super::Conn,
) -> Result<Vec<(uuid::Uuid, String)>, super::Error> {
    super::query_as(
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
pub async fn enable_role_logins(conn: &mut super::Conn) -> Result<usize, super::Error> {
    let roles: Vec<String> = super::query_scalar(
        "SELECT r.rolname::text FROM pg_roles r
         WHERE NOT r.rolcanlogin
           AND r.rolname IN (SELECT db_role FROM public.tenants
                             UNION SELECT role_name FROM public.tenant_role_pool)",
    )
    .fetch_all(&mut *conn)
    .await?;
    for role in &roles {
        super::raw_sql(&format!("ALTER ROLE {} LOGIN", super::quote_ident(role)))
            .execute(&mut *conn)
            .await?;
    }
    Ok(roles.len())
}

/// Distributes a workspace's schema (placed whole on a worker Citus chooses). Takes the
/// workspace's tables' locks while it copies them.
pub async fn distribute(conn: &mut super::Conn, schema: &str) -> Result<(), super::Error> {
    super::query("SELECT citus_schema_distribute($1::regnamespace)")
        .bind(schema)
        .execute(conn)
        .await?;
    Ok(())
}

/// A node as `tessera cluster status` names it, `host:port`, split.
pub fn node_address(node: &str) -> Option<(&str, u16)> {
    let (host, port) = node.rsplit_once(':')?;
    Some((host, port.parse().ok()?))
}

/// A configured worker's (or its pooler's) address, or a configuration error naming it.
fn worker_address(address: &str) -> Result<(&str, u16), sqlx::Error> {
    node_address(address)
        .ok_or_else(|| sqlx::Error::Configuration(format!("{address:?} is not host:port").into()))
}

/// Moves a workspace's schema to the node `host:port` with Citus's online move (logical
/// replication; writes continue until a short final lock). Needs `wal_level = logical` on
/// the nodes.
pub async fn move_schema(
    conn: &mut super::Conn,
    schema: &str,
    host: &str,
    port: i32,
) -> Result<(), super::Error> {
    super::query("SELECT citus_schema_move($1::regnamespace, $2, $3, 'force_logical')")
        .bind(schema)
        .bind(host)
        .bind(port)
        .execute(conn)
        .await?;
    Ok(())
}

/// Makes the database `name` a Citus database across a cluster, as docs/scale-out.md sets
/// one up by hand: on each worker the database (owned by the migrator, closed to `PUBLIC`,
/// open to the runtime role and the workspace group) with the extension, then the extension
/// on the coordinator with the coordinator and the workers registered. `admin_url` is a
/// superuser's URL on the coordinator; the same user and options reach the workers
/// (`host:port`). The roles must exist already (made on a node with the extension, Citus
/// creates them on every node). Registering nodes updates the workers' shared catalogs:
/// prepare one database at a time. `poolers`, empty or one per worker in the same order, are
/// the PgBouncers (`host:port`) the coordinator reaches each worker through
/// (`pg_dist_poolinfo`; docs/scale-out.md, Connections to the workers).
pub async fn prepare_database(
    admin_url: &str,
    name: &str,
    roles: &super::RoleNames,
    workers: &[String],
    poolers: &[String],
) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    if !poolers.is_empty() && poolers.len() != workers.len() {
        return Err(sqlx::Error::Configuration(
            format!(
                "{} poolers for {} workers: give one per worker or none",
                poolers.len(),
                workers.len()
            )
            .into(),
        ));
    }
    // Every address checked before anything is made on a node.
    let poolers = poolers
        .iter()
        .map(|p| worker_address(p))
        .collect::<Result<Vec<_>, _>>()?;
    let q = super::quote_ident;
    let base: sqlx::postgres::PgConnectOptions = admin_url.parse()?;
    let on = |host: &str, port: u16, db: &str| base.clone().host(host).port(port).database(db);
    let mut nodes = Vec::with_capacity(workers.len());
    for w in workers {
        let (host, port) = worker_address(w)?;
        let mut admin = PgConnection::connect_with(&on(host, port, "postgres")).await?;
        let db = q(name);
        // One statement each: CREATE DATABASE cannot run in the implicit transaction of a
        // multi-statement text.
        for sql in [
            format!(
                "CREATE DATABASE {db} OWNER {} ENCODING 'UTF8' TEMPLATE template0",
                q(&roles.migrator)
            ),
            format!("REVOKE ALL ON DATABASE {db} FROM PUBLIC"),
            format!(
                "GRANT CONNECT ON DATABASE {db} TO {}, {}",
                q(&roles.app),
                q(&roles.tenant_group)
            ),
        ] {
            sqlx::raw_sql(&sql).execute(&mut admin).await?;
        }
        let mut db = PgConnection::connect_with(&on(host, port, name)).await?;
        sqlx::raw_sql("CREATE EXTENSION citus")
            .execute(&mut db)
            .await?;
        nodes.push((host, port));
    }
    let coordinator = base.clone().database(name);
    let mut db = PgConnection::connect_with(&coordinator).await?;
    sqlx::raw_sql("CREATE EXTENSION citus")
        .execute(&mut db)
        .await?;
    sqlx::query("SELECT citus_set_coordinator_host($1, $2)")
        .bind(coordinator.get_host())
        .bind(i32::from(coordinator.get_port()))
        .execute(&mut db)
        .await?;
    for (i, (host, port)) in nodes.into_iter().enumerate() {
        let node: i32 = sqlx::query_scalar("SELECT citus_add_node($1, $2)")
            .bind(host)
            .bind(i32::from(port))
            .fetch_one(&mut db)
            .await?;
        if let Some((pooler_host, pooler_port)) = poolers.get(i) {
            sqlx::query("INSERT INTO pg_dist_poolinfo (nodeid, poolinfo) VALUES ($1, $2)")
                .bind(node)
                .bind(format!("host={pooler_host} port={pooler_port}"))
                .execute(&mut db)
                .await?;
        }
    }
    Ok(())
}

/// Drops the database `name`'s copies on the workers (`host:port`, reached as the user of
/// `admin_url`), ending their sessions; the coordinator's is dropped as on one node.
pub async fn drop_on_workers(
    admin_url: &str,
    name: &str,
    workers: &[String],
) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    let base: sqlx::postgres::PgConnectOptions = admin_url.parse()?;
    for w in workers {
        let (host, port) = worker_address(w)?;
        let mut admin =
            PgConnection::connect_with(&base.clone().host(host).port(port).database("postgres"))
                .await?;
        sqlx::raw_sql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            super::quote_ident(name)
        ))
        .execute(&mut admin)
        .await?;
    }
    Ok(())
}
