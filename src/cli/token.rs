//! `tessera token create`: an operator mints an API token for a member, printed once.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;

use super::database::Operator;
use crate::audit::NewEntry;
use crate::authz::Scope;
use crate::db;

#[derive(Subcommand)]
pub(super) enum TokenCommand {
    /// Mint an API token for a member; printed once.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        user: String,
        /// Comma-separated: read, write, settings.
        #[arg(long, value_delimiter = ',', default_value = "read")]
        scope: Vec<String>,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

pub(super) async fn run(op: &Operator<'_>, command: TokenCommand) -> anyhow::Result<ExitCode> {
    let TokenCommand::Create {
        tenant,
        user,
        scope,
        name,
    } = command;
    let scopes = scope
        .iter()
        .map(|s| Scope::parse(s.trim()).with_context(|| format!("unknown scope {s:?}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let tenant_id = op.tenant_id(&tenant).await?;
    let mut tx = op.migrator.begin().await?;
    let user_id: uuid::Uuid =
        db::query_scalar("SELECT id FROM public.users WHERE lower(email) = lower($1)")
            .bind(&user)
            .fetch_optional(&mut tx)
            .await?
            .context("no such user")?;
    let (token_id, secret) =
        crate::identity::mint_token(&mut tx, tenant_id, user_id, &name, &scopes)
            .await
            .map_err(|e| anyhow::anyhow!(e.describe()))?;
    let entry = NewEntry {
        action: "token.mint",
        target_type: "ApiToken",
        target_id: token_id.to_string(),
        payload: serde_json::json!({ "after": { "name": name, "user": user_id, "scopes": scope } }),
    };
    op.audit(&mut tx, tenant_id, entry).await?;
    tx.commit().await?;
    println!("{}", secret.expose());
    Ok(ExitCode::SUCCESS)
}
