//! `tessera tenant ...`: create, list, import, purge, shred the audit key.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;

use super::database::Operator;
use crate::audit::{self, NewEntry};
use crate::tenancy::{self, Slug};

#[derive(Subcommand)]
pub(super) enum TenantCommand {
    /// Create a workspace.
    Create {
        slug: String,
        #[arg(long)]
        name: String,
    },
    /// List workspaces.
    List,
    /// Crypto-shred: destroy the workspace's audit key (payloads become unreadable for good).
    ShredAuditKey { slug: String },
    /// Purge deleted workspaces whose restore window has passed (run it periodically).
    Purge {
        /// Only this workspace (if it is due).
        #[arg(long)]
        slug: Option<String>,
    },
    /// Restore a workspace export (GET /w/{slug}/export) into a new workspace.
    Import {
        file: std::path::PathBuf,
        /// Slug of the new workspace.
        #[arg(long)]
        slug: String,
        /// Name of the new workspace (default: the exported one's).
        #[arg(long)]
        name: Option<String>,
    },
}

pub(super) async fn run(op: &Operator<'_>, command: TenantCommand) -> anyhow::Result<ExitCode> {
    match command {
        TenantCommand::Create { slug, name } => {
            let slug = Slug::parse(&slug)?;
            let t = tenancy::create_tenant(
                &op.migrator,
                op.keyring,
                &slug,
                &name,
                op.set.tenant_latest(),
            )
            .await?;
            println!("created workspace {} ({})", t.slug, t.id);
        }
        TenantCommand::Import { file, slug, name } => {
            let slug = Slug::parse(&slug)?;
            let text =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let doc: serde_json::Value =
                serde_json::from_slice(&text).context("the file is not a JSON document")?;
            let imported = crate::export::import::import(
                &op.migrator,
                op.keyring,
                &doc,
                &slug,
                name.as_deref(),
                op.set.tenant_latest(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("import failed: {e}"))?;
            let rows: u64 = imported.manifest.counts.values().sum();
            println!(
                "imported {rows} rows into workspace {} ({})",
                imported.tenant.slug, imported.tenant.id
            );
        }
        TenantCommand::Purge { slug } => {
            let (store, _) = crate::storage::open(&op.cfg.storage, &op.cfg.data_dir)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let done = tenancy::purge::purge_due(
                &op.migrator,
                op.keyring,
                store.as_ref(),
                slug.as_deref(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("purge failed: {e}"))?;
            for p in &done {
                println!("purged {} ({} objects deleted)", p.slug, p.objects_deleted);
            }
            println!("{} workspaces purged", done.len());
        }
        TenantCommand::List => {
            for t in tenancy::list_tenants(&op.migrator).await? {
                println!(
                    "{}\t{}\t{}\tv{}\t{}",
                    t.slug, t.id, t.state, t.schema_version, t.name
                );
            }
        }
        TenantCommand::ShredAuditKey { slug } => {
            let tenant_id = op.tenant_id(&slug).await?;
            let mut tx = op.migrator.begin().await?;
            let entry = NewEntry {
                action: "audit.shred_key",
                target_type: "Workspace",
                target_id: tenant_id.to_string(),
                payload: serde_json::json!({}),
            };
            // Recorded first, sealed with the key about to be destroyed: readable by no one after.
            op.audit(&mut tx, tenant_id, entry).await?;
            let destroyed = audit::destroy_audit_key(&mut tx, tenant_id).await?;
            tx.commit().await?;
            println!(
                "{}",
                if destroyed {
                    "audit key destroyed"
                } else {
                    "audit key was already destroyed"
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
