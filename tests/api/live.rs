//! Live updates over `graphql-transport-ws`: authentication at `connection_init` (token, or
//! session with an allowed Origin), delivery of committed changes, and the attacks — another
//! workspace's token, a foreign page's socket, a restricted team's changes, a member removed
//! or a token revoked while connected, more connections or subscriptions than allowed.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tessera::authz::{Role, Scope};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::{Browser, TestApp, seed};

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const SUBSCRIBE: &str = "subscription($e: [String!]) { workspaceChanged(entities: $e) { seq action entity id resync } }";

/// Opens `/w/{slug}/graphql/ws` with the protocol and, if given, a cookie and an Origin.
pub(crate) async fn open(
    app: &TestApp,
    slug: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
) -> Socket {
    let mut req = format!("ws://{}/w/{slug}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    let h = req.headers_mut();
    h.insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    if let Some(c) = cookie {
        h.insert("cookie", HeaderValue::from_str(c).unwrap());
    }
    if let Some(o) = origin {
        h.insert("origin", HeaderValue::from_str(o).unwrap());
    }
    let (socket, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        resp.headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("graphql-transport-ws")
    );
    socket
}

/// The next protocol message, or the close frame as `{"close": code, "reason": …}`.
async fn next(s: &mut Socket, within: Duration) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(within, s.next()).await.ok()??.ok()?;
        match msg {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["type"] == "ping" || v["type"] == "pong" {
                    continue;
                }
                return Some(v);
            }
            Message::Close(frame) => {
                let (code, reason) = frame
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                return Some(json!({ "close": code, "reason": reason }));
            }
            _ => {}
        }
    }
}

/// The next message other than a resync notice: the live listener announces one to every
/// subscriber whenever its own connection (re)starts, which may happen after a test subscribed.
pub(crate) async fn next_skipping_resync(s: &mut Socket, within: Duration) -> Option<Value> {
    loop {
        let v = next(s, within).await?;
        if v["payload"]["data"]["workspaceChanged"]["resync"] != true {
            return Some(v);
        }
    }
}

async fn send(s: &mut Socket, v: Value) {
    s.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// `connection_init` with `payload`; answers the server's reply.
pub(crate) async fn init(s: &mut Socket, payload: Value) -> Value {
    send(s, json!({ "type": "connection_init", "payload": payload })).await;
    next(s, Duration::from_secs(5)).await.unwrap()
}

async fn subscribe(s: &mut Socket, id: &str, entities: Option<&[&str]>) {
    send(
        s,
        json!({ "id": id, "type": "subscribe",
                "payload": { "query": SUBSCRIBE, "variables": { "e": entities } } }),
    )
    .await;
}

fn bearer(token: &str) -> Value {
    json!({ "authorization": format!("Bearer {token}") })
}

async fn rename_record(app: &TestApp, slug: &str, token: &str, id: &str, title: &str) {
    app.ok(
        slug,
        token,
        "mutation($id: ID!, $t: String!) { updateRecord(id: $id, input: {title: $t}) { id } }",
        json!({ "id": id, "t": title }),
    )
    .await;
}

async fn create_record(app: &TestApp, slug: &str, token: &str, project: &str) -> String {
    app.ok(
        slug,
        token,
        "mutation($p: ID!) { createRecord(input: {projectId: $p, title: \"r\"}) { id } }",
        json!({ "p": project }),
    )
    .await["createRecord"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_committed_change_reaches_a_subscriber_and_nothing_else_does() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "live_a").await;
    let b = seed(&app, "live_b").await;
    let record = create_record(&app, "live_a", &a.owner_token, &a.project_id).await;
    let other = create_record(&app, "live_b", &b.owner_token, &b.project_id).await;
    let reader = app
        .db
        .add_user(&a.tenant, "reader@live_a.test", Role::Member)
        .await;
    let read_only = app.db.token(&a.tenant, reader, &[Scope::Read]).await;

    let mut s = open(&app, "live_a", None, None).await;
    assert_eq!(
        init(&mut s, bearer(&read_only)).await["type"],
        "connection_ack"
    );
    subscribe(&mut s, "1", Some(&["Record"])).await;
    // The subscription is registered once the server has read the message; a change in
    // another workspace first, then one here: only the second arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    rename_record(&app, "live_b", &b.owner_token, &other, "elsewhere").await;
    // A change that fails is rolled back and announces nothing.
    let (_, failed) = app
        .gql(
            "live_a",
            &a.owner_token,
            "mutation($id: ID!) { updateRecord(id: $id, input: {title: \"\"}) { id } }",
            json!({ "id": record }),
        )
        .await;
    assert!(failed.get("errors").is_some(), "{failed}");
    rename_record(&app, "live_a", &a.owner_token, &record, "renamed").await;
    let got = next_skipping_resync(&mut s, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(got["type"], "next", "{got}");
    assert_eq!(got["id"], "1");
    let change = &got["payload"]["data"]["workspaceChanged"];
    assert_eq!(change["entity"], "Record", "{got}");
    assert_eq!(change["id"], record.as_str());
    assert_eq!(change["action"], "updateRecord");
    assert_eq!(change["resync"], false);
    // The filter keeps other kinds out: a new project is not delivered, the next record is.
    app.ok(
        "live_a",
        &a.owner_token,
        "mutation($t: ID!) { createProject(input: {teamId: $t, name: \"p2\"}) { id } }",
        json!({ "t": a.team_id }),
    )
    .await;
    rename_record(&app, "live_a", &a.owner_token, &record, "again").await;
    let got = next_skipping_resync(&mut s, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        got["payload"]["data"]["workspaceChanged"]["entity"], "Record",
        "{got}"
    );
    // Completing the subscription is acknowledged by silence and ends its deliveries.
    send(&mut s, json!({ "id": "1", "type": "complete" })).await;
    rename_record(&app, "live_a", &a.owner_token, &record, "unseen").await;
    while let Some(v) = next(&mut s, Duration::from_millis(700)).await {
        assert_eq!(
            v["type"], "complete",
            "nothing is delivered after complete: {v}"
        );
    }
}

#[tokio::test]
async fn changes_in_a_restricted_team_reach_only_those_who_see_it() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "live_r").await;
    let legal = app
        .ok(
            "live_r",
            &a.owner_token,
            "mutation { createTeam(input: {name: \"Legal\", visibility: RESTRICTED}) { id } }",
            json!({}),
        )
        .await["createTeam"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret_project = app
        .ok(
            "live_r",
            &a.owner_token,
            "mutation($t: ID!) { createProject(input: {teamId: $t, name: \"secret\"}) { id } }",
            json!({ "t": legal }),
        )
        .await["createProject"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = create_record(&app, "live_r", &a.owner_token, &secret_project).await;
    let open_record = create_record(&app, "live_r", &a.owner_token, &a.project_id).await;
    let member = app
        .db
        .add_user(&a.tenant, "m@live_r.test", Role::Member)
        .await;
    let token = app.db.token(&a.tenant, member, &[Scope::Read]).await;

    let mut s = open(&app, "live_r", None, None).await;
    assert_eq!(init(&mut s, bearer(&token)).await["type"], "connection_ack");
    subscribe(&mut s, "s", None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    rename_record(&app, "live_r", &a.owner_token, &secret, "still secret").await;
    rename_record(&app, "live_r", &a.owner_token, &open_record, "public").await;
    let got = next_skipping_resync(&mut s, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        got["payload"]["data"]["workspaceChanged"]["id"],
        open_record.as_str(),
        "the restricted record's change must not be delivered: {got}"
    );
}

#[tokio::test]
async fn connection_init_refuses_what_http_refuses() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "live_x").await;
    seed(&app, "live_y").await;

    // Another workspace's token.
    let mut s = open(&app, "live_y", None, None).await;
    let got = init(&mut s, bearer(&a.owner_token)).await;
    assert_eq!(got["close"], 4403, "{got}");
    assert!(
        got["reason"]
            .as_str()
            .unwrap()
            .starts_with("UNAUTHENTICATED"),
        "{got}"
    );

    // No credentials at all, and a malformed one.
    let mut s = open(&app, "live_x", None, None).await;
    assert_eq!(init(&mut s, json!({})).await["close"], 4403);
    let mut s = open(&app, "live_x", None, None).await;
    assert_eq!(
        init(&mut s, json!({ "authorization": 7 })).await["close"],
        4403
    );

    // A session: accepted from the server's own origin, refused from a foreign page (the
    // browser sends the cookie with the upgrade either way).
    let mut owner = Browser::new(&app);
    owner.sign_up("owner@live_z.test").await;
    let (_, created) = owner
        .global(
            "mutation { createWorkspace(name: \"Z\", slug: \"live_z\") { slug } }",
            json!({}),
        )
        .await;
    assert!(created.get("errors").is_none(), "{created}");
    let cookie = owner.cookie.clone().unwrap();
    let mut s = open(&app, "live_z", Some(&cookie), Some("https://evil.example")).await;
    let got = init(&mut s, json!({})).await;
    assert_eq!(got["close"], 4403, "{got}");
    assert!(got["reason"].as_str().unwrap().contains("Origin"), "{got}");
    let mut s = open(&app, "live_z", Some(&cookie), Some(&owner.origin())).await;
    assert_eq!(init(&mut s, json!({})).await["type"], "connection_ack");

    // Subscriptions only, each checked like an HTTP operation.
    send(
        &mut s,
        json!({ "id": "q", "type": "subscribe", "payload": { "query": "{ members { totalCount } }" } }),
    )
    .await;
    let got = next(&mut s, Duration::from_secs(5)).await.unwrap();
    assert_eq!(got["type"], "next", "{got}");
    assert_eq!(
        got["payload"]["errors"][0]["extensions"]["code"], "BAD_REQUEST",
        "{got}"
    );
    send(
        &mut s,
        json!({ "id": "g", "type": "subscribe", "payload": { "query": "subscription { workspaceChanged { nope } }" } }),
    )
    .await;
    let mut got = next(&mut s, Duration::from_secs(5)).await.unwrap();
    if got["type"] == "complete" && got["id"] == "q" {
        got = next(&mut s, Duration::from_secs(5)).await.unwrap();
    }
    assert_eq!(got["id"], "g", "{got}");
    assert!(got["payload"]["errors"].is_array(), "{got}");

    // Over HTTP, a subscription is refused with a pointer to the WebSocket endpoint.
    let (status, body) = owner.gql("live_z", SUBSCRIBE).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("/graphql/ws"),
        "{body}"
    );

    // Without the subprotocol, no upgrade.
    let resp = app
        .http
        .get(app.url("/w/live_z/graphql/ws"))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}

#[tokio::test]
async fn removing_a_member_or_revoking_a_token_closes_their_connections() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "live_v").await;
    let member = app
        .db
        .add_user(&a.tenant, "m@live_v.test", Role::Member)
        .await;
    let kept = app.db.token(&a.tenant, member, &[Scope::Read]).await;
    let revoked = app.db.token(&a.tenant, member, &[Scope::Read]).await;
    let revoked_id: String = sqlx::query_scalar(
        "SELECT id::text FROM public.api_tokens WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(member)
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();

    let mut first = open(&app, "live_v", None, None).await;
    assert_eq!(
        init(&mut first, bearer(&kept)).await["type"],
        "connection_ack"
    );
    subscribe(&mut first, "1", None).await;
    let mut second = open(&app, "live_v", None, None).await;
    assert_eq!(
        init(&mut second, bearer(&revoked)).await["type"],
        "connection_ack"
    );
    subscribe(&mut second, "1", None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    app.ok(
        "live_v",
        &a.owner_token,
        "mutation($id: ID!) { revokeApiToken(id: $id) { id } }",
        json!({ "id": revoked_id }),
    )
    .await;
    // The revoked token's connection closes; the other one sees the change and stays.
    let mut closed = None;
    while let Some(v) = next(&mut second, Duration::from_secs(5)).await {
        if v.get("close").is_some() {
            closed = Some(v);
            break;
        }
    }
    let closed = closed.expect("the revoked token's connection closes");
    assert_eq!(closed["close"], 4403, "{closed}");
    let seen = next(&mut first, Duration::from_secs(5)).await.unwrap();
    assert_eq!(seen["type"], "next", "{seen}");

    app.ok(
        "live_v",
        &a.owner_token,
        "mutation($u: ID!) { removeMember(userId: $u) }",
        json!({ "u": member.to_string() }),
    )
    .await;
    let mut closed = None;
    while let Some(v) = next(&mut first, Duration::from_secs(5)).await {
        if v.get("close").is_some() {
            closed = Some(v);
            break;
        }
    }
    assert_eq!(
        closed.expect("the removed member's connection closes")["close"],
        4403
    );
}

#[tokio::test]
async fn signing_out_closes_the_sessions_connections() {
    let app = TestApp::spawn().await;
    let mut owner = Browser::new(&app);
    owner.sign_up("owner@live_s.test").await;
    let (_, created) = owner
        .global(
            "mutation { createWorkspace(name: \"S\", slug: \"live_s\") { slug } }",
            json!({}),
        )
        .await;
    assert!(created.get("errors").is_none(), "{created}");
    let cookie = owner.cookie.clone().unwrap();
    let mut s = open(&app, "live_s", Some(&cookie), Some(&owner.origin())).await;
    assert_eq!(init(&mut s, json!({})).await["type"], "connection_ack");
    let (status, _, _) = owner.post("/auth/signout", json!({})).await;
    assert!(status < 300, "{status}");
    let got = next(&mut s, Duration::from_secs(5)).await.unwrap();
    assert_eq!(got["close"], 4403, "{got}");
}

#[tokio::test]
async fn connections_and_subscriptions_are_limited() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "live_l").await;
    let mut cfg = app.db.cfg.clone();
    cfg.limits.live_connections_per_user = 1;
    cfg.limits.live_subscriptions_per_connection = 1;
    let replica = app.replica(cfg).await;
    let url = |addr: std::net::SocketAddr| format!("ws://{addr}/w/live_l/graphql/ws");
    let connect = |u: String| async move {
        let mut req = u.into_client_request().unwrap();
        req.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        tokio_tungstenite::connect_async(req).await.unwrap().0
    };
    let mut one = connect(url(replica.addr)).await;
    assert_eq!(
        init(&mut one, bearer(&a.owner_token)).await["type"],
        "connection_ack"
    );
    let mut two = connect(url(replica.addr)).await;
    let got = init(&mut two, bearer(&a.owner_token)).await;
    assert_eq!(got["close"], 4429, "{got}");
    subscribe(&mut one, "1", None).await;
    subscribe(&mut one, "2", None).await;
    let got = next_skipping_resync(&mut one, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(got["id"], "2", "{got}");
    assert_eq!(
        got["payload"]["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{got}"
    );
    // Closing the first connection frees its place.
    drop(one);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut three = connect(url(replica.addr)).await;
    assert_eq!(
        init(&mut three, bearer(&a.owner_token)).await["type"],
        "connection_ack"
    );
}

/// Opening sockets does not use up the per-address sign-in limit: the consoles of an office
/// behind one address must not lock its people out of signing in.
#[tokio::test]
async fn many_sockets_from_one_address_leave_sign_in_alone() {
    let app = TestApp::spawn().await;
    let mut person = Browser::new(&app);
    person.sign_up("someone@live_n.test").await;
    let limit = app.db.cfg.auth.signin_per_minute_per_ip;
    for _ in 0..=limit {
        let mut s = open(&app, "live_n", None, None).await;
        let _ = s.close(None).await;
    }
    let (status, _, body) = person
        .post(
            "/auth/signin",
            json!({ "email": "someone@live_n.test", "password": crate::helpers::PASSWORD }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}
