//! Evidence that survives a database superuser: chained checkpoints (a removed or reordered
//! checkpoint is a break), entries no checkpoint covers reported once they are older than the
//! checkpoint interval, and retention that removes old entries only behind a signed anchor.

use chrono::Duration;
use serde_json::json;
use tessera::audit::{self, EntryMeta, NewEntry};

use crate::helpers::{TestApp, seed};

/// The wall clock, as the server reads it.
fn now() -> chrono::DateTime<chrono::Utc> {
    tessera::Clock::now(&tessera::SystemClock)
}

async fn verify(app: &TestApp, tenant: uuid::Uuid) -> audit::VerifyReport {
    let mut conn = app.db.migrator.acquire().await.unwrap();
    audit::verify(&mut conn, &app.db.keyring, tenant)
        .await
        .unwrap()
}

async fn checkpoint(app: &TestApp, tenant: uuid::Uuid) -> Option<i64> {
    let mut conn = app.db.migrator.acquire().await.unwrap();
    audit::checkpoint(&mut conn, &app.db.keyring, tenant)
        .await
        .unwrap()
}

/// The attacker: a superuser with the append-only triggers off.
async fn superuser(app: &TestApp, sql: &str, tenant: uuid::Uuid) {
    let url = app
        .db
        .migrator_url
        .replace(&app.db.roles.migrator, "postgres");
    let mut c = tessera::db::admin_connect_url(&url).await.unwrap();
    let sql = format!(
        "ALTER TABLE public.audit_log DISABLE TRIGGER USER;
         ALTER TABLE public.audit_checkpoints DISABLE TRIGGER USER;
         {}",
        sql.replace("$T", &format!("'{tenant}'"))
    );
    sqlx::raw_sql(&sql).execute(&mut c).await.unwrap();
}

async fn ideas(app: &TestApp, slug: &str, token: &str, n: usize) {
    for i in 0..n {
        app.ok(
            slug,
            token,
            "mutation($t: String!) { createIdea(input: {title: $t}) { id } }",
            json!({ "t": format!("idea {i}") }),
        )
        .await;
    }
}

/// Three checkpoints (counters 1, 2, 3), two entries apart; answers the last one's position.
async fn three_checkpoints() -> (TestApp, uuid::Uuid, i64) {
    let app = TestApp::spawn().await;
    let s = seed(&app, "evid").await;
    ideas(&app, "evid", &s.owner_token, 1).await;
    let first = checkpoint(&app, s.tenant.id).await.unwrap();
    ideas(&app, "evid", &s.owner_token, 2).await;
    assert_eq!(checkpoint(&app, s.tenant.id).await, Some(first + 2));
    ideas(&app, "evid", &s.owner_token, 2).await;
    assert_eq!(checkpoint(&app, s.tenant.id).await, Some(first + 4));
    let counters: Vec<i64> = sqlx::query_scalar(
        "SELECT counter FROM public.audit_checkpoints WHERE tenant_id = $1 ORDER BY counter",
    )
    .bind(s.tenant.id)
    .fetch_all(&app.db.migrator)
    .await
    .unwrap();
    assert_eq!(counters, [1, 2, 3]);
    let r = verify(&app, s.tenant.id).await;
    assert!(r.ok(), "{:?}", r.problem);
    assert_eq!(r.checkpoints, 3);
    (app, s.tenant.id, first + 4)
}

#[tokio::test]
async fn a_checkpoint_removed_from_the_middle_is_a_break() {
    let (app, tenant, last) = three_checkpoints().await;
    superuser(
        &app,
        "DELETE FROM public.audit_checkpoints WHERE tenant_id = $T AND counter = 2",
        tenant,
    )
    .await;
    let b = verify(&app, tenant).await.problem.expect("detected");
    assert!(b.reason.contains("checkpoint 2 is missing"), "{b:?}");
    assert_eq!(b.seq, last, "named at the checkpoint that no longer links");
}

#[tokio::test]
async fn reordered_checkpoints_are_a_break() {
    let (app, tenant, _) = three_checkpoints().await;
    superuser(
        &app,
        "UPDATE public.audit_checkpoints SET counter = 99 WHERE tenant_id = $T AND counter = 2;
         UPDATE public.audit_checkpoints SET counter = 2 WHERE tenant_id = $T AND counter = 3;
         UPDATE public.audit_checkpoints SET counter = 3 WHERE tenant_id = $T AND counter = 99",
        tenant,
    )
    .await;
    // The counter is signed: a renumbered checkpoint no longer verifies, and the chain of
    // digests no longer links.
    let b = verify(&app, tenant).await.problem.expect("detected");
    assert!(
        b.reason.contains("invalid signature") || b.reason.contains("does not link"),
        "{b:?}"
    );
}

/// The attack of the issue: delete the last entry, its checkpoint and rewind the head. The
/// database alone then looks consistent; what gives it away is entries older than the
/// checkpoint interval that no checkpoint covers.
#[tokio::test]
async fn removing_the_tail_with_its_checkpoint_leaves_entries_no_checkpoint_covers() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "tail").await;
    ideas(&app, "tail", &s.owner_token, 3).await;
    let head = checkpoint(&app, s.tenant.id).await.unwrap();
    superuser(
        &app,
        &format!(
            "DELETE FROM public.audit_log WHERE tenant_id = $T AND seq = {head};
             DELETE FROM public.audit_checkpoints WHERE tenant_id = $T;
             UPDATE public.audit_heads SET (seq, hash) =
                 (SELECT seq, hash FROM public.audit_log WHERE tenant_id = $T AND seq = {prev})
             WHERE tenant_id = $T",
            prev = head - 1
        ),
        s.tenant.id,
    )
    .await;
    let r = verify(&app, s.tenant.id).await;
    assert!(r.problem.is_none(), "the database alone is consistent");
    // Within the interval nothing is claimed yet; past two intervals it is reported.
    let grace = Duration::minutes(10);
    assert_eq!(r.uncovered_beyond(now(), grace), None);
    assert_eq!(
        r.uncovered_beyond(now() + Duration::hours(1), grace),
        Some(1)
    );
    // The operator's verify says so with the real clock once the entries are older than
    // two intervals (one second each here).
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["audit", "verify", "--tenant", "tail"])
        .env("TESSERA_DATABASE_URL", &app.db.app_url)
        .env("TESSERA_MIGRATOR_DATABASE_URL", &app.db.migrator_url)
        .env("TESSERA_ROLE_PREFIX", &app.db.name)
        .env("TESSERA_MASTER_KEY", &app.db.master_key_b64)
        .env("TESSERA_AUDIT_CHECKPOINT_INTERVAL_SECS", "1")
        .env("TESSERA_LOG", "warn")
        .env_remove("TESSERA_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("UNCOVERED from seq 1"), "{stdout}");
}

#[tokio::test]
async fn retention_removes_old_entries_only_behind_a_signed_anchor() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "keep").await;
    let t = s.tenant.id;
    let old = verify(&app, t).await.last_seq;
    // Three entries from the future's point of view: "recent" once the clock moves on.
    let later = now() + Duration::days(90);
    {
        let mut tx = app.db.migrator.begin().await.unwrap();
        for i in 0..3 {
            audit::append(
                &mut tx,
                &app.db.keyring,
                t,
                later,
                &EntryMeta {
                    actor_type: "system",
                    actor_id: "test".into(),
                    actor_user: String::new(),
                    request_id: String::new(),
                    client_ip: String::new(),
                },
                NewEntry {
                    action: "test.recent",
                    target_type: "Workspace",
                    target_id: format!("{i}"),
                    payload: json!({}),
                },
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    sqlx::query("UPDATE public.tenants SET audit_retention_days = 30 WHERE id = $1")
        .bind(t)
        .execute(&app.db.migrator)
        .await
        .unwrap();
    // 100 days on: the seeded entries are older than the 30-day window, the three are not.
    let now = now() + Duration::days(100);
    let mut tx = app.db.migrator.begin().await.unwrap();
    let pruned = audit::retention::prune(&mut tx, &app.db.keyring, t, now)
        .await
        .unwrap()
        .expect("old entries removed");
    tx.commit().await.unwrap();
    assert_eq!(pruned.first_kept, old + 1);
    assert_eq!(pruned.removed, old);
    let r = verify(&app, t).await;
    assert!(r.ok(), "{:?}", r.problem);
    assert_eq!(r.floor, Some(old + 1));
    assert_eq!(r.entries, 4, "three kept, and the prune's own entry");
    // Nothing more to remove on a second run.
    let mut tx = app.db.migrator.begin().await.unwrap();
    assert_eq!(
        audit::retention::prune(&mut tx, &app.db.keyring, t, now)
            .await
            .unwrap(),
        None
    );
    tx.rollback().await.unwrap();

    // The runtime role still cannot delete entries, not even below the floor.
    let mut conn = app.pool.acquire().await.unwrap();
    let refused = sqlx::query("DELETE FROM public.audit_log WHERE tenant_id = $1")
        .bind(t)
        .execute(&mut *conn)
        .await;
    assert!(refused.is_err());
    drop(conn);

    // A floor moved by anyone without the signing key is a break.
    superuser(
        &app,
        &format!(
            "UPDATE public.audit_floors SET seq = {k1}, prev_hash =
                 (SELECT hash FROM public.audit_log WHERE tenant_id = $T AND seq = {k})
             WHERE tenant_id = $T;
             DELETE FROM public.audit_log WHERE tenant_id = $T AND seq = {k};",
            k = old + 1,
            k1 = old + 2
        ),
        t,
    )
    .await;
    let b = verify(&app, t).await.problem.expect("detected");
    assert_eq!(b.seq, old + 2, "{b:?}");
    assert!(b.reason.contains("anchors"), "{b:?}");
}

#[tokio::test]
async fn owners_set_the_retention_window_and_the_change_is_audited() {
    let app = TestApp::spawn().await;
    let mut owner = crate::helpers::Browser::new(&app);
    owner.sign_up("owner@ret.test").await;
    let (_, created) = owner
        .global(
            "mutation { createWorkspace(name: \"R\", slug: \"retain\") { slug } }",
            json!({}),
        )
        .await;
    assert!(created.get("errors").is_none(), "{created}");
    let (_, body) = owner
        .gql("retain", "{ auditRetention { days firstKept } }")
        .await;
    assert_eq!(
        body["data"]["auditRetention"],
        json!({ "days": 2557, "firstKept": 1 })
    );
    let (_, body) = owner
        .gql("retain", "mutation { setAuditRetention(days: 10) }")
        .await;
    assert_eq!(crate::helpers::code(&body), "BAD_USER_INPUT", "{body}");
    let (_, body) = owner
        .gql("retain", "mutation { setAuditRetention(days: 365) }")
        .await;
    assert_eq!(body["data"]["setAuditRetention"], 365, "{body}");
    let (_, body) = owner
        .gql(
            "retain",
            "{ auditEntries(actions: [\"setAuditRetention\"]) { payload } }",
        )
        .await;
    let changes = &body["data"]["auditEntries"][0]["payload"]["changes"][0];
    assert_eq!(changes["before"], 2557, "{body}");
    assert_eq!(changes["after"], 365, "{body}");
    // An API token cannot change it, whatever its scopes.
    let tenant = sqlx::query_as(
        "SELECT id, slug, name, db_role, state, schema_version, created_at FROM public.tenants WHERE slug = 'retain'",
    )
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    let user: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM public.users WHERE email = 'owner@ret.test'")
            .fetch_one(&app.db.migrator)
            .await
            .unwrap();
    let token = app
        .db
        .token(
            &tenant,
            user,
            &[
                tessera::authz::Scope::Read,
                tessera::authz::Scope::Write,
                tessera::authz::Scope::Settings,
            ],
        )
        .await;
    let (_, body) = app
        .gql(
            "retain",
            &token,
            "mutation { setAuditRetention(days: 400) }",
            json!({}),
        )
        .await;
    assert_eq!(crate::helpers::code(&body), "FORBIDDEN", "{body}");
}
