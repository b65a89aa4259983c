//! `bench audit`: appends per second, the latency an append adds, verification.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::json;
use tessera::Clock;
use tessera::audit::{self};
use tessera::crypto::{Aad, DataKey};
use tessera::tenancy::{self, Access, Slug};

use crate::common::*;

/// Appends/s for one tenant under `writers` concurrent writers, each append in its own
/// request-shaped transaction (scope, append, commit).
pub(crate) async fn appends_per_second(
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
pub(crate) async fn added_latency(
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
pub(crate) async fn build_chain(b: &Bench, tenant: uuid::Uuid, n: i64) -> anyhow::Result<()> {
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

pub(crate) async fn audit_scenario(entries: i64, secs: u64) -> anyhow::Result<serde_json::Value> {
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
        let mut conn = b.owner.acquire().await?;
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
