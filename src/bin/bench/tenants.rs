//! `bench tenants`: provisioning, latency over 10 and many workspaces, backend memory, migration.

use std::time::Instant;

use anyhow::Context as _;

use serde_json::json;
use tessera::db::migrate;

use crate::common::*;
use crate::load::*;

/// What each provisioned workspace gets besides its owner: an API token with `scopes`, a
/// team "Core" with project [`PROJECT`] holding `records` records, and the load generator's
/// `url<TAB>token<TAB>body` lines that `lines` makes from the workspace's GraphQL URL and the
/// token.
pub(crate) struct Seed<'a> {
    pub(crate) scopes: &'a [tessera::authz::Scope],
    pub(crate) records: usize,
    pub(crate) lines: &'a (dyn Fn(&str, &str) -> String + Sync),
}

/// The project every provisioned workspace has.
pub(crate) const PROJECT: &str = "00000000-0000-0000-0001-000000000001";

/// Provisions `from..to` tenants as `seed` says, by `creators` concurrent callers (as a
/// burst of sign-ups would); returns tenants per second and appends the load generator's
/// lines to `targets`.
pub(crate) async fn provision(
    b: &Bench,
    user: uuid::Uuid,
    range: std::ops::Range<usize>,
    creators: usize,
    addr: std::net::SocketAddr,
    seed: &Seed<'_>,
    targets: &mut String,
) -> anyhow::Result<f64> {
    /// Progress shared by the creators: blocks of 250 completed tenants, with the mean time
    /// per tenant of each phase in the block: create (row, role, schema, clone, first audit
    /// entry), membership, token, data.
    struct Progress {
        done: usize,
        lap: Instant,
        phases: [std::time::Duration; 4],
        targets: String,
    }
    const BLOCK: usize = 250;
    let t0 = Instant::now();
    let n = range.len();
    let next = std::sync::atomic::AtomicUsize::new(range.start);
    let progress = std::sync::Mutex::new(Progress {
        done: 0,
        lap: Instant::now(),
        phases: [std::time::Duration::ZERO; 4],
        targets: String::new(),
    });
    let creator = || async {
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if i >= range.end {
                return Ok::<_, anyhow::Error>(());
            }
            let slug = format!("t{i:05}");
            let mut took = [std::time::Duration::ZERO; 4];
            let mut phase = Instant::now();
            let mut tick = |k: usize| {
                took[k] = phase.elapsed();
                phase = Instant::now();
            };
            let tenant = b.tenant(&slug).await?;
            tick(0);
            let mut conn = b.owner.acquire().await?;
            tessera::identity::add_member(&mut conn, tenant, user, tessera::authz::Role::Owner)
                .await?;
            tick(1);
            let (_, token) =
                tessera::identity::mint_token(&mut conn, tenant, user, "bench", seed.scopes)
                    .await
                    .map_err(|e| anyhow::anyhow!("minting a bench token: {e:?}"))?;
            tick(2);
            tessera::db::raw_sql(&format!(
                "INSERT INTO tenant_{slug}.teams (id, name, visibility) VALUES ('00000000-0000-0000-0000-000000000001', 'Core', 'open');
                 INSERT INTO tenant_{slug}.projects (id, team_id, name, description) VALUES
                     ('{PROJECT}', '00000000-0000-0000-0000-000000000001', 'P', 'About P');
                 INSERT INTO tenant_{slug}.records (id, project_id, title, body)
                     SELECT gen_random_uuid(), '{PROJECT}', 'Record ' || g, repeat('x', 200)
                     FROM generate_series(1, {records}) g;",
                records = seed.records,
            ))
            .execute(&mut conn)
            .await?;
            tick(3);
            drop(conn);
            let line = (seed.lines)(&format!("http://{addr}/w/{slug}/graphql"), token.expose());
            let Ok(mut p) = progress.lock() else {
                anyhow::bail!("a creator panicked");
            };
            p.targets.push_str(&line);
            for (sum, t) in p.phases.iter_mut().zip(took) {
                *sum += t;
            }
            p.done += 1;
            if p.done % BLOCK == 0 {
                let ms = p.phases.map(|d| d.as_secs_f64() * 1000.0 / BLOCK as f64);
                println!(
                    "  tenants {}..{}: {:.1} tenants/s; ms per tenant: create {:.1}, member {:.1}, token {:.1}, data {:.1}",
                    p.done - BLOCK,
                    p.done,
                    BLOCK as f64 / p.lap.elapsed().as_secs_f64(),
                    ms[0],
                    ms[1],
                    ms[2],
                    ms[3],
                );
                p.lap = Instant::now();
                p.phases = [std::time::Duration::ZERO; 4];
            }
        }
    };
    futures_util::future::try_join_all((0..creators.max(1)).map(|_| creator())).await?;
    let rate = n as f64 / t0.elapsed().as_secs_f64();
    let p = progress
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a creator panicked"))?;
    targets.push_str(&p.targets);
    Ok(rate)
}

/// A signed-in browser session on the server at `addr`: a new account's session cookie.
async fn browser_session(
    client: &reqwest::Client,
    addr: std::net::SocketAddr,
) -> anyhow::Result<String> {
    let resp = client
        .post(format!("http://{addr}/auth/signup"))
        .header("origin", format!("https://{addr}"))
        .json(&json!({ "email": "founder@bench.test", "password": "bench-password-0123", "displayName": "Founder" }))
        .send()
        .await?;
    anyhow::ensure!(
        resp.status().as_u16() == 201,
        "sign-up answered {}",
        resp.status()
    );
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("sign-up set no session cookie")?;
    Ok(cookie.to_owned())
}

/// `createWorkspace` through `/graphql`, `n` times one after another with slugs
/// `<prefix>NNNN`: p50, p95 and p99 in milliseconds. Enough of them that the workspace role
/// pool is topped up at least once in the run (256 at a time), so its cost is in the figures.
async fn create_workspace_latency(
    client: &reqwest::Client,
    addr: std::net::SocketAddr,
    cookie: &str,
    prefix: &str,
    n: usize,
) -> anyhow::Result<(f64, f64, f64)> {
    let mut took = Vec::with_capacity(n);
    for i in 0..n {
        let body = json!({
            "query": "mutation($name: String!, $slug: String!) { createWorkspace(name: $name, slug: $slug) { slug } }",
            "variables": { "name": format!("Created {i}"), "slug": format!("{prefix}{i:04}") },
        });
        let t0 = Instant::now();
        let resp = client
            .post(format!("http://{addr}/graphql"))
            .header("origin", format!("https://{addr}"))
            .header("cookie", cookie)
            .json(&body)
            .send()
            .await?;
        let answer: serde_json::Value = resp.json().await?;
        took.push(t0.elapsed());
        anyhow::ensure!(
            answer["errors"].is_null() && answer["data"]["createWorkspace"]["slug"].is_string(),
            "createWorkspace failed: {answer}"
        );
    }
    took.sort();
    Ok((
        percentile(&took, 0.50),
        percentile(&took, 0.95),
        percentile(&took, 0.99),
    ))
}

/// Tenant scale: provisioning rate, read latency round-robin over 10 and over `tenants`
/// workspaces, backend memory, and a one-column migration across every tenant schema.
pub(crate) async fn tenants_scenario(
    tenants: usize,
    creators: usize,
    concurrency: usize,
    secs: u64,
    rounds: usize,
    short_lifetime_secs: u64,
    workspace_cap: usize,
) -> anyhow::Result<serde_json::Value> {
    let b = Bench::setup(8).await?;
    let result = async {
        let mut conn = b.owner.acquire().await?;
        let user = tessera::identity::ensure_user(&mut conn, "bench@bench.test", "Bench").await?;
        drop(conn);
        let (addr, stop) = serve(&b, 16).await?;
        // A second server over the same database whose connections live `short_lifetime_secs`
        // only, or (with a `workspace_cap`) serve that many distinct workspaces only: each
        // backend then holds the catalog entries and plans of fewer workspaces.
        let (short_addr, short_stop) = serve_with(&b, 16, |cfg| {
            if workspace_cap > 0 {
                cfg.pool_max_workspaces_per_connection = workspace_cap;
            } else {
                cfg.pool_max_lifetime_secs = short_lifetime_secs;
            }
        })
        .await?;
        let variant = if workspace_cap > 0 {
            format!("connections retired after {workspace_cap} workspaces")
        } else {
            format!("connections living {short_lifetime_secs} s")
        };
        let client = reqwest::Client::new();
        let cookie = browser_session(&client, addr).await?;
        let samples = (tenants / 30).clamp(10, 300);
        let file = std::env::temp_dir().join(format!("{}-targets.tsv", b.name));
        let mut targets = String::new();
        let by_id = |url: &str, token: &str| {
            let body = json!({ "query": "query($id: ID!) { project(id: $id) { id name description } }", "variables": { "id": PROJECT } });
            format!("{url}\t{token}\t{body}\n")
        };
        let seed = Seed { scopes: &[tessera::authz::Scope::Read], records: 0, lines: &by_id };
        let rate_10 = provision(&b, user.id, 0..10, 1, addr, &seed, &mut targets).await?;
        std::fs::write(&file, &targets)?;
        let at_10 = load_from_another_process(&format!("@{}", file.display()), "", &json!(null), concurrency, secs)?;
        println!("provisioned 10 tenants at {rate_10:.1} tenants/s; round-robin over 10: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors", at_10.rps, at_10.p50_ms, at_10.p99_ms, at_10.errors);
        let first_10 = targets.clone();
        let (create_p50_10, create_p95_10, create_p99_10) = create_workspace_latency(&client, addr, &cookie, "ca", samples).await?;
        println!("createWorkspace through the API from 10 existing workspaces ({samples} in a row): p50 {create_p50_10:.1} ms, p95 {create_p95_10:.1} ms, p99 {create_p99_10:.1} ms");
        let rate_n = provision(&b, user.id, 10..tenants, creators, addr, &seed, &mut targets).await?;
        println!("provisioned {} more tenants at {rate_n:.1} tenants/s ({creators} concurrent creators)", tenants - 10);
        let (create_p50_n, create_p95_n, create_p99_n) = create_workspace_latency(&client, addr, &cookie, "cb", samples).await?;
        println!("createWorkspace through the API from {} existing workspaces ({samples} in a row): p50 {create_p50_n:.1} ms, p95 {create_p95_n:.1} ms, p99 {create_p99_n:.1} ms", tenants + samples);
        // Rounds, each a run over all tenants and one over the first ten again (the same
        // cluster, now holding all of them), back to back: the ratio within a round is the
        // cost of spreading the load over every workspace, with the machine's drift damped.
        // Each run's warm-up visits every target once (steady state, not first touch).
        let file_n = std::env::temp_dir().join(format!("{}-targets-all.tsv", b.name));
        let file_short = std::env::temp_dir().join(format!("{}-targets-short.tsv", b.name));
        std::fs::write(&file, &first_10)?;
        std::fs::write(&file_n, &targets)?;
        std::fs::write(&file_short, targets.replace(&format!("//{addr}/"), &format!("//{short_addr}/")))?;
        // The database's own behaviour, for reference: pgbench sending Tessera's statements
        // (entry pipelined with BEGIN, the read, COMMIT) for a random workspace of the N, or
        // of the first 10, per transaction.
        // `homed`: each pgbench client keeps to its own share of the workspaces (client k takes
        // the ones ≡ k modulo the client count), as if every workspace had a home connection.
        let pg_script = |n: usize, homed: bool| format!(
            "{}
\\startpipeline
BEGIN READ ONLY;
SELECT * FROM public.tessera_enter_v3('t' || lpad(:t::text, 5, '0'), NULL, NULL, 0, '127.0.0.1');
\\endpipeline
SELECT p.id, p.team_id, p.goal_id, p.name, p.description, p.archived_at, p.created_at, p.updated_at FROM projects p JOIN teams tm ON tm.id = p.team_id WHERE p.id = '00000000-0000-0000-0001-000000000001' AND (true OR tm.visibility <> 'restricted');
COMMIT;
",
            if homed {
                format!(
                    "\\set r random(0, {})\n\\set t :r * {concurrency} + :client_id % {concurrency}",
                    n / concurrency - 1
                )
            } else {
                format!("\\set t random(0, {})", n - 1)
            }
        );
        let (mut over_n, mut over_10, mut pg_n, mut pg_10, mut pg_homed, mut short_n) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for round in 1..=rounds.max(1) {
            over_n.push(load_from_another_process(&format!("@{}", file_n.display()), "", &json!(null), concurrency, secs)?);
            short_n.push(load_from_another_process(&format!("@{}", file_short.display()), "", &json!(null), concurrency, secs)?);
            let s = &short_n[round - 1];
            println!("round {round}: over {tenants}, {variant}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors", s.rps, s.p50_ms, s.p99_ms, s.errors);
            over_10.push(load_from_another_process(&format!("@{}", file.display()), "", &json!(null), concurrency, secs)?);
            pg_n.push(pgbench(&b.app_url(), &pg_script(tenants, false), concurrency, secs)?);
            pg_homed.push(pgbench(&b.app_url(), &pg_script(tenants, true), concurrency, secs)?);
            pg_10.push(pgbench(&b.app_url(), &pg_script(10, false), concurrency, secs)?);
            let (n, t) = (&over_n[round - 1], &over_10[round - 1]);
            println!("round {round}: over {tenants}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors; over the first 10: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
                n.rps, n.p50_ms, n.p99_ms, n.errors, t.rps, t.p50_ms, t.p99_ms, t.errors);
            println!("round {round}: pgbench over {tenants}: {:.0} tps, {:.2} ms average; homed: {:.0} tps, {:.2} ms; over 10: {:.0} tps, {:.2} ms average",
                pg_n[round - 1].0, pg_n[round - 1].1, pg_homed[round - 1].0, pg_homed[round - 1].1, pg_10[round - 1].0, pg_10[round - 1].1);
        }
        let (backends, rss) = backend_rss_mib(&b).await?;
        let _ = stop.send(());
        let _ = short_stop.send(());
        let _ = std::fs::remove_file(&file);
        let _ = std::fs::remove_file(&file_n);
        let _ = std::fs::remove_file(&file_short);
        let short_p50: Vec<f64> = short_n.iter().zip(&over_10).map(|(n, t)| n.p50_ms / t.p50_ms).collect();
        let short_vs_long: Vec<f64> = short_n.iter().zip(&over_n).map(|(s, l)| s.p50_ms / l.p50_ms).collect();
        println!(
            "over {tenants} with {variant}: p50 {:.2}x of over 10, {:.2}x of the default pool (medians of rounds)",
            median(short_p50.iter().copied()), median(short_vs_long.iter().copied())
        );
        let p50_ratio: Vec<f64> = over_n.iter().zip(&over_10).map(|(n, t)| n.p50_ms / t.p50_ms).collect();
        let p99_ratio: Vec<f64> = over_n.iter().zip(&over_10).map(|(n, t)| n.p99_ms / t.p99_ms).collect();
        let rps_ratio: Vec<f64> = over_n.iter().zip(&over_10).map(|(n, t)| n.rps / t.rps).collect();
        println!(
            "over {tenants} vs over 10, medians of {} rounds: p50 {:.2}x, p99 {:.2}x, req/s {:.2}x (before the rest existed, over 10: p50 {:.2} ms)",
            over_n.len(), median(p50_ratio.iter().copied()), median(p99_ratio.iter().copied()), median(rps_ratio.iter().copied()), at_10.p50_ms
        );
        let pg_ratio: Vec<f64> = pg_n.iter().zip(&pg_10).map(|(n, t)| n.1 / t.1).collect();
        let pg_homed_ratio: Vec<f64> = pg_homed.iter().zip(&pg_10).map(|(n, t)| n.1 / t.1).collect();
        println!("pgbench over {tenants} vs over 10: average latency {:.2}x, homed {:.2}x (medians of rounds)", median(pg_ratio.iter().copied()), median(pg_homed_ratio.iter().copied()));
        println!("PostgreSQL backends of the server after the run: {backends}, RSS {rss:.1} MiB in all");
        // The bound (the p50 ratio when it was filed), with what PostgreSQL alone and
        // the pool variant did in the same rounds.
        let rounds = |v: &[f64]| v.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(" ");
        let targets_json = crate::targets::report(&[crate::targets::Target {
            name: "p50 over all workspaces / over the first 10",
            goal: crate::targets::Goal::AtMost(2.69),
            rounds: p50_ratio.clone(),
            reason: Some(format!(
                "PostgreSQL alone, sent the same statements by pgbench in the same rounds, slowed {} (average latency over {tenants} against over 10; homed to a connection: {}); the server with {variant}: p50 {} of the default pool's",
                rounds(&pg_ratio), rounds(&pg_homed_ratio), rounds(&short_vs_long)
            )),
        }]);

        // A one-column migration across every tenant schema.
        let dir = std::env::temp_dir().join(format!("{}-migrations", b.name));
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        for sub in ["public", "tenant"] {
            std::fs::create_dir_all(dir.join(sub))?;
            for e in std::fs::read_dir(root.join(sub))? {
                let e = e?;
                std::fs::copy(e.path(), dir.join(sub).join(e.file_name()))?;
            }
        }
        let set = migrate::MigrationSet::embedded()?;
        let next = set.tenant_latest() + 1;
        std::fs::write(
            dir.join("tenant").join(format!("{next:04}_bench_note.sql")),
            "ALTER TABLE projects ADD COLUMN bench_note text;\n",
        )?;
        let set = migrate::MigrationSet::load(Some(&dir))?;
        let t0 = Instant::now();
        let report = migrate::run(&b.migrator, &b.roles, &set, 4).await?;
        let migrate_secs = t0.elapsed().as_secs_f64();
        let _ = std::fs::remove_dir_all(&dir);
        println!("one-column migration across {} tenant schemas: {migrate_secs:.1} s ({report:?})", tenants + 2 * samples);
        Ok::<_, anyhow::Error>(json!({
            "tenants": tenants, "creators": creators, "concurrency": concurrency, "seconds": secs,
            "load_generator": load_generator(),
            "provision_tenants_per_s": { "first_10": rate_10, "rest": rate_n },
            "create_workspace_ms": {
                "samples": samples,
                "at_10": { "p50": create_p50_10, "p95": create_p95_10, "p99": create_p99_10 },
                "at_all": { "existing": tenants + samples, "p50": create_p50_n, "p95": create_p95_n, "p99": create_p99_n },
            },
            "round_robin_10_before": at_10, "round_robin_all": over_n, "round_robin_10_after": over_10,
            "p50_ratio": ratio_summary(&p50_ratio), "p99_ratio": ratio_summary(&p99_ratio), "rps_ratio": ratio_summary(&rps_ratio),
            "pgbench_all": pg_n.iter().map(|(tps, ms)| json!({ "tps": tps, "latency_avg_ms": ms })).collect::<Vec<_>>(),
            "pgbench_10": pg_10.iter().map(|(tps, ms)| json!({ "tps": tps, "latency_avg_ms": ms })).collect::<Vec<_>>(),
            "pgbench_latency_ratio": ratio_summary(&pg_ratio),
            "pgbench_homed": pg_homed.iter().map(|(tps, ms)| json!({ "tps": tps, "latency_avg_ms": ms })).collect::<Vec<_>>(),
            "pgbench_homed_latency_ratio": ratio_summary(&pg_homed_ratio),
            "short_lifetime": { "variant": variant, "seconds": short_lifetime_secs, "workspace_cap": workspace_cap, "round_robin_all": short_n, "p50_ratio_to_10": ratio_summary(&short_p50), "p50_ratio_to_default": ratio_summary(&short_vs_long) },
            "backends": backends, "backend_rss_mib": rss,
            "migration_seconds": migrate_secs,
            "targets": targets_json,
        }))
    }
    .await;
    b.teardown().await?;
    result
}
