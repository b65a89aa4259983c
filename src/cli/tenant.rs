//! `tessera tenant ...`: create, list, import, purge, shred the audit key.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;

use super::database::Operator;
use crate::audit::{self, NewEntry};
use crate::db;
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
    /// Incident: refuse every request to a workspace (or, with --read-only, every write) at
    /// once, with a reason its members see. Audited.
    Freeze {
        slug: String,
        #[arg(long)]
        read_only: bool,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Lift a freeze. Audited.
    Unfreeze { slug: String },
    /// Clear a workspace's IP allowlist (every address may reach it again), for owners who
    /// locked themselves out — say, after their office's address changed. Audited.
    AllowlistClear { slug: String },
    /// Citus: move a workspace to another node (`host:port`, as `tessera cluster status`
    /// lists them) while it stays in use. Audited.
    Move {
        slug: String,
        #[arg(long)]
        to: String,
    },
    /// Incident: revoke every API token of a workspace and every session of its members
    /// (their live connections close). Audited.
    RevokeAll { slug: String },
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
        TenantCommand::Freeze {
            slug,
            read_only,
            reason,
        } => {
            let mode = if read_only { "writes" } else { "all" };
            set_frozen(op, &slug, Some((mode, reason.trim()))).await?;
            println!(
                "{slug}: frozen ({})",
                if read_only {
                    "writes refused"
                } else {
                    "every request refused"
                }
            );
        }
        TenantCommand::Unfreeze { slug } => {
            set_frozen(op, &slug, None).await?;
            println!("{slug}: unfrozen");
        }
        TenantCommand::AllowlistClear { slug } => {
            let before = clear_allowlist(op, &slug).await?;
            if before.is_empty() {
                println!("{slug}: had no IP allowlist; nothing changed");
            } else {
                println!(
                    "{slug}: IP allowlist cleared (was {}); every address may reach it",
                    before.join(", ")
                );
            }
        }
        TenantCommand::Move { slug, to } => super::cluster::move_tenant(op, &slug, &to).await?,
        TenantCommand::RevokeAll { slug } => {
            let tenant_id = op.tenant_id(&slug).await?;
            let mut tx = op.migrator.begin().await?;
            let tokens = db::query(
                "UPDATE public.api_tokens SET revoked_at = now() WHERE tenant_id = $1 AND revoked_at IS NULL",
            )
            .bind(tenant_id)
            .execute(&mut tx)
            .await?
            .rows_affected();
            let members: Vec<uuid::Uuid> =
                db::query_scalar("SELECT user_id FROM public.memberships WHERE tenant_id = $1")
                    .bind(tenant_id)
                    .fetch_all(&mut tx)
                    .await?;
            let mut sessions = 0i64;
            for user in &members {
                sessions += i64::from(
                    crate::identity::session::revoke_where(&mut tx, *user, None, None).await?,
                );
            }
            let entry = NewEntry {
                action: "workspace.revoke_all",
                target_type: "Workspace",
                target_id: tenant_id.to_string(),
                payload: serde_json::json!({ "tokens": tokens, "sessions": sessions, "members": members.len() }),
            };
            op.audit(&mut tx, tenant_id, entry).await?;
            tx.commit().await?;
            println!(
                "{slug}: revoked {tokens} tokens and {sessions} sessions of {} members",
                members.len()
            );
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

/// Freezes (`Some((mode, reason))`, mode `all` or `writes`) or unfreezes a workspace, with
/// an audit entry in the same transaction.
async fn set_frozen(
    op: &Operator<'_>,
    slug: &str,
    freeze: Option<(&str, &str)>,
) -> anyhow::Result<()> {
    let tenant_id = op.tenant_id(slug).await?;
    let mut tx = op.migrator.begin().await?;
    let before: Option<String> =
        db::query_scalar("SELECT frozen FROM public.tenants WHERE id = $1 FOR UPDATE")
            .bind(tenant_id)
            .fetch_one(&mut tx)
            .await?;
    let (mode, reason) = match freeze {
        Some((m, r)) => (Some(m), Some(r).filter(|r| !r.is_empty())),
        None => (None, None),
    };
    db::query("UPDATE public.tenants SET frozen = $2, frozen_reason = $3 WHERE id = $1")
        .bind(tenant_id)
        .bind(mode)
        .bind(reason)
        .execute(&mut tx)
        .await?;
    let entry = NewEntry {
        action: if mode.is_some() {
            "workspace.freeze"
        } else {
            "workspace.unfreeze"
        },
        target_type: "Workspace",
        target_id: tenant_id.to_string(),
        payload: serde_json::json!({ "before": before, "after": mode, "reason": reason }),
    };
    op.audit(&mut tx, tenant_id, entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Empties a workspace's IP allowlist, with an audit entry (before and after) in the same
/// transaction; answers the list it had.
async fn clear_allowlist(op: &Operator<'_>, slug: &str) -> anyhow::Result<Vec<String>> {
    let tenant_id = op.tenant_id(slug).await?;
    let mut tx = op.migrator.begin().await?;
    let before: Vec<String> = db::query_scalar(
        "SELECT ip_allowlist::text[] FROM public.tenants WHERE id = $1 FOR UPDATE",
    )
    .bind(tenant_id)
    .fetch_one(&mut tx)
    .await?;
    if before.is_empty() {
        return Ok(before);
    }
    db::query("UPDATE public.tenants SET ip_allowlist = '{}' WHERE id = $1")
        .bind(tenant_id)
        .execute(&mut tx)
        .await?;
    let entry = NewEntry {
        action: "workspace.ip_allowlist_clear",
        target_type: "Workspace",
        target_id: tenant_id.to_string(),
        payload: serde_json::json!({ "before": before, "after": [] }),
    };
    op.audit(&mut tx, tenant_id, entry).await?;
    tx.commit().await?;
    Ok(before)
}
