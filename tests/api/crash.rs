//! Real server processes: keyed mutations across a SIGKILL take effect exactly once, and every
//! request leaves one JSON log line with its request id, tenant, actor and operation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::embedded::{spawn_server, spawn_server_logged};
use crate::helpers::{TestDb, tempdir};
use crate::idempotency::keyed;

const CREATE_PROJECT: &str =
    "mutation($t: ID!, $n: String!) { createProject(input: {teamId: $t, name: $n}) { id name } }";

async fn workspace(db: &TestDb) -> (tessera::tenancy::Tenant, String, uuid::Uuid) {
    let tenant = db.create_tenant("acme").await;
    let owner = db
        .add_user(&tenant, "o@acme.test", tessera::authz::Role::Owner)
        .await;
    let token = db
        .token(
            &tenant,
            owner,
            &[tessera::authz::Scope::Read, tessera::authz::Scope::Write],
        )
        .await;
    let team = uuid::Uuid::new_v4();
    sqlx::query("INSERT INTO tenant_acme.teams (id, name, visibility) VALUES ($1, 'Core', 'open')")
        .bind(team)
        .execute(&db.migrator)
        .await
        .unwrap();
    (tenant, token, team)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_mutations_cut_by_sigkill_take_effect_exactly_once_after_retry() {
    const N: usize = 120;
    let db = TestDb::new().await;
    let (tenant, token, team) = workspace(&db).await;
    let data = tempdir::Dir::new();
    let bodies: Arc<Vec<Value>> = Arc::new(
        (0..N)
            .map(|i| json!({ "query": CREATE_PROJECT, "variables": { "t": team, "n": format!("p{i}") } }))
            .collect(),
    );
    let http = reqwest::Client::new();

    // A batch of keyed mutations, six at a time; the server is killed part-way through.
    let (mut child, addr) = spawn_server(&db, data.path(), &[]);
    let url = format!("http://{addr}/w/acme/graphql");
    let answered = Arc::new(AtomicUsize::new(0));
    let batch = {
        let (http, url, token, bodies, answered) = (
            http.clone(),
            url.clone(),
            token.clone(),
            bodies.clone(),
            answered.clone(),
        );
        tokio::spawn(async move {
            futures_util::stream::iter(0..N)
                .map(|i| {
                    let (http, url, token, bodies, answered) = (
                        http.clone(),
                        url.clone(),
                        token.clone(),
                        bodies.clone(),
                        answered.clone(),
                    );
                    async move {
                        let sent = http
                            .post(&url)
                            .bearer_auth(&token)
                            .header("idempotency-key", format!("key-{i}"))
                            .json(&bodies[i])
                            .send()
                            .await;
                        let ok = matches!(&sent, Ok(r) if r.status() == 200);
                        if ok {
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                        ok
                    }
                })
                .buffer_unordered(6)
                .collect::<Vec<bool>>()
                .await
        })
    };
    while answered.load(Ordering::SeqCst) < 25 {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    child.kill().unwrap(); // SIGKILL: no drain, no cleanup.
    child.wait().unwrap();
    let outcomes = batch.await.unwrap();
    let before = outcomes.iter().filter(|ok| **ok).count();
    assert!(
        (25..N).contains(&before),
        "the kill landed mid-batch: {before} of {N} answered"
    );

    // Restart and retry every request with its key: each answers 200, replayed or not.
    let (mut child, addr) = spawn_server(&db, data.path(), &[]);
    let url = format!("http://{addr}/w/acme/graphql");
    let mut replayed = 0;
    let mut ids = Vec::with_capacity(N);
    for (i, body) in bodies.iter().enumerate() {
        let (status, was_replayed, text) =
            keyed(&http, &url, &token, &format!("key-{i}"), body).await;
        assert_eq!(status, 200, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(v.get("errors").is_none(), "{text}");
        assert_eq!(v["data"]["createProject"]["name"], format!("p{i}"));
        ids.push(
            v["data"]["createProject"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        replayed += usize::from(was_replayed);
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        replayed >= before,
        "every answered request is replayed, not re-run: {replayed} < {before}"
    );

    // Each effect exists exactly once, and is the one the retry reported.
    let rows: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT id, name FROM tenant_acme.projects ORDER BY name")
            .fetch_all(&db.migrator)
            .await
            .unwrap();
    assert_eq!(rows.len(), N, "one project per key");
    for (i, id) in ids.iter().enumerate() {
        let name = format!("p{i}");
        let found: Vec<_> = rows.iter().filter(|(_, n)| *n == name).collect();
        assert_eq!(found.len(), 1, "{name}");
        assert_eq!(found[0].0.to_string(), *id, "{name}");
    }
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM public.audit_log WHERE tenant_id = $1 AND action = 'createProject'",
    )
    .bind(tenant.id)
    .fetch_one(&db.migrator)
    .await
    .unwrap();
    assert_eq!(audited, N as i64, "one audit entry per effect");
    let mut conn = db.owner.acquire().await.unwrap();
    let report = tessera::audit::verify(&mut conn, &db.keyring, tenant.id)
        .await
        .unwrap();
    assert!(report.ok(), "the audit chain verifies after the crash");
}

/// A successful workspace query sent with `X-Request-Id: id`.
async fn traced(addr: &str, token: &str, id: &str, query: &str) -> reqwest::Response {
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/w/acme/graphql"))
        .bearer_auth(token)
        .header("x-request-id", id)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp
}

#[tokio::test]
async fn every_request_leaves_one_json_line_with_its_context() {
    let db = TestDb::new().await;
    let (_, token, _) = workspace(&db).await;
    let data = tempdir::Dir::new();
    let (mut child, addr, log) =
        spawn_server_logged(&db, data.path(), &[("TESSERA_LOG", "info,sqlx=warn")]);
    let resp = traced(
        &addr,
        &token,
        "req-abc-123",
        "query TeamNames { viewer { role } }",
    )
    .await;
    assert_eq!(
        resp.headers().get("x-request-id").unwrap(),
        "req-abc-123",
        "the request id is echoed"
    );
    // A generated id when none is sent.
    let resp = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    let generated = resp
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(uuid::Uuid::parse_str(&generated).map(|_| ()), Ok(()));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let _ = child.kill();
    let _ = child.wait();
    let lines = log.lock().unwrap().clone();
    let requests: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "request")
        .collect();
    let line = requests
        .iter()
        .find(|v| v["fields"]["request_id"] == "req-abc-123")
        .unwrap_or_else(|| panic!("no request line in {lines:#?}"));
    let f = &line["fields"];
    assert_eq!(f["route"], "/w/{slug}/graphql");
    assert_eq!(f["tenant"], "acme");
    assert!(f["actor"].as_str().unwrap().starts_with("token:"), "{f}");
    assert_eq!(f["operation"], "TeamNames");
    assert_eq!(f["status"], 200);
    assert!(f["latency_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(
        requests
            .iter()
            .filter(|v| v["fields"]["request_id"] == "req-abc-123")
            .count(),
        1,
        "one line per request"
    );
    assert!(
        requests
            .iter()
            .any(|v| v["fields"]["request_id"] == generated.as_str()),
        "the generated id is logged"
    );
    // The bearer token is nowhere in the log.
    let secret = token.rsplit('_').next().unwrap();
    assert!(lines.iter().all(|l| !l.contains(secret)));
}

#[tokio::test]
async fn traces_reach_an_otlp_collector_with_the_request_id_on_the_span() {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    use prost::Message;

    // A collector: takes OTLP/HTTP protobuf exports and keeps them.
    let exports: Arc<std::sync::Mutex<Vec<ExportTraceServiceRequest>>> = Arc::default();
    let keep = exports.clone();
    let collector = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let keep = keep.clone();
            async move {
                let req = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf export");
                keep.lock().unwrap().push(req);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let db = TestDb::new().await;
    let (_, token, _) = workspace(&db).await;
    let data = tempdir::Dir::new();
    let (mut child, addr) = spawn_server(
        &db,
        data.path(),
        &[("TESSERA_OTLP_ENDPOINT", endpoint.as_str())],
    );
    traced(&addr, &token, "trace-me-42", "{ viewer { role } }").await;
    // SIGTERM: the server drains and flushes its spans before exiting.
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut exited = false;
    for _ in 0..100 {
        if child.try_wait().unwrap().is_some() {
            exited = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    if !exited {
        let _ = child.kill();
    }
    assert!(exited, "the server exits on SIGTERM");

    let exports = exports.lock().unwrap();
    let spans: Vec<_> = exports
        .iter()
        .flat_map(|e| &e.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect();
    let request = spans
        .iter()
        .find(|s| {
            s.name == "request"
                && s.attributes.iter().any(|kv| {
                    kv.key == "request_id"
                        && matches!(kv.value.as_ref().and_then(|v| v.value.as_ref()),
                            Some(Any::StringValue(v)) if v == "trace-me-42")
                })
        })
        .unwrap_or_else(|| panic!("no request span with the id among {} spans", spans.len()));
    assert!(
        request.attributes.iter().any(|kv| kv.key == "path"),
        "{request:?}"
    );
    let service = exports[0].resource_spans[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.clone());
    assert_eq!(service, Some(Any::StringValue("tessera".into())));
}
