//! The web console as the binary serves it: the page and its assets, client routes, the API's
//! own 404 for everything else, and the headers that keep the page to itself.

use serde_json::Value;

use crate::helpers::TestApp;

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> &'a str {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn page(app: &TestApp, path: &str) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .header("Accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_console_page_has_a_strict_policy_and_is_never_cached() {
    let app = TestApp::spawn().await;
    let resp = page(&app, "/").await;
    assert_eq!(resp.status(), 200);
    assert!(header(&resp, "content-type").starts_with("text/html"));
    assert_eq!(header(&resp, "cache-control"), "no-cache");
    let csp = header(&resp, "content-security-policy").to_owned();
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(header(&resp, "referrer-policy"), "no-referrer");
    assert_eq!(header(&resp, "x-frame-options"), "DENY");
    assert_eq!(header(&resp, "x-content-type-options"), "nosniff");
    assert!(header(&resp, "permissions-policy").contains("camera=()"));
    // TLS is the configured origin's scheme (https://localhost here): browsers must keep to it.
    assert!(header(&resp, "strict-transport-security").starts_with("max-age="));
    let html = resp.text().await.unwrap();
    // No inline script: every <script> loads a file of this origin.
    for tag in html.split("<script").skip(1) {
        let open = &tag[..tag.find('>').unwrap()];
        assert!(
            open.contains("src=\"/"),
            "inline or foreign script: <script{open}>"
        );
    }
    if tessera::http::console_built() {
        assert!(html.contains("<div id=\"root\">"), "{html}");
    } else {
        assert!(html.contains("without its web console"), "{html}");
    }
}

#[tokio::test]
async fn assets_are_cached_for_a_year_and_client_routes_get_the_page() {
    let app = TestApp::spawn().await;
    let index = page(&app, "/").await.text().await.unwrap();
    // Client routes, as a browser navigates to them, get the same page.
    for path in [
        "/signin",
        "/w/acme/admin/audit",
        "/join/acme",
        "/w/acme/projects/123",
    ] {
        let resp = page(&app, path).await;
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(header(&resp, "cache-control"), "no-cache", "{path}");
        assert_eq!(resp.text().await.unwrap(), index, "{path}");
    }
    if tessera::http::console_built() {
        let start = index.find("/assets/").unwrap();
        let end = start + index[start..].find('"').unwrap();
        let asset = &index[start..end];
        let resp = app.http.get(app.url(asset)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{asset}");
        assert_eq!(
            header(&resp, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert!(
            header(&resp, "content-type").starts_with("text/javascript")
                || header(&resp, "content-type").starts_with("text/css"),
            "{asset}"
        );
    }
    // A missing asset is a 404, never the page (a stale tab must not run HTML as script).
    let resp = app
        .http
        .get(app.url("/assets/index-missing.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn api_clients_still_get_the_json_404() {
    let app = TestApp::spawn().await;
    let answers = [
        app.http.get(app.url("/nowhere")).send().await.unwrap(),
        app.http
            .get(app.url("/w/acme/nowhere"))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap(),
        app.http
            .post(app.url("/w/acme/admin/audit"))
            .header("Accept", "text/html")
            .body("x")
            .send()
            .await
            .unwrap(),
    ];
    for resp in answers {
        let url = resp.url().to_string();
        assert_eq!(resp.status(), 404, "{url}");
        assert_eq!(header(&resp, "cache-control"), "no-store", "{url}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{url}"
        );
    }
}

#[tokio::test]
async fn plain_http_origins_get_no_hsts() {
    let app = TestApp::spawn().await;
    let mut cfg = app.db.cfg.clone();
    cfg.auth.public_origin = "http://localhost:8080".into();
    let replica = app.replica(cfg).await;
    let resp = app
        .http
        .get(format!("http://{}/", replica.addr))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("strict-transport-security").is_none());
}

/// GraphiQL is its own page at `/w/{slug}/graphiql`: its policy lets the editor inject
/// styles, never scripts; it is not reachable under another name with the console's policy.
#[tokio::test]
async fn graphiql_has_its_own_page_and_policy() {
    let app = TestApp::spawn().await;
    let resp = page(&app, "/w/acme/graphiql").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "cache-control"), "no-cache");
    let csp = header(&resp, "content-security-policy").to_owned();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert!(
        !csp.split(';')
            .any(|d| d.trim().starts_with("script-src") && d.contains("unsafe-inline")),
        "{csp}"
    );
    let html = resp.text().await.unwrap();
    if tessera::http::console_built() {
        assert!(html.contains("<div id=\"graphiql\">"), "{html}");
        for tag in html.split("<script").skip(1) {
            let open = &tag[..tag.find('>').unwrap()];
            assert!(open.contains("src=\"/"), "inline script: <script{open}>");
        }
    }
    // Not a workspace page: the console's own page and policy.
    for path in ["/w/acme/x/graphiql", "/graphiql.html"] {
        let resp = page(&app, path).await;
        let csp = header(&resp, "content-security-policy").to_owned();
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(
            !resp.text().await.unwrap().contains("id=\"graphiql\""),
            "{path}"
        );
    }
}
