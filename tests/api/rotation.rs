//! Master-key rotation: everything sealed under the old key is re-sealed, the chain stays
//! verifiable under the new key alone, and checkpoints cannot be disarmed by relabelling.

use serde_json::json;
use tessera::audit::{self, Payload};
use tessera::crypto::store::{self, SecretKind};
use tessera::crypto::{Keyring, MasterKey};
use tessera::tenancy::{self, Access, Slug};

use crate::helpers::{TestApp, seed};

#[tokio::test]
async fn rotating_the_master_key_reseals_everything_and_keeps_the_chain_verifiable() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    app.ok(
        "acme",
        &s.owner_token,
        "mutation { setSecret(kind: WEBHOOK_SECRET, name: \"hook\", secret: \"whsec-1\") { id } }",
        json!({}),
    )
    .await;
    // A user with TOTP: the seed is sealed under the master key too.
    let mut browser = crate::helpers::Browser::new(&app);
    browser
        .post(
            "/auth/signup",
            json!({ "email": "tia@x.test", "password": "a long enough passphrase" }),
        )
        .await;
    let (totp, _) = crate::mfa::enroll(&mut browser).await;
    let mut conn = app.db.owner.acquire().await.unwrap();
    audit::checkpoint(&mut conn, &app.db.keyring, s.tenant.id)
        .await
        .unwrap();
    drop(conn);

    let new = MasterKey::generate();
    let new_b64 = new.to_base64().expose().clone();
    let rotate = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["keys", "rotate"])
            .env("TESSERA_DATABASE_URL", &app.db.app_url)
            .env("TESSERA_MIGRATOR_DATABASE_URL", &app.db.migrator_url)
            .env("TESSERA_ROLE_PREFIX", &app.db.name)
            .env("TESSERA_MASTER_KEY", &new_b64)
            .env("TESSERA_PREVIOUS_MASTER_KEYS", &app.db.master_key_b64)
            .env("TESSERA_DATA_DIR", &app.db.blob_dir)
            .env("TESSERA_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = rotate();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("re-wrapped 1 audit keys, re-sealed 1 secrets and 1 TOTP seeds")
    );
    let again = rotate();
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .contains("re-wrapped 0 audit keys, re-sealed 0 secrets"),
        "idempotent"
    );

    // The new key alone now opens everything, and the chain verifies.
    let ring = Keyring::new(new);
    let mut conn = app.db.owner.acquire().await.unwrap();
    let report = audit::verify(&mut conn, &ring, s.tenant.id).await.unwrap();
    assert!(report.ok(), "{:?}", report.problem);
    assert!(report.checkpoints >= 1);
    let entries = audit::list(&mut conn, &ring, s.tenant.id, 0, 100)
        .await
        .unwrap();
    assert!(
        entries
            .iter()
            .all(|e| matches!(e.payload, Payload::Plain(_)))
    );
    drop(conn);
    let slug = Slug::parse("acme").unwrap();
    let mut tx = tenancy::begin(&app.pool, &slug, Access::ReadOnly)
        .await
        .unwrap()
        .unwrap();
    let secret = store::get(&mut tx, &ring, SecretKind::WebhookSecret, "hook")
        .await
        .unwrap();
    assert_eq!(secret.expose(), "whsec-1");
    // The old key alone opens nothing any more.
    let old_only = store::get(&mut tx, &app.db.keyring, SecretKind::WebhookSecret, "hook").await;
    assert!(old_only.is_err());
    drop(tx);
    // The TOTP seed opens under the new key alone: a fresh code passes.
    let mut conn = app.db.owner.acquire().await.unwrap();
    let user: uuid::Uuid =
        tessera::db::query_scalar("SELECT id FROM public.users WHERE email = 'tia@x.test'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = totp.generate(now + 30).to_string();
    let method = tessera::identity::factors::check_code(&mut conn, &ring, user, &code, now)
        .await
        .unwrap();
    assert_eq!(method, Some(tessera::identity::factors::Method::Totp));
}

#[tokio::test]
async fn relabelling_checkpoints_to_an_unknown_key_is_reported() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let mut conn = app.db.owner.acquire().await.unwrap();
    audit::checkpoint(&mut conn, &app.db.keyring, s.tenant.id)
        .await
        .unwrap();
    drop(conn);
    let url = app
        .db
        .migrator_url
        .replace(&app.db.roles.migrator, "postgres");
    let mut su = tessera::db::admin_connect_url(&url).await.unwrap();
    sqlx::raw_sql("ALTER TABLE public.audit_checkpoints DISABLE TRIGGER USER; UPDATE public.audit_checkpoints SET key_id = 12345")
        .execute(&mut su)
        .await
        .unwrap();
    let mut conn = app.db.owner.acquire().await.unwrap();
    let report = audit::verify(&mut conn, &app.db.keyring, s.tenant.id)
        .await
        .unwrap();
    let problem = report
        .problem
        .expect("relabelled checkpoint must be reported");
    assert!(
        problem.reason.contains("does not hold"),
        "{}",
        problem.reason
    );
}
