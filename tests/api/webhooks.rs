//! Outbound webhooks end to end: a real receiver verifies every signature (and refuses a
//! replay older than five minutes), failures are retried then disable the endpoint, redirects
//! are not followed, private destinations are refused at registration and again at delivery,
//! rotation sends two signatures, and with two replicas each message is sent once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use tessera::webhooks::signature::{self, WebhookSecret};

use crate::helpers::{TestApp, TestDb, code, seed};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: Bytes,
    verified: bool,
}

#[derive(Default)]
struct ReceiverState {
    secrets: Vec<WebhookSecret>,
    /// Seconds added to the receiver's clock (to test the replay window).
    skew: i64,
    /// Statuses to answer before answering 200.
    plan: VecDeque<u16>,
    /// Answer every request with a redirect to this URL.
    redirect_to: Option<String>,
    got: Vec<Received>,
}

/// A webhook receiver on a loopback port, verifying signatures as `docs/webhooks.md` says.
#[derive(Clone)]
struct Receiver {
    url: String,
    state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    async fn start() -> Self {
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let shared = state.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move { receive(&state, &headers, body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: format!("http://127.0.0.1:{}/hook", addr.port()),
            state,
        }
    }

    fn trust(&self, secret: &str) {
        let s = WebhookSecret::parse(secret).expect("a whsec_ secret");
        self.state.lock().unwrap().secrets.push(s);
    }

    fn got(&self) -> Vec<Received> {
        self.state.lock().unwrap().got.clone()
    }

    async fn wait_for(&self, verified: usize) -> Vec<Received> {
        for _ in 0..200 {
            let got = self.got();
            if got.iter().filter(|r| r.verified).count() >= verified {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the receiver got {:#?}", self.got());
    }

    /// Sends a captured delivery again, as an attacker replaying it would.
    async fn replay(&self, r: &Received, body: &[u8]) -> u16 {
        reqwest::Client::new()
            .post(&self.url)
            .header("webhook-id", &r.id)
            .header("webhook-timestamp", &r.timestamp)
            .header("webhook-signature", &r.signature)
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

fn receive(
    state: &Mutex<ReceiverState>,
    headers: &HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut st = state.lock().unwrap();
    let now = tessera::Clock::now(&tessera::SystemClock).timestamp() + st.skew;
    let (id, timestamp, sig) = (
        h("webhook-id"),
        h("webhook-timestamp"),
        h("webhook-signature"),
    );
    let verified = signature::verify(&st.secrets, &id, &timestamp, &sig, &body, now).is_ok();
    st.got.push(Received {
        id,
        timestamp,
        signature: sig,
        body,
        verified,
    });
    if !verified {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if let Some(to) = st.redirect_to.clone() {
        return (StatusCode::FOUND, [("location", to)]).into_response();
    }
    let status = st.plan.pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap().into_response()
}

const REGISTER: &str = "mutation($u: String!, $e: [String!]!) {
    createWebhookEndpoint(input: {url: $u, events: $e}) { endpoint { id enabled } secret } }";

async fn register(app: &TestApp, token: &str, url: &str, events: &[&str]) -> (String, String) {
    let d = app
        .ok("acme", token, REGISTER, json!({ "u": url, "e": events }))
        .await;
    let r = &d["createWebhookEndpoint"];
    (
        r["endpoint"]["id"].as_str().unwrap().to_owned(),
        r["secret"].as_str().unwrap().to_owned(),
    )
}

async fn create_project(app: &TestApp, token: &str, team: &str, name: &str) -> String {
    let d = app
        .ok(
            "acme",
            token,
            "mutation($t: ID!, $n: String!) { createProject(input: {teamId: $t, name: $n}) { id } }",
            json!({ "t": team, "n": name }),
        )
        .await;
    d["createProject"]["id"].as_str().unwrap().to_owned()
}

async fn messages(app: &TestApp, token: &str, endpoint: &str) -> Vec<Value> {
    let d = app
        .ok(
            "acme",
            token,
            "query($e: ID!) { webhookMessages(endpointId: $e) { id eventType status attempts lastStatusCode lastError } }",
            json!({ "e": endpoint }),
        )
        .await;
    d["webhookMessages"].as_array().unwrap().clone()
}

async fn settled(app: &TestApp, token: &str, endpoint: &str, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let m = messages(app, token, endpoint).await;
        if m.len() >= n && m.iter().all(|m| m["status"] != "pending") {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "messages did not settle: {:#?}",
        messages(app, token, endpoint).await
    );
}

fn loopback_db(db: &mut TestDb) {
    db.cfg.network.allow_loopback = true;
    db.cfg.webhooks.retry_base_ms = 50;
}

#[tokio::test]
async fn deliveries_are_signed_retried_and_verified_and_old_replays_are_refused() {
    let mut db = TestDb::new().await;
    loopback_db(&mut db);
    let app = TestApp::spawn_on(db, 8).await;
    let s = seed(&app, "acme").await;
    let receiver = Receiver::start().await;
    let (endpoint, secret) =
        register(&app, &s.owner_token, &receiver.url, &["createProject"]).await;
    receiver.trust(&secret);
    receiver.state.lock().unwrap().plan = VecDeque::from([500, 503]);

    let project = create_project(&app, &s.owner_token, &s.team_id, "Hooked").await;
    // Not subscribed: no message.
    app.ok(
        "acme",
        &s.owner_token,
        "mutation { createTeam(input: {name: \"Quiet\", visibility: OPEN}) { id } }",
        json!({}),
    )
    .await;
    let got = receiver.wait_for(3).await;
    let m = settled(&app, &s.owner_token, &endpoint, 1).await;
    assert_eq!(m.len(), 1, "{m:#?}");
    assert_eq!(
        (m[0]["status"].as_str(), m[0]["attempts"].as_i64()),
        (Some("delivered"), Some(3))
    );
    assert_eq!(m[0]["lastStatusCode"], 200);
    assert!(
        got.iter().all(|r| r.verified && r.id == m[0]["id"]),
        "{got:#?}"
    );

    let event: Value = serde_json::from_slice(&got[2].body).unwrap();
    assert_eq!(event["type"], "createProject");
    assert_eq!(event["data"]["workspace"], "acme");
    assert_eq!(
        event["data"]["target"],
        json!({ "type": "Project", "id": project })
    );
    assert_eq!(event["data"]["actor"]["type"], "token");

    // A captured delivery: accepted again within five minutes, refused past them, and
    // refused with a changed body.
    let last = got[2].clone();
    assert_eq!(receiver.replay(&last, &last.body).await, 200);
    receiver.state.lock().unwrap().skew = 301;
    assert_eq!(
        receiver.replay(&last, &last.body).await,
        401,
        "a stale replay"
    );
    receiver.state.lock().unwrap().skew = 0;
    let mut tampered = last.body.to_vec();
    tampered.extend_from_slice(b" ");
    assert_eq!(receiver.replay(&last, &tampered).await, 401);

    // Rotation: the next message carries two signatures, each valid on its own.
    let d = app
        .ok(
            "acme",
            &s.owner_token,
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { previousSecretUntil } } }",
            json!({ "id": endpoint }),
        )
        .await;
    let new_secret = d["rotateWebhookSecret"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_secret, secret);
    assert!(d["rotateWebhookSecret"]["endpoint"]["previousSecretUntil"].is_string());
    create_project(&app, &s.owner_token, &s.team_id, "Rotated").await;
    let got = receiver.wait_for(5).await;
    let r = got.last().unwrap();
    assert_eq!(r.signature.split(' ').count(), 2, "{}", r.signature);
    let now = tessera::Clock::now(&tessera::SystemClock).timestamp();
    for key in [&secret, &new_secret] {
        let only = [WebhookSecret::parse(key).unwrap()];
        assert!(signature::verify(&only, &r.id, &r.timestamp, &r.signature, &r.body, now).is_ok());
    }

    // Secrets never appear in the audit log, and the endpoint lists without one.
    let listed = app
        .ok(
            "acme",
            &s.owner_token,
            "{ webhookEndpoints { id url events enabled } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["webhookEndpoints"][0]["events"],
        json!(["createProject"])
    );
    let payloads: Vec<Value> = app
        .ok(
            "acme",
            &s.owner_token,
            "{ auditEntries(actions: [\"createWebhookEndpoint\", \"rotateWebhookSecret\"]) { payload } }",
            json!({}),
        )
        .await["auditEntries"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(payloads.len(), 2);
    let text = serde_json::to_string(&payloads).unwrap();
    assert!(!text.contains(&secret) && !text.contains(&new_secret));
}

#[tokio::test]
async fn failing_endpoints_are_disabled_and_redirects_are_not_followed() {
    let mut db = TestDb::new().await;
    loopback_db(&mut db);
    db.cfg.webhooks.max_attempts = 2;
    db.cfg.webhooks.disable_after_failures = 2;
    let app = TestApp::spawn_on(db, 8).await;
    let s = seed(&app, "acme").await;
    let receiver = Receiver::start().await;
    let elsewhere = Receiver::start().await;
    receiver.state.lock().unwrap().redirect_to = Some(elsewhere.url.clone());
    let (endpoint, secret) = register(&app, &s.owner_token, &receiver.url, &["*"]).await;
    receiver.trust(&secret);

    create_project(&app, &s.owner_token, &s.team_id, "One").await;
    settled(&app, &s.owner_token, &endpoint, 1).await;
    create_project(&app, &s.owner_token, &s.team_id, "Two").await;
    let m = settled(&app, &s.owner_token, &endpoint, 2).await;
    for msg in &m {
        assert_eq!(msg["status"], "failed", "{msg}");
        assert_eq!(msg["attempts"], 2);
        assert_eq!(msg["lastStatusCode"], 302);
        assert_eq!(msg["lastError"], "redirects are not followed");
    }
    assert!(elsewhere.got().is_empty(), "the redirect was not followed");
    assert_eq!(receiver.got().len(), 4);

    let listed = app
        .ok(
            "acme",
            &s.owner_token,
            "{ webhookEndpoints { enabled disabledReason consecutiveFailures } }",
            json!({}),
        )
        .await;
    let e = &listed["webhookEndpoints"][0];
    assert_eq!(e["enabled"], false, "{e}");
    assert_eq!(e["consecutiveFailures"], 2);
    assert!(e["disabledReason"].as_str().unwrap().contains("2 messages"));

    // Disabled: new events write no message.
    create_project(&app, &s.owner_token, &s.team_id, "Three").await;
    assert_eq!(messages(&app, &s.owner_token, &endpoint).await.len(), 2);
    // Enabled again, and fixed: delivered.
    receiver.state.lock().unwrap().redirect_to = None;
    app.ok(
        "acme",
        &s.owner_token,
        "mutation($id: ID!) { enableWebhookEndpoint(id: $id) { enabled } }",
        json!({ "id": endpoint }),
    )
    .await;
    create_project(&app, &s.owner_token, &s.team_id, "Four").await;
    let m = settled(&app, &s.owner_token, &endpoint, 3).await;
    assert_eq!(m[0]["status"], "delivered", "{m:#?}");
    let metrics = crate::rate_limits::metrics(&app).await;
    for outcome in ["delivered", "failed", "disabled"] {
        let needle = format!("tessera_webhook_deliveries_total{{outcome=\"{outcome}\"}}");
        assert!(metrics.contains(&needle), "{needle}");
    }
}

#[tokio::test]
async fn private_destinations_are_refused_at_registration_and_at_delivery() {
    let mut db = TestDb::new().await;
    db.cfg.webhooks.retry_base_ms = 50;
    db.cfg.webhooks.max_attempts = 1;
    let app = TestApp::spawn_on(db, 8).await;
    let s = seed(&app, "acme").await;
    let receiver = Receiver::start().await;
    let port = receiver
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    for url in [
        receiver.url.clone(),
        format!("http://localhost:{port}/hook"),
        "http://2130706433/".into(),
        "http://0x7f000001/".into(),
        "http://0177.0.0.1/".into(),
        "http://[::1]/".into(),
        "http://[::ffff:127.0.0.1]/".into(),
        "http://[::ffff:7f00:1]/".into(),
        "http://169.254.169.254/latest/meta-data/".into(),
        "http://[fe80::1]/".into(),
        "http://10.0.0.5/".into(),
        "http://192.168.1.1/".into(),
        "http://[fd00::1]/".into(),
        "http://100.64.0.1/".into(),
        "http://0.0.0.0/".into(),
        "http://user:pw@example.com/".into(),
        "file:///etc/passwd".into(),
    ] {
        let (st, body) = app
            .gql(
                "acme",
                &s.owner_token,
                REGISTER,
                json!({ "u": url, "e": ["*"] }),
            )
            .await;
        assert_eq!((st, code(&body)), (200, "BAD_USER_INPUT"), "{url}: {body}");
    }
    assert!(
        app.ok(
            "acme",
            &s.owner_token,
            "{ webhookEndpoints { id } }",
            json!({})
        )
        .await["webhookEndpoints"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // An endpoint whose host name now resolves to loopback (as after a DNS rebinding) and
    // one with a literal loopback address, both accepted earlier: delivery refuses both.
    for (name, url) in [
        ("rebound", format!("http://localhost:{port}/hook")),
        ("literal", receiver.url.clone()),
    ] {
        let id = uuid::Uuid::now_v7();
        sqlx::query(
            "INSERT INTO tenant_acme.webhook_endpoints (id, url, events, created_by) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(&url)
        .bind(vec![format!("createProject")])
        .bind(s.owner)
        .execute(&app.db.migrator)
        .await
        .unwrap();
        let mut tx = tessera::tenancy::begin(
            &app.pool,
            &tessera::tenancy::Slug::parse("acme").unwrap(),
            tessera::tenancy::Access::ReadWrite,
        )
        .await
        .unwrap()
        .unwrap();
        tessera::crypto::store::put(
            &mut tx,
            &app.db.keyring,
            tessera::crypto::store::SecretKind::WebhookSecret,
            &format!("webhook:{id}"),
            &tessera::crypto::Secret::new(WebhookSecret::generate().expose()),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        create_project(&app, &s.owner_token, &s.team_id, name).await;
        let m = settled(&app, &s.owner_token, &id.to_string(), 1).await;
        assert_eq!(m[0]["status"], "failed", "{name}: {m:#?}");
        assert!(m[0]["lastStatusCode"].is_null());
        assert!(
            m[0]["lastError"].as_str().unwrap().contains("not allowed"),
            "{name}: {m:#?}"
        );
    }
    assert!(
        receiver.got().is_empty(),
        "nothing reached the loopback receiver"
    );
}

#[tokio::test]
async fn with_two_replicas_each_message_is_sent_once() {
    let mut db = TestDb::new().await;
    loopback_db(&mut db);
    let app = TestApp::spawn_on(db, 8).await;
    let _replica = app.replica(app.db.cfg.clone()).await;
    let s = seed(&app, "acme").await;
    let receiver = Receiver::start().await;
    let (_, secret) = register(&app, &s.owner_token, &receiver.url, &["createProject"]).await;
    receiver.trust(&secret);
    const N: usize = 20;
    for i in 0..N {
        create_project(&app, &s.owner_token, &s.team_id, &format!("p{i}")).await;
    }
    receiver.wait_for(N).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = receiver.got();
    let mut ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((got.len(), ids.len()), (N, N), "each message exactly once");
}
