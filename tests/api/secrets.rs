//! Secrets are sealed, bound to their row, never returned, never logged, never audited.

use std::process::{Command, Stdio};

use serde_json::json;
use tessera::crypto::store::{self, SecretKind};
use tessera::tenancy::{self, Access, Slug};

use crate::helpers::{TestApp, code, seed};

const SET: &str = "mutation($k: SettingsSecretKind!, $n: String!, $s: String!) { setSecret(kind: $k, name: $n, secret: $s) { id name kind } }";

#[tokio::test]
async fn a_secret_is_sealed_bound_and_absent_from_responses_logs_and_audit() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    // The real server binary, logging everything (trace level, sqlx included) to a file.
    let dir = crate::helpers::tempdir::Dir::new();
    let log_path = dir.path().join("server.log");
    let mut server = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("serve")
        .env("TESSERA_DATABASE_URL", &app.db.app_url)
        .env("TESSERA_MIGRATOR_DATABASE_URL", &app.db.migrator_url)
        .env("TESSERA_ROLE_PREFIX", &app.db.name)
        .env("TESSERA_MASTER_KEY", &app.db.master_key_b64)
        .env("TESSERA_DATA_DIR", &app.db.blob_dir)
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("TESSERA_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut addr = None;
    for _ in 0..200 {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        if let Some(line) = text
            .lines()
            .find(|l| l.starts_with("tessera listening on "))
        {
            addr = Some(line.trim_start_matches("tessera listening on ").to_owned());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let base = addr.expect("server did not start");
    let post_query = |token: &str, query: &str, vars: serde_json::Value| {
        let req = app
            .http
            .post(format!("{base}/w/acme/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": vars }));
        async move {
            req.send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let post = |token: &str, vars: serde_json::Value| post_query(token, SET, vars);
    let secret = format!("s3cr3t-{}", uuid::Uuid::new_v4().simple());
    let data = post(
        &s.owner_token,
        json!({ "k": "INTEGRATION_CREDENTIAL", "n": "okta", "s": secret }),
    )
    .await;
    assert_eq!(data["data"]["setSecret"]["name"], "okta", "{data}");
    assert!(!data.to_string().contains(&secret));
    // Failing requests carrying the secret: forbidden for a read token, invalid name.
    let read = app
        .db
        .token(&s.tenant, s.owner, &[tessera::authz::Scope::Read])
        .await;
    let body = post(
        &read,
        json!({ "k": "WEBHOOK_SECRET", "n": "x", "s": secret }),
    )
    .await;
    assert_eq!(code(&body), "FORBIDDEN");
    assert!(!body.to_string().contains(&secret));
    // OIDC configuration is session-only: even the owner's all-scope token is refused.
    let body = post_query(
        &s.owner_token,
        "mutation($n: String!, $s: String!) { setOidcClientSecret(name: $n, secret: $s) { id } }",
        json!({ "n": "okta", "s": secret }),
    )
    .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    // Nor can it smuggle the OIDC kind through the settings mutation.
    let body = post(
        &s.owner_token,
        json!({ "k": "OIDC_CLIENT_SECRET", "n": "okta", "s": secret }),
    )
    .await;
    assert!(
        body.get("errors").is_some() && body["data"].is_null(),
        "{body}"
    );
    assert!(!body.to_string().contains(&secret));
    let body = post(
        &s.owner_token,
        json!({ "k": "WEBHOOK_SECRET", "n": "", "s": secret }),
    )
    .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert!(!body.to_string().contains(&secret));
    let listed = app
        .ok(
            "acme",
            &s.owner_token,
            "{ secrets { name kind } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["secrets"],
        json!([{ "name": "okta", "kind": "INTEGRATION_CREDENTIAL" }])
    );

    // The audit entry exists, redacted.
    let audit = app
        .ok(
            "acme",
            &s.owner_token,
            "{ auditEntries(first: 100) { action payload } }",
            json!({}),
        )
        .await;
    let entry = audit["auditEntries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "setSecret")
        .cloned()
        .unwrap();
    assert_eq!(entry["payload"]["arguments"]["secret"], "[REDACTED]");
    assert!(!audit.to_string().contains(&secret));

    // At rest only ciphertext, which opens server-side for its own row only.
    let raw: Vec<u8> = sqlx::query_scalar("SELECT ciphertext FROM public.tenant_secrets")
        .fetch_one(&app.db.migrator)
        .await
        .unwrap();
    assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()));
    let slug = Slug::parse("acme").unwrap();
    let mut tx = tenancy::begin(&app.pool, &slug, Access::ReadWrite)
        .await
        .unwrap()
        .unwrap();
    let opened = store::get(
        &mut tx,
        &app.db.keyring,
        SecretKind::IntegrationCredential,
        "okta",
    )
    .await
    .unwrap();
    assert_eq!(opened.expose(), &secret);
    assert_eq!(format!("{opened:?}"), "[REDACTED]");
    // Copy the ciphertext onto another row (another name): it must not open there.
    store::put(
        &mut tx,
        &app.db.keyring,
        SecretKind::IntegrationCredential,
        "other",
        &tessera::crypto::Secret::new("x".into()),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    sqlx::query("UPDATE public.tenant_secrets SET ciphertext = $1 WHERE name = 'other'")
        .bind(&raw)
        .execute(&app.db.migrator)
        .await
        .unwrap();
    let mut tx = tenancy::begin(&app.pool, &slug, Access::ReadOnly)
        .await
        .unwrap()
        .unwrap();
    let moved = store::get(
        &mut tx,
        &app.db.keyring,
        SecretKind::IntegrationCredential,
        "other",
    )
    .await;
    assert!(
        matches!(moved, Err(store::StoreError::Crypto(_))),
        "{moved:?}"
    );
    drop(tx);

    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(server.id().to_string())
        .status();
    server.wait().unwrap();
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        text.contains("\"path\":\"/w/acme/graphql\""),
        "the capture must actually see request logs"
    );
    assert!(!text.contains(&secret), "the secret appeared in the logs");
    assert!(!text.contains("tsr_"), "a token appeared in the logs");
}
