//! Migrating many tenant schemas: resumable, isolated failures, cheap no-ops.

use futures_util::StreamExt;
use tessera::db::migrate::{self, MigrationSet};

use crate::helpers::{TestDb, migrations_with};
use crate::provisioning::cli;

/// The version a new tenant migration gets: one past the embedded ones.
fn next(db: &TestDb) -> i32 {
    db.set.tenant_latest() + 1
}

/// Two statements: on Citus, a text of several DDL commands cannot be forwarded to the
/// workers, so this also proves the runner applies them one by one.
const PRIORITY_SQL: &str = "ALTER TABLE projects ADD COLUMN priority integer NOT NULL DEFAULT 0;\n\
                            CREATE INDEX projects_priority_idx ON projects (priority);\n";

fn add_priority(db: &TestDb) -> String {
    format!("{:04}_project_priority.sql", next(db))
}

async fn create_many(db: &TestDb, prefix: &str, n: usize) {
    futures_util::stream::iter(0..n)
        .map(|i| async move { db.create_tenant(&format!("{prefix}{i:04}")).await })
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;
}

async fn count_with_priority(db: &TestDb) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.columns
         WHERE table_schema LIKE 'tenant\\_%' AND table_name = 'projects' AND column_name = 'priority'",
    )
    .fetch_one(&db.migrator)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_new_tenant_migration_reaches_every_schema_and_a_no_op_run_does_no_per_schema_work() {
    let db = TestDb::new().await;
    create_many(&db, "t", 200).await;
    let v = next(&db);
    let name = add_priority(&db);
    let (_dir, path) = migrations_with(&[(&name, PRIORITY_SQL)]);
    let set = MigrationSet::from_dir(&path).unwrap();
    let report = migrate::run(&db.migrator, &db.roles, &set, 4)
        .await
        .unwrap();
    assert_eq!(
        (
            report.tenants_pending,
            report.tenants_migrated,
            report.failures.len()
        ),
        (200, 200, 0)
    );
    assert_eq!(report.template_version, v);
    assert_eq!(count_with_priority(&db).await, 200);
    // Nothing to do: the single discovery query finds no tenant behind.
    let again = migrate::run(&db.migrator, &db.roles, &set, 4)
        .await
        .unwrap();
    assert_eq!(
        (
            again.public_applied,
            again.tenants_pending,
            again.tenants_migrated
        ),
        (0, 0, 0)
    );
    // New workspaces are cloned from the migrated template.
    let slug = tessera::tenancy::Slug::parse("after").unwrap();
    let t = tessera::tenancy::create_tenant(&db.owner, &db.keyring, &slug, "After", v)
        .await
        .unwrap();
    assert_eq!(t.schema_version, v);
    assert_eq!(count_with_priority(&db).await, 201);
    // Editing an applied migration is refused.
    let (_dir2, edited) = migrations_with(&[(&name, "ALTER TABLE projects ADD COLUMN p2 int;")]);
    let err = migrate::run(
        &db.migrator,
        &db.roles,
        &MigrationSet::from_dir(&edited).unwrap(),
        4,
    )
    .await;
    assert!(
        matches!(err, Err(migrate::MigrateError::Edited { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_run_killed_midway_resumes_and_finishes() {
    let db = TestDb::new().await;
    const N: i64 = 80;
    create_many(&db, "k", N as usize).await;
    let v = next(&db);
    let slow = format!("{v:04}_slow.sql");
    let (_dir, path) = migrations_with(&[(
        &slow,
        "SELECT pg_sleep(0.05);\nALTER TABLE projects ADD COLUMN priority integer NOT NULL DEFAULT 0;\n",
    )]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("migrate")
        .env("TESSERA_DATABASE_URL", &db.app_url)
        .env("TESSERA_MIGRATOR_DATABASE_URL", &db.migrator_url)
        .env("TESSERA_ROLE_PREFIX", &db.name)
        .env("TESSERA_MASTER_KEY", &db.master_key_b64)
        .env("TESSERA_DATA_DIR", &db.blob_dir)
        .env("TESSERA_MIGRATIONS_DIR", &path)
        .env("TESSERA_MIGRATE_CONCURRENCY", "2")
        .env("TESSERA_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let done = |db: &TestDb| {
        let pool = db.migrator.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM public.tenants WHERE schema_version = $1",
            )
            .bind(v)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while done(&db).await < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "migration never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // A COMMIT the killed process had already sent may still land, so read both the version
    // records and the DDL in one statement (one snapshot): every schema is either fully old
    // or fully new.
    let (after_kill, with_column): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM public.tenants WHERE schema_version = $1),
                (SELECT count(*) FROM information_schema.columns
                 WHERE table_schema LIKE 'tenant\\_%' AND table_name = 'projects' AND column_name = 'priority')",
    )
    .bind(v)
    .fetch_one(&db.migrator)
    .await
    .unwrap();
    assert!(
        after_kill > 0 && after_kill < N,
        "killed midway: {after_kill} of {N}"
    );
    assert_eq!(with_column, after_kill);
    let out = cli_with_dir(&db, &path, &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(done(&db).await, N);
    assert_eq!(count_with_priority(&db).await, N);
}

#[tokio::test]
async fn a_failing_tenant_is_reported_and_the_others_migrate() {
    let db = TestDb::new().await;
    create_many(&db, "f", 30).await;
    // Sabotage one schema so that the new migration cannot apply there.
    sqlx::raw_sql("ALTER TABLE tenant_f0007.projects ADD COLUMN priority text")
        .execute(&db.migrator)
        .await
        .unwrap();
    let v = next(&db);
    let name = add_priority(&db);
    let (_dir, path) = migrations_with(&[(&name, PRIORITY_SQL)]);
    let set = MigrationSet::from_dir(&path).unwrap();
    let report = migrate::run(&db.migrator, &db.roles, &set, 4)
        .await
        .unwrap();
    assert_eq!(report.tenants_migrated, 29);
    assert_eq!(
        report
            .failures
            .iter()
            .map(|f| f.slug.as_str())
            .collect::<Vec<_>>(),
        ["f0007"]
    );
    let status = migrate::status(&db.migrator).await.unwrap();
    let bad = status.iter().find(|s| s.slug == "f0007").unwrap();
    assert_eq!(bad.schema_version, v - 1);
    assert!(
        bad.migration_error
            .as_deref()
            .unwrap_or("")
            .contains("priority")
    );
    assert!(
        status
            .iter()
            .filter(|s| s.slug != "f0007")
            .all(|s| s.schema_version == v && s.migration_error.is_none())
    );
    // `migrate --status` shows it, and the CLI exits non-zero while a tenant is failing.
    let out = cli_with_dir(&db, &path, &["migrate", "--status"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("f0007"));
    assert_eq!(
        cli_with_dir(&db, &path, &["migrate"]).status.code(),
        Some(2)
    );
    // Fixed, the next run completes it and clears the error.
    sqlx::raw_sql("ALTER TABLE tenant_f0007.projects DROP COLUMN priority")
        .execute(&db.migrator)
        .await
        .unwrap();
    let report = migrate::run(&db.migrator, &db.roles, &set, 4)
        .await
        .unwrap();
    assert_eq!((report.tenants_pending, report.tenants_migrated), (1, 1));
    let status = migrate::status(&db.migrator).await.unwrap();
    assert!(
        status
            .iter()
            .all(|s| s.schema_version == v && s.migration_error.is_none())
    );
    let _ = cli(&db, &["tenant", "list"]);
}

fn cli_with_dir(db: &TestDb, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("TESSERA_DATABASE_URL", &db.app_url)
        .env("TESSERA_MIGRATOR_DATABASE_URL", &db.migrator_url)
        .env("TESSERA_ROLE_PREFIX", &db.name)
        .env("TESSERA_MASTER_KEY", &db.master_key_b64)
        .env("TESSERA_DATA_DIR", &db.blob_dir)
        .env("TESSERA_MIGRATIONS_DIR", dir)
        .env("TESSERA_LOG", "warn")
        .output()
        .unwrap()
}
