//! Per-workspace IP allowlists: owners set them (never locking themselves out), every route
//! of the workspace enforces them for sessions and tokens alike — GraphQL, subscriptions,
//! attachments and their signed links, exports — the operator can clear one, and each
//! change and refusal leaves a trace. The server under test trusts the loopback network as
//! its proxy, so `X-Forwarded-For` chooses the address each request comes from.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::{Browser, METRICS_TOKEN, TestApp, TestDb, code, seed};
use crate::provisioning::cli;

const INSIDE: &str = "198.51.100.7";
const INSIDE_V6: &str = "2001:db8::17";
const OUTSIDE: &str = "203.0.113.9";
const READ: &str = "{ projects(first: 1) { nodes { id } } }";
const SET: &str = "mutation($n: [String!]!) { setIpAllowlist(networks: $n) { allowlist yourAddress youAreInside } }";

/// How a request authenticates.
#[derive(Clone, Copy)]
enum Cred<'a> {
    Token(&'a str),
    /// A session cookie, sent with the server's own Origin.
    Cookie(&'a str),
}

fn request(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    cred: Cred<'_>,
    from: &str,
) -> reqwest::RequestBuilder {
    let req = no_redirects()
        .request(method, app.url(path))
        .header("x-forwarded-for", from);
    match cred {
        Cred::Token(t) => req.bearer_auth(t),
        Cred::Cookie(c) => req
            .header("cookie", c)
            .header("origin", format!("https://{}", app.addr)),
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn gql(
    app: &TestApp,
    slug: &str,
    cred: Cred<'_>,
    from: &str,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let resp = request(
        app,
        reqwest::Method::POST,
        &format!("/w/{slug}/graphql"),
        cred,
        from,
    )
    .json(&json!({ "query": query, "variables": variables }))
    .send()
    .await
    .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

async fn app_behind_proxy() -> TestApp {
    let mut db = TestDb::new().await;
    db.cfg.trusted_proxies = "127.0.0.0/8".parse().unwrap();
    TestApp::spawn_on(db, 8).await
}

/// Signs up `email` and makes them an owner of `tenant`; answers the session cookie.
async fn owner_cookie(app: &TestApp, tenant: &tessera::tenancy::Tenant, email: &str) -> String {
    let mut b = Browser::new(app);
    b.sign_up(email).await;
    app.db
        .add_user(tenant, email, tessera::authz::Role::Owner)
        .await;
    b.cookie.unwrap()
}

/// Opens the workspace's WebSocket from `from` and sends `connection_init` with `token`.
async fn live_init(
    app: &TestApp,
    slug: &str,
    token: &str,
    from: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut req = format!("ws://{}/w/{slug}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    let h = req.headers_mut();
    h.insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    h.insert("x-forwarded-for", HeaderValue::from_str(from).unwrap());
    let (mut s, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let init = json!({ "type": "connection_init",
                       "payload": { "authorization": format!("Bearer {token}") } });
    s.send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    s
}

/// The next message that is not a ping, or the close frame as `{"close": code, "reason"}`.
async fn next(
    s: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), s.next())
            .await
            .expect("an answer within 10 s")
            .expect("an open socket")
            .unwrap();
        match msg {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["type"] != "ping" && v["type"] != "pong" {
                    return v;
                }
            }
            Message::Close(f) => {
                let (c, r) = f
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                return json!({ "close": c, "reason": r });
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn owners_set_an_allowlist_without_locking_themselves_out() {
    let app = app_behind_proxy().await;
    let s = seed(&app, "netset").await;
    let cookie = owner_cookie(&app, &s.tenant, "owner2@netset.test").await;
    let owner = Cred::Cookie(&cookie);

    // Nothing set: every address; the caller sees the address the server sees.
    let (_, body) = gql(
        &app,
        "netset",
        owner,
        INSIDE,
        "{ networkAccess { allowlist yourAddress youAreInside } }",
        json!({}),
    )
    .await;
    assert_eq!(
        body["data"]["networkAccess"],
        json!({ "allowlist": [], "yourAddress": INSIDE, "youAreInside": true }),
        "{body}"
    );

    // A list that leaves out the owner's own address is refused, and nothing changes.
    let (status, body) = gql(
        &app,
        "netset",
        owner,
        INSIDE,
        SET,
        json!({ "n": ["203.0.113.0/24"] }),
    )
    .await;
    assert_eq!((status, code(&body)), (200, "WOULD_LOCK_OUT"), "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(INSIDE),
        "{body}"
    );
    // Entries that are not networks, with what to write instead.
    let (_, body) = gql(
        &app,
        "netset",
        owner,
        INSIDE,
        SET,
        json!({ "n": ["198.51.100.7/24"] }),
    )
    .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("198.51.100.0/24"),
        "{body}"
    );
    let (_, body) = gql(
        &app,
        "netset",
        owner,
        INSIDE,
        SET,
        json!({ "n": ["the office"] }),
    )
    .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let many: Vec<String> = (0..101).map(|i| format!("10.0.0.{i}")).collect();
    let (_, body) = gql(&app, "netset", owner, INSIDE, SET, json!({ "n": many })).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");

    // An API token cannot change it, whatever its scopes: session-only, owners only.
    let (_, body) = gql(
        &app,
        "netset",
        Cred::Token(&s.owner_token),
        INSIDE,
        SET,
        json!({ "n": [] }),
    )
    .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let admin = "admin@netset.test";
    let mut b = Browser::new(&app);
    b.sign_up(admin).await;
    app.db
        .add_user(&s.tenant, admin, tessera::authz::Role::Admin)
        .await;
    let admin_cookie = b.cookie.unwrap();
    let (_, body) = gql(
        &app,
        "netset",
        Cred::Cookie(&admin_cookie),
        INSIDE,
        SET,
        json!({ "n": [] }),
    )
    .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");

    // A list with the owner's network: saved, normalised, audited with before and after.
    let (_, body) = gql(
        &app,
        "netset",
        owner,
        INSIDE,
        SET,
        json!({ "n": ["198.51.100.0/24", " 2001:db8::/32", "192.0.2.1"] }),
    )
    .await;
    assert_eq!(
        body["data"]["setIpAllowlist"],
        json!({ "allowlist": ["198.51.100.0/24", "2001:db8::/32", "192.0.2.1/32"],
                "yourAddress": INSIDE, "youAreInside": true }),
        "{body}"
    );
    let (_, body) = gql(
        &app,
        "netset",
        owner,
        INSIDE,
        SET,
        json!({ "n": ["198.51.100.0/24"] }),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let (_, body) = gql(
        &app,
        "netset",
        owner,
        INSIDE,
        "{ auditEntries(actions: [\"setIpAllowlist\"]) { clientIp payload } }",
        json!({}),
    )
    .await;
    let entries = body["data"]["auditEntries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{body}");
    let latest = entries
        .iter()
        .find(|e| e["payload"]["changes"][0]["after"] == json!(["198.51.100.0/24"]))
        .unwrap_or_else(|| panic!("no entry for the second change: {body}"));
    assert_eq!(latest["clientIp"], INSIDE);
    let change = &latest["payload"]["changes"][0];
    assert_eq!(change["field"], "ip_allowlist", "{body}");
    assert_eq!(
        change["before"],
        json!(["198.51.100.0/24", "2001:db8::/32", "192.0.2.1/32"])
    );
    assert_eq!(change["after"], json!(["198.51.100.0/24"]));

    // Locked out anyway (the office's address changed): the operator clears the list, audited.
    sqlx::query("UPDATE public.tenants SET ip_allowlist = '{192.0.2.0/24}' WHERE slug = 'netset'")
        .execute(&app.db.migrator)
        .await
        .unwrap();
    let (status, body) = gql(&app, "netset", owner, INSIDE, READ, json!({})).await;
    assert_eq!((status, code(&body)), (403, "IP_NOT_ALLOWED"), "{body}");
    let out = cli(&app.db, &["tenant", "allowlist-clear", "netset"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("192.0.2.0/24"));
    let (status, body) = gql(&app, "netset", owner, INSIDE, READ, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM public.audit_log a JOIN public.tenants t ON t.id = a.tenant_id \
         WHERE t.slug = 'netset' AND a.action = 'workspace.ip_allowlist_clear'",
    )
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn every_route_refuses_sessions_and_tokens_from_outside_the_list() {
    let app = app_behind_proxy().await;
    let s = seed(&app, "netwall").await;
    let cookie = owner_cookie(&app, &s.tenant, "owner2@netwall.test").await;
    let token = Cred::Token(&s.owner_token);
    let session = Cred::Cookie(&cookie);

    // An attachment uploaded, and a signed link to it issued, before the list exists.
    let resp = request(
        &app,
        reqwest::Method::POST,
        "/w/netwall/attachments",
        token,
        OUTSIDE,
    )
    .query(&[
        ("entityType", "project"),
        ("entityId", s.project_id.as_str()),
        ("filename", "plan.txt"),
    ])
    .header("content-type", "text/plain")
    .body("the plan")
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let attachment: Value = resp.json().await.unwrap();
    let id = attachment["id"].as_str().unwrap().to_owned();
    let content = format!("/w/netwall/attachments/{id}/content");
    let link = |from: &'static str| {
        let app = &app;
        let content = content.clone();
        async move {
            let resp = request(app, reqwest::Method::GET, &content, token, from)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 302, "from {from}");
            app.url(resp.headers()["location"].to_str().unwrap())
        }
    };
    let early_link = link(OUTSIDE).await;
    // A live connection from outside, open before the list.
    let mut early_socket = live_init(&app, "netwall", &s.owner_token, OUTSIDE).await;
    assert_eq!(next(&mut early_socket).await["type"], "connection_ack");

    let (_, body) = gql(
        &app,
        "netwall",
        session,
        INSIDE,
        SET,
        json!({ "n": ["198.51.100.0/24", "2001:db8::/32"] }),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");

    // The socket opened from outside is closed when the list changes.
    let closed = next(&mut early_socket).await;
    assert_eq!(closed["close"], 4403, "{closed}");
    assert!(
        closed["reason"]
            .as_str()
            .unwrap()
            .contains("IP_NOT_ALLOWED"),
        "{closed}"
    );

    // GraphQL: sessions and tokens, IPv4 and IPv6.
    for cred in [token, session] {
        let (status, body) = gql(&app, "netwall", cred, OUTSIDE, READ, json!({})).await;
        assert_eq!((status, code(&body)), (403, "IP_NOT_ALLOWED"), "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(OUTSIDE),
            "{body}"
        );
        for from in [INSIDE, INSIDE_V6] {
            let (status, body) = gql(&app, "netwall", cred, from, READ, json!({})).await;
            assert_eq!(status, 200, "from {from}: {body}");
            assert!(body.get("errors").is_none(), "{body}");
        }
    }
    // An unknown credential from outside learns nothing about the list.
    let (status, body) = gql(
        &app,
        "netwall",
        Cred::Token("tsk_not_a_token"),
        OUTSIDE,
        READ,
        json!({}),
    )
    .await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{body}");

    // Attachments: the signing proxy and uploads refuse outsiders; a link issued before the
    // list, or inside it, cannot be followed from outside.
    let resp = request(&app, reqwest::Method::GET, &content, token, OUTSIDE)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = request(
        &app,
        reqwest::Method::POST,
        "/w/netwall/attachments",
        token,
        OUTSIDE,
    )
    .query(&[
        ("entityType", "project"),
        ("entityId", s.project_id.as_str()),
        ("filename", "x.txt"),
    ])
    .body("x")
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 403);
    let fresh_link = link(INSIDE).await;
    for url in [&early_link, &fresh_link] {
        let resp = no_redirects()
            .get(url)
            .header("x-forwarded-for", OUTSIDE)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{url}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "IP_NOT_ALLOWED",
            "{body}"
        );
        let resp = no_redirects()
            .get(url)
            .header("x-forwarded-for", INSIDE)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        assert_eq!(resp.text().await.unwrap(), "the plan");
    }

    // Exports, JSON and CSV.
    for path in ["/w/netwall/export", "/w/netwall/export/projects.csv"] {
        let resp = request(&app, reqwest::Method::GET, path, token, OUTSIDE)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{path}");
        let resp = request(&app, reqwest::Method::GET, path, token, INSIDE)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }

    // Subscriptions: refused at connection_init from outside, accepted inside.
    let mut s_out = live_init(&app, "netwall", &s.owner_token, OUTSIDE).await;
    let got = next(&mut s_out).await;
    assert_eq!(got["close"], 4403, "{got}");
    let mut s_in = live_init(&app, "netwall", &s.owner_token, INSIDE_V6).await;
    assert_eq!(next(&mut s_in).await["type"], "connection_ack");

    // Every refusal is counted, by route.
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for surface in ["graphql", "attachments", "blobs", "exports", "live"] {
        assert!(
            metrics.contains(&format!(
                "tessera_ip_allowlist_refusals_total{{surface=\"{surface}\"}}"
            )),
            "no {surface} refusals counted:\n{metrics}"
        );
    }
}

#[tokio::test]
async fn a_forwarded_address_from_an_untrusted_peer_does_not_get_past_the_list() {
    // No trusted proxies: the socket's address (loopback) is the client, whatever it claims.
    let app = TestApp::spawn().await;
    let s = seed(&app, "netspoof").await;
    sqlx::query(
        "UPDATE public.tenants SET ip_allowlist = '{198.51.100.0/24}' WHERE slug = 'netspoof'",
    )
    .execute(&app.db.migrator)
    .await
    .unwrap();
    for header in ["x-forwarded-for", "forwarded"] {
        let value = if header == "forwarded" {
            "for=198.51.100.7"
        } else {
            INSIDE
        };
        let resp = app
            .http
            .post(app.url("/w/netspoof/graphql"))
            .bearer_auth(&s.owner_token)
            .header(header, value)
            .json(&json!({ "query": READ }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{header}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(code(&body), "IP_NOT_ALLOWED");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("127.0.0.1"),
            "{body}"
        );
    }
}

/// The entry's allowlist test, case by case, as the runtime role calls it; and planned as
/// part of its caller's expression (inlined), not run as a function of its own on every
/// request (`migrations/public/0023_inline_allowlist.sql`).
#[tokio::test]
async fn the_allowlist_test_answers_every_case_and_is_inlined() {
    let db = TestDb::new().await;
    let pool = db.app_pool(1).await;
    let mut conn = pool.acquire().await.unwrap();
    let cases: [(&[&str], Option<&str>, bool); 10] = [
        (&[], Some(INSIDE), true),
        (&[], None, true),
        (&["198.51.100.0/24"], Some(INSIDE), true),
        (&["198.51.100.0/24"], Some(OUTSIDE), false),
        (&["198.51.100.0/24"], None, false),
        (&["198.51.100.7/32"], Some(INSIDE), true),
        (&["2001:db8::/32"], Some(INSIDE_V6), true),
        // Families never match each other, IPv4-mapped IPv6 included.
        (&["2001:db8::/32"], Some(INSIDE), false),
        (&["::ffff:198.51.100.0/120"], Some(INSIDE), false),
        (&["203.0.113.0/24", "198.51.100.0/24"], Some(INSIDE), true),
    ];
    for (list, addr, admitted) in cases {
        let got: bool = tessera::db::query_scalar(
            "SELECT public.tessera_ip_allowed($1::text[]::cidr[], $2::inet)",
        )
        .bind(list)
        .bind(addr)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(got, admitted, "{list:?} admitting {addr:?}");
    }
    let plan: Vec<(String,)> = tessera::db::query_as(
        "EXPLAIN (VERBOSE, COSTS OFF) SELECT public.tessera_ip_allowed(ip_allowlist, $1::inet) FROM public.tenants",
    )
    .bind(INSIDE)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let plan: String = plan.into_iter().map(|(l,)| l + "\n").collect();
    assert!(plan.contains("ANY"), "{plan}");
    assert!(!plan.contains("tessera_ip_allowed"), "not inlined:\n{plan}");
}
