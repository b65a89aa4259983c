//! The client's address, as audit entries and per-address limits see it: the socket's peer,
//! unless that peer is one of the configured trusted proxies — then the nearest address in
//! its `Forwarded` / `X-Forwarded-For` chain that is not a trusted proxy.

use serde_json::{Value, json};

use crate::helpers::{TestApp, seed};

/// Renames the seeded project through the server at `addr` with `headers`, and returns the
/// client address its audit entry recorded.
async fn audited_address(
    app: &TestApp,
    addr: std::net::SocketAddr,
    token: &str,
    project: &str,
    headers: &[(&str, &str)],
) -> Value {
    let name = uuid::Uuid::new_v4().simple().to_string();
    let mut req = app
        .http
        .post(format!("http://{addr}/w/fwd/graphql"))
        .bearer_auth(token)
        .json(&json!({
            "query": "mutation($id: ID!, $n: String!) { updateProject(id: $id, input: {name: $n}) { id } }",
            "variables": { "id": project, "n": name },
        }));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    let data = app
        .ok(
            "fwd",
            token,
            "{ auditEntries(first: 100, actions: [\"updateProject\"]) { clientIp payload } }",
            json!({}),
        )
        .await;
    data["auditEntries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["payload"]["arguments"]["input"]["name"] == name.as_str())
        .map(|e| e["clientIp"].clone())
        .unwrap_or_else(|| panic!("no entry for the rename: {data}"))
}

#[tokio::test]
async fn forwarding_headers_count_only_from_trusted_proxies() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "fwd").await;
    let (t, p) = (s.owner_token.as_str(), s.project_id.as_str());

    // No trusted proxies (the default): a client cannot choose the address it is logged
    // and limited under.
    let spoof = [
        ("x-forwarded-for", "203.0.113.9"),
        ("forwarded", "for=203.0.113.9"),
    ];
    assert_eq!(
        audited_address(&app, app.addr, t, p, &spoof).await,
        "127.0.0.1"
    );

    // A replica behind a proxy on the loopback network believes the chain, from the right.
    let mut cfg = app.db.cfg.clone();
    cfg.trusted_proxies = "127.0.0.0/8, 10.0.0.0/8".parse().unwrap();
    let behind = app.replica(cfg).await;
    let at = behind.addr;
    // What the client wrote (1.2.3.4) is left of what the proxy saw (198.51.100.7).
    let chain = [("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.0.0.5")];
    assert_eq!(
        audited_address(&app, at, t, p, &chain).await,
        "198.51.100.7"
    );
    // Only the header the proxy appends to (X-Forwarded-For by default) is read: a
    // `Forwarded` the client wrote and the proxy passed on is ignored.
    let forged = [
        ("x-forwarded-for", "198.51.100.7"),
        ("forwarded", "for=203.0.113.9"),
    ];
    assert_eq!(
        audited_address(&app, at, t, p, &forged).await,
        "198.51.100.7"
    );
    // Behind proxies that write RFC 7239 instead: IPv6 with a port, X-Forwarded-For ignored.
    let mut cfg = app.db.cfg.clone();
    cfg.trusted_proxies = "127.0.0.0/8".parse().unwrap();
    cfg.forwarded_header = tessera::config::ForwardedHeader::Forwarded;
    let rfc = app.replica(cfg).await;
    let both = [
        ("x-forwarded-for", "192.0.2.99"),
        ("forwarded", "for=\"[2001:db8:cafe::17]:4711\";proto=https"),
    ];
    assert_eq!(
        audited_address(&app, rfc.addr, t, p, &both).await,
        "2001:db8:cafe::17"
    );
    // Garbage in the chain: the proxy that passed it on is the client.
    let junk = [("x-forwarded-for", "198.51.100.7, <script>")];
    assert_eq!(audited_address(&app, at, t, p, &junk).await, "127.0.0.1");
    // Without a header the proxy's own address.
    assert_eq!(audited_address(&app, at, t, p, &[]).await, "127.0.0.1");
}
