//! The `tessera` command line.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use tessera::audit::{self, EntryMeta, NewEntry};
use tessera::authz::{Role, Scope};
use tessera::config::Config;
use tessera::crypto::{Keyring, MasterKey};
use tessera::db::embedded::EmbeddedCluster;
use tessera::db::migrate::{self, MigrationSet};
use tessera::db::{connect_app_pool, connect_migrator_pool};
use tessera::tenancy::{self, Slug};

/// mimalloc: GraphQL execution allocates per field, and glibc malloc spent a quarter of a
/// nested list request's time (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Master-key rotation.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The audit chain.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print the tenant GraphQL schema (SDL); --global for the global one.
    Schema {
        #[arg(long)]
        global: bool,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Re-seal everything under the current master key (run with the previous key in
    /// TESSERA_PREVIOUS_MASTER_KEYS), then sign fresh audit checkpoints. Resumable.
    Rotate,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Re-check chains; exits non-zero naming the first bad sequence number.
    Verify {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Sign a checkpoint of every chain head now.
    Checkpoint,
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
    /// Absent when only the runtime URL is configured: enough for `serve` with
    /// `migrate_on_start = false` (migrations then run from a separate job).
    migrator_url: Option<String>,
    keyring: Keyring,
    embedded: Option<EmbeddedCluster>,
}

/// The master key: configured, or (embedded default only) kept in the data directory.
/// `embedded`: `Some(fresh)` for the embedded cluster, `fresh` when it was just created.
fn load_keyring(cfg: &Config, embedded: Option<bool>) -> anyhow::Result<Keyring> {
    if let Some(text) = &cfg.master_key {
        let mut ring = Keyring::new(MasterKey::from_base64(text.expose())?);
        if let Some(prev) = &cfg.previous_master_keys {
            for k in prev.expose().split(',').filter(|k| !k.trim().is_empty()) {
                ring = ring.with_previous(MasterKey::from_base64(k)?);
            }
        }
        return Ok(ring);
    }
    let Some(fresh) = embedded else {
        bail!(
            "TESSERA_MASTER_KEY (or TESSERA_MASTER_KEY_FILE) is required with an external database: 32 random bytes, base64"
        );
    };
    let path = cfg.data_dir.join("master.key");
    if !path.exists() && !fresh {
        // A new key would make everything already sealed unreadable.
        bail!(
            "{} is missing but the embedded database already exists; restore the key file or set TESSERA_MASTER_KEY",
            path.display()
        );
    }
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        return Ok(Keyring::new(MasterKey::from_base64(&text)?));
    }
    let key = MasterKey::generate();
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        f.write_all(key.to_base64().expose().as_bytes())?;
    }
    tracing::warn!(path = %path.display(), "generated a development master key; back it up, or set TESSERA_MASTER_KEY");
    Ok(Keyring::new(key))
}

impl Database {
    async fn open(cfg: &Config) -> anyhow::Result<Self> {
        match (&cfg.database_url, &cfg.migrator_database_url) {
            (Some(app), mig) => Ok(Self {
                app_url: app.clone(),
                migrator_url: mig.clone(),
                keyring: load_keyring(cfg, None)?,
                embedded: None,
            }),
            (None, None) => {
                let cluster = EmbeddedCluster::start(&cfg.data_dir, &cfg.roles()).await?;
                Ok(Self {
                    app_url: cluster.app_url.clone(),
                    migrator_url: Some(cluster.migrator_url.clone()),
                    keyring: match load_keyring(cfg, Some(cluster.fresh)) {
                        Ok(k) => k,
                        Err(e) => {
                            cluster.stop();
                            return Err(e);
                        }
                    },
                    embedded: Some(cluster),
                })
            }
            _ => bail!(
                "TESSERA_MIGRATOR_DATABASE_URL needs TESSERA_DATABASE_URL too (set neither for the embedded cluster)"
            ),
        }
    }

    fn close(&self) {
        if let Some(c) = &self.embedded {
            c.stop();
        }
    }
}

/// JSON logs on stderr (filtered by `TESSERA_LOG`), and OpenTelemetry traces when
/// `TESSERA_OTLP_ENDPOINT` is set (filtered on their own by `TESSERA_TRACE`, so quieter logs
/// do not thin the traces). The provider is returned to be flushed on exit.
fn init_tracing() -> Option<opentelemetry_sdk::trace::SdkTracerProvider> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = |var: &str| {
        tracing_subscriber::EnvFilter::try_from_env(var)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"))
    };
    let (provider, failed) = match std::env::var("TESSERA_OTLP_ENDPOINT") {
        Ok(url) if !url.trim().is_empty() => {
            match tessera::observability::traces::provider(url.trim()) {
                Ok(p) => (Some(p), None),
                Err(e) => (None, Some(e)),
            }
        }
        _ => (None, None),
    };
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::stderr)
                .with_filter(filter("TESSERA_LOG")),
        )
        .with(
            provider.as_ref().map(|p| {
                tessera::observability::traces::layer(p).with_filter(filter("TESSERA_TRACE"))
            }),
        )
        .init();
    if let Some(e) = failed {
        tracing::error!(error = %e, "OpenTelemetry traces are off");
    }
    provider
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tessera::install_crypto_provider();
    let cli = Cli::parse();
    let traces = init_tracing();
    let code = match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    };
    if let Some(provider) = traces {
        tessera::observability::traces::shutdown(provider).await;
    }
    code
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
    let connect_migrator = || async {
        let url = db
            .migrator_url
            .as_deref()
            .context("this needs the migrator role: set TESSERA_MIGRATOR_DATABASE_URL")?;
        connect_migrator_pool(cfg, url)
            .await
            .context("connecting as the migrator")
    };
    if let Command::Serve { demo } = command {
        // The server holds the migrator role only to migrate at start or seed the demo.
        let migrator = if cfg.migrate_on_start || demo {
            Some(connect_migrator().await?)
        } else {
            None
        };
        return serve(cfg, db, migrator, &set, demo).await;
    }
    let migrator = connect_migrator().await?;
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
            let t = tenancy::create_tenant(
                &migrator,
                &roles,
                &db.keyring,
                &slug,
                &name,
                set.tenant_latest(),
            )
            .await?;
            println!("created workspace {} ({})", t.slug, t.id);
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Tenant {
            command: TenantCommand::Import { file, slug, name },
        } => {
            let slug = Slug::parse(&slug)?;
            let text =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let doc: serde_json::Value =
                serde_json::from_slice(&text).context("the file is not a JSON document")?;
            let imported = tessera::export::import::import(
                &migrator,
                &roles,
                &db.keyring,
                &doc,
                &slug,
                name.as_deref(),
                set.tenant_latest(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("import failed: {e}"))?;
            let rows: u64 = imported.manifest.counts.values().sum();
            println!(
                "imported {rows} rows into workspace {} ({})",
                imported.tenant.slug, imported.tenant.id
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Tenant {
            command: TenantCommand::Purge { slug },
        } => {
            let (store, _) = tessera::storage::open(&cfg.storage, &cfg.data_dir, &db.keyring)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let done =
                tenancy::purge::purge_due(&migrator, &db.keyring, store.as_ref(), slug.as_deref())
                    .await
                    .map_err(|e| anyhow::anyhow!("purge failed: {e}"))?;
            for p in &done {
                println!("purged {} ({} objects deleted)", p.slug, p.objects_deleted);
            }
            println!("{} workspaces purged", done.len());
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
            let mut tx = migrator.begin().await?;
            let user =
                tessera::identity::ensure_user(&mut tx, &email, name.as_deref().unwrap_or(&email))
                    .await?;
            tessera::identity::add_member(&mut tx, tenant_id, user.id, role).await?;
            let entry = NewEntry {
                action: "member.add",
                target_type: "Member",
                target_id: user.id.to_string(),
                payload: serde_json::json!({ "after": { "email": user.email, "role": role.as_str() } }),
            };
            audit_cli(&mut tx, &db.keyring, tenant_id, entry).await?;
            tx.commit().await?;
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
            let mut tx = migrator.begin().await?;
            let user_id: uuid::Uuid =
                sqlx::query_scalar("SELECT id FROM public.users WHERE lower(email) = lower($1)")
                    .bind(&user)
                    .fetch_optional(&mut *tx)
                    .await?
                    .context("no such user")?;
            let (token_id, secret) =
                tessera::identity::mint_token(&mut tx, tenant_id, user_id, &name, &scopes)
                    .await
                    .map_err(|e| anyhow::anyhow!(e.describe()))?;
            let entry = NewEntry {
                action: "token.mint",
                target_type: "ApiToken",
                target_id: token_id.to_string(),
                payload: serde_json::json!({ "after": { "name": name, "user": user_id, "scopes": scope } }),
            };
            audit_cli(&mut tx, &db.keyring, tenant_id, entry).await?;
            tx.commit().await?;
            println!("{}", secret.expose());
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Tenant {
            command: TenantCommand::ShredAuditKey { slug },
        } => {
            let tenant_id = tenant_id(&migrator, &slug).await?;
            let mut tx = migrator.begin().await?;
            let entry = NewEntry {
                action: "audit.shred_key",
                target_type: "Workspace",
                target_id: tenant_id.to_string(),
                payload: serde_json::json!({}),
            };
            // Recorded first, sealed with the key about to be destroyed: readable by no one after.
            audit_cli(&mut tx, &db.keyring, tenant_id, entry).await?;
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
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify { tenant },
        } => {
            let tenants: Vec<(uuid::Uuid, String)> = match tenant {
                Some(slug) => vec![(tenant_id(&migrator, &slug).await?, slug)],
                None => {
                    sqlx::query_as("SELECT id, slug FROM public.tenants ORDER BY slug")
                        .fetch_all(&migrator)
                        .await?
                }
            };
            let mut failed = false;
            let mut conn = migrator.acquire().await?;
            for (id, slug) in tenants {
                let r = audit::verify(&mut conn, &db.keyring, id).await?;
                match &r.problem {
                    None => println!(
                        "{slug}: ok ({} entries, {} checkpoints)",
                        r.entries, r.checkpoints
                    ),
                    Some(b) => {
                        failed = true;
                        println!("{slug}: BROKEN at seq {}: {}", b.seq, b.reason);
                    }
                }
            }
            Ok(if failed {
                std::process::ExitCode::from(3)
            } else {
                std::process::ExitCode::SUCCESS
            })
        }
        Command::Audit {
            command: AuditCommand::Checkpoint,
        } => {
            let ids: Vec<(uuid::Uuid, String)> =
                sqlx::query_as("SELECT id, slug FROM public.tenants ORDER BY slug")
                    .fetch_all(&migrator)
                    .await?;
            let mut conn = migrator.acquire().await?;
            for (id, slug) in ids {
                if let Some(seq) = audit::checkpoint(&mut conn, &db.keyring, id).await? {
                    println!("{slug}: signed head at seq {seq}");
                }
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Audit {
            command:
                AuditCommand::Export {
                    tenant,
                    from,
                    to,
                    action,
                    format,
                },
        } => {
            let format = match format.as_str() {
                "json" => audit::Format::JsonLines,
                "csv" => audit::Format::Csv,
                other => bail!("unknown format {other:?}: use json or csv"),
            };
            let tenant_id = tenant_id(&migrator, &tenant).await?;
            let filter = audit::Filter {
                from,
                to,
                actions: action,
                ..audit::Filter::default()
            };
            let mut conn = migrator.acquire().await?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let n = audit::export(&mut conn, &db.keyring, tenant_id, &filter, format, &mut out)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            drop(out);
            eprintln!("exported {n} entries");
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Keys {
            command: KeysCommand::Rotate,
        } => {
            let report = tessera::crypto::rotate::rotate(&migrator, &db.keyring)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "re-wrapped {} audit keys, re-sealed {} secrets and {} TOTP seeds",
                report.audit_keys, report.secrets, report.totp_seeds
            );
            // Vouch for every chain under the new key, after checking it under the old ones.
            let ids: Vec<(uuid::Uuid, String)> =
                sqlx::query_as("SELECT id, slug FROM public.tenants ORDER BY slug")
                    .fetch_all(&migrator)
                    .await?;
            let mut conn = migrator.acquire().await?;
            for (id, slug) in ids {
                let r = audit::verify(&mut conn, &db.keyring, id).await?;
                if let Some(b) = r.problem {
                    bail!(
                        "{slug}: audit chain broken at seq {} ({}); not re-signing it",
                        b.seq,
                        b.reason
                    );
                }
                audit::checkpoint_force(&mut conn, &db.keyring, id).await?;
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Serve { .. } => unreachable!("handled above"),
    }
}

/// Appends an entry for an operator action taken through the command line.
async fn audit_cli(
    conn: &mut sqlx::PgConnection,
    keyring: &Keyring,
    tenant_id: uuid::Uuid,
    entry: NewEntry<'_>,
) -> anyhow::Result<()> {
    audit::append(
        conn,
        keyring,
        tenant_id,
        tessera::Clock::now(&tessera::SystemClock),
        &EntryMeta::system("cli"),
        entry,
    )
    .await
    .map_err(|e| anyhow::anyhow!("audit: {e}"))?;
    Ok(())
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
    migrator: Option<sqlx::PgPool>,
    set: &MigrationSet,
    demo: bool,
) -> anyhow::Result<std::process::ExitCode> {
    let roles = cfg.roles();
    if let (true, Some(migrator)) = (cfg.migrate_on_start, &migrator) {
        let report = migrate::run(migrator, &roles, set, cfg.migrate_concurrency).await?;
        for f in &report.failures {
            tracing::error!(tenant = %f.slug, error = %f.error, "tenant migration failed");
        }
    }
    let app = connect_app_pool(cfg, &db.app_url)
        .await
        .context("connecting as the runtime role")?;
    let demo_token = match (&migrator, demo) {
        (Some(migrator), true) => Some(
            tessera::demo::provision(&app, migrator, &roles, &db.keyring, set.tenant_latest())
                .await?,
        ),
        _ => None,
    };
    // The request path never holds the migrator role.
    if let Some(migrator) = migrator {
        migrator.close().await;
    }
    let tenant_schema = tessera::graphql::build_tenant_schema(&cfg.limits)?;
    let global_schema = tessera::graphql::build_global_schema(&cfg.limits)?;
    let interval = std::time::Duration::from_secs(cfg.audit_checkpoint_interval_secs.max(1));
    let job = tokio::spawn(audit::job::run(app.clone(), db.keyring.clone(), interval));
    let state =
        tessera::http::AppState::new(app, tenant_schema, global_schema, db.keyring.clone(), cfg)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    // One signal fans out to the server (stop accepting, drain) and the worker (finish the
    // job under way, take no new one).
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let worker = tokio::spawn(
        state
            .worker(cfg.jobs.clone())
            .run_until(stopped(stop_rx.clone())),
    );
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
    let mut server = tokio::spawn(tessera::http::serve(listener, state, stopped(stop_rx)));
    tokio::select! {
        () = shutdown_signal() => {}
        ended = &mut server => {
            // The server stopped by itself (an accept error): nothing to drain.
            worker.abort();
            job.abort();
            return match ended {
                Ok(Ok(())) => Ok(std::process::ExitCode::SUCCESS),
                Ok(Err(e)) => Err(e.into()),
                Err(e) => Err(anyhow::anyhow!("server task: {e}")),
            };
        }
    }
    let _ = stop_tx.send(true);
    job.abort();
    let grace = std::time::Duration::from_secs(cfg.shutdown_grace_secs);
    let drained = tokio::time::timeout(grace, async {
        let served = server.await;
        let _ = worker.await;
        served
    })
    .await;
    match drained {
        Ok(Ok(Ok(()))) => tracing::info!("drained; exiting"),
        Ok(Ok(Err(e))) => return Err(e.into()),
        Ok(Err(e)) => return Err(anyhow::anyhow!("server task: {e}")),
        Err(_) => tracing::warn!(
            grace_secs = cfg.shutdown_grace_secs,
            "grace period over with work in flight; exiting (a cut-off job is retried after its lease)"
        ),
    }
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
