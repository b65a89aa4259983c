//! The `tessera` command line: one file per command group. `main.rs` only parses the
//! arguments and calls [`run`].

mod audit;
mod cluster;
mod database;
mod keys;
mod migrate;
mod serve;
mod tenant;
mod token;
mod user;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use database::Operator;

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "Multi-tenant GraphQL API server, one PostgreSQL schema per workspace"
)]
pub struct Cli {
    /// TOML configuration file (also TESSERA_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (embedded PostgreSQL when no database URL is configured).
    Serve {
        /// Provision a demo workspace and print the console URL and a demo sign-in.
        #[arg(long)]
        demo: bool,
    },
    /// Apply migrations to public, the template and every tenant schema.
    Migrate {
        /// Show each tenant's schema version and last error instead.
        #[arg(long)]
        status: bool,
    },
    /// Workspaces.
    Tenant {
        #[command(subcommand)]
        command: tenant::TenantCommand,
    },
    /// Add users to workspaces.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
    },
    /// Master-key rotation.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// The cluster (Citus): nodes and what they hold.
    Cluster {
        #[command(subcommand)]
        command: cluster::ClusterCommand,
    },
    /// The audit chain.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Print the tenant GraphQL schema (SDL); --global for the global one.
    Schema {
        #[arg(long)]
        global: bool,
    },
}

/// Runs a parsed command line; the exit code says how it went.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(cli.config.as_deref())?;
    if let Command::Schema { global } = cli.command {
        print!(
            "{}",
            if global {
                crate::graphql::global_sdl()
            } else {
                crate::graphql::tenant_sdl()
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    // Offline verification needs neither a database nor keys.
    if let Command::Audit {
        command:
            audit::AuditCommand::VerifyExport {
                file,
                receipts,
                keys,
            },
    } = &cli.command
    {
        return audit::verify_export(file, receipts.as_deref(), keys.as_deref());
    }
    let db = database::Database::open(&cfg).await?;
    let result = dispatch(&cfg, &db, cli.command).await;
    db.close();
    result
}

async fn dispatch(
    cfg: &Config,
    db: &database::Database,
    command: Command,
) -> anyhow::Result<ExitCode> {
    if let Command::Serve { demo } = command {
        // The server holds the migrator role only to migrate at start or seed the demo.
        let migrator = if cfg.migrate_on_start || demo {
            Some(db.connect_migrator(cfg).await?)
        } else {
            None
        };
        return serve::run(cfg, db, migrator, demo).await;
    }
    let op = Operator::new(cfg, db).await?;
    match command {
        Command::Migrate { status } => migrate::run(&op, status).await,
        Command::Tenant { command } => tenant::run(&op, command).await,
        Command::User { command } => user::run(&op, command).await,
        Command::Token { command } => token::run(&op, command).await,
        Command::Keys { command } => keys::run(&op, command).await,
        Command::Audit { command } => audit::run(&op, command).await,
        Command::Cluster { command } => cluster::run(&op, command).await,
        Command::Serve { .. } | Command::Schema { .. } => Ok(ExitCode::SUCCESS),
    }
}
