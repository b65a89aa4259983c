//! Backup and restore, rehearsed: the backup script dumps a live installation, work goes on
//! (and is anchored), the dump is restored into a fresh PostgreSQL cluster. The anchors
//! report the rollback as a break until the restore is recorded with `tessera audit
//! restored`; then every chain verifies, names the restore and the checkpoints whose entries
//! it lost, signing continues, and an export verifies offline.

use serde_json::json;
use tessera::audit;

use crate::fresh_cluster::FreshCluster;
use crate::helpers::{TestApp, seed, tempdir};

fn run(cmd: &mut std::process::Command) -> (Option<i32>, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn a_restore_into_a_fresh_cluster_is_a_break_until_recorded_then_verifies() {
    let app = TestApp::spawn().await;
    let store = tessera::storage::FsStore::new(app.db.blob_dir.join("blobs"));
    let one = seed(&app, "bkone").await;
    let two = seed(&app, "bktwo").await;
    let idea = "mutation($t: String!) { createIdea(input: {title: $t}) { id } }";
    for (slug, token) in [("bkone", &one.owner_token), ("bktwo", &two.owner_token)] {
        app.ok(slug, token, idea, json!({ "t": "before the backup" }))
            .await;
    }
    let pass = audit::job::checkpoint_all(&app.pool, &app.db.keyring, Some(&store))
        .await
        .unwrap();
    assert_eq!((pass.signed, pass.anchored), (2, 2));
    let head = |tenant: uuid::Uuid| {
        let pool = app.db.migrator.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT seq FROM public.audit_heads WHERE tenant_id = $1")
                .bind(tenant)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let backed_up = head(one.tenant.id).await;

    // The backup, as the CronJob runs it.
    let backups = tempdir::Dir::new();
    let superuser = app
        .db
        .migrator_url
        .replace(&app.db.roles.migrator, "postgres");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/charts/tessera/files/backup.sh"
    );
    let (code, out) = run(std::process::Command::new("bash")
        .arg(script)
        .env("TESSERA_BACKUP_DATABASE_URL", &superuser)
        .env("TESSERA_BACKUP_DIR", backups.path()));
    assert_eq!(code, Some(0), "{out}");
    let run_dir = std::fs::read_dir(backups.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .expect("a backup folder");
    for part in [
        "roles.sql",
        "database.dump",
        "SHA256SUMS",
        "workspaces/bkone.dump",
    ] {
        assert!(run_dir.join(part).exists(), "{part} missing");
    }

    // Work after the backup, checkpointed and anchored: this is what the restore loses.
    app.ok(
        "bkone",
        &one.owner_token,
        idea,
        json!({ "t": "after the backup" }),
    )
    .await;
    let pass = audit::job::checkpoint_all(&app.pool, &app.db.keyring, Some(&store))
        .await
        .unwrap();
    assert_eq!((pass.signed, pass.anchored), (1, 1));
    let lost_head = head(one.tenant.id).await;
    assert!(lost_head > backed_up);

    // Disaster: the dump goes into a fresh cluster.
    let fresh = FreshCluster::start();
    let restore = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/restore.sh");
    let (code, out) = run(std::process::Command::new("bash")
        .arg(restore)
        .arg(&run_dir)
        .arg(fresh.url("postgres", "postgres")));
    assert_eq!(code, Some(0), "{out}");

    // The binary against the restored cluster (and the same anchors).
    let on_fresh = |args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
        c.args(args)
            .env(
                "TESSERA_DATABASE_URL",
                fresh.url(&app.db.roles.app, &app.db.name),
            )
            .env(
                "TESSERA_MIGRATOR_DATABASE_URL",
                fresh.url(&app.db.roles.migrator, &app.db.name),
            )
            .env("TESSERA_ROLE_PREFIX", &app.db.name)
            .env("TESSERA_MASTER_KEY", &app.db.master_key_b64)
            .env("TESSERA_DATA_DIR", &app.db.blob_dir)
            .env("TESSERA_LOG", "warn")
            .env_remove("TESSERA_CONFIG");
        c
    };
    let cli = |args: &[&str]| run(&mut on_fresh(args));

    // Unrecorded, the rollback is a break where the restored database parts from the anchors.
    let (code, out) = cli(&["audit", "verify"]);
    assert_eq!(code, Some(3), "{out}");
    assert!(
        out.contains(&format!(
            "bkone: BROKEN at seq {lost_head}: entry {lost_head} is gone, but anchor 2 covers it"
        )),
        "{out}"
    );
    assert!(out.contains("bktwo: ok"), "{out}");

    // Recorded by the operator, it is a restore.
    let (code, out) = cli(&["audit", "restored", "--reason", "restore rehearsal"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "bkone: restore recorded at entry {backed_up} (restore checkpoint 3); entries after it covered by anchored checkpoints 2 to 2 were lost"
        )),
        "{out}"
    );
    assert!(out.contains("bktwo: restore recorded"), "{out}");
    let (code, out) = cli(&["audit", "verify"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "1 checkpoints describe entries the restores lost); restored from a backup at entry {backed_up} (restore checkpoint 3)"
        )),
        "{out}"
    );

    // Signing goes on from the restore, and its anchors join the others.
    let (code, out) = cli(&["audit", "checkpoint"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = cli(&["audit", "verify", "--tenant", "bkone"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("4 anchors match"), "{out}");

    // The workspace's members see the restore in their audit log.
    let restored = tessera::db::admin_connect_url(&fresh.url("postgres", &app.db.name))
        .await
        .unwrap();
    let mut restored = restored;
    let action: String = sqlx::query_scalar(
        "SELECT action FROM public.audit_log WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(one.tenant.id)
    .fetch_one(&mut restored)
    .await
    .unwrap();
    assert_eq!(action, "audit.restored");

    // Offline, the export carries the restore and the lost checkpoints, and verifies.
    let export = tempdir::Dir::new();
    let file = export.path().join("bkone.jsonl");
    let out = on_fresh(&["audit", "export", "--tenant", "bkone"])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&file, &out.stdout).unwrap();
    // The independent verifier, with `cryptography` (from the test S3 server's virtualenv)
    // so it checks the restore checkpoint's signature too.
    let python = crate::anchors::moto_binary().with_file_name("python3");
    let (code, out) = run(std::process::Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/verify_audit_export.py"
        ))
        .arg(&file));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.starts_with("ok:") && !out.contains(" 0 signatures checked"),
        "{out}"
    );
    let (code, out) = run(std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["audit", "verify-export"])
        .arg(&file));
    assert_eq!(code, Some(0), "{out}");
    drop(restored);
}
