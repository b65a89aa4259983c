//! The database a command works on: configured URLs, or the embedded cluster; the master key;
//! and, for operator commands, the migrator pool with the helpers they share.

use anyhow::{Context as _, bail};

use crate::audit::{self, EntryMeta, NewEntry};
use crate::config::Config;
use crate::crypto::{Keyring, MasterKey};
use crate::db;
use crate::db::RoleNames;
use crate::db::connect_migrator_pool;
use crate::db::embedded::EmbeddedCluster;
use crate::db::migrate::MigrationSet;
use crate::tenancy::Slug;

/// Database URLs, from configuration or the embedded cluster.
pub(super) struct Database {
    pub(super) app_url: String,
    /// Absent when only the runtime URL is configured: enough for `serve` with
    /// `migrate_on_start = false` (migrations then run from a separate job).
    pub(super) migrator_url: Option<String>,
    pub(super) keyring: Keyring,
    pub(super) embedded: Option<EmbeddedCluster>,
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
    pub(super) async fn open(cfg: &Config) -> anyhow::Result<Self> {
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

    pub(super) fn close(&self) {
        if let Some(c) = &self.embedded {
            c.stop();
        }
    }
}

impl Database {
    /// The migrator pool (needs the migrator URL).
    pub(super) async fn connect_migrator(
        &self,
        cfg: &Config,
    ) -> anyhow::Result<crate::db::MigratorPool> {
        let url = self
            .migrator_url
            .as_deref()
            .context("this needs the migrator role: set TESSERA_MIGRATOR_DATABASE_URL")?;
        connect_migrator_pool(cfg, url)
            .await
            .context("connecting as the migrator")
    }
}

/// What an operator command works with: the configuration, the master key, the migrations
/// this binary carries, and the migrator pool.
pub(super) struct Operator<'a> {
    pub cfg: &'a Config,
    pub keyring: &'a Keyring,
    pub roles: RoleNames,
    pub set: MigrationSet,
    pub migrator: crate::db::MigratorPool,
}

impl<'a> Operator<'a> {
    pub(super) async fn new(cfg: &'a Config, db: &'a Database) -> anyhow::Result<Self> {
        Ok(Self {
            cfg,
            keyring: &db.keyring,
            roles: cfg.roles(),
            set: MigrationSet::load(cfg.migrations_dir.as_deref())?,
            migrator: db.connect_migrator(cfg).await?,
        })
    }

    /// A workspace's id by slug.
    pub(super) async fn tenant_id(&self, slug: &str) -> anyhow::Result<uuid::Uuid> {
        let slug = Slug::parse(slug)?;
        db::query_scalar("SELECT id FROM public.tenants WHERE slug = $1")
            .bind(slug.as_str())
            .fetch_optional(&mut *self.migrator.acquire().await?)
            .await?
            .context("no such workspace")
    }

    /// Every workspace, by slug.
    pub(super) async fn all_tenants(&self) -> anyhow::Result<Vec<(uuid::Uuid, String)>> {
        Ok(
            db::query_as("SELECT id, slug FROM public.tenants ORDER BY slug")
                .fetch_all(&mut *self.migrator.acquire().await?)
                .await?,
        )
    }

    /// How many days the workspace keeps its audit entries (and its anchors).
    pub(super) async fn retention_days(&self, tenant_id: uuid::Uuid) -> anyhow::Result<i64> {
        let days: i32 =
            db::query_scalar("SELECT audit_retention_days FROM public.tenants WHERE id = $1")
                .bind(tenant_id)
                .fetch_one(&mut *self.migrator.acquire().await?)
                .await?;
        Ok(i64::from(days))
    }

    /// Appends an entry for an operator action taken through the command line.
    pub(super) async fn audit(
        &self,
        conn: &mut crate::db::Conn,
        tenant_id: uuid::Uuid,
        entry: NewEntry<'_>,
    ) -> anyhow::Result<()> {
        audit::append(
            conn,
            self.keyring,
            tenant_id,
            crate::Clock::now(&crate::SystemClock),
            &EntryMeta::system("cli"),
            entry,
        )
        .await
        .map_err(|e| anyhow::anyhow!("audit: {e}"))?;
        Ok(())
    }
}
