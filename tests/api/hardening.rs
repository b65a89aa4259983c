//! The HTTP surface as a black-box reviewer probes it: a kilobyte of fragments that spread each
//! other, response headers, the metrics endpoint, request ids, the GraphQL-over-HTTP media type,
//! and what an outbound-URL check gives away.

use serde_json::{Value, json};

use crate::helpers::{Browser, METRICS_TOKEN, TestApp, code, seed};

/// `fragment F0 on Viewer { __typename }`, each `Fi` spreading `F(i-1)` twice, and a query
/// spreading the last: 2^n selections in about 40 bytes per fragment.
fn fan_out(n: usize) -> String {
    let mut q = format!("query Q {{ viewer {{ ...F{} }} }}\n", n - 1);
    q.push_str("fragment F0 on Viewer { __typename }\n");
    for i in 1..n {
        q.push_str(&format!(
            "fragment F{i} on Viewer {{ ...F{p} ...F{p} }}\n",
            p = i - 1
        ));
    }
    q
}

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = app.http.post(app.url(path)).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn fragments_that_spread_each_other_twice_are_refused_at_once_with_or_without_a_token() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let q = fan_out(40);
    assert!(q.len() < 2_000, "{} bytes", q.len());
    // Without a token the document is refused before authentication is even attempted;
    // with one, before async-graphql validates it. The answer comes at once either way: the
    // analysis is linear, and a 2^40 walk would not finish in any test's lifetime.
    for (path, token) in [
        ("/w/acme/graphql", None),
        ("/w/acme/graphql", Some(s.owner_token.as_str())),
        ("/graphql", None),
        ("/graphql", Some(s.owner_token.as_str())),
    ] {
        let (status, body) = post(&app, path, token, json!({ "query": q })).await;
        assert_eq!(
            (status, code(&body)),
            (400, "QUERY_TOO_COMPLEX"),
            "{path} {body}"
        );
    }
    // A batch of them is refused as a whole.
    let batch = json!([{ "query": q }, { "query": q }]);
    let (status, body) = post(&app, "/w/acme/graphql", Some(&s.owner_token), batch).await;
    assert_eq!((status, code(&body)), (400, "QUERY_TOO_COMPLEX"), "{body}");
    // A small fan-out under the limit is an ordinary query.
    let data = app.ok("acme", &s.owner_token, &fan_out(6), json!({})).await;
    assert_eq!(data["viewer"]["__typename"], "Viewer");
}

#[tokio::test]
async fn every_answer_says_nosniff_and_api_answers_are_not_stored() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    let answers = [
        app.http.get(app.url("/healthz")).send().await.unwrap(),
        app.http.get(app.url("/nowhere")).send().await.unwrap(),
        app.get("/w/acme/graphql?query=%7Bviewer%7Brole%7D%7D", t)
            .await,
        app.http
            .post(app.url("/w/acme/graphql"))
            .bearer_auth(t)
            .json(&json!({ "query": "{ viewer { role } }" }))
            .send()
            .await
            .unwrap(),
        app.http
            .post(app.url("/graphql"))
            .bearer_auth(t)
            .json(&json!({ "query": "{ me { email } }" }))
            .send()
            .await
            .unwrap(),
        app.http
            .post(app.url("/auth/signin"))
            .json(&json!({ "email": "x@y.test", "password": "nope" }))
            .send()
            .await
            .unwrap(),
    ];
    for resp in answers {
        let url = resp.url().to_string();
        assert_eq!(
            resp.headers()
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{url}"
        );
        assert_eq!(
            resp.headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{url}"
        );
    }
}

#[tokio::test]
async fn metrics_need_the_token_and_are_off_without_one() {
    // The test server has a token: none or a wrong one is 401.
    let app = TestApp::spawn().await;
    let get = |token: Option<&'static str>| {
        let mut req = app.http.get(app.url("/metrics"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    assert_eq!(get(None).await.unwrap().status(), 401);
    assert_eq!(get(Some("wrong")).await.unwrap().status(), 401);
    assert_eq!(get(Some(METRICS_TOKEN)).await.unwrap().status(), 200);
    // Without a token (and outside the demo) the public listener does not serve them at all.
    let mut cfg = app.db.cfg.clone();
    cfg.metrics_token = None;
    let open = app.replica(cfg.clone()).await;
    let resp = app
        .http
        .get(format!("http://{}/metrics", open.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    // `metrics_public` (what `serve --demo` sets) opens them.
    cfg.metrics_public = true;
    let public = app.replica(cfg.clone()).await;
    let resp = app
        .http
        .get(format!("http://{}/metrics", public.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // With a separate metrics listener, the main one answers 404 even with the token, and
    // the metrics router serves them.
    cfg.metrics_public = false;
    cfg.metrics_token = Some(tessera::crypto::Secret::new(METRICS_TOKEN.to_owned()));
    cfg.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    let split = app.replica(cfg).await;
    let resp = app
        .http
        .get(format!("http://{}/metrics", split.addr))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn a_client_request_id_is_kept_only_when_short_and_plain() {
    let app = TestApp::spawn().await;
    let id_for = |sent: String| {
        let req = app
            .http
            .get(app.url("/healthz"))
            .header("x-request-id", sent);
        async move {
            req.send().await.unwrap().headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(id_for("trace-123.abc:9".into()).await, "trace-123.abc:9");
    for bad in [
        "a".repeat(7000),
        "has space".into(),
        "semi;colon".into(),
        "x\"y".into(),
    ] {
        let got = id_for(bad.clone()).await;
        assert_ne!(got, bad);
        assert!(uuid::Uuid::parse_str(&got).is_ok(), "{got}");
    }
}

#[tokio::test]
async fn graphql_response_json_clients_get_400_for_request_errors_and_the_media_type() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let send = |query: &'static str, accept: &'static str| {
        app.http
            .post(app.url("/w/acme/graphql"))
            .bearer_auth(&s.owner_token)
            .header("accept", accept)
            .json(&json!({ "query": query }))
            .send()
    };
    let media = "application/graphql-response+json";
    // A validation error: 400 and the media type; no `data`, nothing was executed.
    let resp = send("{ nope }", media).await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(media)
    );
    let body: Value = resp.json().await.unwrap();
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(code(&body), "BAD_REQUEST");
    // A variable that does not coerce is a request error too.
    let resp = app
        .http
        .post(app.url("/w/acme/graphql"))
        .bearer_auth(&s.owner_token)
        .header("accept", media)
        .json(&json!({ "query": "query Q($t: ID!) { idea(id: $t) { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // An error raised while executing is a 200 with data (here null) and the error.
    let resp = send(
        "{ idea(id: \"00000000-0000-0000-0000-000000000000\") { id } }",
        media,
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "NOT_FOUND");
    assert!(body.get("data").is_some());
    // A plain JSON client keeps the 200 it expects, with the same body.
    let resp = send("{ nope }", "application/json").await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    // Transport errors keep their status and take the media type.
    let resp = app
        .http
        .post(app.url("/w/acme/graphql"))
        .header("accept", media)
        .json(&json!({ "query": "{ viewer { role } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(media)
    );
}

#[tokio::test]
async fn an_unresolvable_webhook_host_and_a_refused_one_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let mut answers = Vec::new();
    for url in [
        "https://no-such-host.invalid/hook",
        "https://localhost/hook",
    ] {
        let (_, body) = app
            .gql(
                "acme",
                &s.owner_token,
                "mutation($u: String!) { createWebhookEndpoint(input: {url: $u, events: [\"*\"]}) { secret } }",
                json!({ "u": url }),
            )
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap().to_owned();
        answers.push(
            message
                .replace("no-such-host.invalid", "HOST")
                .replace("localhost", "HOST"),
        );
    }
    assert_eq!(answers[0], answers[1]);
    // A browser session gets the same hardening as a token.
    let mut b = Browser::new(&app);
    let (_, headers, _) = b
        .post(
            "/auth/signup",
            json!({ "email": "z@acme.test", "password": "correct horse battery staple" }),
        )
        .await;
    assert_eq!(headers["x-content-type-options"], "nosniff");
}
