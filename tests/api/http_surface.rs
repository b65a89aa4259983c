//! GraphQL over HTTP: transport rules, limits and error shapes.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, code, seed};

async fn raw(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    ctype: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut req = app
        .http
        .request(method, app.url(path))
        .bearer_auth(token)
        .body(body);
    if let Some(c) = ctype {
        req = req.header("content-type", c);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn get_never_mutates_and_only_json_is_accepted() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    let mutation = "mutation { createIdea(input: {title: \"via get\"}) { id } }";
    let url = format!("/w/acme/graphql?query={}", urlencode(mutation));
    let (status, body) = raw(&app, reqwest::Method::GET, &url, t, None, vec![]).await;
    assert_eq!((status, code(&body)), (405, "METHOD_NOT_ALLOWED"));
    // GET queries work.
    let url = format!("/w/acme/graphql?query={}", urlencode("{ viewer { role } }"));
    let (status, body) = raw(&app, reqwest::Method::GET, &url, t, None, vec![]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["viewer"]["role"], "OWNER");

    let json_body = serde_json::to_vec(&json!({ "query": mutation })).unwrap();
    for ctype in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/graphql"),
        None,
    ] {
        let (status, body) = raw(
            &app,
            reqwest::Method::POST,
            "/w/acme/graphql",
            t,
            ctype,
            json_body.clone(),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (415, "UNSUPPORTED_MEDIA_TYPE"),
            "{ctype:?}"
        );
    }
    let (status, _) = raw(
        &app,
        reqwest::Method::POST,
        "/w/acme/graphql",
        t,
        Some("application/json; charset=utf-8"),
        json_body,
    )
    .await;
    assert_eq!(status, 200);
    let ideas = app
        .ok(
            "acme",
            t,
            "{ ideas { edges { node { title } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        ideas["ideas"]["edges"].as_array().map(Vec::len),
        Some(1),
        "exactly the POSTed one: {ideas}"
    );
}

#[tokio::test]
async fn malformed_and_oversized_requests_get_clear_4xx() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "malformed json",
            b"{\"query\": ".to_vec(),
            400,
            "BAD_REQUEST",
        ),
        (
            "a batch larger than limits.max_batch",
            format!("[{}]", [r#"{"query":"{viewer{role}}"}"#; 11].join(",")).into_bytes(),
            400,
            "BATCH_TOO_LARGE",
        ),
        (
            "a batch of something else",
            br#"[1, 2]"#.to_vec(),
            400,
            "BAD_REQUEST",
        ),
        (
            "no query",
            br#"{"variables":{}}"#.to_vec(),
            400,
            "BAD_REQUEST",
        ),
        (
            "syntax error",
            br#"{"query":"{ viewer { "}"#.to_vec(),
            400,
            "BAD_REQUEST",
        ),
        (
            "variables not an object",
            br#"{"query":"{viewer{role}}","variables":[1]}"#.to_vec(),
            400,
            "BAD_REQUEST",
        ),
        (
            "huge body",
            format!(
                r#"{{"query":"{{viewer{{role}}}}","variables":{{"x":"{}"}}}}"#,
                "a".repeat(300 * 1024)
            )
            .into_bytes(),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "long query",
            format!(
                r#"{{"query":"{{viewer{{role}}}} #{}"}}"#,
                "a".repeat(40 * 1024)
            )
            .into_bytes(),
            413,
            "QUERY_TOO_LARGE",
        ),
    ];
    for (name, body, want_status, want_code) in cases {
        let (status, resp) = raw(
            &app,
            reqwest::Method::POST,
            "/w/acme/graphql",
            t,
            Some("application/json"),
            body,
        )
        .await;
        assert_eq!(
            (status, code(&resp)),
            (want_status, want_code),
            "{name}: {resp}"
        );
    }
    let (status, body) = raw(
        &app,
        reqwest::Method::POST,
        "/w/Not-A-Slug/graphql",
        t,
        Some("application/json"),
        br#"{"query":"{viewer{role}}"}"#.to_vec(),
    )
    .await;
    assert_eq!((status, code(&body)), (404, "NOT_FOUND"));
    let (status, body) = raw(
        &app,
        reqwest::Method::POST,
        "/w/acme/graphql",
        "tsr_garbage",
        Some("application/json"),
        br#"{"query":"{viewer{role}}"}"#.to_vec(),
    )
    .await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"));
    let resp = app
        .http
        .post(app.url("/w/acme/graphql"))
        .json(&json!({"query": "{viewer{role}}"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401, "no credentials");
    let (status, _) = raw(
        &app,
        reqwest::Method::PUT,
        "/w/acme/graphql",
        t,
        Some("application/json"),
        vec![],
    )
    .await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn deeply_nested_literals_are_refused_and_the_server_survives() {
    // Generous size limits, so that the nesting check is what refuses these.
    let mut db = TestDb::new().await;
    db.cfg.limits.max_query_bytes = 1 << 20;
    db.cfg.limits.max_body_bytes = 2 << 20;
    let app = TestApp::spawn_on(db, 4).await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    for depth in [1_000usize, 3_000, 10_000] {
        let list = format!(
            "{{ project(id: {}\"x\"{}) {{ id }} }}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let object = format!(
            "{{ project(id: {}1{}) {{ id }} }}",
            "{a:".repeat(depth),
            "}".repeat(depth)
        );
        let selection = format!("{}{}", "{ viewer ".repeat(depth), "}".repeat(depth));
        for q in [list, object, selection] {
            let (status, body) = app.gql("acme", t, &q, json!({})).await;
            assert_eq!(
                (status, code(&body)),
                (400, "QUERY_TOO_DEEP"),
                "depth {depth}"
            );
        }
        // Deep JSON in variables is refused by the JSON reader's own recursion limit.
        let vars = format!(
            r#"{{"query":"query($v: JSON){{viewer{{role}}}}","variables":{{"v":{}1{}}}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let (status, _) = raw(
            &app,
            reqwest::Method::POST,
            "/w/acme/graphql",
            t,
            Some("application/json"),
            vars.into_bytes(),
        )
        .await;
        assert_eq!(status, 400, "depth {depth}");
    }
    // The process is alive and serving.
    app.ok("acme", t, "{ viewer { role } }", json!({})).await;
}

#[tokio::test]
async fn page_sizes_are_capped_and_complexity_counts_list_sizes() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    let (_, body) = app
        .gql(
            "acme",
            t,
            "{ projects(first: 101) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let (_, body) = app
        .gql(
            "acme",
            t,
            "{ projects(first: -5) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    // 100 × 100 × a few fields is over the complexity limit even though it is shallow.
    let heavy = "{ projects(first: 100) { edges { node { id name records(first: 100) { edges { node { id title body status } } } } } } }";
    let (_, body) = app.gql("acme", t, heavy, json!({})).await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    app.ok("acme", t, "{ projects(first: 10) { edges { node { id records(first: 10) { edges { node { id } } } } } } }", json!({})).await;
}

#[tokio::test]
async fn a_page_of_projects_with_records_costs_a_constant_number_of_statements() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    // The same server with compiled reads off: the resolvers and their batch loaders.
    let mut cfg = app.db.cfg.clone();
    cfg.limits.compiled_reads = false;
    let resolvers = app.replica(cfg).await;
    let q = "query($n: Int!) { projects(first: $n) { edges { node { name team { name } records(first: 10) { edges { node { title assignee { email } } } } } } } }";
    let ask = |addr: std::net::SocketAddr, n: usize| {
        let http = app.http.clone();
        async move {
            let body: serde_json::Value = http
                .post(format!("http://{addr}/w/acme/graphql"))
                .bearer_auth(t)
                .json(&json!({ "query": q, "variables": { "n": n } }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert!(body.get("errors").is_none(), "{body}");
            body
        }
    };
    let statements = |body: &serde_json::Value| {
        body["extensions"]["tessera"]["statements"]
            .as_u64()
            .unwrap()
    };
    let mut counts = Vec::new();
    for target in [5usize, 50] {
        // Grow to `target` projects, each with two records.
        loop {
            let have = app
                .ok(
                    "acme",
                    t,
                    "{ projects(first: 100) { edges { node { id } } } }",
                    json!({}),
                )
                .await["projects"]["edges"]
                .as_array()
                .unwrap()
                .len();
            if have >= target {
                break;
            }
            let p = app
                .ok(
                    "acme",
                    t,
                    "mutation($t: ID!) { createProject(input: {teamId: $t, name: \"p\"}) { id } }",
                    json!({ "t": s.team_id }),
                )
                .await;
            for _ in 0..2 {
                app.ok("acme", t, "mutation($p: ID!, $u: ID!) { createRecord(input: {projectId: $p, title: \"r\", assigneeId: $u}) { id } }", json!({ "p": p["createProject"]["id"], "u": s.owner.to_string() })).await;
            }
        }
        let compiled = ask(app.addr, target).await;
        let resolved = ask(resolvers.addr, target).await;
        assert_eq!(compiled["data"], resolved["data"]);
        assert_eq!(
            compiled["data"]["projects"]["edges"]
                .as_array()
                .map(Vec::len),
            Some(target)
        );
        assert_eq!(compiled["extensions"]["tessera"]["compiled"], 1);
        counts.push((statements(&compiled), statements(&resolved)));
    }
    // Compiled: the entry (scoping and authentication in one statement) and one statement
    // for the whole page. Resolvers: the entry + projects + one batch each for teams,
    // records and assignees is 5; N+1 would be well over 50 at the larger page.
    println!("statements per request (compiled, resolvers): {counts:?} for pages of 5 and 50");
    assert_eq!(
        counts,
        [(2, 5), (2, 5)],
        "statements must not grow with the page size"
    );
    // The same under load: the batches are gathered by the executor's own progress, not in
    // a time window a busy machine can cut short (`graphql::loaders::BatchTasks`).
    for (addr, expected) in [(resolvers.addr, 5), (app.addr, 2)] {
        let concurrent = futures_util::future::join_all((0..16).map(|_| ask(addr, 50))).await;
        let counts: Vec<u64> = concurrent.iter().map(statements).collect();
        assert!(counts.iter().all(|&c| c == expected), "{counts:?}");
    }
}

#[tokio::test]
async fn internal_errors_do_not_leak_and_health_endpoints_say_little() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    // A custom-fields value that is not an object is a client error, not a DB error.
    let (_, body) = app
        .gql("acme", &s.owner_token, "mutation($p: ID!) { createRecord(input: {projectId: $p, title: \"t\", fields: [1,2]}) { id } }", json!({ "p": s.project_id }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let (_, body) = app
        .gql(
            "acme",
            &s.owner_token,
            "query { project(id: \"not-a-uuid\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let text = body.to_string().to_lowercase();
    for leak in ["sqlx", "postgres", "relation", "syntax error at", "tenant_"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    let status: Value = app
        .http
        .get(app.url("/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys: Vec<&String> = status.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["build", "uptime_seconds", "version"]);
    // A plain `cargo build` reports the commit it was built from (build.rs reads git).
    if std::env::var_os("TESSERA_BUILD_SHA").is_none() {
        let head = std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
        assert_eq!(
            status["build"].as_str(),
            Some(head.as_deref().unwrap_or("unknown"))
        );
    }
    let resp = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert!(resp.headers().contains_key("x-request-id"));
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn readiness_needs_the_database_and_current_migrations() {
    let app = TestApp::spawn().await;
    let ready = |app: &TestApp| {
        let url = app.url("/readyz");
        let http = app.http.clone();
        async move {
            let resp = http.get(url).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(ready(&app).await, (200, json!({ "ready": true })));
    // The ledger one migration behind this binary: not ready, and the body says only that.
    let (version, name, checksum): (i32, String, String) = sqlx::query_as(
        "DELETE FROM public.schema_migrations WHERE scope = 'public'
           AND version = (SELECT max(version) FROM public.schema_migrations WHERE scope = 'public')
         RETURNING version, name, checksum",
    )
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    assert_eq!(
        ready(&app).await,
        (
            503,
            json!({ "ready": false, "reason": "migrations pending" })
        )
    );
    sqlx::query(
        "INSERT INTO public.schema_migrations (scope, version, name, checksum) VALUES ('public', $1, $2, $3)",
    )
    .bind(version)
    .bind(name)
    .bind(checksum)
    .execute(&app.db.migrator)
    .await
    .unwrap();
    assert_eq!(ready(&app).await.0, 200);
    // The database gone (every runtime connection refused): not ready, no hang.
    let admin = sqlx::PgPool::connect(&crate::helpers::admin_url())
        .await
        .unwrap();
    sqlx::query(&format!("ALTER ROLE \"{}\" NOLOGIN", app.db.roles.app))
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1")
        .bind(&app.db.roles.app)
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    assert_eq!(
        ready(&app).await,
        (
            503,
            json!({ "ready": false, "reason": "database unavailable" })
        )
    );
}

#[tokio::test]
async fn an_exhausted_pool_answers_503_with_retry_after_and_recovers() {
    let mut db = crate::helpers::TestDb::new().await;
    db.cfg.pool_acquire_timeout_secs = 1;
    let app = TestApp::spawn_on(db, 1).await;
    let s = crate::helpers::seed(&app, "acme").await;
    // Hold the only connection: the next request waits the configured second, then gets a
    // clear 503 it may retry — it does not hang.
    let held = app.pool.acquire().await.unwrap();
    let (status, resp) = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        let resp = app
            .http
            .post(app.url("/w/acme/graphql"))
            .bearer_auth(&s.owner_token)
            .json(&json!({ "query": "{ viewer { role } }" }))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp)
    })
    .await
    .expect("an exhausted pool must not hang a request");
    assert_eq!(status, 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "UNAVAILABLE");
    drop(held);
    // Capacity back: the retry succeeds (the background worker shares the one connection).
    let mut ok = false;
    for _ in 0..20 {
        let (status, _) = app
            .gql("acme", &s.owner_token, "{ viewer { role } }", json!({}))
            .await;
        if status == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ok, "requests succeed again once a connection is free");
}

#[tokio::test]
async fn aliases_beyond_the_limit_are_refused_before_anything_runs() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    // Thirty is the default limit: thirty aliased mutations run...
    let many = |n: usize| {
        let fields: String = (0..n)
            .map(|i| format!("a{i}: createIdea(input: {{title: \"idea {i}\"}}) {{ id }} "))
            .collect();
        format!("mutation {{ {fields}}}")
    };
    let data = app.ok("acme", t, &many(30), json!({})).await;
    assert_eq!(data.as_object().unwrap().len(), 30);
    // ...thirty-one are refused as a whole, and nothing of them is written.
    let (status, body) = app.gql("acme", t, &many(31), json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(code(&body), "TOO_MANY_ALIASES");
    let ideas: i64 = sqlx::query_scalar("SELECT count(*) FROM tenant_acme.ideas")
        .fetch_one(&app.db.migrator)
        .await
        .unwrap();
    assert_eq!(ideas, 30);
    // A fragment spread many times counts every time.
    let spread = format!(
        "query {{ {} }} fragment F on Query {{ x: viewer {{ role }} y: viewer {{ role }} }}",
        "...F ".repeat(16)
    );
    let (status, body) = app.gql("acme", t, &spread, json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(code(&body), "TOO_MANY_ALIASES");
}

#[tokio::test]
async fn persisted_queries_follow_the_apollo_protocol_and_a_hash_runs_only_its_query() {
    use sha2::{Digest, Sha256};
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let query = "{ viewer { role } }";
    let ext = |q: &str| json!({ "persistedQuery": { "version": 1, "sha256Hash": hex::encode(Sha256::digest(q)) } });
    let post = |body: Value| {
        app.http
            .post(app.url("/w/acme/graphql"))
            .bearer_auth(&s.owner_token)
            .json(&body)
            .send()
    };
    // Unknown hash: the protocol's error, then the client sends the query once.
    let resp = post(json!({ "extensions": ext(query) })).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    let body: Value = post(json!({ "query": query, "extensions": ext(query) }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["viewer"]["role"], "OWNER", "{body}");
    // From now on the hash alone is enough, over POST and over GET.
    let body: Value = post(json!({ "extensions": ext(query) }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["viewer"]["role"], "OWNER", "{body}");
    let resp = app
        .http
        .get(app.url("/w/acme/graphql"))
        .query(&[("extensions", ext(query).to_string())])
        .bearer_auth(&s.owner_token)
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["viewer"]["role"], "OWNER", "{body}");
    // A query sent under another query's hash is refused, and cannot replace it.
    let other = "mutation { createIdea(input: {title: \"swapped\"}) { id } }";
    let (status, body) = {
        let resp = post(json!({ "query": other, "extensions": ext(query) }))
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
    };
    assert_eq!((status, code(&body)), (400, "BAD_REQUEST"), "{body}");
    let body: Value = post(json!({ "extensions": ext(query) }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["viewer"]["role"], "OWNER");
    // A persisted mutation still needs POST.
    post(json!({ "query": other, "extensions": ext(other) }))
        .await
        .unwrap();
    let resp = app
        .http
        .get(app.url("/w/acme/graphql"))
        .query(&[("extensions", ext(other).to_string())])
        .bearer_auth(&s.owner_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
}
