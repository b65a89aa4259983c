//! `tessera audit ...`: verify chains, sign checkpoints, export entries.

use std::process::ExitCode;

use anyhow::bail;
use clap::Subcommand;

use super::database::Operator;
use crate::audit;

#[derive(Subcommand)]
pub(super) enum AuditCommand {
    /// Re-check chains; exits non-zero naming the first bad sequence number.
    Verify {
        #[arg(long)]
        tenant: Option<String>,
        /// A folder of receipts (the `audit.checkpoint` webhook bodies, or bare receipts,
        /// one `.json` file each) to check the database against.
        #[arg(long)]
        receipts: Option<std::path::PathBuf>,
    },
    /// Sign a checkpoint of every chain head now.
    Checkpoint,
    /// Verify an export (and receipts) without the database or the server's keys: the
    /// keys come from the export's header, or from `--keys` (the document published at
    /// `/.well-known/tessera-audit-keys`).
    VerifyExport {
        file: std::path::PathBuf,
        #[arg(long)]
        receipts: Option<std::path::PathBuf>,
        #[arg(long)]
        keys: Option<std::path::PathBuf>,
    },
    /// Remove entries older than each workspace's retention window, behind a signed anchor
    /// (run it daily, e.g. as a CronJob; needs the migrator role).
    Prune {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Export a workspace's entries (JSON Lines or CSV) to stdout, with hashes.
    Export {
        #[arg(long)]
        tenant: String,
        /// Start of the range (RFC 3339), inclusive.
        #[arg(long)]
        from: Option<chrono::DateTime<chrono::Utc>>,
        /// End of the range (RFC 3339), exclusive.
        #[arg(long)]
        to: Option<chrono::DateTime<chrono::Utc>>,
        /// Only these actions (repeat the flag for several).
        #[arg(long)]
        action: Vec<String>,
        /// json (JSON Lines) or csv.
        #[arg(long, default_value = "json")]
        format: String,
    },
}

/// `tessera audit verify-export`: needs no database.
pub(super) fn verify_export(
    file: &std::path::Path,
    receipts: Option<&std::path::Path>,
    keys: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let receipts = match receipts {
        Some(dir) => read_receipts(dir)?,
        None => Vec::new(),
    };
    let keys = match keys {
        Some(path) => audit::offline::keys_document(&std::fs::read_to_string(path)?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        None => Default::default(),
    };
    match audit::offline::verify_export(&text, &receipts, keys) {
        Ok(r) => {
            println!(
                "ok: {} entries verified; {} checkpoints, {} signatures checked; {} receipts match",
                r.entries, r.checkpoints, r.signatures, r.receipts
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(b) => {
            println!("BROKEN at seq {}: {}", b.seq, b.reason);
            Ok(ExitCode::from(3))
        }
    }
}

pub(super) async fn run(op: &Operator<'_>, command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::VerifyExport {
            file,
            receipts,
            keys,
        } => verify_export(&file, receipts.as_deref(), keys.as_deref()),
        AuditCommand::Verify { tenant, receipts } => {
            let receipts = match &receipts {
                Some(dir) => read_receipts(dir)?,
                None => Vec::new(),
            };
            let single = tenant.is_some();
            let tenants = match tenant {
                Some(slug) => vec![(op.tenant_id(&slug).await?, slug)],
                None => op.all_tenants().await?,
            };
            let mut failed = false;
            let mut conn = op.migrator.acquire().await?;
            // Checkpoints are signed every interval; entries older than two intervals that
            // none covers mean checkpoints were removed, or no server is signing.
            let grace = chrono::Duration::seconds(
                i64::try_from(op.cfg.audit_checkpoint_interval_secs.saturating_mul(2))
                    .unwrap_or(i64::MAX),
            );
            let now = crate::Clock::now(&crate::SystemClock);
            for (id, slug) in tenants {
                let mut r = audit::verify(&mut conn, op.keyring, id).await?;
                // With one workspace named, every receipt given is its: one of another
                // workspace is reported, not skipped.
                let theirs: Vec<audit::receipts::Receipt> = receipts
                    .iter()
                    .filter(|x| single || x.tenant_id == id)
                    .cloned()
                    .collect();
                if r.problem.is_none()
                    && let Some(b) =
                        audit::receipts::check(&mut conn, op.keyring, id, &theirs).await?
                {
                    r.problem = Some(b);
                }
                let receipts_note = if theirs.is_empty() {
                    String::new()
                } else {
                    format!(", {} receipts match", theirs.len())
                };
                let floor = r
                    .floor
                    .map(|f| format!(", from entry {f}: older ones removed by retention behind a signed anchor"))
                    .unwrap_or_default();
                match (&r.problem, r.uncovered_beyond(now, grace)) {
                    (None, None) => println!(
                        "{slug}: ok ({} entries, {} checkpoints{receipts_note}{floor})",
                        r.entries, r.checkpoints
                    ),
                    (None, Some(seq)) => {
                        failed = true;
                        println!(
                            "{slug}: UNCOVERED from seq {seq}: entries older than two checkpoint intervals have no signed checkpoint (checkpoints removed, or none signed)"
                        );
                    }
                    (Some(b), _) => {
                        failed = true;
                        println!("{slug}: BROKEN at seq {}: {}", b.seq, b.reason);
                    }
                }
            }
            Ok(if failed {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
        AuditCommand::Checkpoint => {
            let mut conn = op.migrator.acquire().await?;
            for (id, slug) in op.all_tenants().await? {
                if let Some(seq) = audit::checkpoint(&mut conn, op.keyring, id).await? {
                    println!("{slug}: signed head at seq {seq}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Prune { tenant } => {
            let tenants = match tenant {
                Some(slug) => vec![(op.tenant_id(&slug).await?, slug)],
                None => op.all_tenants().await?,
            };
            let now = crate::Clock::now(&crate::SystemClock);
            let mut failed = false;
            for (id, slug) in tenants {
                let mut tx = op.migrator.begin().await?;
                match audit::retention::prune(&mut tx, op.keyring, id, now).await {
                    Ok(Some(p)) => {
                        tx.commit().await?;
                        println!(
                            "{slug}: removed {} entries older than {} days; the chain starts at {}",
                            p.removed, p.window_days, p.first_kept
                        );
                    }
                    Ok(None) => tx.rollback().await?,
                    Err(e) => {
                        failed = true;
                        tx.rollback().await?;
                        println!("{slug}: not pruned: {e}");
                    }
                }
            }
            Ok(if failed {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
        AuditCommand::Export {
            tenant,
            from,
            to,
            action,
            format,
        } => {
            let format = match format.as_str() {
                "json" => audit::Format::JsonLines,
                "csv" => audit::Format::Csv,
                other => bail!("unknown format {other:?}: use json or csv"),
            };
            let tenant_id = op.tenant_id(&tenant).await?;
            let filter = audit::Filter {
                from,
                to,
                actions: action,
                ..audit::Filter::default()
            };
            let mut conn = op.migrator.acquire().await?;
            let mut out = tokio::io::stdout();
            let n = audit::export(&mut conn, op.keyring, tenant_id, &filter, format, &mut out)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!("exported {n} entries");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Every receipt in `dir`: `.json` files holding a receipt, or the `audit.checkpoint` webhook
/// body that carries one.
fn read_receipts(dir: &std::path::Path) -> anyhow::Result<Vec<audit::receipts::Receipt>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: not JSON: {e}", path.display()))?;
        let receipt = value
            .get("data")
            .and_then(|d| d.get("receipt"))
            .cloned()
            .unwrap_or(value);
        out.push(
            serde_json::from_value(receipt)
                .map_err(|e| anyhow::anyhow!("{}: not a receipt: {e}", path.display()))?,
        );
    }
    Ok(out)
}
