//! Shared set-up: the bench database and the server under test, and the statistics every scenario prints.

use std::time::Duration;

use anyhow::Context as _;
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use tessera::audit::{EntryMeta, NewEntry};
use tessera::config::Config;
use tessera::crypto::{Keyring, MasterKey};
use tessera::db::{self, RoleNames, migrate};
use tessera::tenancy::{self, Slug};

pub(crate) struct Bench {
    pub(crate) name: String,
    pub(crate) roles: RoleNames,
    pub(crate) admin_url: String,
    /// The migrator role's sqlx pool, for the bench's own set-up statements.
    pub(crate) migrator: PgPool,
    /// The same role's pool as the server's code takes it (provisioning, seeding).
    pub(crate) owner: db::MigratorPool,
    pub(crate) app: tessera::db::AppPool,
    pub(crate) keyring: Keyring,
    /// The Citus workers (`host:port`) when the database is on a cluster.
    pub(crate) workers: Vec<String>,
}

pub(crate) fn admin_url() -> String {
    std::env::var("TESSERA_BENCH_ADMIN_URL")
        .or_else(|_| std::env::var("TESSERA_TEST_ADMIN_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

impl Bench {
    pub(crate) async fn setup(pool_size: u32) -> anyhow::Result<Self> {
        Self::setup_on(admin_url(), &[], &[], pool_size).await
    }

    /// A bench database on the PostgreSQL of `admin_url`; with `workers`, a Citus
    /// coordinator whose workers are given (the database is made on every node), reached
    /// through `poolers` when given (one per worker).
    pub(crate) async fn setup_on(
        admin_url: String,
        workers: &[String],
        poolers: &[String],
        pool_size: u32,
    ) -> anyhow::Result<Self> {
        let name = format!("tb_{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let roles = RoleNames::new(&name);
        let mut admin = db::admin_connect_url(&admin_url)
            .await
            .context("admin connection")?;
        db::bootstrap_database(&mut admin, &name, &roles, None).await?;
        if !workers.is_empty() {
            db::citus::prepare_database(&admin_url, &name, &roles, workers, poolers)
                .await
                .context("the bench database on the Citus cluster")?;
        }
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
        let owner = db::connect_migrator_pool(&cfg, &url(&roles.migrator)).await?;
        let migrator = db::sqlx_pool(&owner).clone();
        let set = migrate::MigrationSet::embedded()?;
        migrate::run(&migrator, &roles, &set, 4).await?;
        let app = db::connect_app_pool(&cfg, &url(&roles.app)).await?;
        Ok(Self {
            name,
            roles,
            admin_url,
            migrator,
            owner,
            app,
            keyring: Keyring::new(MasterKey::generate()),
            workers: workers.to_vec(),
        })
    }

    pub(crate) fn url(&self, user: &str) -> anyhow::Result<String> {
        let opts: PgConnectOptions = self.admin_url.parse()?;
        Ok(format!(
            "postgres://{user}@{}:{}/{}?sslmode=disable",
            opts.get_host(),
            opts.get_port(),
            self.name
        ))
    }

    pub(crate) fn app_url(&self) -> String {
        self.url(&self.roles.app).unwrap_or_default()
    }

    pub(crate) fn migrator_url(&self) -> String {
        self.url(&self.roles.migrator).unwrap_or_default()
    }

    pub(crate) async fn tenant(&self, slug: &str) -> anyhow::Result<uuid::Uuid> {
        let set = migrate::MigrationSet::embedded()?;
        let t = tenancy::create_tenant(
            &self.owner,
            &self.keyring,
            &Slug::parse(slug)?,
            slug,
            set.tenant_latest(),
        )
        .await?;
        Ok(t.id)
    }

    pub(crate) async fn teardown(self) -> anyhow::Result<()> {
        self.app.close().await;
        self.migrator.close().await;
        db::citus::drop_on_workers(&self.admin_url, &self.name, &self.workers).await?;
        let mut admin = db::admin_connect_url(&self.admin_url).await?;
        db::drop_database(&mut admin, &self.name, &self.roles).await?;
        Ok(())
    }
}

pub(crate) fn meta() -> EntryMeta {
    EntryMeta {
        actor_type: "token",
        actor_id: uuid::Uuid::new_v4().to_string(),
        actor_user: uuid::Uuid::new_v4().to_string(),
        request_id: uuid::Uuid::new_v4().to_string(),
        client_ip: "127.0.0.1".into(),
    }
}

pub(crate) fn entry(i: u64) -> NewEntry<'static> {
    NewEntry {
        action: "createIdea",
        target_type: "Idea",
        target_id: uuid::Uuid::now_v7().to_string(),
        payload: json!({ "arguments": { "input": { "title": format!("idea {i}"), "body": "x".repeat(200) } } }),
    }
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx].as_secs_f64() * 1e3
}

/// Peak and current resident set size of this process, in MiB (`/proc/self/status`).
pub(crate) fn rss_mib() -> (f64, f64) {
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

/// The server under test and its background worker, in this process, over the bench
/// database: rate limits off, statement counts reported (one counter per request).
pub(crate) async fn serve(
    b: &Bench,
    pool_size: u32,
) -> anyhow::Result<(std::net::SocketAddr, tokio::sync::oneshot::Sender<()>)> {
    serve_with(b, pool_size, |_| {}).await
}

/// [`serve`] with compiled reads off: every field through its resolver.
pub(crate) async fn serve_resolvers_only(
    b: &Bench,
    pool_size: u32,
) -> anyhow::Result<(std::net::SocketAddr, tokio::sync::oneshot::Sender<()>)> {
    serve_with(b, pool_size, |cfg| cfg.limits.compiled_reads = false).await
}

/// [`serve`] with the bench's configuration changed by `tune`.
pub(crate) async fn serve_with(
    b: &Bench,
    pool_size: u32,
    tune: impl FnOnce(&mut Config),
) -> anyhow::Result<(std::net::SocketAddr, tokio::sync::oneshot::Sender<()>)> {
    let mut cfg = Config {
        role_prefix: b.name.clone(),
        pool_max_connections: pool_size,
        data_dir: std::env::temp_dir().join(&b.name),
        ..Config::default()
    };
    cfg.rate_limits.enabled = false;
    cfg.limits.report_statement_count = true;
    // `bench tenants` creates workspaces through the API from one address and account.
    cfg.auth.workspace_creations_per_minute_per_ip = u32::MAX;
    cfg.auth.workspace_creations_per_day_per_account = u32::MAX;
    tune(&mut cfg);
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
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    // The background worker too, as `serve` runs it (mail, the workspace role pool).
    tokio::spawn(
        state
            .worker(cfg.jobs.clone())
            .run_until(stopped(stop_rx.clone())),
    );
    tokio::spawn(tessera::http::serve(listener, state, stopped(stop_rx)));
    tokio::spawn(async move {
        let _ = rx.await;
        let _ = stop_tx.send(true);
    });
    Ok((addr, tx))
}

/// The median of `values` (upper median for an even count); 0 when empty.
pub(crate) fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// A ratio measured in each round: its median, lowest and highest.
pub(crate) fn ratio_summary(per_round: &[f64]) -> serde_json::Value {
    let lo = per_round.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = per_round.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    json!({ "median": median(per_round.iter().copied()), "min": lo, "max": hi, "rounds": per_round })
}

/// Resident memory of the PostgreSQL backends connected to the bench database, in MiB
/// (`/proc/<pid>/status`; includes the shared buffers each one touched).
pub(crate) async fn backend_rss_mib(b: &Bench) -> anyhow::Result<(usize, f64)> {
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
