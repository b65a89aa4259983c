//! `bench api`: read by id and a nested list through the HTTP API, against pgbench over the same SQL and PostGraphile.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::common::*;
use crate::load::*;
use crate::peer::*;
use crate::targets::*;

/// Read by id and a nested list through the HTTP API, against pgbench over the same SQL and
/// against PostGraphile, in `rounds` rounds: each round measures every configuration once,
/// back to back, so each ratio is taken between runs minutes apart at most, and the median
/// over rounds damps the machine's noise.
/// Sends one request every 50 ms while a load runs and records each answer's statement
/// count (`extensions.tessera.statements`): on a busy server the count must stay what it is
/// on an idle one — a nested batch split by timing would raise it.
pub(crate) struct StatementSampler {
    pub(crate) stop: Arc<std::sync::atomic::AtomicBool>,
    pub(crate) task: tokio::task::JoinHandle<anyhow::Result<Vec<u64>>>,
}

impl StatementSampler {
    pub(crate) fn start(url: &str, token: &str, body: serde_json::Value) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (url, token, flag) = (url.to_owned(), token.to_owned(), stop.clone());
        let task = tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut counts = Vec::new();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let v: serde_json::Value = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await?
                    .json()
                    .await?;
                anyhow::ensure!(v.get("errors").is_none(), "sampled request failed: {v}");
                counts.push(
                    v["extensions"]["tessera"]["statements"]
                        .as_u64()
                        .unwrap_or(0),
                );
            }
            Ok(counts)
        });
        Self { stop, task }
    }

    pub(crate) async fn stop(self) -> anyhow::Result<Vec<u64>> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.task.await?
    }
}

pub(crate) async fn api_scenario(
    concurrency: usize,
    secs: u64,
    rounds: usize,
    peer_workers: usize,
) -> anyhow::Result<serde_json::Value> {
    let b = Bench::setup(4).await?;
    let result = async {
        let tenant = b.tenant("bench_api").await?;
        let mut conn = b.owner.acquire().await?;
        let user = tessera::identity::ensure_user(&mut conn, "bench@bench.test", "Bench").await?;
        tessera::identity::add_member(&mut conn, tenant, user.id, tessera::authz::Role::Owner)
            .await?;
        let (_, token) = tessera::identity::mint_token(
            &mut conn,
            tenant,
            user.id,
            "bench",
            &[tessera::authz::Scope::Read],
        )
        .await
        .map_err(|e| anyhow::anyhow!("minting the bench token: {e:?}"))?;
        drop(conn);
        // 50 projects with 12 records each.
        sqlx::raw_sql(
            "SET search_path = tenant_bench_api;
             INSERT INTO teams (id, name, visibility) VALUES ('00000000-0000-0000-0000-000000000001', 'Core', 'open');
             INSERT INTO projects (id, team_id, name, description)
                 SELECT ('00000000-0000-0000-0001-' || lpad(to_hex(i), 12, '0'))::uuid,
                        '00000000-0000-0000-0000-000000000001', 'Project ' || i, 'About project ' || i
                 FROM generate_series(1, 50) i;
             INSERT INTO records (id, project_id, title, body, status)
                 SELECT gen_random_uuid(),
                        ('00000000-0000-0000-0001-' || lpad(to_hex(1 + i % 50), 12, '0'))::uuid,
                        'Record ' || i, 'Body ' || i, 'open'
                 FROM generate_series(1, 600) i;
             ANALYZE;",
        )
        .execute(&b.migrator)
        .await?;
        let project = "00000000-0000-0000-0001-000000000001";
        let (addr, stop) = serve(&b, 16).await?;
        let url = format!("http://{addr}/w/bench_api/graphql");
        // The same server with compiled reads off: the resolvers' path, side by side.
        let (resolvers_addr, resolvers_stop) = serve_resolvers_only(&b, 16).await?;
        let resolvers_url = format!("http://{resolvers_addr}/w/bench_api/graphql");
        let token = token.expose().to_owned();

        // Statements per request of the nested list, for two page sizes.
        let nested = |n: usize| json!({ "query": format!("{{ projects(first: {n}) {{ nodes {{ id name records(first: 10) {{ nodes {{ id title }} }} }} }} }}") });
        let client = reqwest::Client::new();
        let mut statements = Vec::new();
        for n in [5, 50] {
            let v: serde_json::Value = client.post(&url).bearer_auth(&token).json(&nested(n)).send().await?.json().await?;
            anyhow::ensure!(v.get("errors").is_none(), "nested query failed: {v}");
            statements.push(v["extensions"]["tessera"]["statements"].as_u64().unwrap_or(0));
        }
        let read = json!({ "query": "query($id: ID!) { project(id: $id) { id name description } }", "variables": { "id": project } });
        probe(&url, &token, &read).await?;
        for body in [&read, &nested(50)] {
            let (compiled, resolved) = (probe(&url, &token, body).await?, probe(&resolvers_url, &token, body).await?);
            anyhow::ensure!(compiled["data"] == resolved["data"], "compiled and resolved answers differ:\n{compiled}\n{resolved}");
        }

        // The same two queries served by PostGraphile over the same schema and data, both ways.
        let peer_read = json!({ "query": "query($id: UUID!) { projectByRowId(rowId: $id) { rowId name description } }", "variables": { "id": project } });
        let peer_nested = json!({ "query": "{ allProjects(first: 50) { nodes { rowId name recordsByProjectId(first: 10) { nodes { rowId title } } } } }" });
        let mut peers = Vec::new();
        for mode in [PeerMode::Owner, PeerMode::Tenant] {
            match start_peer(&b, tenant, mode, peer_workers).await {
                Ok(Some((peer_url, child))) => {
                    let probed = async {
                        probe(&peer_url, "", &peer_read).await?;
                        probe(&peer_url, "", &peer_nested).await
                    }
                    .await;
                    match probed {
                        Ok(_) => peers.push((mode, peer_url, child)),
                        // Dropping `child` stops it.
                        Err(e) => println!("PostGraphile ({}) skipped: {e:#}", mode.label()),
                    }
                }
                Ok(None) => {}
                Err(e) => println!("PostGraphile ({}) skipped: {e:#}", mode.label()),
            }
        }

        let select = format!(
            "SELECT p.id, p.team_id, p.goal_id, p.name, p.description, p.archived_at, p.created_at, p.updated_at
             FROM projects p JOIN teams tm ON tm.id = p.team_id
             WHERE p.id = '{project}' AND (true OR tm.visibility <> 'restricted' OR EXISTS
                 (SELECT 1 FROM team_members x WHERE x.team_id = tm.id AND x.user_id = '{}'));",
            user.id
        );
        // Tessera's first two statements as a driver that pipelines would send them: BEGIN and
        // the prepared entry in one round trip.
        // Without a credential: the token lookup is Tessera's work, not the tenant settings'.
        let scoped = format!(
            "\\startpipeline
BEGIN READ ONLY;
SELECT * FROM public.tessera_enter_v3('bench_api', NULL, NULL, 0, '127.0.0.1');
\\endpipeline
{}
COMMIT;
",
            select.replace('\n', " ")
        );
        // All that Tessera asks of the database for this request: the same, with the token
        // looked up in the entry as Tessera does (the part of the gap that is SQL).
        let token_hash = {
            use sha2::Digest as _;
            hex::encode(sha2::Sha256::digest(token.as_bytes()))
        };
        let with_token = scoped.replace(
            "'bench_api', NULL, NULL, 0",
            &format!("'bench_api', decode('{token_hash}', 'hex'), NULL, 60"),
        );
        // The same as Tessera sends it: BEGIN in its own round trip, then the entry, the read
        // and COMMIT, each prepared (the driver cannot pipeline): what the extra round trip
        // costs the database.
        let as_sent = with_token
            .replace("\\startpipeline\n", "")
            .replace("\\endpipeline\n", "");
        // What a driver that pipelines could send, still authorising the caller from the
        // entry's answer before it plans the read: BEGIN with the entry, then the read with
        // COMMIT (two round trips instead of four). (A single pipeline cannot be measured
        // with pgbench: it prepares a pipeline's statements before running the first, when
        // the runtime role may not yet look up the workspace's schema.)
        let two_pipelines = with_token.replace(
            "\\endpipeline\n",
            "\\endpipeline\n\\startpipeline\n",
        ) + "\\endpipeline\n";
        let plain = format!(
            "BEGIN READ ONLY;
{}
COMMIT;
",
            select
                .replace('\n', " ")
                .replace("FROM projects", "FROM tenant_bench_api.projects")
                .replace("JOIN teams", "JOIN tenant_bench_api.teams")
                .replace("FROM team_members", "FROM tenant_bench_api.team_members")
        );

        // Rounds: every configuration once per round, back to back.
        let mut ours_read = Vec::new();
        let mut ours_nested = Vec::new();
        let mut resolvers_read = Vec::new();
        let mut resolvers_nested = Vec::new();
        let mut pg_scoped = Vec::new();
        let mut pg_plain = Vec::new();
        let mut pg_token = Vec::new();
        let mut pg_as_sent = Vec::new();
        let mut pg_two_pipelines = Vec::new();
        let mut statements_under_load = Vec::new();
        let mut peer_runs: Vec<(Vec<Load>, Vec<Load>)> = peers.iter().map(|_| (Vec::new(), Vec::new())).collect();
        for round in 1..=rounds.max(1) {
            println!("round {round} of {}", rounds.max(1));
            ours_read.push(load_from_another_process(&url, &token, &read, concurrency, secs)?);
            let sampler = StatementSampler::start(&url, &token, nested(50));
            ours_nested.push(load_from_another_process(&url, &token, &nested(50), concurrency, secs)?);
            statements_under_load.extend(sampler.stop().await?);
            resolvers_read.push(load_from_another_process(&resolvers_url, &token, &read, concurrency, secs)?);
            resolvers_nested.push(load_from_another_process(&resolvers_url, &token, &nested(50), concurrency, secs)?);
            pg_scoped.push(pgbench_measured(&b.app_url(), &scoped, concurrency, secs)?);
            pg_plain.push(pgbench_measured(&b.migrator_url(), &plain, concurrency, secs)?);
            pg_token.push(pgbench_measured(&b.app_url(), &with_token, concurrency, secs)?);
            pg_as_sent.push(pgbench_measured(&b.app_url(), &as_sent, concurrency, secs)?);
            pg_two_pipelines.push(pgbench_measured(&b.app_url(), &two_pipelines, concurrency, secs)?);
            for ((_, peer_url, _), (r, n)) in peers.iter().zip(peer_runs.iter_mut()) {
                r.push(load_from_another_process(peer_url, "", &peer_read, concurrency, secs)?);
                n.push(load_from_another_process(peer_url, "", &peer_nested, concurrency, secs)?);
            }
        }
        // Constant rate (wrk2's method): each query at half and at 80% of the throughput the
        // resolvers' path reached closed-loop, on both paths at the same rates, latency
        // counted from each request's due time.
        let mut paced_runs = Vec::new();
        for (name, body, runs) in [("read by id", &read, &resolvers_read), ("nested", &nested(50), &resolvers_nested)] {
            let capacity = median(runs.iter().map(|l| l.rps));
            for share in [0.5, 0.8] {
                let rate = (capacity * share).max(1.0);
                paced_runs.push((name, "compiled", share, crate::rate::paced(&url, &token, body, rate, secs)?));
                paced_runs.push((name, "resolvers", share, crate::rate::paced(&resolvers_url, &token, body, rate, secs)?));
            }
        }
        let _ = stop.send(());
        let _ = resolvers_stop.send(());
        // The PostGraphile servers stop here, as their `Peer`s drop.
        let peers: Vec<PeerMode> = peers.into_iter().map(|(mode, _, _)| mode).collect();

        let per_round = |f: &dyn Fn(usize) -> f64| -> Vec<f64> { (0..ours_read.len()).map(f).collect() };
        let share = per_round(&|i| ours_read[i].rps / pg_scoped[i].tps);
        let share_of_same_sql = per_round(&|i| ours_read[i].rps / pg_token[i].tps);
        let settings_cost = per_round(&|i| 1.0 - pg_scoped[i].tps / pg_plain[i].tps);
        // What the settings add to one transaction, in machine time (both pgbench runs
        // saturate the same two cores), as a share of one Tessera request's machine time.
        let settings_share = per_round(&|i| ours_read[i].rps * (1.0 / pg_scoped[i].tps - 1.0 / pg_plain[i].tps));
        let mid = |runs: &[Load], f: fn(&Load) -> f64| median(runs.iter().map(f));
        let errors = |runs: &[Load]| runs.iter().map(|l| l.errors).sum::<u64>();
        println!("concurrency {concurrency}, {secs} s measured after 2 s of warm-up, {} rounds, loopback, load from {}; medians over rounds", ours_read.len(), load_generator());
        if !peers.is_empty() {
            println!("PostGraphile in {peer_workers} Node.js process(es) sharing its port");
        }
        println!("{:<48} {:>10} {:>9} {:>9} {:>7}", "", "req/s", "p50 ms", "p99 ms", "errors");
        let row = |label: &str, runs: &[Load]| {
            println!("{:<48} {:>10.0} {:>9.2} {:>9.2} {:>7}", label, mid(runs, |l| l.rps), mid(runs, |l| l.p50_ms), mid(runs, |l| l.p99_ms), errors(runs));
        };
        row("read by id: Tessera (GraphQL, API token)", &ours_read);
        row("read by id: Tessera, resolvers only", &resolvers_read);
        println!("{:<48} {:>10.0} {:>9.2} {:>9} {:>7}", "read by id: pgbench, tenant settings", median(pg_scoped.iter().map(|p| p.tps)), median(pg_scoped.iter().map(|p| p.latency_ms)), "-", 0);
        println!("{:<48} {:>10.0} {:>9.2} {:>9} {:>7}", "read by id: pgbench, no settings", median(pg_plain.iter().map(|p| p.tps)), median(pg_plain.iter().map(|p| p.latency_ms)), "-", 0);
        println!("{:<48} {:>10.0} {:>9.2} {:>9} {:>7}", "read by id: pgbench, Tessera's SQL (token lookup)", median(pg_token.iter().map(|p| p.tps)), median(pg_token.iter().map(|p| p.latency_ms)), "-", 0);
        println!("{:<48} {:>10.0} {:>9.2} {:>9} {:>7}", "read by id: pgbench, Tessera's SQL, as sent", median(pg_as_sent.iter().map(|p| p.tps)), median(pg_as_sent.iter().map(|p| p.latency_ms)), "-", 0);
        println!("{:<48} {:>10.0} {:>9.2} {:>9} {:>7}", "read by id: pgbench, Tessera's SQL, two pipelines", median(pg_two_pipelines.iter().map(|p| p.tps)), median(pg_two_pipelines.iter().map(|p| p.latency_ms)), "-", 0);
        row("nested (50 projects x 10 records): Tessera", &ours_nested);
        row("nested: Tessera, resolvers only", &resolvers_nested);
        let compiled_read = per_round(&|i| ours_read[i].rps / resolvers_read[i].rps);
        let compiled_nested = per_round(&|i| ours_nested[i].rps / resolvers_nested[i].rps);
        println!("compiled reads / resolvers: read by id {:.2}x ({:.2}-{:.2}), nested {:.2}x ({:.2}-{:.2})",
            median(compiled_read.iter().copied()), compiled_read.iter().copied().fold(f64::INFINITY, f64::min), compiled_read.iter().copied().fold(0.0, f64::max),
            median(compiled_nested.iter().copied()), compiled_nested.iter().copied().fold(f64::INFINITY, f64::min), compiled_nested.iter().copied().fold(0.0, f64::max));
        let mut peer_json = serde_json::Map::new();
        for (mode, (r, n)) in peers.iter().zip(&peer_runs) {
            let label = mode.label();
            row(&format!("read by id: PostGraphile, {label}"), r);
            row(&format!("nested: PostGraphile, {label}"), n);
            let read_ratio = per_round(&|i| ours_read[i].rps / r[i].rps);
            let nested_ratio = per_round(&|i| ours_nested[i].rps / n[i].rps);
            println!("Tessera / PostGraphile {label}: read by id {:.2}x ({:.2}-{:.2}), nested {:.2}x ({:.2}-{:.2})",
                median(read_ratio.iter().copied()), read_ratio.iter().copied().fold(f64::INFINITY, f64::min), read_ratio.iter().copied().fold(0.0, f64::max),
                median(nested_ratio.iter().copied()), nested_ratio.iter().copied().fold(f64::INFINITY, f64::min), nested_ratio.iter().copied().fold(0.0, f64::max));
            peer_json.insert(match mode { PeerMode::Owner => "owner".into(), PeerMode::Tenant => "tenant".into() }, json!({
                "read_by_id": r, "nested": n, "ratio_read": ratio_summary(&read_ratio), "ratio_nested": ratio_summary(&nested_ratio),
            }));
        }
        // Where each request's machine time goes (`cpu.rs`): medians over rounds.
        println!("CPU time per request, us (the server is this process; other: the load generator, PostGraphile's Node.js):");
        println!("{:<48} {:>10} {:>9} {:>9} {:>9}", "", "PostgreSQL", "server", "other", "machine");
        let cpu_row = |label: &str, runs: &[Load]| {
            let cpu: Vec<_> = runs.iter().filter_map(|l| l.cpu).collect();
            if !cpu.is_empty() {
                let m = |f: fn(&crate::cpu::PerRequest) -> f64| median(cpu.iter().map(f));
                println!("{:<48} {:>10.0} {:>9.0} {:>9.0} {:>9.0}", label, m(|c| c.database_us), m(|c| c.server_us), m(|c| c.other_us()), m(|c| c.machine_us));
            }
        };
        cpu_row("read by id: Tessera", &ours_read);
        cpu_row("read by id: Tessera, resolvers only", &resolvers_read);
        cpu_row("nested: Tessera", &ours_nested);
        cpu_row("nested: Tessera, resolvers only", &resolvers_nested);
        for (mode, (r, n)) in peers.iter().zip(&peer_runs) {
            cpu_row(&format!("read by id: PostGraphile, {}", mode.label()), r);
            cpu_row(&format!("nested: PostGraphile, {}", mode.label()), n);
        }
        println!("Tessera / pgbench with tenant settings: {:.2}x ({:.2}-{:.2})", median(share.iter().copied()), share.iter().copied().fold(f64::INFINITY, f64::min), share.iter().copied().fold(0.0, f64::max));
        println!("Tessera / pgbench with Tessera's SQL: {:.2}x ({:.2}-{:.2})", median(share_of_same_sql.iter().copied()), share_of_same_sql.iter().copied().fold(f64::INFINITY, f64::min), share_of_same_sql.iter().copied().fold(0.0, f64::max));
        println!("tenant settings cost {:.1}% of pgbench's throughput, {:.1}% of a Tessera request", median(settings_cost.iter().copied()) * 100.0, median(settings_share.iter().copied()) * 100.0);
        println!("statements per nested request: {} (page of 5), {} (page of 50)", statements[0], statements[1]);
        let (fewest, most) = (statements_under_load.iter().min().copied().unwrap_or(0), statements_under_load.iter().max().copied().unwrap_or(0));
        let mean = statements_under_load.iter().sum::<u64>() as f64 / statements_under_load.len().max(1) as f64;
        println!("statements per nested request (page of 50) under load: {mean:.2} on average, {fewest}-{most}, over {} requests", statements_under_load.len());
        println!("constant rate, latency from each request's due time (no coordinated omission):");
        println!("{:<48} {:>9} {:>9} {:>8} {:>8} {:>8} {:>9} {:>8} {:>6}", "(rates: share of the resolvers' capacity)", "asked/s", "done/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "errors");
        for (name, path, share, p) in &paced_runs {
            println!("{:<48} {:>9.0} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>9.2} {:>8.2} {:>6}", format!("{name}: {path} at {:.0}%", share * 100.0), p.target_rps, p.rps, p.p50_ms, p.p90_ms, p.p99_ms, p.p999_ms, p.max_ms, p.errors);
        }
        // The targets, round by round, each shortfall with the machine time behind it.
        let cpu_of = |runs: &[Load]| cpu_median(runs.iter().map(|l| &l.cpu));
        let pg_cpu = |runs: &[PgRun]| cpu_median(runs.iter().map(|r| &r.cpu));
        let (read_cpu, scoped_cpu, plain_cpu) = (cpu_of(&ours_read), pg_cpu(&pg_scoped), pg_cpu(&pg_plain));
        let mut targets = vec![
            Target {
                name: "read by id / pgbench with tenant settings",
                goal: Goal::AtLeast(0.5),
                rounds: share.clone(),
                reason: read_cpu.zip(scoped_cpu).map(|(t, p)| read_reason(t, p, pg_cpu(&pg_token), 0.5)),
            },
            Target {
                name: "tenant settings / a read by id",
                goal: Goal::AtMost(0.1),
                rounds: settings_share.clone(),
                reason: match (read_cpu, scoped_cpu, plain_cpu) {
                    (Some(t), Some(with), Some(without)) => Some(settings_reason(t, with, without, 0.1)),
                    _ => None,
                },
            },
        ];
        for (mode, (_, n)) in peers.iter().zip(&peer_runs) {
            targets.push(Target {
                name: match mode {
                    PeerMode::Owner => "nested / PostGraphile as the schema owner",
                    PeerMode::Tenant => "nested / PostGraphile with tenant settings",
                },
                goal: Goal::AtLeast(2.0),
                rounds: per_round(&|i| ours_nested[i].rps / n[i].rps),
                reason: cpu_of(&ours_nested).zip(cpu_of(n)).map(|(t, p)| peer_reason(t, p, 2.0)),
            });
        }
        let targets_json = report(&targets);
        let paced_json: Vec<_> = paced_runs.iter().map(|(name, path, share, p)| json!({ "query": name, "path": path, "share_of_resolvers_capacity": share, "run": p })).collect();
        let pg = |runs: &[PgRun]| runs.iter().map(|r| json!({ "tps": r.tps, "latency_avg_ms": r.latency_ms, "cpu": r.cpu })).collect::<Vec<_>>();
        Ok::<_, anyhow::Error>(json!({
            "concurrency": concurrency, "seconds": secs, "rounds": ours_read.len(), "load_generator": load_generator(), "peer_workers": peer_workers,
            "read_by_id": {
                "tessera": ours_read, "tessera_resolvers": resolvers_read, "compiled_over_resolvers": ratio_summary(&compiled_read), "pgbench_tenant_settings": pg(&pg_scoped), "pgbench_plain": pg(&pg_plain), "pgbench_tessera_sql": pg(&pg_token), "pgbench_tessera_sql_as_sent": pg(&pg_as_sent), "pgbench_tessera_sql_two_pipelines": pg(&pg_two_pipelines),
                "share_of_pgbench_tessera_sql": ratio_summary(&share_of_same_sql),
                "share_of_pgbench": ratio_summary(&share), "settings_cost_share": ratio_summary(&settings_cost),
                "settings_share_of_request": ratio_summary(&settings_share),
            },
            "nested": { "tessera": ours_nested, "tessera_resolvers": resolvers_nested, "compiled_over_resolvers": ratio_summary(&compiled_nested), "statements_page_5": statements[0], "statements_page_50": statements[1],
                "statements_page_50_under_load": { "requests": statements_under_load.len(), "mean": mean, "min": fewest, "max": most } },
            "postgraphile": peer_json,
            "constant_rate": paced_json,
            "targets": targets_json,
        }))
    }
    .await;
    b.teardown().await?;
    result
}
