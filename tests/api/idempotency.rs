//! `Idempotency-Key`: a retry replays the first result without executing again, a reused
//! key with another body is refused, a retry while the first runs is told so, failures store
//! nothing, keys belong to one actor and expire after a day. The crash test (SIGKILL in the
//! middle of a batch of keyed mutations) is in `embedded.rs`.

use serde_json::{Value, json};
use tessera::authz::{Role, Scope};

use crate::helpers::{TestApp, code, seed};

const CREATE_TEAM: &str =
    "mutation($n: String!) { createTeam(input: {name: $n, visibility: OPEN}) { id name } }";

/// Sends a keyed mutation; returns (status, replayed?, body text).
pub async fn keyed(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> (u16, bool, String) {
    let resp = http
        .post(url)
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let replayed = resp
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    (status, replayed, resp.text().await.unwrap())
}

async fn teams_named(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM tenant_acme.teams WHERE name = $1")
        .bind(name)
        .fetch_one(&app.db.migrator)
        .await
        .unwrap()
}

async fn audited(app: &TestApp, tenant: uuid::Uuid, action: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM public.audit_log WHERE tenant_id = $1 AND action = $2")
        .bind(tenant)
        .bind(action)
        .fetch_one(&app.db.migrator)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_retry_replays_the_first_result_and_runs_nothing() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let url = app.url("/w/acme/graphql");
    let body = json!({ "query": CREATE_TEAM, "variables": { "n": "Platform" } });
    let (st, replayed, first) = keyed(&app.http, &url, &s.owner_token, "team-1", &body).await;
    assert_eq!((st, replayed), (200, false), "{first}");
    let before = audited(&app, s.tenant.id, "createTeam").await;
    for _ in 0..3 {
        let (st, replayed, again) = keyed(&app.http, &url, &s.owner_token, "team-1", &body).await;
        assert_eq!((st, replayed), (200, true));
        assert_eq!(again, first, "the stored response, byte for byte");
    }
    assert_eq!(teams_named(&app, "Platform").await, 1);
    assert_eq!(audited(&app, s.tenant.id, "createTeam").await, before);

    // At rest the stored response is sealed and the request only fingerprinted under a key.
    let (fingerprint, stored): (Vec<u8>, Vec<u8>) = sqlx::query_as(
        "SELECT request_hash, response FROM tenant_acme.idempotency_keys WHERE key = 'team-1'",
    )
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    assert!(
        !stored.windows(8).any(|w| w == b"Platform"),
        "sealed at rest"
    );
    let plain_hash: [u8; 32] =
        <sha2::Sha256 as sha2::Digest>::digest(serde_json::to_vec(&body).unwrap().as_slice())
            .into();
    assert_ne!(fingerprint, plain_hash.to_vec());
    // A sealed response moved to another key's row does not open there.
    let second = json!({ "query": CREATE_TEAM, "variables": { "n": "Second" } });
    let (st, _, _) = keyed(&app.http, &url, &s.owner_token, "team-2", &second).await;
    assert_eq!(st, 200);
    sqlx::query(
        "UPDATE tenant_acme.idempotency_keys SET response = $1, request_hash = $2 WHERE key = 'team-2'",
    )
    .bind(&stored)
    .bind(&fingerprint)
    .execute(&app.db.migrator)
    .await
    .unwrap();
    let (st, replayed, text) = keyed(&app.http, &url, &s.owner_token, "team-2", &body).await;
    assert_eq!((st, replayed), (500, false), "{text}");
    assert!(!text.contains("Platform"));

    // The same key with another body: refused, and nothing runs.
    let other = json!({ "query": CREATE_TEAM, "variables": { "n": "Other" } });
    let (st, _, text) = keyed(&app.http, &url, &s.owner_token, "team-1", &other).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((st, code(&v)), (422, "IDEMPOTENCY_KEY_REUSED"), "{text}");
    assert_eq!(teams_named(&app, "Other").await, 0);

    // Keys belong to an actor: another token's "team-1" is its own.
    let admin = app
        .db
        .add_user(&s.tenant, "admin@acme.test", Role::Admin)
        .await;
    let admin_token = app
        .db
        .token(
            &s.tenant,
            admin,
            &[Scope::Read, Scope::Write, Scope::Settings],
        )
        .await;
    let (st, replayed, _) = keyed(&app.http, &url, &admin_token, "team-1", &body).await;
    assert_eq!((st, replayed), (200, false));
    assert_eq!(teams_named(&app, "Platform").await, 2);

    // A key expires after a day: then it may be used again.
    sqlx::query("UPDATE tenant_acme.idempotency_keys SET created_at = now() - interval '25 hours'")
        .execute(&app.db.migrator)
        .await
        .unwrap();
    let (st, replayed, text) = keyed(&app.http, &url, &s.owner_token, "team-1", &other).await;
    assert_eq!((st, replayed), (200, false), "{text}");
    assert_eq!(teams_named(&app, "Other").await, 1);

    // Queries ignore the key; a malformed key is refused.
    let (st, replayed, _) = keyed(
        &app.http,
        &url,
        &s.owner_token,
        "q",
        &json!({ "query": "{ viewer { role } }" }),
    )
    .await;
    assert_eq!((st, replayed), (200, false));
    let resp = app
        .http
        .post(&url)
        .bearer_auth(&s.owner_token)
        .header("idempotency-key", "has space")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}

#[tokio::test]
async fn a_failed_request_stores_nothing_so_a_retry_runs() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let url = app.url("/w/acme/graphql");
    let bad = json!({ "query": CREATE_TEAM, "variables": { "n": "" } });
    let (st, replayed, text) = keyed(&app.http, &url, &s.owner_token, "k", &bad).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (st, replayed, code(&v)),
        (200, false, "BAD_USER_INPUT"),
        "{text}"
    );
    let good = json!({ "query": CREATE_TEAM, "variables": { "n": "Fixed" } });
    let (st, replayed, text) = keyed(&app.http, &url, &s.owner_token, "k", &good).await;
    assert_eq!((st, replayed), (200, false), "{text}");
    assert_eq!(teams_named(&app, "Fixed").await, 1);
}

#[tokio::test]
async fn a_retry_while_the_first_runs_is_told_to_wait() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let url = app.url("/w/acme/graphql");
    let body = json!({ "query": CREATE_TEAM, "variables": { "n": "Slow" } });
    // Hold the workspace's audit head: the first request blocks at its audit append, after
    // it has claimed the key.
    let mut blocker = app.db.migrator.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM public.audit_heads WHERE tenant_id = $1 FOR UPDATE")
        .bind(s.tenant.id)
        .execute(&mut *blocker)
        .await
        .unwrap();
    let first = {
        let (http, url, token, body) = (
            app.http.clone(),
            url.clone(),
            s.owner_token.clone(),
            body.clone(),
        );
        tokio::spawn(async move { keyed(&http, &url, &token, "slow", &body).await })
    };
    // Wait until the first request is blocked on the audit head.
    for _ in 0..100 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
        )
        .fetch_one(&app.db.migrator)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let resp = app
        .http
        .post(&url)
        .bearer_auth(&s.owner_token)
        .header("idempotency-key", "slow")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 409);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap()),
        Some("1")
    );
    let v: Value = resp.json().await.unwrap();
    assert_eq!(code(&v), "IDEMPOTENCY_IN_PROGRESS");
    blocker.rollback().await.unwrap();
    let (st, replayed, first_body) = first.await.unwrap();
    assert_eq!((st, replayed), (200, false), "{first_body}");
    let (st, replayed, again) = keyed(&app.http, &url, &s.owner_token, "slow", &body).await;
    assert_eq!((st, replayed, again), (200, true, first_body));
    assert_eq!(teams_named(&app, "Slow").await, 1);
}
