//! Citus mode, on a real cluster (a coordinator and two workers the test command starts:
//! `TESSERA_TEST_ADMIN_URL` names the coordinator, `TESSERA_TEST_CITUS_WORKERS` the workers).
//! Each test database is made on every node with the extension and the workers registered,
//! as docs/scale-out.md tells operators; then Tessera runs unchanged and distributes each
//! workspace's schema as it creates it. Without the variables these tests check nothing
//! Citus-specific and say so.

use crate::helpers::{TestApp, seed};

/// The addresses (`host:port`) listed in the environment variable `var`.
fn addresses(var: &str) -> Vec<String> {
    std::env::var(var)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty() && *w != "-")
        .map(str::to_owned)
        .collect()
}

/// The workers (`host:port`), when the tests run on a Citus cluster.
pub fn workers() -> Option<Vec<String>> {
    let list = addresses("TESSERA_TEST_CITUS_WORKERS");
    (!list.is_empty()).then_some(list)
}

/// Makes the test database `name` a Citus database on the cluster
/// (`tessera::db::citus::prepare_database`), one database at a time: registering nodes
/// updates the workers' shared catalogs, and two databases doing it at once fail with
/// "tuple concurrently updated". The coordinator reaches the workers through the PgBouncers
/// of `TESSERA_TEST_CITUS_POOLERS` when it names them (one per worker), as in production.
pub async fn prepare_database(name: &str, roles: &tessera::db::RoleNames, workers: &[String]) {
    static PREPARING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one_at_a_time = PREPARING.lock().await;
    let poolers = addresses("TESSERA_TEST_CITUS_POOLERS");
    tessera::db::citus::prepare_database(
        &crate::helpers::admin_url(),
        name,
        roles,
        workers,
        &poolers,
    )
    .await
    .expect("the test database on the Citus cluster");
}

/// Drops the test database's copies on the workers.
pub async fn drop_on_workers(name: &str, workers: &[String]) {
    let _ = tessera::db::citus::drop_on_workers(&crate::helpers::admin_url(), name, workers).await;
}

/// On the cluster, workspaces are distributed schemas spread over both workers, each whole
/// on one; a workspace's role works there and reaches nothing of another's.
#[tokio::test]
async fn workspaces_are_distributed_schemas_spread_over_the_workers() {
    let Some(workers) = workers() else {
        eprintln!("not on a Citus cluster (TESSERA_TEST_CITUS_WORKERS unset): nothing to check");
        return;
    };
    let app = TestApp::spawn().await;
    let mut seeded = Vec::new();
    for i in 0..6 {
        seeded.push(seed(&app, &format!("ws{i}")).await);
    }
    let placed: Vec<(String, i32)> = sqlx::query_as(
        "SELECT s.schema_name::text, n.nodeport
         FROM citus_schemas s
         JOIN pg_dist_partition p ON p.colocationid = s.colocation_id
         JOIN pg_dist_shard sh ON sh.logicalrelid = p.logicalrelid
         JOIN pg_dist_placement pl ON pl.shardid = sh.shardid
         JOIN pg_dist_node n ON n.groupid = pl.groupid
         GROUP BY 1, 2 ORDER BY 1",
    )
    .fetch_all(&app.db.migrator)
    .await
    .unwrap();
    assert_eq!(
        placed.len(),
        6,
        "each workspace whole on one node: {placed:?}"
    );
    let ports: std::collections::BTreeSet<i32> = placed.iter().map(|(_, p)| *p).collect();
    assert_eq!(
        ports.len(),
        workers.len(),
        "spread over every worker: {placed:?}"
    );
    // Work goes on as on one node.
    for (i, s) in seeded.iter().enumerate() {
        let data = app
            .ok(
                &format!("ws{i}"),
                &s.owner_token,
                "mutation { createTeam(input: {name: \"Core\", visibility: OPEN}) { id } }",
                serde_json::json!({}),
            )
            .await;
        assert!(data["createTeam"]["id"].is_string());
    }
}

/// A workspace moves to the other worker (`tessera tenant move`, Citus's online move) while a
/// client keeps writing and reading it: no request fails, every acknowledged write is there
/// afterwards, and the move is in the workspace's audit log.
#[tokio::test]
async fn a_workspace_moves_to_the_other_worker_while_clients_write() {
    let Some(workers) = workers() else {
        eprintln!("not on a Citus cluster (TESSERA_TEST_CITUS_WORKERS unset): nothing to check");
        return;
    };
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let s = seed(&app, "mover").await;
    let mut conn = app.db.owner.acquire().await.unwrap();
    let from = tessera::db::citus::placement(&mut conn, "tenant_mover")
        .await
        .unwrap()
        .expect("placed");
    let to = workers
        .iter()
        .find(|w| **w != from)
        .expect("another worker")
        .clone();
    drop(conn);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (app, stop, token) = (app.clone(), stop.clone(), s.owner_token.clone());
        tokio::spawn(async move {
            let (mut acknowledged, mut failed, mut reads) = (Vec::new(), Vec::new(), 0u32);
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let (status, body) = app
                    .gql(
                        "mover",
                        &token,
                        "mutation($t: String!) { createIdea(input: {title: $t}) { id } }",
                        serde_json::json!({ "t": format!("during the move {i}") }),
                    )
                    .await;
                match body["data"]["createIdea"]["id"].as_str() {
                    Some(id) if status == 200 => acknowledged.push(id.to_owned()),
                    _ => failed.push(body.to_string()),
                }
                let (status, body) = app
                    .gql(
                        "mover",
                        &token,
                        "{ ideas(first: 5) { nodes { id } } }",
                        serde_json::json!({}),
                    )
                    .await;
                if status == 200 && body.get("errors").is_none() {
                    reads += 1;
                } else {
                    failed.push(body.to_string());
                }
            }
            (acknowledged, failed, reads)
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // The command runs on a blocking thread: the test's own server shares this runtime and
    // must keep answering the writer while the move waits for its transactions.
    let out = {
        let (app, to) = (app.clone(), to.clone());
        tokio::task::spawn_blocking(move || {
            crate::provisioning::cli(&app.db, &["tenant", "move", "mover", "--to", &to])
        })
        .await
        .unwrap()
    };
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (acknowledged, failed, reads) = writer.await.unwrap();
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("moved from {from} to {to}")),
        "{text}"
    );
    assert!(
        failed.is_empty(),
        "{} requests failed during the move, the first: {:?}",
        failed.len(),
        failed.first()
    );
    assert!(
        acknowledged.len() > 3 && reads > 3,
        "the client kept working: {} writes, {reads} reads",
        acknowledged.len()
    );

    let mut conn = app.db.owner.acquire().await.unwrap();
    assert_eq!(
        tessera::db::citus::placement(&mut conn, "tenant_mover")
            .await
            .unwrap(),
        Some(to.clone())
    );
    let ids: Vec<uuid::Uuid> = acknowledged.iter().map(|i| i.parse().unwrap()).collect();
    let kept: i64 =
        tessera::db::query_scalar("SELECT count(*) FROM tenant_mover.ideas WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        kept,
        i64::try_from(ids.len()).unwrap(),
        "every acknowledged write is kept"
    );
    let action: String = tessera::db::query_scalar(
        "SELECT action FROM public.audit_log WHERE tenant_id = $1 AND action = 'workspace.move'",
    )
    .bind(s.tenant.id)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(action, "workspace.move");
}

/// The upgrade path from one node: a workspace made before Citus (its schema local on the
/// coordinator) is distributed by `tessera cluster distribute`, keeps its data and is
/// listed by `tessera cluster status`; a second run has nothing to do.
#[tokio::test]
async fn workspaces_made_before_citus_are_distributed_by_the_operator() {
    if workers().is_none() {
        eprintln!("not on a Citus cluster (TESSERA_TEST_CITUS_WORKERS unset): nothing to check");
        return;
    }
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let s = seed(&app, "legacy").await;
    // As if made on the single node before Citus was installed.
    let url = app
        .db
        .migrator_url
        .replace(&app.db.roles.migrator, "postgres");
    let mut su = tessera::db::admin_connect_url(&url).await.unwrap();
    sqlx::query("SELECT citus_schema_undistribute('tenant_legacy'::regnamespace)")
        .execute(&mut su)
        .await
        .unwrap();
    // ...with a role made before Citus: it cannot log in anywhere.
    sqlx::raw_sql(&format!(
        "ALTER ROLE \"{}\" NOLOGIN",
        s.tenant.db_role.replace('"', "\"\"")
    ))
    .execute(&mut su)
    .await
    .unwrap();
    let mut conn = app.db.owner.acquire().await.unwrap();
    assert_eq!(
        tessera::db::citus::placement(&mut conn, "tenant_legacy")
            .await
            .unwrap(),
        None
    );
    drop(conn);
    let before = app
        .ok(
            "legacy",
            &s.owner_token,
            "mutation { createIdea(input: {title: \"before\"}) { id } }",
            serde_json::json!({}),
        )
        .await;

    let run = |args: &'static [&'static str]| {
        let app = app.clone();
        tokio::task::spawn_blocking(move || {
            let out = crate::provisioning::cli(&app.db, args);
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr),
            )
        })
    };
    let (code, out) = run(&["cluster", "distribute"]).await.unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("legacy: distributed to") && out.contains("1 workspaces distributed"),
        "{out}"
    );
    let mut conn = app.db.owner.acquire().await.unwrap();
    assert!(
        tessera::db::citus::placement(&mut conn, "tenant_legacy")
            .await
            .unwrap()
            .is_some()
    );
    drop(conn);
    let data = app
        .ok(
            "legacy",
            &s.owner_token,
            "{ ideas(first: 10) { nodes { id title } } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(data["ideas"]["nodes"][0]["id"], before["createIdea"]["id"]);

    let (code, out) = run(&["cluster", "distribute"]).await.unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("0 workspaces distributed"), "{out}");
    let (code, out) = run(&["cluster", "status"]).await.unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.split_whitespace().nth(1) == Some("worker"))
            .count(),
        2,
        "{out}"
    );
    assert!(out.contains("coordinator"), "{out}");
    // Each worker is shown reached through its PgBouncer; a worker without one is warned of.
    let poolers = addresses("TESSERA_TEST_CITUS_POOLERS");
    for pooler in &poolers {
        let (host, port) = pooler.rsplit_once(':').unwrap();
        assert!(out.contains(&format!("host={host} port={port}")), "{out}");
    }
    assert_eq!(
        out.contains("warning: a worker reached directly"),
        poolers.is_empty(),
        "{out}"
    );
}

/// Without Citus, `cluster status` is one line for the database, with its workspaces, and
/// `tenant move` says there is nowhere to go.
#[tokio::test]
async fn on_one_node_the_cluster_commands_say_so() {
    if workers().is_some() {
        eprintln!("on a Citus cluster: the single-node answers do not apply");
        return;
    }
    let app = TestApp::spawn().await;
    seed(&app, "solo").await;
    let out = crate::provisioning::cli(&app.db, &["cluster", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("single node"))
        .expect("one line");
    assert_eq!(line.split_whitespace().nth(3), Some("1"), "{text}");
    let out = crate::provisioning::cli(&app.db, &["tenant", "move", "solo", "--to", "127.0.0.1:1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a Citus cluster"));
}
