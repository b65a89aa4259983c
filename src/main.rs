//! The `tessera` command line.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use tessera::authz::{Role, Scope};
use tessera::config::Config;
use tessera::db::embedded::EmbeddedCluster;
use tessera::db::migrate::{self, MigrationSet};
use tessera::db::{connect_app_pool, connect_migrator_pool};
use tessera::tenancy::{self, Slug};

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "Multi-tenant GraphQL API server, one PostgreSQL schema per workspace"
)]
struct Cli {
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
        /// Provision a demo workspace and print a ready curl command.
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
        command: TenantCommand,
    },
    /// Add users to workspaces.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Print the tenant GraphQL schema (SDL); --global for the global one.
    Schema {
        #[arg(long)]
        global: bool,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a workspace.
    Create {
        slug: String,
        #[arg(long)]
        name: String,
    },
    /// List workspaces.
    List,
}

#[derive(Subcommand)]
enum UserCommand {
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

#[derive(Subcommand)]
enum TokenCommand {
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

/// Database URLs, from configuration or the embedded cluster.
struct Database {
    app_url: String,
    migrator_url: String,
    embedded: Option<EmbeddedCluster>,
}

impl Database {
    async fn open(cfg: &Config) -> anyhow::Result<Self> {
        match (&cfg.database_url, &cfg.migrator_database_url) {
            (Some(app), Some(mig)) => Ok(Self {
                app_url: app.clone(),
                migrator_url: mig.clone(),
                embedded: None,
            }),
            (None, None) => {
                let cluster = EmbeddedCluster::start(&cfg.data_dir, &cfg.roles()).await?;
                Ok(Self {
                    app_url: cluster.app_url.clone(),
                    migrator_url: cluster.migrator_url.clone(),
                    embedded: Some(cluster),
                })
            }
            _ => bail!(
                "set both TESSERA_DATABASE_URL and TESSERA_MIGRATOR_DATABASE_URL, or neither for the embedded cluster"
            ),
        }
    }

    fn close(&self) {
        if let Some(c) = &self.embedded {
            c.stop();
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let cfg = Config::load(cli.config.as_deref())?;
    if let Command::Schema { global } = cli.command {
        print!(
            "{}",
            if global {
                tessera::graphql::global_sdl()
            } else {
                tessera::graphql::tenant_sdl()
            }
        );
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let db = Database::open(&cfg).await?;
    let result = dispatch(&cfg, &db, cli.command).await;
    db.close();
    result
}

async fn dispatch(
    cfg: &Config,
    db: &Database,
    command: Command,
) -> anyhow::Result<std::process::ExitCode> {
    let roles = cfg.roles();
    let set = MigrationSet::load(cfg.migrations_dir.as_deref())?;
    let migrator = connect_migrator_pool(cfg, &db.migrator_url)
        .await
        .context("connecting as the migrator")?;
    match command {
        Command::Schema { .. } => Ok(std::process::ExitCode::SUCCESS),
        Command::Migrate { status: true } => {
            let latest = set.tenant_latest();
            println!(
                "{:<40} {:>7} {:>7}  {:<8} last error",
                "tenant", "version", "latest", "state"
            );
            for t in migrate::status(&migrator).await? {
                println!(
                    "{:<40} {:>7} {:>7}  {:<8} {}",
                    t.slug,
                    t.schema_version,
                    latest,
                    t.state,
                    t.migration_error.unwrap_or_default()
                );
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Migrate { status: false } => {
            let report = migrate::run(&migrator, &roles, &set, cfg.migrate_concurrency).await?;
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
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::from(2)
            })
        }
        Command::Tenant {
            command: TenantCommand::Create { slug, name },
        } => {
            let slug = Slug::parse(&slug)?;
            let t = tenancy::create_tenant(&migrator, &roles, &slug, &name, set.tenant_latest())
                .await?;
            println!("created workspace {} ({})", t.slug, t.id);
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Tenant {
            command: TenantCommand::List,
        } => {
            for t in tenancy::list_tenants(&migrator).await? {
                println!(
                    "{}\t{}\t{}\tv{}\t{}",
                    t.slug, t.id, t.state, t.schema_version, t.name
                );
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::User {
            command:
                UserCommand::Add {
                    tenant,
                    email,
                    role,
                    name,
                },
        } => {
            let role = Role::parse(&role).context("role must be owner, admin or member")?;
            let tenant_id = tenant_id(&migrator, &tenant).await?;
            let mut conn = migrator.acquire().await?;
            let user = tessera::identity::ensure_user(
                &mut conn,
                &email,
                name.as_deref().unwrap_or(&email),
            )
            .await?;
            tessera::identity::add_member(&mut conn, tenant_id, user.id, role).await?;
            println!("{} is {} of {}", user.email, role.as_str(), tenant);
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    tenant,
                    user,
                    scope,
                    name,
                },
        } => {
            let scopes = scope
                .iter()
                .map(|s| Scope::parse(s.trim()).with_context(|| format!("unknown scope {s:?}")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let tenant_id = tenant_id(&migrator, &tenant).await?;
            let mut conn = migrator.acquire().await?;
            let user_id: uuid::Uuid =
                sqlx::query_scalar("SELECT id FROM public.users WHERE lower(email) = lower($1)")
                    .bind(&user)
                    .fetch_optional(&mut *conn)
                    .await?
                    .context("no such user")?;
            let (_, secret) =
                tessera::identity::mint_token(&mut conn, tenant_id, user_id, &name, &scopes)
                    .await
                    .map_err(|e| anyhow::anyhow!(e.describe()))?;
            println!("{}", secret.expose());
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Serve { demo } => serve(cfg, db, &migrator, &set, demo).await,
    }
}

async fn tenant_id(pool: &sqlx::PgPool, slug: &str) -> anyhow::Result<uuid::Uuid> {
    let slug = Slug::parse(slug)?;
    sqlx::query_scalar("SELECT id FROM public.tenants WHERE slug = $1")
        .bind(slug.as_str())
        .fetch_optional(pool)
        .await?
        .context("no such workspace")
}

async fn serve(
    cfg: &Config,
    db: &Database,
    migrator: &sqlx::PgPool,
    set: &MigrationSet,
    demo: bool,
) -> anyhow::Result<std::process::ExitCode> {
    let roles = cfg.roles();
    if cfg.migrate_on_start {
        let report = migrate::run(migrator, &roles, set, cfg.migrate_concurrency).await?;
        for f in &report.failures {
            tracing::error!(tenant = %f.slug, error = %f.error, "tenant migration failed");
        }
    }
    let app = connect_app_pool(cfg, &db.app_url)
        .await
        .context("connecting as the runtime role")?;
    let demo_token = if demo {
        Some(tessera::demo::provision(&app, migrator, &roles, set.tenant_latest()).await?)
    } else {
        None
    };
    // The request path never holds the migrator role.
    migrator.close().await;
    let tenant_schema = tessera::graphql::build_tenant_schema(&cfg.limits)?;
    let global_schema = tessera::graphql::build_global_schema(&cfg.limits)?;
    let state = tessera::http::AppState::new(app, tenant_schema, global_schema, cfg.limits.clone());
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("binding {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    eprintln!("tessera listening on http://{addr}");
    if let Some(token) = demo_token {
        println!(
            "Demo workspace ready. Try:\n\ncurl -s http://{addr}/w/{slug}/graphql \\\n  -H 'Authorization: Bearer {tok}' \\\n  -H 'Content-Type: application/json' \\\n  -d '{{\"query\":\"{{ projects(first: 10) {{ edges {{ node {{ name team {{ name visibility }} records(first: 3) {{ edges {{ node {{ title status }} }} }} }} }} }} }}\"}}'\n",
            slug = tessera::demo::DEMO_SLUG,
            tok = token.expose()
        );
    }
    tessera::http::serve(listener, state, shutdown_signal()).await?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}
