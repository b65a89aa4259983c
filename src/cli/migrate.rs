//! `tessera migrate [--status]`.

use std::process::ExitCode;

use super::database::Operator;
use crate::db::migrate;

pub(super) async fn run(op: &Operator<'_>, status: bool) -> anyhow::Result<ExitCode> {
    if status {
        let latest = op.set.tenant_latest();
        println!(
            "{:<40} {:>7} {:>7}  {:<8} last error",
            "tenant", "version", "latest", "state"
        );
        for t in migrate::status(&op.migrator).await? {
            println!(
                "{:<40} {:>7} {:>7}  {:<8} {}",
                t.slug,
                t.schema_version,
                latest,
                t.state,
                t.migration_error.unwrap_or_default()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = migrate::run(&op.migrator, &op.roles, &op.set, op.cfg.migrate_concurrency).await?;
    println!(
        "public: {} applied; template at version {}; tenants: {} pending, {} migrated, {} failed",
        report.public_applied,
        report.template_version,
        report.tenants_pending,
        report.tenants_migrated,
        report.failures.len()
    );
    for f in &report.failures {
        println!("FAILED {}: {}", f.slug, f.error);
    }
    Ok(if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
