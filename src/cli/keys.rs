//! `tessera keys rotate`: re-seal everything under the current master key.

use std::process::ExitCode;

use anyhow::bail;
use clap::Subcommand;

use super::database::Operator;
use crate::audit;

#[derive(Subcommand)]
pub(super) enum KeysCommand {
    /// Re-seal everything under the current master key (run with the previous key in
    /// TESSERA_PREVIOUS_MASTER_KEYS), then sign fresh audit checkpoints. Resumable.
    Rotate,
}

pub(super) async fn run(op: &Operator<'_>, command: KeysCommand) -> anyhow::Result<ExitCode> {
    let KeysCommand::Rotate = command;
    let report = crate::crypto::rotate::rotate(&op.migrator, op.keyring)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "re-wrapped {} audit keys, re-sealed {} secrets and {} TOTP seeds",
        report.audit_keys, report.secrets, report.totp_seeds
    );
    // Vouch for every chain under the new key, after checking it under the old ones.
    let mut conn = op.migrator.acquire().await?;
    for (id, slug) in op.all_tenants().await? {
        let r = audit::verify(&mut conn, op.keyring, id).await?;
        if let Some(b) = r.problem {
            bail!(
                "{slug}: audit chain broken at seq {} ({}); not re-signing it",
                b.seq,
                b.reason
            );
        }
        audit::checkpoint_force(&mut conn, op.keyring, id).await?;
    }
    Ok(ExitCode::SUCCESS)
}
