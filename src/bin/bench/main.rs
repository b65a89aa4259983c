//! Benchmarks that print figures (never timed assertions).
//!
//! `cargo run --release --bin bench -- audit [--entries N] [--seconds S]`
//! `cargo run --release --bin bench -- export [--records N]`
//! `cargo run --release --bin bench -- api [--concurrency C] [--seconds S] [--rounds R] [--peer-workers W]`
//! `cargo run --release --bin bench -- tenants [--tenants N] [--creators P] [--concurrency C] [--seconds S] [--rounds R] [--short-lifetime S | --workspace-cap W]`
//! `cargo run --release --bin bench -- cluster [--tenants N] [--concurrency C] [--seconds S] [--rounds R] [--records M]`
//!
//! `api` serves Tessera in this process and drives it from a second process (this binary's
//! `load` mode) over loopback, then runs `pgbench` over the same SQL at the same concurrency;
//! last, each query at constant rates (the `paced` mode, wrk2's method) for latencies free of
//! coordinated omission.
//!
//! `cluster` starts its own PostgreSQL nodes (one plain, and a Citus coordinator with two
//! workers: `scripts/local-cluster.sh`; Citus from `../shared/scale/build.sh`).
//!
//! The others set up their own database on the PostgreSQL at `TESSERA_BENCH_ADMIN_URL` (or
//! `TESSERA_TEST_ADMIN_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`), prints a
//! table, writes `target/bench/<scenario>.json`, and drops the database. Every client of the
//! bench database (Tessera, pgbench, PostGraphile) connects over loopback without TLS, so none
//! pays for encryption the others skip.

mod api;
mod audit;
mod cluster;
mod common;
mod cpu;
mod export;
mod load;
mod peer;
mod rate;
mod targets;
mod tenants;

use anyhow::Context as _;
use serde_json::json;
use tessera::Clock;

/// mimalloc: GraphQL execution allocates per field, and glibc malloc spent a quarter of a
/// nested list request's time (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        return load::load(&args[1..]).await;
    }
    if scenario == "paced" {
        return rate::paced_mode(&args[1..]).await;
    }
    let result = match scenario {
        "audit" => {
            audit::audit_scenario(
                flag("--entries", 1_000_000)?,
                u64::try_from(flag("--seconds", 5)?)?,
            )
            .await?
        }
        "export" => export::export_scenario(flag("--records", 1_000_000)?).await?,
        "api" => {
            api::api_scenario(
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
            tenants::tenants_scenario(
                usize::try_from(flag("--tenants", 10_000)?)?.max(11),
                // Two creators: one per core here, as sign-ups arrive concurrently in service.
                usize::try_from(flag("--creators", 2)?)?,
                usize::try_from(flag("--concurrency", 16)?)?,
                u64::try_from(flag("--seconds", 10)?)?,
                usize::try_from(flag("--rounds", 3)?)?,
                u64::try_from(flag("--short-lifetime", 10)?)?.max(1),
                // When set, the second server caps the workspaces per connection instead.
                usize::try_from(flag("--workspace-cap", 0)?)?,
            )
            .await?
        }
        "cluster" => {
            cluster::cluster_scenario(
                usize::try_from(flag("--tenants", 1_000)?)?.max(2),
                usize::try_from(flag("--concurrency", 16)?)?,
                u64::try_from(flag("--seconds", 10)?)?,
                usize::try_from(flag("--rounds", 3)?)?,
                usize::try_from(flag("--records", 100_000)?)?,
            )
            .await?
        }
        other => {
            anyhow::bail!(
                "unknown scenario {other:?}; available: audit, export, api, tenants, cluster"
            )
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
