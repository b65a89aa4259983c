//! SCIM 2.0 provisioning: a workspace's identity provider creates, finds, updates,
//! deactivates and deletes members with a SCIM token of that workspace; deactivation cuts
//! every kind of access at once; the token works nowhere else and stops when revoked; the
//! IP allowlist applies; every change is in the audit chain as the provider's; and the
//! PyPI compliance checker `scim2-tester` passes against a workspace.

use serde_json::{Value, json};

use crate::helpers::{Browser, TestApp, code, seed};

pub(crate) const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub(crate) const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

pub(crate) async fn scim(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app
        .http
        .request(method, app.url(path))
        .header("authorization", format!("Bearer {token}"));
    if let Some(b) = body {
        req = req
            .header("content-type", "application/scim+json")
            .body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    if status != 204 {
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/scim+json"),
            "{path}"
        );
    }
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// An owner's browser session in `tenant`; answers the browser.
pub(crate) async fn owner<'a>(
    app: &'a TestApp,
    tenant: &tessera::tenancy::Tenant,
    email: &str,
) -> Browser<'a> {
    let mut b = Browser::new(app);
    b.sign_up(email).await;
    app.db
        .add_user(tenant, email, tessera::authz::Role::Owner)
        .await;
    b
}

/// Mints a SCIM token through the owner's session.
pub(crate) async fn mint(b: &mut Browser<'_>, slug: &str) -> String {
    let (_, body) = b
        .gql(
            slug,
            "mutation { createScimToken(name: \"Okta\") { secret scimToken { id name } } }",
        )
        .await;
    let secret = body["data"]["createScimToken"]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    assert!(secret.starts_with("tsc_"));
    secret
}

pub(crate) fn new_user(user_name: &str, email: &str, external: &str) -> Value {
    json!({ "schemas": [USER], "userName": user_name, "externalId": external,
            "name": { "givenName": "Ada", "familyName": "Lovelace" },
            "emails": [{ "value": email, "type": "work", "primary": true }], "active": true })
}

#[tokio::test]
async fn the_provider_manages_members_and_deactivation_cuts_access_at_once() {
    use reqwest::Method;
    let app = TestApp::spawn().await;
    let s = seed(&app, "prov").await;
    let mut boss = owner(&app, &s.tenant, "boss@prov.test").await;
    // An API token cannot mint one, whatever its scopes: session-only.
    let (_, body) = app
        .gql(
            "prov",
            &s.owner_token,
            "mutation { createScimToken(name: \"x\") { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let token = mint(&mut boss, "prov").await;
    let (_, body) = boss
        .gql(
            "prov",
            "{ scim { baseUrl tokens { name lastUsedAt revokedAt } } }",
        )
        .await;
    assert!(
        body["data"]["scim"]["baseUrl"]
            .as_str()
            .unwrap()
            .ends_with("/scim/v2/prov"),
        "{body}"
    );

    // Discovery.
    let (status, spc) = scim(
        &app,
        Method::GET,
        "/scim/v2/prov/ServiceProviderConfig",
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(spc["patch"]["supported"], true);
    let (_, types) = scim(
        &app,
        Method::GET,
        "/scim/v2/prov/ResourceTypes",
        &token,
        None,
    )
    .await;
    assert_eq!(types["Resources"][0]["schema"], USER);
    let (_, schemas) = scim(
        &app,
        Method::GET,
        &format!("/scim/v2/prov/Schemas/{USER}"),
        &token,
        None,
    )
    .await;
    assert_eq!(schemas["id"], USER);

    // Ada has an account already and a session; the provider adds her.
    let mut ada = Browser::new(&app);
    ada.sign_up("ada@prov.test").await;
    let (status, _) = ada.gql("prov", "{ viewer { role } }").await;
    assert_eq!(status, 401, "not a member yet");
    let (status, created) = scim(
        &app,
        Method::POST,
        "/scim/v2/prov/Users",
        &token,
        Some(new_user("Ada@Prov.test", "ada@prov.test", "00u1")),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["active"], true);
    assert!(
        created["meta"]["location"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/scim/v2/prov/Users/{id}"))
    );
    let (_, v) = ada.gql("prov", "{ viewer { role } }").await;
    assert_eq!(v["data"]["viewer"]["role"], "MEMBER", "{v}");

    // The same userName (any case) again: 409 uniqueness; nothing else is made.
    let (status, body) = scim(
        &app,
        Method::POST,
        "/scim/v2/prov/Users",
        &token,
        Some(new_user("ada@PROV.test", "other@prov.test", "00u9")),
    )
    .await;
    assert_eq!(
        (status, body["scimType"].as_str()),
        (409, Some("uniqueness")),
        "{body}"
    );
    // Bad input: the SCIM error format with a scimType and a reason.
    let (status, body) = scim(
        &app,
        Method::POST,
        "/scim/v2/prov/Users",
        &token,
        Some(json!({ "schemas": [USER], "userName": "noaddress" })),
    )
    .await;
    assert_eq!(
        (status, body["scimType"].as_str()),
        (400, Some("invalidValue")),
        "{body}"
    );
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    let (status, body) = scim(
        &app,
        Method::GET,
        "/scim/v2/prov/Users?filter=userName%20gt%20%22a%22",
        &token,
        None,
    )
    .await;
    assert_eq!(
        (status, body["scimType"].as_str()),
        (400, Some("invalidFilter")),
        "{body}"
    );

    // More people, then filters and paging.
    for (n, ext) in [("grace", "00u2"), ("hedy", "00u3"), ("joan", "00u4")] {
        let (status, body) = scim(
            &app,
            Method::POST,
            "/scim/v2/prov/Users",
            &token,
            Some(new_user(
                &format!("{n}@prov.test"),
                &format!("{n}@prov.test"),
                ext,
            )),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    for (filter, expected) in [
        (r#"userName eq "ADA@prov.test""#, vec!["Ada@Prov.test"]),
        (
            r#"emails.value eq "grace@prov.test""#,
            vec!["grace@prov.test"],
        ),
        (
            r#"externalId eq "00u3" or externalId eq "00u4""#,
            vec!["hedy@prov.test", "joan@prov.test"],
        ),
        (
            r#"userName sw "h" and active eq true"#,
            vec!["hedy@prov.test"],
        ),
        (r#"userName eq "x\" or \"1\" eq \"1""#, vec![]),
    ] {
        let (status, body) = app
            .http
            .get(app.url("/scim/v2/prov/Users"))
            .query(&[("filter", filter)])
            .bearer_auth(&token)
            .send()
            .await
            .map(|r| (r.status().as_u16(), r))
            .unwrap();
        let body: Value = body.json().await.unwrap();
        assert_eq!(status, 200, "{filter}: {body}");
        let names: Vec<&str> = body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["userName"].as_str().unwrap())
            .collect();
        assert_eq!(names, expected, "{filter}");
        assert_eq!(body["totalResults"], expected.len());
    }
    let (_, page) = scim(
        &app,
        Method::GET,
        "/scim/v2/prov/Users?startIndex=2&count=2&attributes=userName",
        &token,
        None,
    )
    .await;
    assert_eq!(
        (
            page["totalResults"].as_i64(),
            page["startIndex"].as_i64(),
            page["itemsPerPage"].as_i64()
        ),
        (Some(4), Some(2), Some(2)),
        "{page}"
    );
    assert_eq!(
        page["Resources"][0],
        json!({ "schemas": [USER], "id": page["Resources"][0]["id"], "userName": "grace@prov.test" })
    );

    // Ada's ways in: her session, an API token, a live connection, a signed download link.
    let ada_id = sqlx::query_scalar::<_, uuid::Uuid>(
        "SELECT id FROM public.users WHERE email = 'ada@prov.test'",
    )
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    let ada_token = app
        .db
        .token(&s.tenant, ada_id, &[tessera::authz::Scope::Read])
        .await;
    let up = app
        .http
        .post(app.url("/w/prov/attachments"))
        .query(&[
            ("entityType", "project"),
            ("entityId", s.project_id.as_str()),
            ("filename", "plan.txt"),
        ])
        .bearer_auth(&s.owner_token)
        .header("content-type", "text/plain")
        .body("the plan")
        .send()
        .await
        .unwrap();
    let attachment: Value = up.json().await.unwrap();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let proxied = no_redirects
        .get(app.url(&format!(
            "/w/prov/attachments/{}/content",
            attachment["id"].as_str().unwrap()
        )))
        .bearer_auth(&ada_token)
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 302);
    let link = app.url(proxied.headers()["location"].to_str().unwrap());
    assert_eq!(app.http.get(&link).send().await.unwrap().status(), 200);
    let mut socket = crate::live::open(&app, "prov", None, None).await;
    let ack = crate::live::init(
        &mut socket,
        json!({ "authorization": format!("Bearer {ada_token}") }),
    )
    .await;
    assert_eq!(ack["type"], "connection_ack");

    // Entra ID deactivates her: every one of them stops at once.
    let (status, body) = scim(&app, Method::PATCH, &format!("/scim/v2/prov/Users/{id}"), &token,
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "Replace", "value": { "active": "False" } }] }))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], false);
    let (status, _) = ada.gql("prov", "{ viewer { role } }").await;
    assert_eq!(status, 401, "her session");
    let (status, _) = app
        .gql("prov", &ada_token, "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(status, 401, "her token");
    assert_eq!(
        app.http.get(&link).send().await.unwrap().status(),
        403,
        "her link"
    );
    let closed = crate::live::next_skipping_resync(&mut socket, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(closed["close"], 4403, "her live connection: {closed}");

    // Reactivated (PUT), she is a member again; deleted, she is not, and the User is gone.
    let mut back = new_user("Ada@Prov.test", "ada@prov.test", "00u1");
    back["active"] = true.into();
    let (status, body) = scim(
        &app,
        Method::PUT,
        &format!("/scim/v2/prov/Users/{id}"),
        &token,
        Some(back),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, v) = ada.gql("prov", "{ viewer { role } }").await;
    assert_eq!(v["data"]["viewer"]["role"], "MEMBER", "{v}");
    let (status, _) = scim(
        &app,
        Method::DELETE,
        &format!("/scim/v2/prov/Users/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = scim(
        &app,
        Method::GET,
        &format!("/scim/v2/prov/Users/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (404, Some("404")),
        "{body}"
    );
    let (status, _) = ada.gql("prov", "{ viewer { role } }").await;
    assert_eq!(status, 401);

    // Every change is in the audit chain as the provider's.
    let (_, body) = boss
        .gql("prov", "{ auditEntries(first: 50, actions: [\"scim.createUser\", \"scim.patchUser\", \"scim.replaceUser\", \"scim.deleteUser\"]) { action actorType payload } }")
        .await;
    let entries = body["data"]["auditEntries"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(
        entries.len(),
        7,
        "4 creations, a patch, a replacement, a deletion: {body}"
    );
    assert!(entries.iter().all(|e| e["actorType"] == "scim"), "{body}");
    let patched = entries
        .iter()
        .find(|e| e["action"] == "scim.patchUser")
        .unwrap();
    assert_eq!(patched["payload"]["membership"], "removed");
    assert_eq!(patched["payload"]["before"]["active"], true);
    assert_eq!(patched["payload"]["after"]["active"], false);
}

#[tokio::test]
async fn a_scim_token_works_only_in_its_own_workspace_from_allowed_networks_until_revoked() {
    use reqwest::Method;
    let app = TestApp::spawn().await;
    let a = seed(&app, "scima").await;
    seed(&app, "scimb").await;
    let mut boss = owner(&app, &a.tenant, "boss@scima.test").await;
    let token = mint(&mut boss, "scima").await;
    let users = |slug: &str| format!("/scim/v2/{slug}/Users");
    assert_eq!(
        scim(&app, Method::GET, &users("scima"), &token, None)
            .await
            .0,
        200
    );
    // Another workspace, an unknown one, an API token, garbage: the same 401.
    for (path, cred) in [
        (users("scimb"), token.clone()),
        (users("nowhere"), token.clone()),
        (users("scima"), a.owner_token.clone()),
        (users("scima"), format!("tsc_{}", "A".repeat(43))),
        (users("scima"), "nonsense".to_owned()),
    ] {
        let (status, body) = scim(&app, Method::GET, &path, &cred, None).await;
        assert_eq!(status, 401, "{path}: {body}");
        assert_eq!(
            body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
    }
    // Unknown endpoints under the base: a SCIM 404.
    let (status, body) = scim(&app, Method::GET, "/scim/v2/scima/Widgets", &token, None).await;
    assert_eq!((status, body["status"].as_str()), (404, Some("404")));

    // The workspace's IP allowlist applies to its provider too.
    sqlx::query(
        "UPDATE public.tenants SET ip_allowlist = '{198.51.100.0/24}' WHERE slug = 'scima'",
    )
    .execute(&app.db.migrator)
    .await
    .unwrap();
    let (status, body) = scim(&app, Method::GET, &users("scima"), &token, None).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("127.0.0.1"),
        "{body}"
    );
    sqlx::query("UPDATE public.tenants SET ip_allowlist = '{}' WHERE slug = 'scima'")
        .execute(&app.db.migrator)
        .await
        .unwrap();

    // Revoked: refused on the next request.
    let (_, body) = boss.gql("scima", "{ scim { tokens { id } } }").await;
    let id = body["data"]["scim"]["tokens"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, body) = boss
        .gql_vars(
            "scima",
            "mutation($id: ID!) { revokeScimToken(id: $id) { revokedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert!(
        body["data"]["revokeScimToken"]["revokedAt"].is_string(),
        "{body}"
    );
    assert_eq!(
        scim(&app, Method::GET, &users("scima"), &token, None)
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn scim2_tester_finds_the_service_compliant() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "scimcheck").await;
    let mut boss = owner(&app, &s.tenant, "boss@scimcheck.test").await;
    let token = mint(&mut boss, "scimcheck").await;
    let python = std::env::var("TESSERA_TEST_SCIM_PYTHON").map(std::path::PathBuf::from).unwrap_or_else(|_| {
        let local = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-peers/scim/bin/python");
        assert!(
            local.exists(),
            "scim2-tester not found: run `bash ci/test.sh` (it installs tests/scim/requirements.txt into target/test-peers/scim) or set TESSERA_TEST_SCIM_PYTHON"
        );
        local
    });
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scim/check.py");
    let out = tokio::process::Command::new(python)
        .arg(script)
        .arg(app.url("/scim/v2/scimcheck"))
        .arg(&token)
        .output()
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    assert!(
        out.status.success(),
        "scim2-tester found failures:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("0 failed"), "{report}");
    // Both resource types were exercised, Groups with members that are Users.
    for kind in ["[User]", "[Group]"] {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with("SUCCESS") && l.contains(kind)),
            "no successful {kind} check:\n{report}"
        );
    }
}
