//! `tessera user add`: an operator adds a member (the user is created if new).

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;

use super::database::Operator;
use crate::audit::NewEntry;
use crate::authz::Role;

#[derive(Subcommand)]
pub(super) enum UserCommand {
    /// Add a user (created if new) to a workspace with a role.
    Add {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "member")]
        role: String,
        #[arg(long)]
        name: Option<String>,
    },
}

pub(super) async fn run(op: &Operator<'_>, command: UserCommand) -> anyhow::Result<ExitCode> {
    let UserCommand::Add {
        tenant,
        email,
        role,
        name,
    } = command;
    let role = Role::parse(&role).context("role must be owner, admin or member")?;
    let tenant_id = op.tenant_id(&tenant).await?;
    let mut tx = op.migrator.begin().await?;
    let user =
        crate::identity::ensure_user(&mut tx, &email, name.as_deref().unwrap_or(&email)).await?;
    crate::identity::add_member(&mut tx, tenant_id, user.id, role).await?;
    let entry = NewEntry {
        action: "member.add",
        target_type: "Member",
        target_id: user.id.to_string(),
        payload: serde_json::json!({ "after": { "email": user.email, "role": role.as_str() } }),
    };
    op.audit(&mut tx, tenant_id, entry).await?;
    tx.commit().await?;
    println!("{} is {} of {}", user.email, role.as_str(), tenant);
    Ok(ExitCode::SUCCESS)
}
