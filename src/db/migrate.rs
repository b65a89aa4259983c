//! The migration runner: `public` first, then the template schema, then every tenant schema.
//!
//! Invariants:
//! - Each tenant schema migrates in its own transaction, and its version lives in its
//!   `public.tenants` row, updated in that same transaction. A run killed at any point
//!   leaves every schema either fully at its old version or fully at the new one, and the
//!   next run continues with whatever is behind.
//! - Finding the work is one query over `public.tenants` (`schema_version < latest`), so a
//!   no-op run over ten thousand current schemas costs one round trip, not one per schema.
//! - A failing tenant records its error on its row and does not stop the others.
//! - Applied migrations are checksummed; editing one after it ran is refused.

use std::collections::HashMap;
use std::path::Path;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use super::{RoleNames, quote_ident};

/// Schema every new tenant is cloned from.
pub const TEMPLATE_SCHEMA: &str = "tessera_template";
/// Serialises the public and template phases of concurrent runs.
const MIGRATION_LOCK_KEY: i64 = 0x7e55_e4a0;

const EMBEDDED_PUBLIC: &[(&str, &str)] = &[
    (
        "0001_core.sql",
        include_str!("../../migrations/public/0001_core.sql"),
    ),
    (
        "0002_audit.sql",
        include_str!("../../migrations/public/0002_audit.sql"),
    ),
    (
        "0003_tenant_secrets.sql",
        include_str!("../../migrations/public/0003_tenant_secrets.sql"),
    ),
    (
        "0004_sessions.sql",
        include_str!("../../migrations/public/0004_sessions.sql"),
    ),
    (
        "0005_second_factors.sql",
        include_str!("../../migrations/public/0005_second_factors.sql"),
    ),
    (
        "0006_passkeys.sql",
        include_str!("../../migrations/public/0006_passkeys.sql"),
    ),
    (
        "0007_sso.sql",
        include_str!("../../migrations/public/0007_sso.sql"),
    ),
    (
        "0008_deletion.sql",
        include_str!("../../migrations/public/0008_deletion.sql"),
    ),
    (
        "0009_jobs.sql",
        include_str!("../../migrations/public/0009_jobs.sql"),
    ),
    (
        "0010_readiness.sql",
        include_str!("../../migrations/public/0010_readiness.sql"),
    ),
    (
        "0011_webhook_jobs.sql",
        include_str!("../../migrations/public/0011_webhook_jobs.sql"),
    ),
    (
        "0012_clone_through_indexes.sql",
        include_str!("../../migrations/public/0012_clone_through_indexes.sql"),
    ),
    (
        "0013_enter.sql",
        include_str!("../../migrations/public/0013_enter.sql"),
    ),
    (
        "0014_team_lifecycle.sql",
        include_str!("../../migrations/public/0014_team_lifecycle.sql"),
    ),
    (
        "0015_tenant_role_pool.sql",
        include_str!("../../migrations/public/0015_tenant_role_pool.sql"),
    ),
    (
        "0016_audit_retention.sql",
        include_str!("../../migrations/public/0016_audit_retention.sql"),
    ),
    (
        "0017_freeze.sql",
        include_str!("../../migrations/public/0017_freeze.sql"),
    ),
    (
        "0018_audit_anchors.sql",
        include_str!("../../migrations/public/0018_audit_anchors.sql"),
    ),
    (
        "0019_enter_replan.sql",
        include_str!("../../migrations/public/0019_enter_replan.sql"),
    ),
    (
        "0020_citus.sql",
        include_str!("../../migrations/public/0020_citus.sql"),
    ),
    (
        "0021_ip_allowlist.sql",
        include_str!("../../migrations/public/0021_ip_allowlist.sql"),
    ),
    (
        "0022_scim.sql",
        include_str!("../../migrations/public/0022_scim.sql"),
    ),
    (
        "0023_inline_allowlist.sql",
        include_str!("../../migrations/public/0023_inline_allowlist.sql"),
    ),
];
const EMBEDDED_TENANT: &[(&str, &str)] = &[
    (
        "0001_work.sql",
        include_str!("../../migrations/tenant/0001_work.sql"),
    ),
    (
        "0002_history.sql",
        include_str!("../../migrations/tenant/0002_history.sql"),
    ),
    (
        "0003_attachments.sql",
        include_str!("../../migrations/tenant/0003_attachments.sql"),
    ),
    (
        "0004_exports.sql",
        include_str!("../../migrations/tenant/0004_exports.sql"),
    ),
    (
        "0005_idempotency.sql",
        include_str!("../../migrations/tenant/0005_idempotency.sql"),
    ),
    (
        "0006_webhooks.sql",
        include_str!("../../migrations/tenant/0006_webhooks.sql"),
    ),
    (
        "0007_export_cancel.sql",
        include_str!("../../migrations/tenant/0007_export_cancel.sql"),
    ),
    (
        "0008_scim.sql",
        include_str!("../../migrations/tenant/0008_scim.sql"),
    ),
    (
        "0009_scim_groups.sql",
        include_str!("../../migrations/tenant/0009_scim_groups.sql"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("invalid migration file {0}: expected NNNN_name.sql with versions 1, 2, 3, ...")]
    BadFile(String),
    #[error("cannot read migrations: {0}")]
    Io(#[from] std::io::Error),
    #[error("{scope} migration {version} was changed after it was applied (checksum mismatch)")]
    Edited { scope: &'static str, version: i32 },
    #[error("the database is at {scope} version {found}, newer than this binary knows ({known})")]
    Newer {
        scope: &'static str,
        found: i32,
        known: i32,
    },
}

#[derive(Debug, Clone)]
pub struct Migration {
    pub version: i32,
    pub name: String,
    pub sql: String,
    pub checksum: String,
}

#[derive(Debug, Clone)]
pub struct MigrationSet {
    pub public: Vec<Migration>,
    pub tenant: Vec<Migration>,
}

fn parse_set(files: Vec<(String, String)>) -> Result<Vec<Migration>, MigrateError> {
    let mut out = Vec::with_capacity(files.len());
    for (file, sql) in files {
        let stem = file
            .strip_suffix(".sql")
            .ok_or_else(|| MigrateError::BadFile(file.clone()))?;
        let (num, name) = stem
            .split_once('_')
            .ok_or_else(|| MigrateError::BadFile(file.clone()))?;
        let version: i32 = num
            .parse()
            .map_err(|_| MigrateError::BadFile(file.clone()))?;
        let checksum = hex::encode(Sha256::digest(sql.as_bytes()));
        out.push(Migration {
            version,
            name: name.to_owned(),
            sql,
            checksum,
        });
    }
    out.sort_by_key(|m| m.version);
    for (i, m) in out.iter().enumerate() {
        if usize::try_from(m.version).ok() != Some(i + 1) {
            return Err(MigrateError::BadFile(format!(
                "{:04}_{}.sql",
                m.version, m.name
            )));
        }
    }
    Ok(out)
}

impl MigrationSet {
    /// The migrations compiled into the binary.
    pub fn embedded() -> Result<Self, MigrateError> {
        let own = |list: &[(&str, &str)]| {
            list.iter()
                .map(|(f, s)| ((*f).to_owned(), (*s).to_owned()))
                .collect::<Vec<_>>()
        };
        Ok(Self {
            public: parse_set(own(EMBEDDED_PUBLIC))?,
            tenant: parse_set(own(EMBEDDED_TENANT))?,
        })
    }

    /// Migrations read from `dir/public` and `dir/tenant`.
    pub fn from_dir(dir: &Path) -> Result<Self, MigrateError> {
        let read = |sub: &str| -> Result<Vec<(String, String)>, MigrateError> {
            let mut files = Vec::new();
            for entry in std::fs::read_dir(dir.join(sub))? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".sql") {
                    files.push((name, std::fs::read_to_string(entry.path())?));
                }
            }
            Ok(files)
        };
        Ok(Self {
            public: parse_set(read("public")?)?,
            tenant: parse_set(read("tenant")?)?,
        })
    }

    /// The embedded set, or the one in `dir` when configured.
    pub fn load(dir: Option<&Path>) -> Result<Self, MigrateError> {
        match dir {
            Some(d) => Self::from_dir(d),
            None => Self::embedded(),
        }
    }

    pub fn public_latest(&self) -> i32 {
        self.public.last().map_or(0, |m| m.version)
    }

    pub fn tenant_latest(&self) -> i32 {
        self.tenant.last().map_or(0, |m| m.version)
    }
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct MigrateReport {
    pub public_applied: usize,
    pub template_version: i32,
    /// Tenants found behind the latest version by the single discovery query.
    pub tenants_pending: usize,
    pub tenants_migrated: usize,
    pub failures: Vec<TenantFailure>,
}

#[derive(Debug, Clone)]
pub struct TenantFailure {
    pub slug: String,
    pub error: String,
}

/// One tenant's migration state, as `migrate --status` prints it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TenantStatus {
    pub slug: String,
    pub schema_version: i32,
    pub state: String,
    pub migration_error: Option<String>,
}

/// Fills in the configured role names: `{{migrator}}`, `{{app}}` and `{{tenant_group}}` as
/// quoted identifiers; `{{app_name}}`, `{{tenant_group_name}}` and `{{tenant_role_prefix}}`
/// (what every workspace role's name starts with) as string literals, for functions that
/// build statements naming roles. Every name is a validated prefix plus a fixed suffix.
fn substitute(sql: &str, roles: &RoleNames) -> String {
    let literal = |s: &str| format!("'{}'", s.replace('\'', "''"));
    sql.replace("{{migrator}}", &quote_ident(&roles.migrator))
        .replace("{{app}}", &quote_ident(&roles.app))
        .replace("{{tenant_group}}", &quote_ident(&roles.tenant_group))
        .replace("{{app_name}}", &literal(&roles.app))
        .replace("{{tenant_group_name}}", &literal(&roles.tenant_group))
        .replace(
            "{{tenant_role_prefix}}",
            &literal(&roles.tenant_role_prefix()),
        )
}

/// Applies everything pending. Must run with the migrator pool.
pub async fn run(
    pool: &PgPool,
    roles: &RoleNames,
    set: &MigrationSet,
    concurrency: usize,
) -> Result<MigrateReport, MigrateError> {
    let mut report = MigrateReport {
        public_applied: migrate_public(pool, roles, set).await?,
        template_version: migrate_template(pool, set).await?,
        ..MigrateReport::default()
    };
    let latest = set.tenant_latest();
    // The one discovery query: current schemas cost nothing more.
    let pending: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT id, slug FROM public.tenants WHERE schema_version < $1 AND state <> 'purged' ORDER BY slug",
    )
    .bind(latest)
    .fetch_all(pool)
    .await?;
    report.tenants_pending = pending.len();
    let mut results = futures_util::stream::iter(pending)
        .map(|(id, slug)| async move {
            let res = migrate_tenant(pool, set, id, &slug).await;
            (id, slug, res)
        })
        .buffer_unordered(concurrency.max(1));
    while let Some((id, slug, res)) = results.next().await {
        match res {
            Ok(true) => report.tenants_migrated += 1,
            Ok(false) => {}
            Err(e) => {
                let error = e.to_string();
                tracing::warn!(tenant = %slug, %error, "tenant migration failed");
                sqlx::query(
                    "UPDATE public.tenants SET migration_error = $2, migration_failed_at = now() WHERE id = $1",
                )
                .bind(id)
                .bind(&error)
                .execute(pool)
                .await?;
                report.failures.push(TenantFailure { slug, error });
            }
        }
    }
    report.failures.sort_by(|a, b| a.slug.cmp(&b.slug));
    // The pool of ready workspace roles (`super::fill_role_pool`; the function exists once
    // the shared schema is migrated).
    let _: i32 = sqlx::query_scalar("SELECT public.tessera_role_pool_fill($1)")
        .bind(super::ROLE_POOL_TARGET)
        .fetch_one(pool)
        .await?;
    Ok(report)
}

async fn migrate_public(
    pool: &PgPool,
    roles: &RoleNames,
    set: &MigrationSet,
) -> Result<usize, MigrateError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    let has_table: bool =
        sqlx::query_scalar("SELECT to_regclass('public.schema_migrations') IS NOT NULL")
            .fetch_one(&mut *tx)
            .await?;
    let applied: HashMap<(String, i32), String> = if has_table {
        sqlx::query_as::<_, (String, i32, String)>(
            "SELECT scope, version, checksum FROM public.schema_migrations",
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|(s, v, c)| ((s, v), c))
        .collect()
    } else {
        HashMap::new()
    };
    for (scope, list) in [("public", &set.public), ("tenant", &set.tenant)] {
        let known = list.last().map_or(0, |m| m.version);
        if let Some(found) = applied
            .keys()
            .filter(|(s, _)| s == scope)
            .map(|(_, v)| *v)
            .max()
            .filter(|v| *v > known)
        {
            return Err(MigrateError::Newer {
                scope,
                found,
                known,
            });
        }
        for m in list {
            if let Some(sum) = applied.get(&(scope.to_owned(), m.version))
                && *sum != m.checksum
            {
                return Err(MigrateError::Edited {
                    scope,
                    version: m.version,
                });
            }
        }
    }
    let mut count = 0;
    for m in &set.public {
        if applied.contains_key(&("public".to_owned(), m.version)) {
            continue;
        }
        sqlx::raw_sql(&substitute(&m.sql, roles))
            .execute(&mut *tx)
            .await?;
        record(&mut tx, "public", m).await?;
        count += 1;
    }
    for m in &set.tenant {
        if !applied.contains_key(&("tenant".to_owned(), m.version)) {
            record(&mut tx, "tenant", m).await?;
        }
    }
    tx.commit().await?;
    Ok(count)
}

async fn record(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    scope: &str,
    m: &Migration,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO public.schema_migrations (scope, version, name, checksum) VALUES ($1, $2, $3, $4)",
    )
    .bind(scope)
    .bind(m.version)
    .bind(&m.name)
    .bind(&m.checksum)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn migrate_template(pool: &PgPool, set: &MigrationSet) -> Result<i32, MigrateError> {
    let latest = set.tenant_latest();
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    let current: Option<i32> =
        sqlx::query_scalar("SELECT version FROM public.template_state FOR UPDATE")
            .fetch_optional(&mut *tx)
            .await?;
    let from = match current {
        Some(v) if v >= latest => return Ok(v),
        Some(v) => v,
        None => {
            sqlx::raw_sql(&format!("CREATE SCHEMA {}", quote_ident(TEMPLATE_SCHEMA)))
                .execute(&mut *tx)
                .await?;
            0
        }
    };
    apply_tenant_migrations(&mut tx, set, TEMPLATE_SCHEMA, from).await?;
    sqlx::query(
        "INSERT INTO public.template_state (singleton, version) VALUES (true, $1)
         ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version",
    )
    .bind(latest)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(latest)
}

async fn apply_tenant_migrations(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    set: &MigrationSet,
    schema: &str,
    from: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "SELECT set_config('search_path', $1, true), set_config('lock_timeout', '10s', true)",
    )
    .bind(quote_ident(schema))
    .execute(&mut **tx)
    .await?;
    // Statement by statement: Citus forwards DDL on a distributed schema with the text it
    // came in and refuses a text of several commands (see `sql_split`).
    for m in set.tenant.iter().filter(|m| m.version > from) {
        for statement in super::sql_split::statements(&m.sql) {
            sqlx::raw_sql(statement).execute(&mut **tx).await?;
        }
    }
    Ok(())
}

/// Migrates one tenant schema in its own transaction. `Ok(false)`: already current.
async fn migrate_tenant(
    pool: &PgPool,
    set: &MigrationSet,
    id: Uuid,
    slug: &str,
) -> Result<bool, sqlx::Error> {
    let latest = set.tenant_latest();
    let mut tx = pool.begin().await?;
    // Row lock: two concurrent runs never migrate the same schema twice.
    let Some(version): Option<i32> =
        sqlx::query_scalar("SELECT schema_version FROM public.tenants WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
    else {
        return Ok(false);
    };
    if version >= latest {
        return Ok(false);
    }
    apply_tenant_migrations(&mut tx, set, &crate::tenancy::schema_name(slug), version).await?;
    sqlx::query(
        "UPDATE public.tenants SET schema_version = $2, migration_error = NULL, migration_failed_at = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(latest)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Every tenant's version and last error.
pub async fn status(pool: &PgPool) -> Result<Vec<TenantStatus>, sqlx::Error> {
    sqlx::query_as(
        "SELECT slug, schema_version, state, migration_error FROM public.tenants ORDER BY slug",
    )
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_set_matches_the_migration_folders() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let from_disk = MigrationSet::from_dir(&root).map_err(|e| e.to_string());
        let embedded = MigrationSet::embedded().map_err(|e| e.to_string());
        let (Ok(disk), Ok(emb)) = (from_disk, embedded) else {
            panic!("migration sets must load");
        };
        let sums = |l: &[Migration]| l.iter().map(|m| m.checksum.clone()).collect::<Vec<_>>();
        assert_eq!(
            sums(&disk.public),
            sums(&emb.public),
            "add new public files to EMBEDDED_PUBLIC"
        );
        assert_eq!(
            sums(&disk.tenant),
            sums(&emb.tenant),
            "add new tenant files to EMBEDDED_TENANT"
        );
    }

    #[test]
    fn gaps_and_bad_names_are_refused() {
        let gap = parse_set(vec![("0002_x.sql".into(), String::new())]);
        assert!(matches!(gap, Err(MigrateError::BadFile(_))));
        let bad = parse_set(vec![("one.sql".into(), String::new())]);
        assert!(matches!(bad, Err(MigrateError::BadFile(_))));
    }
}
