//! Request rate limits: per actor, per workspace and per route, by tier; every root field
//! and every batched operation counts; buckets shared between replicas through Redis, and
//! in-process limits while Redis is unreachable.

use serde_json::{Value, json};
use tessera::authz::{Role, Scope};
use tessera::config::Tier;

use crate::helpers::{TestApp, TestDb, code};

/// The test Redis (the test command starts one when none runs).
pub fn redis_url() -> String {
    std::env::var("TESSERA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn tier(workspace: u32, actor: u32, upload: u32) -> Tier {
    Tier {
        workspace_per_minute: workspace,
        actor_per_minute: actor,
        upload_per_minute: upload,
        ..Tier::default()
    }
}

async fn post(
    app_addr: std::net::SocketAddr,
    slug: &str,
    token: &str,
    body: Value,
) -> (u16, Option<String>, Value) {
    let resp = reqwest::Client::new()
        .post(format!("http://{app_addr}/w/{slug}/graphql"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, resp.json().await.unwrap_or(Value::Null))
}

pub async fn metrics(app: &TestApp) -> String {
    let resp = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth(crate::helpers::METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

fn viewers(n: usize) -> Value {
    let fields: Vec<String> = (0..n).map(|i| format!("v{i}: viewer {{ role }}")).collect();
    json!({ "query": format!("{{ {} }}", fields.join(" ")) })
}

async fn token(db: &TestDb, tenant: &tessera::tenancy::Tenant, email: &str) -> String {
    let user = db.add_user(tenant, email, Role::Member).await;
    db.token(tenant, user, &[Scope::Read]).await
}

#[tokio::test]
async fn actors_and_workspaces_are_limited_per_operation() {
    let mut db = TestDb::new().await;
    db.cfg
        .rate_limits
        .tiers
        .insert("standard".into(), tier(8, 5, 100));
    let app = TestApp::spawn_on(db, 8).await;
    let acme = app.db.create_tenant("acme").await;
    let other = app.db.create_tenant("other").await;
    let a = token(&app.db, &acme, "a@acme.test").await;
    let b = token(&app.db, &acme, "b@acme.test").await;
    let c = token(&app.db, &other, "c@other.test").await;

    // Three aliased root fields count three; a batch of two counts two: five of five.
    let (s, _, body) = post(app.addr, "acme", &a, viewers(3)).await;
    assert_eq!(s, 200, "{body}");
    let batch = json!([{ "query": "{ viewer { role } }" }, { "query": "{ x: viewer { role } }" }]);
    let (s, _, body) = post(app.addr, "acme", &a, batch).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(2), "{body}");
    let (s, retry, body) = post(app.addr, "acme", &a, viewers(1)).await;
    assert_eq!((s, code(&body)), (429, "RATE_LIMITED"), "{body}");
    let retry: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=12).contains(&retry), "{retry}");

    // A request larger than a bucket can never fit: refused, saying so, taking nothing.
    let (s, _, body) = post(app.addr, "acme", &b, viewers(6)).await;
    assert_eq!((s, code(&body)), (429, "RATE_LIMITED"), "{body}");
    assert!(body.to_string().contains("counts 6 operations"), "{body}");
    // b has its own actor bucket, but the workspace has 3 of 8 left.
    let (s, _, body) = post(app.addr, "acme", &b, viewers(3)).await;
    assert_eq!(s, 200, "{body}");
    let (s, _, body) = post(app.addr, "acme", &b, viewers(1)).await;
    assert_eq!(
        (s, code(&body)),
        (429, "RATE_LIMITED"),
        "workspace bucket: {body}"
    );

    // Another workspace is not affected.
    let (s, _, body) = post(app.addr, "other", &c, viewers(5)).await;
    assert_eq!(s, 200, "{body}");

    // The account endpoint counts per user, in the actor quota.
    let account = |token: String| async move {
        let resp = reqwest::Client::new()
            .post(format!("http://{}/graphql", app.addr))
            .bearer_auth(token)
            .json(&json!({ "query": "{ me { id } }" }))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.unwrap())
    };
    for _ in 0..5 {
        let (s, body) = account(c.clone()).await;
        assert_eq!(s, 200, "{body}");
    }
    let (s, body) = account(c.clone()).await;
    assert_eq!((s, code(&body)), (429, "RATE_LIMITED"), "{body}");

    let metrics = metrics(&app).await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("tessera_rate_limited_total{route=\"graphql\"}")),
        "{metrics}"
    );
}

#[tokio::test]
async fn routes_have_their_own_buckets_and_tiers_their_own_quotas() {
    let mut db = TestDb::new().await;
    let one_each = Tier {
        workspace_per_minute: 1000,
        actor_per_minute: 1000,
        upload_per_minute: 1,
        download_per_minute: 1,
        export_per_minute: 1,
    };
    db.cfg.rate_limits.tiers.insert("standard".into(), one_each);
    db.cfg
        .rate_limits
        .tiers
        .insert("enterprise".into(), tier(1000, 1000, 50));
    db.cfg
        .rate_limits
        .workspaces
        .insert("big".into(), "enterprise".into());
    let app = TestApp::spawn_on(db, 8).await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for slug in ["small", "big"] {
        let s = crate::helpers::seed(&app, slug).await;
        let upload = || async {
            app.http
                .post(app.url(&format!("/w/{slug}/attachments")))
                .query(&[
                    ("entityType", "project"),
                    ("entityId", s.project_id.as_str()),
                    ("filename", "a.txt"),
                ])
                .bearer_auth(&s.owner_token)
                .header("content-type", "text/plain")
                .body("hello")
                .send()
                .await
                .unwrap()
        };
        let first = upload().await;
        assert_eq!(first.status().as_u16(), 201, "{slug}");
        let id = first.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let get = |path: String| {
            let (client, token, url) =
                (no_redirects.clone(), s.owner_token.clone(), app.url(&path));
            async move {
                let r = client.get(url).bearer_auth(token).send().await.unwrap();
                let status = r.status().as_u16();
                let retry = r.headers().contains_key("retry-after");
                (status, retry)
            }
        };
        let download = format!("/w/{slug}/attachments/{id}/content");
        let export = format!("/w/{slug}/export/projects.csv");
        let (second_upload, first_download, first_export) = (
            upload().await.status().as_u16(),
            get(download.clone()).await,
            get(export.clone()).await,
        );
        assert_eq!((first_download.0, first_export.0), (302, 200), "{slug}");
        let (second_download, second_export) = (get(download).await, get(export).await);
        if slug == "small" {
            // Each route's bucket is full on its own: 429 with Retry-After on each.
            assert_eq!(second_upload, 429);
            assert_eq!(second_download, (429, true));
            assert_eq!(second_export, (429, true));
            // GraphQL still answers: its bucket is the actor's.
            let data = app
                .ok(slug, &s.owner_token, "{ viewer { role } }", json!({}))
                .await;
            assert_eq!(data["viewer"]["role"], "OWNER");
        } else {
            assert_eq!(
                (second_upload, second_download.0, second_export.0),
                (201, 302, 200),
                "the enterprise tier allows more"
            );
        }
    }
}

#[tokio::test]
async fn replicas_share_their_buckets_through_redis() {
    let mut db = TestDb::new().await;
    db.cfg
        .rate_limits
        .tiers
        .insert("standard".into(), tier(1000, 4, 100));
    db.cfg.rate_limits.redis_url = Some(tessera::crypto::Secret::new(redis_url()));
    db.cfg.rate_limits.redis_prefix = db.name.clone();
    let prefix = db.name.clone();
    let app = TestApp::spawn_on(db, 8).await;
    let replica = app.replica(app.db.cfg.clone()).await;
    let acme = app.db.create_tenant("acme").await;
    let a = token(&app.db, &acme, "a@acme.test").await;

    // Four of four, alternating between the two servers; the fifth is refused by either.
    for addr in [app.addr, replica.addr, app.addr, replica.addr] {
        let (s, _, body) = post(addr, "acme", &a, viewers(1)).await;
        assert_eq!(s, 200, "{body}");
    }
    for addr in [app.addr, replica.addr] {
        let (s, _, body) = post(addr, "acme", &a, viewers(1)).await;
        assert_eq!((s, code(&body)), (429, "RATE_LIMITED"), "{body}");
    }

    // The buckets live in Redis under the deployment's prefix, and expire on their own.
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:rl:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(keys.iter().any(|k| k.ends_with(":workspace")), "{keys:?}");
    for k in &keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(k)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0 && ttl <= 61_000, "{k}: {ttl}");
    }
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unreachable_redis_falls_back_to_in_process_buckets() {
    // Nothing listens on a port we bound and closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut db = TestDb::new().await;
    db.cfg
        .rate_limits
        .tiers
        .insert("standard".into(), tier(1000, 2, 100));
    db.cfg.rate_limits.redis_url = Some(tessera::crypto::Secret::new(format!(
        "redis://127.0.0.1:{port}"
    )));
    let app = TestApp::spawn_on(db, 8).await;
    let acme = app.db.create_tenant("acme").await;
    let a = token(&app.db, &acme, "a@acme.test").await;
    for _ in 0..2 {
        let (s, _, body) = post(app.addr, "acme", &a, viewers(1)).await;
        assert_eq!(s, 200, "{body}");
    }
    let (s, _, body) = post(app.addr, "acme", &a, viewers(1)).await;
    assert_eq!((s, code(&body)), (429, "RATE_LIMITED"), "{body}");
    let metrics = metrics(&app).await;
    assert!(
        metrics.contains("tessera_rate_limit_backend_errors_total"),
        "{metrics}"
    );
}

#[tokio::test]
async fn batches_are_bounded_and_answered_in_order() {
    let mut db = TestDb::new().await;
    db.cfg.limits.max_batch = 3;
    let app = TestApp::spawn_on(db, 8).await;
    let s = crate::helpers::seed(&app, "acme").await;
    let batch = json!([
        { "query": "mutation($n: String!) { createTeam(input: {name: $n, visibility: OPEN}) { name } }", "variables": { "n": "One" } },
        { "query": "{ viewer { role } }" },
        { "query": "{ nope }" },
    ]);
    let (st, _, body) = post(app.addr, "acme", &s.owner_token, batch).await;
    assert_eq!(st, 200, "{body}");
    let items = body.as_array().unwrap();
    assert_eq!(items[0]["data"]["createTeam"]["name"], "One");
    assert_eq!(items[1]["data"]["viewer"]["role"], "OWNER");
    // One operation's error does not undo the others: each has its own transaction.
    assert!(items[2]["errors"].is_array(), "{body}");

    let four: Vec<Value> = (0..4)
        .map(|_| json!({ "query": "{ viewer { role } }" }))
        .collect();
    let (st, _, body) = post(app.addr, "acme", &s.owner_token, json!(four)).await;
    assert_eq!((st, code(&body)), (400, "BATCH_TOO_LARGE"), "{body}");
    let (st, _, body) = post(app.addr, "acme", &s.owner_token, json!([])).await;
    assert_eq!((st, code(&body)), (400, "BATCH_TOO_LARGE"), "{body}");
    let resp = app
        .http
        .post(app.url("/w/acme/graphql"))
        .bearer_auth(&s.owner_token)
        .header("idempotency-key", "k1")
        .json(&json!([{ "query": "{ viewer { role } }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    // The account endpoint serves single operations only.
    let resp = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&s.owner_token)
        .json(&json!([{ "query": "{ me { id } }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}

#[tokio::test]
async fn metrics_need_their_token_and_label_routes_not_paths() {
    let mut db = TestDb::new().await;
    db.cfg.metrics_token = Some(tessera::crypto::Secret::new("scrape-me".into()));
    let app = TestApp::spawn_on(db, 8).await;
    let s = crate::helpers::seed(&app, "acme").await;
    app.ok(
        "acme",
        &s.owner_token,
        "query Named { viewer { role } }",
        json!({}),
    )
    .await;
    let (none, wrong) = (
        app.http.get(app.url("/metrics")).send().await.unwrap(),
        app.http
            .get(app.url("/metrics"))
            .bearer_auth("nope")
            .send()
            .await
            .unwrap(),
    );
    assert_eq!(
        (none.status().as_u16(), wrong.status().as_u16()),
        (401, 401)
    );
    let text = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "tessera_http_request_duration_seconds_bucket{route=\"/w/{slug}/graphql\",method=\"POST\",status=\"200\"",
        "tessera_graphql_operation_duration_seconds_bucket{operation=\"Named\",type=\"query\",outcome=\"ok\"",
        "tessera_db_pool_connections ",
        "tessera_db_pool_wait_seconds_bucket",
        "tessera_audit_appends_total",
        "tessera_auth_failures_total{route=\"/metrics\"}",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    assert!(!text.contains("/w/acme/"), "paths are never labels");
}
