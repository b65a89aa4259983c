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
    /// Sign a checkpoint of every chain head now, and anchor it in the object store.
    Checkpoint,
    /// After the database was restored from a backup: record the restore, so the anchors
    /// report it as one instead of as tampering. Stores back the anchored checkpoints the
    /// backup lacks and signs a restore checkpoint of each workspace's restored head; the
    /// entries written after the backup are reported as lost. Run it before `serve`.
    Restored {
        #[arg(long)]
        tenant: Option<String>,
        /// Why (the incident or ticket), kept in each workspace's audit log.
        #[arg(long)]
        reason: String,
    },
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
        AuditCommand::Restored { tenant, reason } => restored(op, tenant, &reason).await,
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
            let store = anchor_store(op).await?;
            for (id, slug) in tenants {
                let mut r = audit::verify(&mut conn, op.keyring, id).await?;
                let mut anchors_note = String::new();
                if let Some(store) = &store
                    && r.problem.is_none()
                {
                    match audit::anchors::read(store.as_ref(), id).await {
                        Ok(anchors) => {
                            r.problem = audit::receipts::check(
                                &mut conn, op.keyring, id, &anchors, "anchor",
                            )
                            .await?;
                            anchors_note = format!(", {} anchors match", anchors.len());
                        }
                        Err(e) => {
                            r.problem = Some(audit::Break {
                                seq: r.last_seq + 1,
                                reason: format!("the anchors cannot be read: {e}"),
                            });
                        }
                    }
                }
                // With one workspace named, every receipt given is its: one of another
                // workspace is reported, not skipped.
                let theirs: Vec<audit::receipts::Receipt> = receipts
                    .iter()
                    .filter(|x| single || x.tenant_id == id)
                    .cloned()
                    .collect();
                if r.problem.is_none()
                    && let Some(b) =
                        audit::receipts::check(&mut conn, op.keyring, id, &theirs, "receipt")
                            .await?
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
                let restores: String = r
                    .restores
                    .iter()
                    .map(|(counter, seq)| {
                        format!(
                            "; restored from a backup at entry {seq} (restore checkpoint {counter})"
                        )
                    })
                    .collect();
                let lost = if r.lost > 0 {
                    format!(
                        ", {} checkpoints describe entries the restores lost",
                        r.lost
                    )
                } else {
                    String::new()
                };
                match (&r.problem, r.uncovered_beyond(now, grace)) {
                    (None, None) => println!(
                        "{slug}: ok ({} entries, {} checkpoints{anchors_note}{receipts_note}{floor}{lost}){restores}",
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
            let store = anchor_store(op).await?;
            let mut conn = op.migrator.acquire().await?;
            let mut failed = false;
            for (id, slug) in op.all_tenants().await? {
                let mut tx = crate::db::begin(&mut conn).await?;
                let signed = audit::checkpoint(&mut tx, op.keyring, id).await?;
                if let (Some(store), Some(_)) = (&store, signed) {
                    let counter = audit::anchors::latest_counter(&mut tx, id).await?;
                    if audit::anchors::taken(store.as_ref(), id, counter).await? {
                        failed = true;
                        println!(
                            "{slug}: not signed: the object store already holds anchor {counter}, the database is behind it (run `tessera audit verify`)"
                        );
                        continue;
                    }
                }
                tx.commit().await?;
                if let Some(seq) = signed {
                    println!("{slug}: signed head at seq {seq}");
                }
                if let Some(store) = &store {
                    let until = crate::Clock::now(&crate::SystemClock)
                        + chrono::Duration::days(op.retention_days(id).await?);
                    let mut tx = crate::db::begin(&mut conn).await?;
                    let n = audit::anchors::publish(&mut tx, store.as_ref(), id, until)
                        .await
                        .map_err(|e| anyhow::anyhow!("{slug}: {e}"))?;
                    tx.commit().await?;
                    if n > 0 {
                        println!("{slug}: {n} checkpoints anchored in the object store");
                    }
                }
            }
            Ok(if failed {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
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

/// The object store the anchors are in, unless anchors are off.
async fn anchor_store(
    op: &Operator<'_>,
) -> anyhow::Result<Option<std::sync::Arc<dyn crate::storage::BlobStore>>> {
    if !op.cfg.storage.audit_anchors {
        return Ok(None);
    }
    let (store, _) = crate::storage::open(&op.cfg.storage, &op.cfg.data_dir)
        .await
        .map_err(|e| anyhow::anyhow!("storage: {e}"))?;
    Ok(Some(store))
}

/// `tessera audit restored`: per workspace, verify the restored chain, store back the
/// anchored checkpoints it lacks, sign a restore checkpoint, record it in the audit log.
async fn restored(
    op: &Operator<'_>,
    tenant: Option<String>,
    reason: &str,
) -> anyhow::Result<ExitCode> {
    let Some(store) = anchor_store(op).await? else {
        bail!("storage.audit_anchors is off: there are no anchors to reconcile a restore with");
    };
    let tenants = match tenant {
        Some(slug) => vec![(op.tenant_id(&slug).await?, slug)],
        None => op.all_tenants().await?,
    };
    let mut failed = false;
    for (id, slug) in tenants {
        let mut tx = op.migrator.begin().await?;
        let report = audit::verify(&mut tx, op.keyring, id).await?;
        if let Some(b) = report.problem {
            failed = true;
            println!(
                "{slug}: not recorded: the restored chain itself is BROKEN at seq {}: {}",
                b.seq, b.reason
            );
            continue;
        }
        let anchors = audit::anchors::read(store.as_ref(), id).await?;
        let done = match audit::anchors::record_restore(&mut tx, op.keyring, &anchors, id).await {
            Ok(d) => d,
            Err(e) => {
                failed = true;
                println!("{slug}: not recorded: {e}");
                continue;
            }
        };
        let entry = audit::NewEntry {
            action: "audit.restored",
            target_type: "Workspace",
            target_id: id.to_string(),
            payload: serde_json::json!({
                "reason": reason,
                "restored_to_seq": done.seq,
                "restore_checkpoint": done.counter,
                "lost_checkpoints": done.recovered,
            }),
        };
        op.audit(&mut tx, id, entry).await?;
        tx.commit().await?;
        // The restore checkpoint goes out at once: from here on it is the evidence.
        let until = crate::Clock::now(&crate::SystemClock)
            + chrono::Duration::days(op.retention_days(id).await?);
        let mut tx = op.migrator.begin().await?;
        audit::anchors::publish(&mut tx, store.as_ref(), id, until)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "{slug}: the restore is recorded, but its anchor was not written: {e}"
                )
            })?;
        tx.commit().await?;
        match (done.recovered.first(), done.recovered.last()) {
            (Some(a), Some(b)) => println!(
                "{slug}: restore recorded at entry {} (restore checkpoint {}); entries after it covered by anchored checkpoints {a} to {b} were lost",
                done.seq, done.counter
            ),
            _ => println!(
                "{slug}: restore recorded at entry {} (restore checkpoint {}); no anchored checkpoint was lost",
                done.seq, done.counter
            ),
        }
    }
    Ok(if failed {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
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
