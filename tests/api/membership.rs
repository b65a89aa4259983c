//! Roles, removal, leaving and ownership transfer: a removed member's session, token, signed
//! download links and queued exports stop at once; a workspace always keeps an owner; and
//! ownership changes hands only after a fresh second factor.

use serde_json::{Value, json};
use tessera::authz::Scope;

use crate::helpers::{Browser, TestApp, code};
use crate::mailbox;

struct Team<'a> {
    owner: Browser<'a>,
    owner_id: String,
    tenant: tessera::tenancy::Tenant,
}

/// A workspace `acme` created by a signed-up owner.
async fn team(app: &TestApp) -> Team<'_> {
    let mut owner = Browser::new(app);
    let body = owner.sign_up(&mailbox::address("owner")).await;
    let owner_id = body["user"]["id"].as_str().unwrap().to_owned();
    let (_, created) = owner
        .global(
            "mutation { createWorkspace(name: \"Acme\", slug: \"acme\") { slug } }",
            json!({}),
        )
        .await;
    assert!(created.get("errors").is_none(), "{created}");
    let tenant = tessera::db::query_as(
        "SELECT id, slug, name, db_role, state, schema_version, created_at FROM public.tenants WHERE slug = 'acme'",
    )
    .fetch_one(&mut app.db.owner.acquire().await.unwrap())
    .await
    .unwrap();
    Team {
        owner,
        owner_id,
        tenant,
    }
}

/// Someone who joins `acme` as `role` through an invitation; answers their session and id.
async fn join<'a>(app: &'a TestApp, t: &mut Team<'_>, role: &str) -> (Browser<'a>, String) {
    let email = mailbox::address("joiner");
    let (_, body) = t
        .owner
        .gql_vars(
            "acme",
            &format!("mutation($e: String!) {{ inviteMember(email: $e, role: {role}) {{ id }} }}"),
            json!({ "e": email }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let token = mailbox::wait_for_link(&email, "/join/acme").await;
    let mut b = Browser::new(app);
    let (status, _, body) = b
        .post(
            "/auth/signup",
            json!({ "email": email, "password": crate::helpers::PASSWORD,
                    "invitation": { "workspace": "acme", "token": token } }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["invitation"]["accepted"], true, "{body}");
    let id = body["user"]["id"].as_str().unwrap().to_owned();
    (b, id)
}

async fn get_status(app: &TestApp, path: &str, cookie: Option<&str>, bearer: Option<&str>) -> u16 {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client.get(app.url(path));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().status().as_u16()
}

async fn location(app: &TestApp, path: &str, cookie: Option<&str>, bearer: Option<&str>) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client.get(app.url(path));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 302, "{path}");
    resp.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_removed_member_loses_session_token_links_and_exports_on_the_next_request() {
    let app = mailbox::app().await;
    let mut t = team(&app).await;
    let (mut bob, bob_id) = join(&app, &mut t, "ADMIN").await;
    let bob_user = uuid::Uuid::parse_str(&bob_id).unwrap();
    let bob_token = app
        .db
        .token(
            &t.tenant,
            bob_user,
            &[Scope::Read, Scope::Write, Scope::Settings],
        )
        .await;
    // Bob works: a project with a file, links to it, and an export.
    let (_, team_body) = bob
        .gql(
            "acme",
            "mutation { createTeam(input: {name: \"Core\", visibility: OPEN}) { id } }",
        )
        .await;
    let team_id = team_body["data"]["createTeam"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, p) = bob
        .gql_vars(
            "acme",
            "mutation($t: ID!) { createProject(input: {teamId: $t, name: \"P\"}) { id } }",
            json!({ "t": team_id }),
        )
        .await;
    let project = p["data"]["createProject"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = app
        .http
        .post(app.url("/w/acme/attachments"))
        .query(&[
            ("entityType", "project"),
            ("entityId", project.as_str()),
            ("filename", "plan.txt"),
        ])
        .bearer_auth(&bob_token)
        .header("content-type", "text/plain")
        .body("the plan")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let file: Value = resp.json().await.unwrap();
    let content = format!(
        "/w/acme/attachments/{}/content",
        file["id"].as_str().unwrap()
    );
    let cookie = bob.cookie.clone().unwrap();
    let session_link = location(&app, &content, Some(&cookie), None).await;
    let token_link = location(&app, &content, None, Some(&bob_token)).await;
    assert_eq!(get_status(&app, &session_link, None, None).await, 200);
    assert_eq!(get_status(&app, &token_link, None, None).await, 200);
    // An export Bob asked for, still waiting for the worker (written as `startExport` writes
    // it, without the job: the worker would finish it before the removal otherwise).
    let export = uuid::Uuid::now_v7().to_string();
    sqlx::query("INSERT INTO tenant_acme.exports (id, requested_by) VALUES ($1::uuid, $2)")
        .bind(&export)
        .bind(bob_user)
        .execute(&app.db.migrator)
        .await
        .unwrap();

    // The owner removes Bob.
    let (_, body) = t
        .owner
        .gql_vars(
            "acme",
            "mutation($u: ID!) { removeMember(userId: $u) }",
            json!({ "u": bob_id }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");

    // Bob's very next request, however he makes it, is refused.
    let (status, body) = bob.gql("acme", "{ viewer { role } }").await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"));
    let (status, _) = app
        .gql("acme", &bob_token, "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(status, 401);
    assert_eq!(get_status(&app, &session_link, None, None).await, 403);
    assert_eq!(get_status(&app, &token_link, None, None).await, 403);
    assert_eq!(get_status(&app, &content, Some(&cookie), None).await, 401);
    // His token is revoked for good, his export cancelled, his team membership gone.
    let revoked: bool = sqlx::query_scalar(
        "SELECT bool_and(revoked_at IS NOT NULL) FROM public.api_tokens WHERE user_id = $1",
    )
    .bind(bob_user)
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    assert!(revoked);
    let (_, ex) = t
        .owner
        .gql_vars(
            "acme",
            "query($i: ID!) { export(id: $i) { status } }",
            json!({ "i": export }),
        )
        .await;
    assert_eq!(ex["data"]["export"]["status"], "CANCELLED", "{ex}");
    let (_, tm) = t
        .owner
        .gql_vars(
            "acme",
            "query($t: ID!) { team(id: $t) { members { id } } }",
            json!({ "t": team_id }),
        )
        .await;
    assert_eq!(tm["data"]["team"]["members"], json!([]), "{tm}");
    // The removal is in the chain with its before and after.
    let payloads: Vec<Value> = t
        .owner
        .gql(
            "acme",
            "{ auditEntries(first: 100, actions: [\"removeMember\"]) { payload } }",
        )
        .await
        .1["data"]["auditEntries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["payload"].clone())
        .collect();
    let change = &payloads[0]["changes"][0];
    assert_eq!(change["before"]["role"], "admin", "{payloads:?}");
    assert_eq!(change["after"], Value::Null);
    assert_eq!(change["tokens_revoked"], 1);
    assert_eq!(change["exports_cancelled"], 1);
}

#[tokio::test]
async fn a_workspace_always_keeps_an_owner_even_under_concurrent_demotions() {
    let app = mailbox::app().await;
    let mut t = team(&app).await;
    let owner_id = t.owner_id.clone();
    for (query, vars) in [
        (
            "mutation($u: ID!) { removeMember(userId: $u) }",
            json!({ "u": owner_id }),
        ),
        (
            "mutation($u: ID!) { changeMemberRole(userId: $u, role: ADMIN) { role } }",
            json!({ "u": owner_id }),
        ),
        ("mutation { leaveWorkspace }", json!({})),
    ] {
        let (_, body) = t.owner.gql_vars("acme", query, vars).await;
        assert_eq!(code(&body), "LAST_OWNER", "{query}: {body}");
    }
    // Two owners demoting each other at once: one wins, the other is told why.
    let (mut second, second_id) = join(&app, &mut t, "OWNER").await;
    let first_demotes = t.owner.gql_vars(
        "acme",
        "mutation($u: ID!) { changeMemberRole(userId: $u, role: MEMBER) { role } }",
        json!({ "u": second_id }),
    );
    let second_demotes = second.gql_vars(
        "acme",
        "mutation($u: ID!) { changeMemberRole(userId: $u, role: MEMBER) { role } }",
        json!({ "u": owner_id }),
    );
    let ((_, a), (_, b)) = tokio::join!(first_demotes, second_demotes);
    let outcomes = [code(&a), code(&b)];
    assert!(
        outcomes.contains(&"<none>")
            && (outcomes.contains(&"LAST_OWNER")
                || outcomes.contains(&"UNAUTHENTICATED")
                || outcomes.contains(&"FORBIDDEN")),
        "{a} {b}"
    );
    let owners: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM public.memberships WHERE tenant_id = $1 AND role = 'owner'",
    )
    .bind(t.tenant.id)
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    assert_eq!(owners, 1);
}

#[tokio::test]
async fn ownership_changes_hands_only_after_a_fresh_second_factor() {
    let app = mailbox::app().await;
    let mut t = team(&app).await;
    let (mut bob, bob_id) = join(&app, &mut t, "MEMBER").await;
    let transfer = json!({ "u": bob_id });
    let query = "mutation($u: ID!) { transferOwnership(userId: $u) { role } }";
    // Without any second factor: refused, with the way forward.
    let (_, body) = t.owner.gql_vars("acme", query, transfer.clone()).await;
    assert_eq!(code(&body), "SECOND_FACTOR_REQUIRED", "{body}");
    let (_, body) = t
        .owner
        .global(
            "mutation { verifySecondFactor(code: \"123456\") }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "SECOND_FACTOR_REQUIRED", "{body}");
    // Enrolled (which checks a code): fresh for the re-authentication window.
    let (totp, _) = crate::mfa::enroll(&mut t.owner).await;
    // A code checked again later refreshes it.
    sqlx::query("UPDATE public.sessions SET factor_verified_at = now() - interval '10 minutes' WHERE user_id = $1::uuid")
        .bind(&t.owner_id)
        .execute(&app.db.migrator)
        .await
        .unwrap();
    let (_, body) = t.owner.gql_vars("acme", query, transfer.clone()).await;
    assert_eq!(code(&body), "SECOND_FACTOR_REQUIRED", "{body}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // The step after the enrollment's: a code the session has not used yet.
    let next = totp.generate(now + 30).to_string();
    let (_, body) = t
        .owner
        .global(
            "mutation($c: String!) { verifySecondFactor(code: $c) }",
            json!({ "c": next }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    // A member cannot transfer what they do not own; the owner can now.
    let (_, body) = bob
        .gql_vars("acme", query, json!({ "u": t.owner_id }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (_, body) = t.owner.gql_vars("acme", query, transfer).await;
    assert_eq!(body["data"]["transferOwnership"]["role"], "OWNER", "{body}");
    let (_, v) = t.owner.gql("acme", "{ viewer { role } }").await;
    assert_eq!(v["data"]["viewer"]["role"], "ADMIN");
    // The former owner may now leave.
    let (_, body) = t.owner.gql("acme", "mutation { leaveWorkspace }").await;
    assert!(body.get("errors").is_none(), "{body}");
    let (status, _) = t.owner.gql("acme", "{ viewer { role } }").await;
    assert_eq!(status, 401);
}
