//! Benchmarks that print figures (never timed assertions).
//!
//! `cargo run --release --bin bench -- audit [--entries N] [--seconds S]`
//!
//! Sets up its own database on the PostgreSQL at `TESSERA_BENCH_ADMIN_URL` (or
//! `TESSERA_TEST_ADMIN_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`), prints a
//! table, writes `target/bench/<scenario>.json`, and drops the database.

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

struct Bench {
    name: String,
    roles: RoleNames,
    admin_url: String,
    migrator: PgPool,
    app: PgPool,
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
                "postgres://{user}@{}:{}/{name}",
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tessera::install_crypto_provider();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: i64| -> anyhow::Result<i64> {
        match args.iter().position(|a| a == name) {
            Some(i) => Ok(args.get(i + 1).context("missing value")?.parse()?),
            None => Ok(default),
        }
    };
    let scenario = args.first().map(String::as_str).unwrap_or("audit");
    let result = match scenario {
        "audit" => {
            audit_scenario(
                flag("--entries", 1_000_000)?,
                u64::try_from(flag("--seconds", 5)?)?,
            )
            .await?
        }
        "export" => export_scenario(flag("--records", 1_000_000)?).await?,
        other => anyhow::bail!("unknown scenario {other:?}; available: audit, export"),
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
