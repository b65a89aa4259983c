//! Anchors outside the database: every checkpoint also goes to an S3 bucket with Object Lock
//! (moto's server, which enforces compliance retention), where neither Tessera's own
//! credentials nor the database's superuser can remove it. The attack from the issue —
//! delete the tail, the workspace's checkpoints, rewind the head — passes the database's own
//! check and is reported against the anchors, with the sequence number.

use tessera::audit;

use crate::evidence::ideas;
use crate::helpers::{TestApp, TestDb, seed};

const ACCESS_KEY: &str = "tessera-test";
const SECRET_KEY: &str = "tessera-test-secret-key";
const FILES: &str = "tessera-files";
const EVIDENCE: &str = "tessera-evidence";

/// moto's S3 server on a free loopback port; stopped on drop.
pub struct Moto {
    pub endpoint: String,
    child: std::process::Child,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn moto_binary() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("TESSERA_TEST_MOTO_SERVER") {
        return p.into();
    }
    let local = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-peers/moto/bin/moto_server");
    assert!(
        local.exists(),
        "moto_server not found: run `bash ci/test.sh` (it installs tests/s3/requirements.txt into target/test-peers/moto) or set TESSERA_TEST_MOTO_SERVER"
    );
    local
}

pub async fn start_moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(moto_binary())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        child,
    };
    for _ in 0..150 {
        if reqwest::get(format!("{}/", moto.endpoint)).await.is_ok() {
            return moto;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("moto_server did not start");
}

pub fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let creds = aws_sdk_s3::config::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test");
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(creds)
            .endpoint_url(endpoint)
            .force_path_style(true)
            .build(),
    )
}

/// The CLI against the test database and the S3 store.
fn cli(db: &TestDb, endpoint: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("TESSERA_DATABASE_URL", &db.app_url)
        .env("TESSERA_MIGRATOR_DATABASE_URL", &db.migrator_url)
        .env("TESSERA_ROLE_PREFIX", &db.name)
        .env("TESSERA_MASTER_KEY", &db.master_key_b64)
        .env("TESSERA_DATA_DIR", &db.blob_dir)
        .env("TESSERA_STORAGE_BACKEND", "s3")
        .env("TESSERA_S3_ENDPOINT", endpoint)
        .env("TESSERA_S3_REGION", "us-east-1")
        .env("TESSERA_S3_BUCKET", FILES)
        .env("TESSERA_S3_ANCHOR_BUCKET", EVIDENCE)
        .env("TESSERA_S3_PATH_STYLE", "true")
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("TESSERA_LOG", "warn")
        .env_remove("TESSERA_CONFIG")
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
}

#[tokio::test]
async fn anchors_in_a_locked_bucket_reveal_a_rewound_tail_and_cannot_be_removed() {
    let moto = start_moto().await;
    let s3 = s3_client(&moto.endpoint);
    s3.create_bucket().bucket(FILES).send().await.unwrap();
    s3.create_bucket()
        .bucket(EVIDENCE)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    let mut db = TestDb::new().await;
    db.cfg.storage.backend = tessera::config::Backend::S3;
    db.cfg.storage.s3 = tessera::config::S3 {
        endpoint: Some(moto.endpoint.clone()),
        region: "us-east-1".into(),
        bucket: Some(FILES.into()),
        path_style: true,
        access_key_id: Some(ACCESS_KEY.into()),
        secret_access_key: Some(tessera::crypto::Secret::new(SECRET_KEY.into())),
        anchor_bucket: Some(EVIDENCE.into()),
    };
    let store = tessera::storage::S3Store::new(&db.cfg.storage.s3)
        .await
        .unwrap();
    let app = TestApp::spawn_on(db, 8).await;
    let s = seed(&app, "anch").await;
    let tenant = s.tenant.id;

    ideas(&app, "anch", &s.owner_token, 3).await;
    let pass = audit::job::checkpoint_all(&app.pool, &app.db.keyring, Some(&store))
        .await
        .unwrap();
    assert_eq!((pass.signed, pass.anchored, pass.broken), (1, 1, 0));
    ideas(&app, "anch", &s.owner_token, 2).await;
    let pass = audit::job::checkpoint_all(&app.pool, &app.db.keyring, Some(&store))
        .await
        .unwrap();
    assert_eq!((pass.signed, pass.anchored, pass.broken), (1, 1, 0));
    let (head, head_hash): (i64, Vec<u8>) =
        sqlx::query_as("SELECT seq, hash FROM public.audit_heads WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_one(&app.db.migrator)
            .await
            .unwrap();

    // The anchor is the checkpoint's receipt, under compliance retention for the
    // workspace's window (7 years by default).
    let key = format!("audit-anchors/{tenant}/{:020}.json", 2);
    let held = s3
        .head_object()
        .bucket(EVIDENCE)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        held.object_lock_mode(),
        Some(&aws_sdk_s3::types::ObjectLockMode::Compliance)
    );
    let until = held.object_lock_retain_until_date().unwrap().secs();
    let now = tessera::Clock::now(&tessera::SystemClock).timestamp();
    assert!(until > now + 2550 * 86_400, "retained about 7 years");
    let body = s3
        .get_object()
        .bucket(EVIDENCE)
        .key(&key)
        .send()
        .await
        .unwrap();
    let anchor: serde_json::Value =
        serde_json::from_slice(&body.body.collect().await.unwrap().to_vec()).unwrap();
    assert_eq!(anchor["counter"], 2);
    assert_eq!(anchor["seq"], head);
    assert_eq!(anchor["hash"], hex::encode(&head_hash));

    // Tessera's own credentials cannot remove the locked version, nor replace the anchor.
    let version = held.version_id().unwrap().to_owned();
    let refused = s3
        .delete_object()
        .bucket(EVIDENCE)
        .key(&key)
        .version_id(&version)
        .send()
        .await;
    assert!(refused.is_err(), "a locked anchor was deleted");
    let name = tessera::storage::RecordName::new(key.clone()).unwrap();
    use tessera::storage::BlobStore;
    let again = store
        .put_record(
            &name,
            b"{}".to_vec(),
            tessera::Clock::now(&tessera::SystemClock),
        )
        .await
        .unwrap();
    assert_eq!(again, tessera::storage::Written::Exists);
    assert_eq!(
        store.get_record(&name).await.unwrap().unwrap(),
        body_bytes(&s3, &key).await
    );

    let (code, out) = cli(
        &app.db,
        &moto.endpoint,
        &["audit", "verify", "--tenant", "anch"],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("2 anchors match"), "{out}");

    // The attack: the last entry, every checkpoint of the workspace and the head, rewound
    // by a superuser. The database agrees with itself...
    let url = app
        .db
        .migrator_url
        .replace(&app.db.roles.migrator, "postgres");
    let mut su = tessera::db::admin_connect_url(&url).await.unwrap();
    sqlx::raw_sql(&format!(
        "ALTER TABLE public.audit_log DISABLE TRIGGER USER;
         ALTER TABLE public.audit_checkpoints DISABLE TRIGGER USER;
         DELETE FROM public.audit_log WHERE tenant_id = '{tenant}' AND seq = {head};
         DELETE FROM public.audit_checkpoints WHERE tenant_id = '{tenant}';
         UPDATE public.audit_heads SET (seq, hash) =
             (SELECT seq, hash FROM public.audit_log WHERE tenant_id = '{tenant}' AND seq = {prev})
         WHERE tenant_id = '{tenant}';
         ALTER TABLE public.audit_log ENABLE TRIGGER USER;
         ALTER TABLE public.audit_checkpoints ENABLE TRIGGER USER;",
        prev = head - 1
    ))
    .execute(&mut su)
    .await
    .unwrap();
    let mut conn = app.db.owner.acquire().await.unwrap();
    let own = audit::verify(&mut conn, &app.db.keyring, tenant)
        .await
        .unwrap();
    assert!(own.problem.is_none(), "the database alone cannot tell");
    drop(conn);
    // ... the anchors do, at the entry where the two part.
    let (code, out) = cli(
        &app.db,
        &moto.endpoint,
        &["audit", "verify", "--tenant", "anch"],
    );
    assert_eq!(code, Some(3), "{out}");
    assert_eq!(anchor_seq(&s3, tenant, 2).await, head);
    assert!(
        out.contains(&format!(
            "BROKEN at seq {head}: entry {head} is gone, but anchor 2 covers it"
        )) && out.contains("behind anchor 2"),
        "{out}"
    );

    // And the signer will not continue the rewound chain over the anchors.
    ideas(&app, "anch", &s.owner_token, 1).await;
    let pass = audit::job::checkpoint_all(&app.pool, &app.db.keyring, Some(&store))
        .await
        .unwrap();
    assert_eq!((pass.signed, pass.broken), (0, 1));
    let (code, out) = cli(&app.db, &moto.endpoint, &["audit", "checkpoint"]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("already holds anchor 1"), "{out}");
}

async fn body_bytes(s3: &aws_sdk_s3::Client, key: &str) -> Vec<u8> {
    s3.get_object()
        .bucket(EVIDENCE)
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .to_vec()
}

async fn anchor_seq(s3: &aws_sdk_s3::Client, tenant: uuid::Uuid, counter: i64) -> i64 {
    let key = format!("audit-anchors/{tenant}/{counter:020}.json");
    let v: serde_json::Value = serde_json::from_slice(&body_bytes(s3, &key).await).unwrap();
    v["seq"].as_i64().unwrap()
}

/// The other attack: a superuser rewrites an early entry, recomputes every hash after it (a
/// chain consistent on its own) and deletes the workspace's checkpoints. The anchors (here
/// on the filesystem store, the embedded default) still hold the hash the first
/// checkpoint signed: verification breaks at that entry.
#[tokio::test]
async fn a_recomputed_chain_without_its_checkpoints_differs_from_the_anchors() {
    let app = TestApp::spawn().await;
    let store = tessera::storage::FsStore::new(app.db.blob_dir.join("blobs"));
    let s = seed(&app, "recomp").await;
    let tenant = s.tenant.id;
    ideas(&app, "recomp", &s.owner_token, 3).await;
    let pass = audit::job::checkpoint_all(&app.pool, &app.db.keyring, Some(&store))
        .await
        .unwrap();
    assert_eq!((pass.signed, pass.anchored), (1, 1));
    let anchored: i64 =
        sqlx::query_scalar("SELECT seq FROM public.audit_heads WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_one(&app.db.migrator)
            .await
            .unwrap();

    let url = app
        .db
        .migrator_url
        .replace(&app.db.roles.migrator, "postgres");
    let mut su = tessera::db::admin_connect_url(&url).await.unwrap();
    sqlx::raw_sql(
        "ALTER TABLE public.audit_log DISABLE TRIGGER USER;
         ALTER TABLE public.audit_checkpoints DISABLE TRIGGER USER;",
    )
    .execute(&mut su)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE public.audit_log SET action = 'workspace.nothing_happened'
         WHERE tenant_id = $1 AND seq = 2",
    )
    .bind(tenant)
    .execute(&mut su)
    .await
    .unwrap();
    crate::audit::rehash_chain(&mut su, tenant).await;
    sqlx::query("DELETE FROM public.audit_checkpoints WHERE tenant_id = $1")
        .bind(tenant)
        .execute(&mut su)
        .await
        .unwrap();

    let mut conn = app.db.owner.acquire().await.unwrap();
    let own = audit::verify(&mut conn, &app.db.keyring, tenant)
        .await
        .unwrap();
    assert!(own.problem.is_none(), "consistent on its own");
    drop(conn);
    let out = crate::provisioning::cli(&app.db, &["audit", "verify", "--tenant", "recomp"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains(&format!(
            "BROKEN at seq {anchored}: entry {anchored} differs from anchor 1: the database is behind anchor 1"
        )),
        "{text}"
    );
}
