//! Attachments: streamed upload with size limit and hash, the signing proxy, the signed blob
//! route (expiry, tampering), and the authorization re-check on every read.

use serde_json::{Value, json};
use tessera::authz::{Role, Scope};

use crate::helpers::{TestApp, TestDb, code, seed};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn upload(
    app: &TestApp,
    token: &str,
    entity: (&str, &str),
    filename: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let resp = app
        .http
        .post(app.url("/w/acme/attachments"))
        .query(&[
            ("entityType", entity.0),
            ("entityId", entity.1),
            ("filename", filename),
        ])
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

/// Follows the proxy: its status and, for a redirect, the signed location.
async fn proxy(app: &TestApp, token: &str, id: &str) -> (u16, Option<String>) {
    proxy_in(app, "acme", token, id).await
}

async fn proxy_in(app: &TestApp, slug: &str, token: &str, id: &str) -> (u16, Option<String>) {
    let resp = no_redirects()
        .get(app.url(&format!("/w/{slug}/attachments/{id}/content")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let loc = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (resp.status().as_u16(), loc)
}

fn stored_objects(app: &TestApp) -> usize {
    walk(&app.db.blob_dir)
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn a_file_is_read_only_through_the_proxy_only_while_authorized_and_only_by_a_fresh_link() {
    let mut db = TestDb::new().await;
    db.cfg.storage.url_ttl_secs = 2;
    let app = TestApp::spawn_on(db, 8).await;
    let s = seed(&app, "acme").await;
    // A restricted team with a project; a member who is on the team.
    let team = app
        .ok(
            "acme",
            &s.owner_token,
            "mutation { createTeam(input: {name: \"Legal\", visibility: RESTRICTED}) { id } }",
            json!({}),
        )
        .await["createTeam"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let project = app
        .ok(
            "acme",
            &s.owner_token,
            "mutation($t: ID!) { createProject(input: {teamId: $t, name: \"Contracts\"}) { id } }",
            json!({ "t": team }),
        )
        .await["createProject"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mia = app
        .db
        .add_user(&s.tenant, "mia@acme.test", Role::Member)
        .await;
    let mia_token = app
        .db
        .token(&s.tenant, mia, &[Scope::Read, Scope::Write])
        .await;
    app.ok(
        "acme",
        &s.owner_token,
        "mutation($t: ID!, $u: ID!) { addTeamMember(teamId: $t, userId: $u) { id } }",
        json!({ "t": team, "u": mia.to_string() }),
    )
    .await;

    let content = "<script>alert(1)</script> — contract v1 ✓"
        .as_bytes()
        .to_vec();
    let (status, body) = upload(
        &app,
        &mia_token,
        ("project", &project),
        "../../contract.html",
        "text/html; charset=utf-8",
        content.clone(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(body["filename"], "contract.html", "no path survives");
    assert_eq!(body["size"], content.len());
    let expected_sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&content))
    };
    assert_eq!(body["sha256"], expected_sha.as_str());
    let listed = app
        .ok(
            "acme",
            &mia_token,
            "query($p: ID!) { attachments(entityType: PROJECT, entityId: $p) { id filename contentType size sha256 } }",
            json!({ "p": project }),
        )
        .await;
    assert_eq!(listed["attachments"][0]["contentType"], "text/html");

    // The proxy redirects to a signed link that serves the content as a download.
    let (status, link) = proxy(&app, &mia_token, &id).await;
    assert_eq!(status, 302);
    let link = link.unwrap();
    assert!(
        link.starts_with("/blobs/") && link.contains("sig="),
        "{link}"
    );
    let resp = app.http.get(app.url(&link)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "text/html");
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(resp.bytes().await.unwrap().to_vec(), content);

    // Tampering: signature, content type, file name, expiry, another object — all refused.
    let tampered = [
        link.replace("sig=", "sig=A"),
        link.replace("ct=text%2Fhtml", "ct=text%2Fplain"),
        link.replace("fn=contract", "fn=evil"),
        {
            let exp: i64 = link
                .split("exp=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            link.replace(&format!("exp={exp}"), &format!("exp={}", exp + 3600))
        },
        link.split('?').next().unwrap().to_owned(),
    ];
    for t in &tampered {
        let resp = app.http.get(app.url(t)).send().await.unwrap();
        assert_eq!(resp.status(), 403, "{t}");
    }
    // Other workspaces: their tokens are not valid here, and the id means nothing there.
    let other = seed(&app, "other").await;
    let (status, _) = proxy(&app, &other.owner_token, &id).await;
    assert_eq!(status, 401);
    let (status, _) = proxy_in(&app, "other", &other.owner_token, &id).await;
    assert_eq!(status, 404);
    let (status, _) = proxy(&app, "tsr_notatoken", &id).await;
    assert_eq!(status, 401);

    // A copied link stops working when it expires.
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let resp = app.http.get(app.url(&link)).send().await.unwrap();
    assert_eq!(resp.status(), 403, "expired link");
    // A fresh link works while she is on the team...
    let (status, _) = proxy(&app, &mia_token, &id).await;
    assert_eq!(status, 302);
    // ...and her next read fails once she is removed from it.
    app.ok(
        "acme",
        &s.owner_token,
        "mutation($t: ID!, $u: ID!) { removeTeamMember(teamId: $t, userId: $u) { id } }",
        json!({ "t": team, "u": mia.to_string() }),
    )
    .await;
    let (status, link) = proxy(&app, &mia_token, &id).await;
    assert_eq!((status, link), (404, None));
}

#[tokio::test]
async fn uploads_are_refused_before_storing_anything_when_not_allowed_or_too_large() {
    let mut db = TestDb::new().await;
    db.cfg.storage.max_upload_bytes = 1024;
    let app = TestApp::spawn_on(db, 8).await;
    let s = seed(&app, "acme").await;
    let limited = app
        .ok(
            "acme",
            &s.owner_token,
            "mutation { createTeam(input: {name: \"Finance\", visibility: LIMITED}) { id } }",
            json!({}),
        )
        .await["createTeam"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let project = app
        .ok(
            "acme",
            &s.owner_token,
            "mutation($t: ID!) { createProject(input: {teamId: $t, name: \"Budget\"}) { id } }",
            json!({ "t": limited }),
        )
        .await["createProject"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let max = app
        .db
        .add_user(&s.tenant, "max@acme.test", Role::Member)
        .await;
    let writer = app
        .db
        .token(&s.tenant, max, &[Scope::Read, Scope::Write])
        .await;
    let reader = app.db.token(&s.tenant, s.owner, &[Scope::Read]).await;

    // Visible but not editable (a limited team he is not on): 403, nothing stored.
    let (status, body) = upload(
        &app,
        &writer,
        ("project", &project),
        "a.txt",
        "text/plain",
        vec![b'x'; 10],
    )
    .await;
    assert_eq!((status, code(&body)), (403, "FORBIDDEN"), "{body}");
    // A read-only token: 403.
    let (status, _) = upload(
        &app,
        &reader,
        ("project", &s.project_id),
        "a.txt",
        "text/plain",
        vec![b'x'; 10],
    )
    .await;
    assert_eq!(status, 403);
    // An entity of no kind or that does not exist.
    let (status, body) = upload(
        &app,
        &writer,
        ("team", &s.team_id),
        "a.txt",
        "text/plain",
        vec![1],
    )
    .await;
    assert_eq!((status, code(&body)), (400, "BAD_USER_INPUT"));
    let (status, _) = upload(
        &app,
        &writer,
        ("record", &uuid::Uuid::new_v4().to_string()),
        "a.txt",
        "text/plain",
        vec![1],
    )
    .await;
    assert_eq!(status, 404);
    // Too large, declared or streamed: 413, nothing kept.
    let (status, body) = upload(
        &app,
        &s.owner_token,
        ("project", &s.project_id),
        "big.bin",
        "application/octet-stream",
        vec![0; 4096],
    )
    .await;
    assert_eq!((status, code(&body)), (413, "PAYLOAD_TOO_LARGE"));
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..8).map(|_| Ok(vec![7u8; 512])).collect();
    let resp = app
        .http
        .post(app.url("/w/acme/attachments"))
        .query(&[
            ("entityType", "project"),
            ("entityId", s.project_id.as_str()),
            ("filename", "stream.bin"),
        ])
        .bearer_auth(&s.owner_token)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        413,
        "a streamed body without a length is cut off too"
    );
    assert_eq!(
        stored_objects(&app),
        0,
        "no byte of a refused upload is kept"
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM tenant_acme.attachments")
        .fetch_one(&app.db.migrator)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    // Within the limit it works, and the upload is audited.
    let (status, _) = upload(
        &app,
        &s.owner_token,
        ("idea", &{
            app.ok(
                "acme",
                &s.owner_token,
                "mutation { createIdea(input: {title: \"i\"}) { id } }",
                json!({}),
            )
            .await["createIdea"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }),
        "note.txt",
        "text/plain",
        vec![b'n'; 1024],
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(stored_objects(&app), 1);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM public.audit_log WHERE tenant_id = $1 AND action = 'attachment.upload'",
    )
    .bind(s.tenant.id)
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    assert_eq!(audited, 1);
}
