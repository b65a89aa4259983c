use tessera::tenancy::{self, Slug, TenancyError};

use crate::helpers::{TestDb, admin_url};

#[tokio::test]
async fn creating_a_workspace_makes_row_schema_and_confined_role() {
    let db = TestDb::new().await;
    let t = db.create_tenant("acme").await;
    assert_eq!(t.schema_version, db.set.tenant_latest());
    let (login, bypass, inherit): (bool, bool, bool) = sqlx::query_as(
        "SELECT rolcanlogin, rolbypassrls, rolinherit FROM pg_roles WHERE rolname = $1",
    )
    .bind(&t.db_role)
    .fetch_one(&db.migrator)
    .await
    .unwrap();
    // On Citus the role logs in to the workers (as Citus connects there as the current
    // user), with no password: only the workers' pg_hba rule for the coordinator lets it in.
    let citus = crate::citus::workers().is_some();
    assert!(
        login == citus && !bypass && inherit,
        "tenant role must be NOLOGIN (LOGIN without a password on Citus) NOBYPASSRLS"
    );
    let mut su =
        tessera::db::admin_connect_url(&db.migrator_url.replace(&db.roles.migrator, "postgres"))
            .await
            .unwrap();
    let password: Option<String> =
        sqlx::query_scalar("SELECT rolpassword FROM pg_authid WHERE rolname = $1")
            .bind(&t.db_role)
            .fetch_one(&mut su)
            .await
            .unwrap();
    assert!(password.is_none(), "a workspace role has no password");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'tenant_acme' ORDER BY 1",
    )
    .fetch_all(&db.migrator)
    .await
    .unwrap();
    assert_eq!(
        tables,
        [
            "attachments",
            "exports",
            "goals",
            "ideas",
            "idempotency_keys",
            "projects",
            "records",
            "scim_group_members",
            "scim_groups",
            "scim_users",
            "team_members",
            "teams",
            "versions",
            "webhook_attempts",
            "webhook_endpoints",
            "webhook_messages"
        ]
    );
    // The tenant role may use its own schema and no other.
    let own: bool = sqlx::query_scalar("SELECT has_schema_privilege($1, 'tenant_acme', 'USAGE')")
        .bind(&t.db_role)
        .fetch_one(&db.migrator)
        .await
        .unwrap();
    let template: bool =
        sqlx::query_scalar("SELECT has_schema_privilege($1, 'tessera_template', 'USAGE')")
            .bind(&t.db_role)
            .fetch_one(&db.migrator)
            .await
            .unwrap();
    assert!(own && !template);
    // The runtime role owns nothing and does not bypass RLS.
    let (app_bypass, app_inherit): (bool, bool) =
        sqlx::query_as("SELECT rolbypassrls, rolinherit FROM pg_roles WHERE rolname = $1")
            .bind(&db.roles.app)
            .fetch_one(&db.migrator)
            .await
            .unwrap();
    assert!(!app_bypass && !app_inherit);
    let owned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1",
    )
    .bind(&db.roles.app)
    .fetch_one(&db.migrator)
    .await
    .unwrap();
    assert_eq!(owned, 0);
}

#[tokio::test]
async fn a_second_create_of_the_same_slug_is_a_conflict() {
    let db = TestDb::new().await;
    db.create_tenant("acme").await;
    let slug = Slug::parse("acme").unwrap();
    let again = tenancy::create_tenant(
        &db.owner,
        &db.keyring,
        &slug,
        "Again",
        db.set.tenant_latest(),
    )
    .await;
    assert!(matches!(again, Err(TenancyError::Conflict)), "{again:?}");
}

#[tokio::test]
async fn bad_slugs_never_reach_the_database() {
    for bad in [
        "ab",
        "Acme",
        "9lives",
        "a-b-c",
        "acme;drop",
        "public",
        "pg_x",
        "tessera",
        "tenant",
    ] {
        assert!(Slug::parse(bad).is_err(), "{bad}");
    }
    // Through the CLI too: a clear message and a failing exit code.
    let db = TestDb::new().await;
    let out = cli(&db, &["tenant", "create", "Bad-Slug", "--name", "x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("slug"));
}

#[tokio::test]
async fn a_failure_midway_leaves_nothing_behind() {
    let db = TestDb::new().await;
    // Force a failure at CREATE SCHEMA, after the row and the role were created.
    let mut admin = tessera::db::admin_connect_url(&admin_url()).await.unwrap();
    let url = db.migrator_url.replace(&db.roles.migrator, "postgres");
    let mut owner = tessera::db::admin_connect_url(&url).await.unwrap();
    sqlx::raw_sql("CREATE SCHEMA tenant_clash")
        .execute(&mut owner)
        .await
        .unwrap();
    let roles_before: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_roles WHERE rolname LIKE $1")
            .bind(db.roles.tenant_role_pattern())
            .fetch_one(&mut admin)
            .await
            .unwrap();
    let slug = Slug::parse("clash").unwrap();
    let res = tenancy::create_tenant(
        &db.owner,
        &db.keyring,
        &slug,
        "Clash",
        db.set.tenant_latest(),
    )
    .await;
    assert!(matches!(res, Err(TenancyError::Db(_))), "{res:?}");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM public.tenants WHERE slug = 'clash'")
        .fetch_one(&db.migrator)
        .await
        .unwrap();
    let roles_after: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_roles WHERE rolname LIKE $1")
            .bind(db.roles.tenant_role_pattern())
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert_eq!((rows, roles_after), (0, roles_before));
    // Once the obstacle is gone the same slug provisions normally.
    sqlx::raw_sql("DROP SCHEMA tenant_clash")
        .execute(&mut owner)
        .await
        .unwrap();
    tenancy::create_tenant(
        &db.owner,
        &db.keyring,
        &slug,
        "Clash",
        db.set.tenant_latest(),
    )
    .await
    .unwrap();
}

/// The catalog of a schema, with the schema name removed, for comparison.
async fn catalog(db: &TestDb, schema: &str) -> Vec<String> {
    let q = "
        SELECT 'col ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
               || ' ' || coalesce(column_default, '')
        FROM information_schema.columns WHERE table_schema = $1
        UNION ALL
        SELECT 'con ' || c.relname || ' ' || con.conname || ' ' || pg_get_constraintdef(con.oid)
        FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1
        UNION ALL
        SELECT 'idx ' || indexname || ' ' || replace(indexdef, $1 || '.', '')
        FROM pg_indexes WHERE schemaname = $1
        ORDER BY 1";
    let rows: Vec<String> = sqlx::query_scalar(q)
        .bind(schema)
        .fetch_all(&db.migrator)
        .await
        .unwrap();
    rows.into_iter()
        .map(|r| r.replace(schema, "<schema>"))
        .collect()
}

#[tokio::test]
async fn a_cloned_schema_matches_the_migrated_template() {
    let db = TestDb::new().await;
    db.create_tenant("cloned").await;
    let template = catalog(&db, "tessera_template").await;
    let cloned = catalog(&db, "tenant_cloned").await;
    assert!(
        template.len() > 40,
        "catalog too small to mean anything: {}",
        template.len()
    );
    assert_eq!(template, cloned);
}

#[tokio::test]
async fn a_template_holding_what_the_clone_cannot_copy_fails_loudly() {
    let db = TestDb::new().await;
    for (create, drop) in [
        (
            "CREATE VIEW tessera_template.v AS SELECT 1 AS one",
            "DROP VIEW tessera_template.v",
        ),
        (
            "CREATE FUNCTION tessera_template.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "DROP FUNCTION tessera_template.f()",
        ),
        (
            "CREATE SEQUENCE tessera_template.s",
            "DROP SEQUENCE tessera_template.s",
        ),
        (
            "CREATE FUNCTION public.tt_trg() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
             CREATE TRIGGER t BEFORE INSERT ON tessera_template.teams FOR EACH ROW EXECUTE FUNCTION public.tt_trg()",
            "DROP TRIGGER t ON tessera_template.teams; DROP FUNCTION public.tt_trg()",
        ),
    ] {
        sqlx::raw_sql(create).execute(&db.migrator).await.unwrap();
        let err = tenancy::create_tenant(
            &db.owner,
            &db.keyring,
            &Slug::parse("refused").unwrap(),
            "Refused",
            db.set.tenant_latest(),
        )
        .await
        .expect_err(create);
        assert!(format!("{err:?}").contains("cannot copy"), "{create}: {err:?}");
        sqlx::raw_sql(drop).execute(&db.migrator).await.unwrap();
    }
    // With the template clean again, provisioning works.
    db.create_tenant("accepted").await;
}

#[tokio::test]
async fn the_cli_provisions_adds_members_and_mints_a_token_shown_once() {
    let db = TestDb::new().await;
    let out = cli(&db, &["tenant", "create", "from_cli", "--name", "From CLI"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = cli(&db, &["tenant", "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("from_cli"));
    let add = cli(
        &db,
        &[
            "user", "add", "--tenant", "from_cli", "--email", "a@x.test", "--role", "admin",
        ],
    );
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let tok = cli(
        &db,
        &[
            "token",
            "create",
            "--tenant",
            "from_cli",
            "--user",
            "a@x.test",
            "--scope",
            "read,write",
        ],
    );
    assert!(
        tok.status.success(),
        "{}",
        String::from_utf8_lossy(&tok.stderr)
    );
    let token = String::from_utf8_lossy(&tok.stdout).trim().to_owned();
    assert!(token.starts_with("tsr_") && token.len() == 47, "{token}");
    // Only the hash is stored.
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM public.api_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
    )
    .bind(&token)
    .fetch_one(&db.migrator)
    .await
    .unwrap();
    assert_eq!(stored, 1);
    let bad_scope = cli(
        &db,
        &[
            "token", "create", "--tenant", "from_cli", "--user", "a@x.test", "--scope", "root",
        ],
    );
    assert!(!bad_scope.status.success());
    let not_member = cli(
        &db,
        &[
            "token",
            "create",
            "--tenant",
            "from_cli",
            "--user",
            "nobody@x.test",
        ],
    );
    assert!(!not_member.status.success());
}

/// Runs the real binary against the test database.
pub fn cli(db: &TestDb, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("TESSERA_DATABASE_URL", &db.app_url)
        .env("TESSERA_MIGRATOR_DATABASE_URL", &db.migrator_url)
        .env("TESSERA_ROLE_PREFIX", &db.name)
        .env("TESSERA_MASTER_KEY", &db.master_key_b64)
        .env("TESSERA_DATA_DIR", &db.blob_dir)
        .env("TESSERA_LOG", "warn")
        .env_remove("TESSERA_CONFIG")
        .output()
        .unwrap()
}
