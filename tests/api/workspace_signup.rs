//! A team brings itself in over the API, from a fresh account to a second member editing a
//! record, with real mail through a real SMTP server; and the rules of `createWorkspace`.

use serde_json::{Value, json};

use crate::helpers::{Browser, TestApp, TestDb, code, seed};
use crate::mailbox;

/// The chain's actions of a workspace, oldest first.
async fn actions(app: &TestApp, slug: &str) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT a.action, a.actor_user, a.client_ip FROM public.audit_log a
         JOIN public.tenants t ON t.id = a.tenant_id WHERE t.slug = $1 ORDER BY a.seq",
    )
    .bind(slug)
    .fetch_all(&app.db.migrator)
    .await
    .unwrap()
}

#[tokio::test]
async fn from_sign_up_to_a_second_member_editing_a_record() {
    let app = mailbox::app().await;
    let ann_email = mailbox::address("ann");
    let bob_email = mailbox::address("bob");
    // Ann signs up; her address is verified by the link mailed to it.
    let mut ann = Browser::new(&app);
    let body = ann.sign_up(&ann_email).await;
    let ann_id = body["user"]["id"].as_str().unwrap().to_owned();
    let (_, me) = ann.global("{ me { emailVerified } }", json!({})).await;
    assert_eq!(me["data"]["me"]["emailVerified"], false);
    let mail = &mailbox::wait_for(&ann_email, 1).await[0];
    assert!(mail.subject.contains("Confirm"), "{}", mail.subject);
    let token = mail.token("/verify-email");
    assert!(token.starts_with("tsv_"));
    let (status, _, body) = ann
        .post("/auth/verify-email", json!({ "token": token }))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, me) = ann.global("{ me { emailVerified } }", json!({})).await;
    assert_eq!(me["data"]["me"]["emailVerified"], true);
    // The link works once.
    let (status, _, body) = ann
        .post("/auth/verify-email", json!({ "token": token }))
        .await;
    assert_eq!((status, code(&body)), (409, "TOKEN_USED"));

    // She creates a workspace and becomes its owner.
    let (_, created) = ann
        .global(
            "mutation($n: String!, $s: String!) { createWorkspace(name: $n, slug: $s) { slug name role } }",
            json!({ "n": "Acme Inc", "s": "acme" }),
        )
        .await;
    assert!(created.get("errors").is_none(), "{created}");
    assert_eq!(created["data"]["createWorkspace"]["role"], "owner");
    let (_, v) = ann.gql("acme", "{ viewer { role } }").await;
    assert_eq!(v["data"]["viewer"]["role"], "OWNER", "{v}");
    let (_, team) = ann
        .gql(
            "acme",
            "mutation { createTeam(input: {name: \"Launch\", visibility: RESTRICTED}) { id } }",
        )
        .await;
    let team_id = team["data"]["createTeam"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, project) = ann
        .gql_vars(
            "acme",
            "mutation($t: ID!) { createProject(input: {teamId: $t, name: \"Site\"}) { id } }",
            json!({ "t": team_id }),
        )
        .await;
    let project_id = project["data"]["createProject"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // She invites Bob into the restricted team; the mail carries the link.
    let (_, inv) = ann
        .gql_vars(
            "acme",
            "mutation($e: String!, $t: ID!) { inviteMember(email: $e, role: MEMBER, teamIds: [$t]) { id status expiresAt } }",
            json!({ "e": bob_email, "t": team_id }),
        )
        .await;
    assert!(inv.get("errors").is_none(), "{inv}");
    assert_eq!(inv["data"]["inviteMember"]["status"], "PENDING");
    let mail = &mailbox::wait_for(&bob_email, 1).await[0];
    assert!(mail.subject.contains("Acme Inc"), "{}", mail.subject);
    assert!(mail.text.contains("as member"));
    let bob_token = mail.token("/join/acme");
    assert!(bob_token.starts_with("tsi_"));
    // The link's page can show what it offers before anyone signs in.
    let mut bob = Browser::new(&app);
    let (status, _, preview) = bob
        .post(
            "/auth/invitation",
            json!({ "workspace": "acme", "token": bob_token }),
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["workspace"]["name"], "Acme Inc");
    assert_eq!(preview["status"], "PENDING");
    assert_eq!(preview["role"], "MEMBER");

    // Bob signs up with the invitation: verified by it, and a member at once.
    let (status, _, body) = bob
        .post(
            "/auth/signup",
            json!({
                "email": bob_email, "password": crate::helpers::PASSWORD,
                "displayName": "Bob", "invitation": { "workspace": "acme", "token": bob_token },
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["invitation"]["accepted"], true, "{body}");
    let (_, me) = bob
        .global(
            "{ me { emailVerified } workspaces { slug role } }",
            json!({}),
        )
        .await;
    assert_eq!(me["data"]["me"]["emailVerified"], true);
    assert_eq!(
        me["data"]["workspaces"],
        json!([{ "slug": "acme", "role": "member" }])
    );
    // No verification mail for Bob: the invitation proved the address.
    assert_eq!(mailbox::received(&bob_email).await.len(), 1);

    // Bob sees the restricted team's project and edits a record in it.
    let (_, rec) = bob
        .gql_vars(
            "acme",
            "mutation($p: ID!) { createRecord(input: {projectId: $p, title: \"Hero copy\"}) { id } }",
            json!({ "p": project_id }),
        )
        .await;
    assert!(rec.get("errors").is_none(), "{rec}");
    let rec_id = rec["data"]["createRecord"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, upd) = bob
        .gql_vars(
            "acme",
            "mutation($r: ID!) { updateRecord(id: $r, input: {status: IN_PROGRESS}) { status } }",
            json!({ "r": rec_id }),
        )
        .await;
    assert!(upd.get("errors").is_none(), "{upd}");

    // Ann sees the invitation accepted.
    let (_, list) = ann
        .gql("acme", "{ invitations { status acceptedBy } }")
        .await;
    assert_eq!(list["data"]["invitations"][0]["status"], "ACCEPTED");

    // The chain tells the story with actors and addresses, and verifies.
    let acts = actions(&app, "acme").await;
    let names: Vec<&str> = acts.iter().map(|(a, _, _)| a.as_str()).collect();
    for want in [
        "workspace.create",
        "member.add",
        "createTeam",
        "inviteMember",
        "invitation.accept",
        "createRecord",
        "updateRecord",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let (_, create_actor, create_ip) = &acts[0];
    assert_eq!(create_actor, &ann_id);
    assert_eq!(create_ip, "127.0.0.1");
    let (_, status) = ann.gql("acme", "{ auditStatus { ok } }").await;
    assert_eq!(status["data"]["auditStatus"]["ok"], true, "{status}");
    // Bob's own security log has his account's story.
    let (_, log) = bob
        .global("{ viewer { securityEvents { action ip } } }", json!({}))
        .await;
    let events: Vec<&str> = log["data"]["viewer"]["securityEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for want in ["auth.signup", "auth.email_verified", "membership.joined"] {
        assert!(events.contains(&want), "{want} missing from {events:?}");
    }
}

#[tokio::test]
async fn workspace_addresses_get_clear_codes_and_tokens_cannot_create_workspaces() {
    let app = mailbox::app().await;
    let mut ann = Browser::new(&app);
    ann.sign_up(&mailbox::address("ann")).await;
    let create = |slug: &'static str| json!({ "query": "mutation($s: String!) { createWorkspace(name: \"W\", slug: $s) { slug } }", "variables": { "s": slug } });
    for (slug, want) in [
        ("Not Valid", "SLUG_INVALID"),
        ("ab", "SLUG_INVALID"),
        ("admin", "SLUG_RESERVED"),
        ("pg_things", "SLUG_RESERVED"),
    ] {
        let (_, _, body) = ann.post("/graphql", create(slug)).await;
        assert_eq!(code(&body), want, "{slug}: {body}");
    }
    let (_, _, body) = ann.post("/graphql", create("taken")).await;
    assert!(body.get("errors").is_none(), "{body}");
    let (_, _, body) = ann.post("/graphql", create("taken")).await;
    assert_eq!(code(&body), "SLUG_TAKEN");
    let (_, _, body) = ann
        .post(
            "/graphql",
            json!({ "query": "mutation { createWorkspace(name: \"\", slug: \"fine\") { slug } }" }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    // An API token cannot create workspaces, whatever its scopes.
    let s = seed(&app, "tok").await;
    let resp = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&s.owner_token)
        .json(&create("from_token"))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM public.tenants WHERE slug = 'from_token')",
    )
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    assert!(!exists);
}

#[tokio::test]
async fn workspace_creation_is_limited_per_address_and_per_account() {
    let mut db = TestDb::new().await;
    db.cfg.auth.signup_per_minute_per_ip = 100;
    db.cfg.auth.workspace_creations_per_day_per_account = 2;
    let app = TestApp::spawn_on(db, 4).await;
    async fn create(b: &mut Browser<'_>, slug: String) -> Value {
        let body = json!({ "query": "mutation($s: String!) { createWorkspace(name: \"W\", slug: $s) { slug } }", "variables": { "s": slug } });
        b.post("/graphql", body).await.2
    }
    // Per account: two a day here.
    let mut ann = Browser::new(&app);
    ann.sign_up("ann@limits.test").await;
    for i in 0..2 {
        let body = create(&mut ann, format!("ann_{i}")).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    let body = create(&mut ann, "ann_2".into()).await;
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
    // Per address: five a minute, whoever asks.
    let mut created = 2;
    let mut refused = false;
    for i in 0..6 {
        let mut b = Browser::new(&app);
        b.sign_up(&format!("u{i}@limits.test")).await;
        let body = create(&mut b, format!("ip_{i}")).await;
        if code(&body) == "RATE_LIMITED" {
            refused = true;
            break;
        }
        assert!(body.get("errors").is_none(), "{body}");
        created += 1;
    }
    assert!(
        refused,
        "the sixth creation from one address within a minute is refused"
    );
    assert_eq!(created, 5);
}

/// Roles in the pool of ready workspace roles.
async fn pooled(db: &TestDb) -> Vec<String> {
    sqlx::query_scalar("SELECT role_name FROM public.tenant_role_pool ORDER BY role_name")
        .fetch_all(&db.migrator)
        .await
        .unwrap()
}

async fn role_of(db: &TestDb, slug: &str) -> String {
    sqlx::query_scalar("SELECT db_role FROM public.tenants WHERE slug = $1")
        .bind(slug)
        .fetch_one(&db.migrator)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_new_workspace_takes_a_ready_role_and_the_worker_makes_more() {
    let app = TestApp::spawn().await;
    let db = &app.db;
    let ready = pooled(db).await;
    assert_eq!(ready.len(), 256, "migrate fills the pool");
    let mut ann = Browser::new(&app);
    ann.sign_up("ann@pool.test").await;
    let create = |slug: &str| json!({ "query": "mutation($s: String!) { createWorkspace(name: \"W\", slug: $s) { slug } }", "variables": { "s": slug } });
    let (_, _, body) = ann.post("/graphql", create("first")).await;
    assert!(body.get("errors").is_none(), "{body}");
    let role = role_of(db, "first").await;
    assert!(ready.contains(&role), "{role} came from the pool");
    assert!(!pooled(db).await.contains(&role), "and left it");

    // Below 64 ready roles, the worker makes a batch.
    sqlx::query(
        "DELETE FROM public.tenant_role_pool WHERE role_name IN
           (SELECT role_name FROM public.tenant_role_pool ORDER BY role_name OFFSET 16)",
    )
    .execute(&db.migrator)
    .await
    .unwrap();
    let (_, _, body) = ann.post("/graphql", create("second")).await;
    assert!(body.get("errors").is_none(), "{body}");
    let mut left = 0;
    for _ in 0..100 {
        left = pooled(db).await.len();
        if left == 256 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, 256, "the role_pool job topped the pool up");

    // With none ready, a workspace still gets a role of its own, made on the spot.
    sqlx::query("DELETE FROM public.tenant_role_pool")
        .execute(&db.migrator)
        .await
        .unwrap();
    let (_, _, body) = ann.post("/graphql", create("third")).await;
    assert!(body.get("errors").is_none(), "{body}");
    let third = role_of(db, "third").await;
    assert!(third.starts_with(&db.roles.tenant_role_prefix()), "{third}");
    let (_, v) = ann.gql("third", "{ viewer { role } }").await;
    assert_eq!(v["data"]["viewer"]["role"], "OWNER", "{v}");
}

#[tokio::test]
async fn a_ready_role_not_yet_given_to_a_workspace_reaches_nothing() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let spare = pooled(&app.db).await.remove(0);
    let mut conn = app.pool.acquire().await.unwrap();
    // The shared tables' rows follow the workspace the role belongs to: none.
    for table in [
        "memberships",
        "api_tokens",
        "audit_log",
        "tenant_keys",
        "jobs",
        "users",
    ] {
        tessera::db::raw_sql(&format!("BEGIN; SET LOCAL ROLE \"{spare}\""))
            .execute(&mut conn)
            .await
            .unwrap();
        let seen: Result<i64, _> =
            tessera::db::query_scalar(&format!("SELECT count(*) FROM public.{table}"))
                .fetch_one(&mut conn)
                .await;
        match seen {
            Ok(n) => assert_eq!(n, 0, "{table}: a spare role sees {n} rows"),
            Err(e) => assert!(e.to_string().contains("permission denied"), "{table}: {e}"),
        }
        tessera::db::raw_sql("ROLLBACK")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    // No workspace's schema either.
    tessera::db::raw_sql(&format!("BEGIN; SET LOCAL ROLE \"{spare}\""))
        .execute(&mut conn)
        .await
        .unwrap();
    let denied = tessera::db::query("SELECT * FROM tenant_acme.projects")
        .fetch_all(&mut conn)
        .await
        .unwrap_err();
    assert!(denied.to_string().contains("permission denied"), "{denied}");
    tessera::db::raw_sql("ROLLBACK")
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(!s.project_id.is_empty());
}
