//! `bench cluster`: the same mixed load on one PostgreSQL node and on a Citus coordinator with
//! two workers, all on this machine; then a workspace of many records moved between the
//! workers under load.
//!
//! Both set-ups are throwaway initdb clusters with the same settings
//! (`scripts/local-cluster.sh`), up side by side; each gets its own bench database, server and
//! workspaces, and the rounds alternate between them so that the machine's drift falls on
//! both. On one machine the cluster cannot gain anything (its three PostgreSQL servers share
//! the same cores): the ratio is the price of the coordinator hop and of routing, not the
//! gain of spreading workspaces over machines.

use std::time::Instant;

use anyhow::Context as _;
use serde_json::json;
use tessera::authz::Scope;

use crate::common::*;
use crate::load::*;
use crate::tenants::{PROJECT, Seed, provision};

/// The script that starts and stops throwaway nodes.
fn script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/local-cluster.sh")
}

/// Throwaway PostgreSQL nodes (`scripts/local-cluster.sh`): stopped and removed on drop.
struct Nodes {
    dir: std::path::PathBuf,
    admin_url: String,
    workers: Vec<String>,
    /// The PgBouncer in front of each worker, in the same order.
    poolers: Vec<String>,
}

impl Nodes {
    fn start(mode: &str) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "tessera-bench-{mode}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ));
        // The workers are reached through their PgBouncers, which hold each to a few
        // sessions whatever the number of workspace roles (docs/scale-out.md, Connections
        // to the workers).
        let out = std::process::Command::new("bash")
            .arg(script())
            .args(["start", &dir.display().to_string(), mode])
            .output()
            .context("scripts/local-cluster.sh")?;
        let list = |field: &str| -> Vec<String> {
            field
                .split(',')
                .filter(|w| *w != "-")
                .map(str::to_owned)
                .collect()
        };
        let mut nodes = Self {
            dir: dir.clone(),
            admin_url: String::new(),
            workers: Vec::new(),
            poolers: Vec::new(),
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let mut fields = text.split_whitespace();
        match (
            out.status.success(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) {
            (true, Some(url), Some(workers), Some(poolers)) => {
                nodes.admin_url = url.to_owned();
                nodes.workers = list(workers);
                nodes.poolers = list(poolers);
                Ok(nodes)
            }
            _ => {
                drop(nodes);
                anyhow::bail!(
                    "starting the {mode} nodes failed (Citus: bash ../shared/scale/build.sh): {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            }
        }
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(script())
            .args(["stop", &self.dir.display().to_string()])
            .output();
    }
}

/// The mixed load's three requests, in the ratio 2 reads : 1 write.
fn mixed_lines(url: &str, token: &str) -> String {
    let bodies = [
        json!({ "query": "query($id: ID!) { project(id: $id) { id name description } }", "variables": { "id": PROJECT } }),
        json!({ "query": "query($p: ID!) { records(projectId: $p, first: 10) { nodes { id title status } } }", "variables": { "p": PROJECT } }),
        json!({ "query": "mutation($p: ID!) { createRecord(input: { projectId: $p, title: \"Written under load\" }) { id } }", "variables": { "p": PROJECT } }),
    ];
    bodies
        .iter()
        .map(|b| format!("{url}\t{token}\t{b}\n"))
        .collect()
}

/// What each workspace gets: a token that reads and writes, `records` records, the mixed
/// load's lines.
fn seed(records: usize) -> Seed<'static> {
    Seed {
        scopes: &[Scope::Read, Scope::Write],
        records,
        lines: &mixed_lines,
    }
}

/// A set-up under test: its nodes, bench database, server and targets file.
struct Side {
    name: &'static str,
    bench: Bench,
    addr: std::net::SocketAddr,
    /// The owner of every workspace.
    user: uuid::Uuid,
    stop: tokio::sync::oneshot::Sender<()>,
    targets: std::path::PathBuf,
    provision_rate: f64,
}

impl Side {
    /// `tenants` workspaces of `records` records each, provisioned by two creators.
    async fn up(
        name: &'static str,
        nodes: &Nodes,
        tenants: usize,
        records: usize,
    ) -> anyhow::Result<Self> {
        let bench =
            Bench::setup_on(nodes.admin_url.clone(), &nodes.workers, &nodes.poolers, 8).await?;
        let mut conn = bench.owner.acquire().await?;
        let user = tessera::identity::ensure_user(&mut conn, "bench@bench.test", "Bench").await?;
        drop(conn);
        let (addr, stop) = serve(&bench, 16).await?;
        let mut lines = String::new();
        let provision_rate = provision(
            &bench,
            user.id,
            0..tenants,
            2,
            addr,
            &seed(records),
            &mut lines,
        )
        .await?;
        // Interleaved so that consecutive requests go to different workspaces and every
        // stretch of the run has the same mix: workspace w's request k at position k·n + w.
        let per: Vec<Vec<&str>> = lines
            .lines()
            .collect::<Vec<_>>()
            .chunks(3)
            .map(<[&str]>::to_vec)
            .collect();
        let mut mixed = String::with_capacity(lines.len());
        for k in 0..3 {
            for (w, reqs) in per.iter().enumerate() {
                mixed.push_str(reqs[(k + w) % reqs.len()]);
                mixed.push('\n');
            }
        }
        let targets = std::env::temp_dir().join(format!("{}-targets.tsv", bench.name));
        std::fs::write(&targets, mixed)?;
        println!("{name}: provisioned {tenants} workspaces at {provision_rate:.1}/s");
        Ok(Self {
            name,
            bench,
            addr,
            user: user.id,
            stop,
            targets,
            provision_rate,
        })
    }

    async fn down(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        let _ = std::fs::remove_file(&self.targets);
        self.bench.teardown().await
    }
}

/// Moves a workspace of `records` records to the other worker while `concurrency` clients
/// read and write it; then the same load for as long without a move, for comparison.
async fn move_under_load(
    side: &Side,
    records: usize,
    concurrency: usize,
) -> anyhow::Result<serde_json::Value> {
    let b = &side.bench;
    let mut lines = String::new();
    let t0 = Instant::now();
    // Slug t99999: apart from the mixed load's workspaces.
    provision(
        b,
        side.user,
        99_999..100_000,
        1,
        side.addr,
        &seed(records),
        &mut lines,
    )
    .await?;
    let schema = "tenant_t99999";
    let mut conn = b.owner.acquire().await?;
    let bytes: i64 = tessera::db::query_scalar(
        "SELECT sum(sh.shard_size)::bigint
         FROM citus_schemas s JOIN citus_shards sh ON sh.colocation_id = s.colocation_id
         WHERE s.schema_name = $1::regnamespace",
    )
    .bind(schema)
    .fetch_one(&mut conn)
    .await
    .unwrap_or_default();
    println!(
        "cluster: a workspace of {records} records ({:.1} MiB on its worker) made in {:.1} s",
        bytes as f64 / 1048576.0,
        t0.elapsed().as_secs_f64()
    );
    let from = tessera::db::citus::placement(&mut conn, schema)
        .await?
        .context("the workspace is not distributed")?;
    let to = b
        .workers
        .iter()
        .find(|w| **w != from)
        .context("no other worker")?
        .clone();
    let (host, port) = tessera::db::citus::node_address(&to).context("worker address")?;
    let file = std::env::temp_dir().join(format!("{}-move.tsv", b.name));
    std::fs::write(&file, &lines)?;
    let target = format!("@{}", file.display());

    // Clients run from before the move until a second after it (a stop file ends them);
    // afterwards the same load runs as long again without a move, for reference.
    let stop_file = std::env::temp_dir().join(format!("{}-move.stop", b.name));
    let load = {
        let (target, stop_file) = (target.clone(), stop_file.clone());
        std::thread::spawn(move || {
            builtin_until(
                &target,
                "",
                &json!(null),
                concurrency,
                3600,
                Some(&stop_file),
            )
        })
    };
    // The generator's warm-up (2 s, one cycle) and one second of steady load first.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let started = Instant::now();
    let moved = tessera::db::citus::move_schema(&mut conn, schema, host, i32::from(port)).await;
    let move_secs = started.elapsed().as_secs_f64();
    if moved.is_ok() {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    // The clients stop whether or not the move succeeded.
    std::fs::write(&stop_file, b"")?;
    let during = load
        .join()
        .map_err(|_| anyhow::anyhow!("the load thread panicked"))?;
    let _ = std::fs::remove_file(&stop_file);
    moved.context("moving the workspace")?;
    let during = during?;
    let now = tessera::db::citus::placement(&mut conn, schema).await?;
    anyhow::ensure!(
        now.as_deref() == Some(to.as_str()),
        "the workspace is on {now:?}, not {to}"
    );
    let calm_secs = during.seconds.ceil().max(1.0) as u64;
    let calm = builtin(&target, "", &json!(null), concurrency, calm_secs)?;
    let _ = std::fs::remove_file(&file);
    println!(
        "cluster: moved {records} records from {from} to {to} in {move_secs:.1} s; under {concurrency} clients over {:.1} s around it: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, worst {:.1} ms, {} failed",
        during.seconds, during.rps, during.p50_ms, during.p99_ms, during.max_ms, during.errors
    );
    println!(
        "cluster: the same load for {calm_secs} s without a move: {:.0} req/s, p99 {:.2} ms, worst {:.1} ms, {} failed",
        calm.rps, calm.p99_ms, calm.max_ms, calm.errors
    );
    Ok(json!({
        "records": records, "bytes": bytes, "from": from, "to": to,
        "move_seconds": move_secs, "during": during, "without_move": calm,
    }))
}

/// The sessions open on each worker in the bench database: the coordinator's connections,
/// one per workspace role it has cached (docs/scale-out.md, Connections to the workers).
async fn worker_connections(b: &Bench) -> anyhow::Result<Vec<(String, i64)>> {
    use sqlx::Connection as _;
    let base: sqlx::postgres::PgConnectOptions = b.admin_url.parse()?;
    let mut counts = Vec::new();
    for w in &b.workers {
        let (host, port) = tessera::db::citus::node_address(w).context("worker address")?;
        let mut conn =
            sqlx::PgConnection::connect_with(&base.clone().host(host).port(port)).await?;
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = $1")
            .bind(&b.name)
            .fetch_one(&mut conn)
            .await?;
        counts.push((w.clone(), n));
    }
    Ok(counts)
}

/// One node vs a Citus coordinator and two workers: `tenants` workspaces each, the mixed
/// load (2 reads : 1 write) round-robin over all of them, `rounds` alternating runs of
/// `secs` seconds at `concurrency`; then the move of a workspace of `move_records` records.
pub(crate) async fn cluster_scenario(
    tenants: usize,
    concurrency: usize,
    secs: u64,
    rounds: usize,
    move_records: usize,
) -> anyhow::Result<serde_json::Value> {
    let single_nodes = Nodes::start("single")?;
    let citus_nodes = Nodes::start("citus")?;
    println!(
        "one node: {}; cluster: coordinator {}, workers {} through PgBouncer {}",
        single_nodes.admin_url,
        citus_nodes.admin_url,
        citus_nodes.workers.join(", "),
        citus_nodes.poolers.join(", ")
    );
    let single = Side::up("one node", &single_nodes, tenants, 20).await?;
    let cluster = match Side::up("cluster", &citus_nodes, tenants, 20).await {
        Ok(c) => c,
        Err(e) => {
            let _ = single.down().await;
            return Err(e);
        }
    };
    let result = async {
        let placement: Vec<(String, i64)> = sqlx::query_as(
            "SELECT sh.nodename || ':' || sh.nodeport, count(DISTINCT s.schema_name)
             FROM citus_schemas s JOIN citus_shards sh ON sh.colocation_id = s.colocation_id
             GROUP BY 1 ORDER BY 1",
        )
        .fetch_all(&cluster.bench.migrator)
        .await?;
        println!("cluster: workspaces per worker: {placement:?}");
        let (mut one, mut many) = (Vec::new(), Vec::new());
        for round in 1..=rounds.max(1) {
            for side in [&single, &cluster] {
                let at = format!("@{}", side.targets.display());
                let l = load_from_another_process(&at, "", &json!(null), concurrency, secs)?;
                println!(
                    "round {round}, {}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors ({} in the warm-up)",
                    side.name, l.rps, l.p50_ms, l.p99_ms, l.errors, l.warmup_errors
                );
                if side.name == single.name { one.push(l) } else { many.push(l) }
            }
        }
        let rps: Vec<f64> = many.iter().zip(&one).map(|(m, o)| m.rps / o.rps).collect();
        let p99: Vec<f64> = many.iter().zip(&one).map(|(m, o)| m.p99_ms / o.p99_ms).collect();
        let connections = worker_connections(&cluster.bench).await?;
        println!("cluster: sessions of the bench database on each worker after the rounds: {connections:?}");
        println!(
            "cluster vs one node, medians of {} rounds: req/s {:.2}x, p99 {:.2}x (one machine: the coordinator's cost, not the gain)",
            rps.len(),
            median(rps.iter().copied()),
            median(p99.iter().copied())
        );
        let moved = move_under_load(&cluster, move_records, concurrency).await?;
        Ok::<_, anyhow::Error>(json!({
            "tenants": tenants, "concurrency": concurrency, "seconds": secs,
            "load_generator": load_generator(),
            "mix": "project by id, 10 records of a project, createRecord (2 reads : 1 write)",
            "provision_per_s": { "one_node": single.provision_rate, "cluster": cluster.provision_rate },
            "placement": placement, "worker_sessions": connections,
            "one_node": one, "cluster": many,
            "rps_ratio": ratio_summary(&rps), "p99_ratio": ratio_summary(&p99),
            "move": moved,
        }))
    }
    .await;
    let down = (single.down().await, cluster.down().await);
    drop((single_nodes, citus_nodes));
    let result = result?;
    down.0?;
    down.1?;
    Ok(result)
}
