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
    let mut conn = app.db.owner.acquire().await.unwrap();
    audit::verify(&mut conn, &app.db.keyring, tenant)
        .await
        .unwrap()
}

async fn checkpoint(app: &TestApp, tenant: uuid::Uuid) -> Option<i64> {
    let mut conn = app.db.owner.acquire().await.unwrap();
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

/// `n` ideas in the workspace (each a mutation with its audit entry).
pub(crate) async fn ideas(app: &TestApp, slug: &str, token: &str, n: usize) {
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
        .env("TESSERA_DATA_DIR", &app.db.blob_dir)
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
        let mut tx = app.db.owner.begin().await.unwrap();
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
    let mut tx = app.db.owner.begin().await.unwrap();
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
    let mut tx = app.db.owner.begin().await.unwrap();
    assert_eq!(
        audit::retention::prune(&mut tx, &app.db.keyring, t, now)
            .await
            .unwrap(),
        None
    );
    tx.rollback().await.unwrap();

    // The runtime role still cannot delete entries, not even below the floor.
    let mut conn = app.pool.acquire().await.unwrap();
    let refused = tessera::db::query("DELETE FROM public.audit_log WHERE tenant_id = $1")
        .bind(t)
        .execute(&mut conn)
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
    let tenant = tessera::db::query_as(
        "SELECT id, slug, name, db_role, state, schema_version, created_at FROM public.tenants WHERE slug = 'retain'",
    )
    .fetch_one(&mut app.db.owner.acquire().await.unwrap())
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

/// Every receipt of `slug` the `audit.checkpoint` webhook queued, oldest first.
async fn receipts_of(app: &TestApp, slug: &str) -> Vec<serde_json::Value> {
    sqlx::query_scalar(&format!(
        "SELECT payload FROM tenant_{slug}.webhook_messages WHERE event_type = 'audit.checkpoint' ORDER BY id"
    ))
    .fetch_all(&app.db.migrator)
    .await
    .unwrap()
}

fn verify_cli(app: &TestApp, slug: &str, receipts: &std::path::Path) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["audit", "verify", "--tenant", slug, "--receipts"])
        .arg(receipts)
        .env("TESSERA_DATABASE_URL", &app.db.app_url)
        .env("TESSERA_MIGRATOR_DATABASE_URL", &app.db.migrator_url)
        .env("TESSERA_ROLE_PREFIX", &app.db.name)
        .env("TESSERA_MASTER_KEY", &app.db.master_key_b64)
        .env("TESSERA_DATA_DIR", &app.db.blob_dir)
        .env("TESSERA_LOG", "warn")
        .env_remove("TESSERA_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Receipts, sent to the workspace's `audit.checkpoint` endpoint with every checkpoint and
/// kept by the customer, reveal what the database alone cannot: a rollback of its newest
/// entries and checkpoints, a receipt altered to frame the server, and a receipt of another
/// workspace.
#[tokio::test]
async fn receipts_reveal_a_rollback_a_forged_receipt_and_another_workspaces() {
    let mut db = crate::helpers::TestDb::new().await;
    db.cfg.network.allow_loopback = true;
    let app = TestApp::spawn_on(db, 8).await;
    let a = seed(&app, "rcpt").await;
    let b = seed(&app, "rcptb").await;
    for (slug, token) in [("rcpt", &a.owner_token), ("rcptb", &b.owner_token)] {
        app.ok(
            slug,
            token,
            "mutation { createWebhookEndpoint(input: {url: \"http://127.0.0.1:9/hook\", events: [\"audit.checkpoint\"]}) { secret } }",
            json!({}),
        )
        .await;
    }
    ideas(&app, "rcpt", &a.owner_token, 2).await;
    audit::job::checkpoint_all(&app.pool, &app.db.keyring, None)
        .await
        .unwrap();
    ideas(&app, "rcpt", &a.owner_token, 2).await;
    audit::job::checkpoint_all(&app.pool, &app.db.keyring, None)
        .await
        .unwrap();
    let mine = receipts_of(&app, "rcpt").await;
    assert_eq!(mine.len(), 2, "one receipt per checkpoint");
    assert_eq!(mine[1]["data"]["receipt"]["counter"], 2);
    let dir = crate::helpers::tempdir::Dir::new();
    for (i, r) in mine.iter().enumerate() {
        std::fs::write(dir.path().join(format!("r{i}.json")), r.to_string()).unwrap();
    }
    let (code, out) = verify_cli(&app, "rcpt", dir.path());
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("2 receipts match"), "{out}");

    // A receipt altered to claim another hash no longer carries the server's signature.
    let forged_dir = crate::helpers::tempdir::Dir::new();
    let mut forged = mine[0].clone();
    forged["data"]["receipt"]["hash"] = json!(hex::encode([7u8; 32]));
    std::fs::write(forged_dir.path().join("f.json"), forged.to_string()).unwrap();
    let (code, out) = verify_cli(&app, "rcpt", forged_dir.path());
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("not signed by this server"), "{out}");

    // Another workspace's receipt is not evidence about this one.
    audit::job::checkpoint_all(&app.pool, &app.db.keyring, None)
        .await
        .unwrap();
    let theirs = receipts_of(&app, "rcptb").await;
    let other_dir = crate::helpers::tempdir::Dir::new();
    std::fs::write(other_dir.path().join("b.json"), theirs[0].to_string()).unwrap();
    let (code, out) = verify_cli(&app, "rcpt", other_dir.path());
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("another workspace"), "{out}");

    // The database rolled back past the newest receipt: its last entries and checkpoint
    // removed and the head rewound. Consistent on its own, behind the receipt.
    let second = &mine[1]["data"]["receipt"];
    let seq = second["seq"].as_i64().unwrap();
    superuser(
        &app,
        &format!(
            "DELETE FROM public.audit_log WHERE tenant_id = $T AND seq > {keep};
             DELETE FROM public.audit_checkpoints WHERE tenant_id = $T AND counter >= 2;
             UPDATE public.audit_heads SET (seq, hash) =
                 (SELECT seq, hash FROM public.audit_log WHERE tenant_id = $T AND seq = {keep})
             WHERE tenant_id = $T",
            keep = seq - 2
        ),
        a.tenant.id,
    )
    .await;
    assert!(verify(&app, a.tenant.id).await.problem.is_none());
    let (code, out) = verify_cli(&app, "rcpt", dir.path());
    assert_eq!(code, Some(3), "{out}");
    assert!(
        out.contains(&format!("BROKEN at seq {seq}")) && out.contains("behind receipt 2"),
        "{out}"
    );
}

#[tokio::test]
async fn the_checkpoint_keys_are_published() {
    let app = TestApp::spawn().await;
    let resp = app
        .http
        .get(app.url("/.well-known/tessera-audit-keys"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    let key = &body["keys"][0];
    assert_eq!(key["current"], true);
    let id = u32::try_from(key["key_id"].as_u64().unwrap()).unwrap();
    let published = key["public_key"].as_str().unwrap();
    use base64::Engine;
    let held = app.db.keyring.checkpoint_verifier(id).unwrap();
    assert_eq!(
        published,
        base64::engine::general_purpose::STANDARD.encode(held.to_bytes())
    );
}

/// Offline: an export and the receipts verify with the published script alone; an export
/// older than a receipt, and another workspace's receipt, are breaks.
#[tokio::test]
async fn an_export_and_its_receipts_verify_without_the_server() {
    let mut db = crate::helpers::TestDb::new().await;
    db.cfg.network.allow_loopback = true;
    let app = TestApp::spawn_on(db, 8).await;
    let a = seed(&app, "offl").await;
    app.ok(
        "offl",
        &a.owner_token,
        "mutation { createWebhookEndpoint(input: {url: \"http://127.0.0.1:9/hook\", events: [\"audit.checkpoint\"]}) { secret } }",
        json!({}),
    )
    .await;
    ideas(&app, "offl", &a.owner_token, 2).await;
    audit::job::checkpoint_all(&app.pool, &app.db.keyring, None)
        .await
        .unwrap();
    let export = crate::provisioning::cli(&app.db, &["audit", "export", "--tenant", "offl"]);
    assert!(export.status.success());
    ideas(&app, "offl", &a.owner_token, 1).await;
    audit::job::checkpoint_all(&app.pool, &app.db.keyring, None)
        .await
        .unwrap();
    let receipts = receipts_of(&app, "offl").await;
    assert_eq!(receipts.len(), 2);

    let dir = crate::helpers::tempdir::Dir::new();
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &export.stdout).unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/verify_audit_export.py");
    let check = |receipts: &[&serde_json::Value]| {
        let folder = crate::helpers::tempdir::Dir::new();
        for (i, r) in receipts.iter().enumerate() {
            std::fs::write(folder.path().join(format!("{i}.json")), r.to_string()).unwrap();
        }
        let out = std::process::Command::new("python3")
            .arg(&script)
            .arg(&file)
            .arg("--receipts")
            .arg(folder.path())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, out) = check(&[&receipts[0]]);
    assert!(ok, "{out}");
    // The same with the binary, offline: no database, no keys but the published ones.
    let keys = app
        .http
        .get(app.url("/.well-known/tessera-audit-keys"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let keys_file = dir.path().join("keys.json");
    std::fs::write(&keys_file, keys).unwrap();
    let offline = |receipts: &[&serde_json::Value], export: &std::path::Path| {
        let folder = crate::helpers::tempdir::Dir::new();
        for (i, r) in receipts.iter().enumerate() {
            std::fs::write(folder.path().join(format!("{i}.json")), r.to_string()).unwrap();
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["audit", "verify-export"])
            .arg(export)
            .arg("--receipts")
            .arg(folder.path())
            .arg("--keys")
            .arg(&keys_file)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .output()
            .unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, out) = offline(&[&receipts[0]], &file);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("1 receipts match") && out.contains("signatures checked"),
        "{out}"
    );
    let (code, out) = offline(&[&receipts[0], &receipts[1]], &file);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("behind receipt 2"), "{out}");
    // A tampered export: one entry's action rewritten.
    let text = String::from_utf8(export.stdout.clone()).unwrap();
    let tampered_file = dir.path().join("tampered.jsonl");
    std::fs::write(
        &tampered_file,
        text.replacen("\"createIdea\"", "\"deleteIdea\"", 1),
    )
    .unwrap();
    let (code, out) = offline(&[&receipts[0]], &tampered_file);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("does not match its hash"), "{out}");
    // The export was taken before the second checkpoint: it is behind that receipt.
    let (ok, out) = check(&[&receipts[0], &receipts[1]]);
    assert!(!ok && out.contains("behind receipt 2"), "{out}");
    // A receipt of another workspace.
    let mut other = receipts[0].clone();
    other["data"]["receipt"]["tenant_id"] = json!(uuid::Uuid::nil());
    let (ok, out) = check(&[&other]);
    assert!(!ok && out.contains("another workspace"), "{out}");
}
