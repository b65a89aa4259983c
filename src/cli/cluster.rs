//! `tessera cluster ...` and `tessera tenant move`: a Citus cluster seen from the operator's
//! side (docs/scale-out.md).

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::database::Operator;
use crate::audit::NewEntry;
use crate::db::citus;
use crate::tenancy::Slug;

#[derive(Subcommand)]
pub(super) enum ClusterCommand {
    /// Nodes, and the workspaces and bytes each holds (one line without Citus).
    Status,
    /// After installing Citus on a single node: distribute every workspace made before,
    /// one at a time (each is locked while it is copied). Audited per workspace.
    Distribute,
}

pub(super) async fn run(op: &Operator<'_>, command: ClusterCommand) -> anyhow::Result<ExitCode> {
    match command {
        ClusterCommand::Status => {
            let mut conn = op.migrator.acquire().await?;
            println!(
                "{:<28} {:<12} {:>10} {:>14}  reached",
                "node", "role", "workspaces", "bytes"
            );
            let nodes = citus::status(&mut conn).await?;
            for n in &nodes {
                println!(
                    "{:<28} {:<12} {:>10} {:>14}  {}",
                    n.node, n.role, n.workspaces, n.bytes, n.via
                );
            }
            if nodes
                .iter()
                .any(|n| n.role == "worker" && n.via == "direct")
            {
                println!(
                    "warning: a worker reached directly keeps a session per coordinator backend and workspace role; put a PgBouncer in front of it (docs/scale-out.md, Connections to the workers)"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ClusterCommand::Distribute => {
            let mut conn = op.migrator.acquire().await?;
            if !citus::enabled(&mut conn).await? {
                bail!(
                    "this database is not a Citus cluster: install Citus first (docs/scale-out.md)"
                );
            }
            let logins = citus::enable_role_logins(&mut conn).await?;
            if logins > 0 {
                println!(
                    "{logins} workspace roles may now log in (on the workers only, by pg_hba)"
                );
            }
            let pending = citus::undistributed(&mut conn).await?;
            drop(conn);
            for (tenant_id, slug) in &pending {
                let schema = format!("tenant_{slug}");
                let started = std::time::Instant::now();
                let mut tx = op.migrator.begin().await?;
                citus::distribute(&mut tx, &schema).await?;
                let node = citus::placement(&mut tx, &schema)
                    .await?
                    .unwrap_or_default();
                op.audit(
                    &mut tx,
                    *tenant_id,
                    NewEntry {
                        action: "workspace.move",
                        target_type: "Workspace",
                        target_id: tenant_id.to_string(),
                        payload: serde_json::json!({ "before": "coordinator", "after": node }),
                    },
                )
                .await?;
                tx.commit().await?;
                println!(
                    "{slug}: distributed to {node} in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
            println!("{} workspaces distributed", pending.len());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `tessera tenant move <slug> --to host:port`.
pub(super) async fn move_tenant(op: &Operator<'_>, slug: &str, to: &str) -> anyhow::Result<()> {
    let slug = Slug::parse(slug)?;
    let tenant_id = op.tenant_id(slug.as_str()).await?;
    let (host, port) = citus::node_address(to)
        .context("--to is host:port, as `tessera cluster status` lists the nodes")?;
    let schema = format!("tenant_{}", slug.as_str());
    let mut conn = op.migrator.acquire().await?;
    if !citus::enabled(&mut conn).await? {
        bail!("this database is not a Citus cluster: there is nowhere to move a workspace to");
    }
    let from = citus::placement(&mut conn, &schema)
        .await?
        .context("the workspace's schema is not distributed (run `tessera migrate` first)")?;
    if from == to {
        println!("{slug}: already on {to}");
        return Ok(());
    }
    let started = std::time::Instant::now();
    citus::move_schema(&mut conn, &schema, host, i32::from(port)).await?;
    let took = started.elapsed();
    let mut tx = op.migrator.begin().await?;
    op.audit(
        &mut tx,
        tenant_id,
        NewEntry {
            action: "workspace.move",
            target_type: "Workspace",
            target_id: tenant_id.to_string(),
            payload: serde_json::json!({ "before": from, "after": to, "seconds": took.as_secs_f64() }),
        },
    )
    .await?;
    tx.commit().await?;
    println!(
        "{slug}: moved from {from} to {to} in {:.1} s",
        took.as_secs_f64()
    );
    Ok(())
}
