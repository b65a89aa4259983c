//! The audit chain: every mutation appends, the database refuses changes, concurrent
//! writers make one gapless chain, every kind of tampering is detected.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;
use tessera::audit;
use tessera::tenancy::{self, Access, Slug};

use crate::helpers::{TestApp, admin_url, code, seed};
use crate::provisioning::cli;

async fn actions(app: &TestApp, tenant: uuid::Uuid) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM public.audit_log WHERE tenant_id = $1 ORDER BY seq")
        .bind(tenant)
        .fetch_all(&app.db.migrator)
        .await
        .unwrap()
}

async fn verify(app: &TestApp, tenant: uuid::Uuid) -> audit::VerifyReport {
    let mut conn = app.db.owner.acquire().await.unwrap();
    audit::verify(&mut conn, &app.db.keyring, tenant)
        .await
        .unwrap()
}

/// A superuser connection into the test database: the attacker of the tamper tests.
async fn superuser(app: &TestApp) -> sqlx::PgConnection {
    let url = app
        .db
        .migrator_url
        .replace(&app.db.roles.migrator, "postgres");
    let mut c = tessera::db::admin_connect_url(&url).await.unwrap();
    sqlx::raw_sql("ALTER TABLE public.audit_log DISABLE TRIGGER USER")
        .execute(&mut c)
        .await
        .unwrap();
    c
}

#[tokio::test]
async fn every_mutation_of_the_schema_writes_an_audit_entry() {
    // Loopback allowed: the webhook endpoint below points at this machine.
    let mut db = crate::helpers::TestDb::new().await;
    db.cfg.network.allow_loopback = true;
    let app = TestApp::spawn_on(db, 8).await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    let m = app
        .db
        .add_user(&s.tenant, "m@acme.test", tessera::authz::Role::Member)
        .await;
    let q = |q: &'static str| q;
    let goal = app
        .ok(
            "acme",
            t,
            q("mutation { createGoal(input: {title: \"G\"}) { id } }"),
            json!({}),
        )
        .await["createGoal"]["id"]
        .clone();
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { updateGoal(id: $id, input: {title: \"G2\"}) { id } }",
        json!({ "id": goal }),
    )
    .await;
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { archiveGoal(id: $id) { id } }",
        json!({ "id": goal }),
    )
    .await;
    let team = app
        .ok(
            "acme",
            t,
            "mutation { createTeam(input: {name: \"T\", visibility: LIMITED}) { id } }",
            json!({}),
        )
        .await["createTeam"]["id"]
        .clone();
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { updateTeam(id: $id, input: {name: \"T2\"}) { id } }",
        json!({ "id": team }),
    )
    .await;
    app.ok(
        "acme",
        t,
        "mutation($t: ID!, $u: ID!) { addTeamMember(teamId: $t, userId: $u) { id } }",
        json!({ "t": team, "u": m.to_string() }),
    )
    .await;
    app.ok(
        "acme",
        t,
        "mutation($t: ID!, $u: ID!) { removeTeamMember(teamId: $t, userId: $u) { id } }",
        json!({ "t": team, "u": m.to_string() }),
    )
    .await;
    let p = app
        .ok(
            "acme",
            t,
            "mutation($t: ID!) { createProject(input: {teamId: $t, name: \"P\"}) { id } }",
            json!({ "t": team }),
        )
        .await["createProject"]["id"]
        .clone();
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { updateProject(id: $id, input: {name: \"P2\"}) { id } }",
        json!({ "id": p }),
    )
    .await;
    let r = app
        .ok(
            "acme",
            t,
            "mutation($p: ID!) { createRecord(input: {projectId: $p, title: \"R\"}) { id } }",
            json!({ "p": p }),
        )
        .await["createRecord"]["id"]
        .clone();
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { updateRecord(id: $id, input: {status: DONE}) { id } }",
        json!({ "id": r }),
    )
    .await;
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { archiveRecord(id: $id) { id } }",
        json!({ "id": r }),
    )
    .await;
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { archiveProject(id: $id) { id } }",
        json!({ "id": p }),
    )
    .await;
    let i = app
        .ok(
            "acme",
            t,
            "mutation { createIdea(input: {title: \"I\"}) { id } }",
            json!({}),
        )
        .await["createIdea"]["id"]
        .clone();
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { updateIdea(id: $id, input: {body: \"b\"}) { id } }",
        json!({ "id": i }),
    )
    .await;
    app.ok(
        "acme",
        t,
        "mutation($id: ID!, $t: ID!) { promoteIdea(id: $id, teamId: $t) { idea { id } } }",
        json!({ "id": i, "t": s.team_id }),
    )
    .await;
    let i2 = app
        .ok(
            "acme",
            t,
            "mutation { createIdea(input: {title: \"I2\"}) { id } }",
            json!({}),
        )
        .await["createIdea"]["id"]
        .clone();
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { archiveIdea(id: $id) { id } }",
        json!({ "id": i2 }),
    )
    .await;
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { archiveTeam(id: $id) { id } }",
        json!({ "id": team }),
    )
    .await;
    let spare = app
        .db
        .token(&s.tenant, s.owner, &[tessera::authz::Scope::Read])
        .await;
    let _ = spare;
    let toks = app
        .ok("acme", t, "{ apiTokens { id scopes } }", json!({}))
        .await;
    let read_tok = toks["apiTokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["scopes"] == json!(["read"]))
        .unwrap()["id"]
        .clone();
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { revokeApiToken(id: $id) { id } }",
        json!({ "id": read_tok }),
    )
    .await;
    app.ok(
        "acme",
        t,
        "mutation { setSecret(kind: WEBHOOK_SECRET, name: \"hook\", secret: \"abc\") { id } }",
        json!({}),
    )
    .await;
    // Session-only mutations need a browser session: an owner, stepped up to aal2.
    let mut owner = crate::helpers::Browser::new(&app);
    let (status, _, _) = owner
        .post(
            "/auth/signup",
            json!({ "email": "sso@acme.test", "password": "a long enough passphrase" }),
        )
        .await;
    assert_eq!(status, 201);
    app.db
        .add_user(&s.tenant, "sso@acme.test", tessera::authz::Role::Owner)
        .await;
    crate::mfa::enroll(&mut owner).await;
    for m in [
        "mutation { setOidcClientSecret(name: \"idp\", secret: \"x\") { id } }",
        "mutation { createApiToken(name: \"ci\", scopes: [READ]) { secret } }",
        "mutation { setMfaRequired(required: true) }",
        "mutation { setAuditRetention(days: 3650) }",
        "mutation { setIpAllowlist(networks: [\"127.0.0.0/8\"]) { allowlist } }",
        "mutation { createScimToken(name: \"idp\") { secret } }",
    ] {
        let (_, resp) = owner.gql("acme", m).await;
        assert!(resp.get("errors").is_none(), "{m}: {resp}");
    }
    let (_, resp) = owner.gql("acme", "{ scim { tokens { id } } }").await;
    let scim_token = resp["data"]["scim"]["tokens"][0]["id"].clone();
    let (_, resp) = owner
        .gql_vars(
            "acme",
            "mutation($id: ID!) { revokeScimToken(id: $id) { id } }",
            json!({ "id": scim_token }),
        )
        .await;
    assert!(resp.get("errors").is_none(), "{resp}");
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { restoreVersion(entityType: GOAL, id: $id, version: 1) { version } }",
        json!({ "id": goal }),
    )
    .await;
    let hook = app
        .ok(
            "acme",
            t,
            "mutation { createWebhookEndpoint(input: {url: \"http://127.0.0.1:9/hook\", events: [\"createIdea\"]}) { endpoint { id } } }",
            json!({}),
        )
        .await["createWebhookEndpoint"]["endpoint"]["id"]
        .clone();
    for m in [
        "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
        "mutation($id: ID!) { enableWebhookEndpoint(id: $id) { id } }",
        "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }",
    ] {
        app.ok("acme", t, m, json!({ "id": hook })).await;
    }
    // Membership: invite, resend, revoke; a role change and a removal by the owner's token;
    // then the session owner hands ownership to the seeded owner and leaves.
    let inv = app
        .ok(
            "acme",
            t,
            "mutation { inviteMember(email: \"new@acme.test\", role: MEMBER) { id } }",
            json!({}),
        )
        .await["inviteMember"]["id"]
        .clone();
    for mutation in [
        "mutation($id: ID!) { resendInvitation(id: $id) { id } }",
        "mutation($id: ID!) { revokeInvitation(id: $id) { id } }",
    ] {
        app.ok("acme", t, mutation, json!({ "id": inv })).await;
    }
    let gone = app
        .db
        .add_user(&s.tenant, "gone@acme.test", tessera::authz::Role::Member)
        .await;
    app.ok(
        "acme",
        t,
        "mutation($u: ID!) { changeMemberRole(userId: $u, role: ADMIN) { role } }",
        json!({ "u": gone }),
    )
    .await;
    app.ok(
        "acme",
        t,
        "mutation($u: ID!) { removeMember(userId: $u) }",
        json!({ "u": gone }),
    )
    .await;
    for mutation in [
        format!(
            "mutation {{ transferOwnership(userId: \"{}\") {{ role }} }}",
            s.owner
        ),
        "mutation { leaveWorkspace }".to_owned(),
    ] {
        let (_, resp) = owner.gql("acme", &mutation).await;
        assert!(resp.get("errors").is_none(), "{mutation}: {resp}");
    }
    // The worker's own entries land before the counts below are taken.
    let export = crate::export_jobs::start(&app, "acme", t).await;
    crate::export_jobs::settled(&app, "acme", t, &export).await;

    // Every mutation field of the schema appears as an action.
    let map = tessera::authz::walker::guard_map(&tessera::graphql::tenant_sdl()).unwrap();
    let mutations: BTreeSet<String> = map
        .fields
        .keys()
        .filter(|(ty, _)| ty == "Mutation")
        .map(|(_, f)| f.clone())
        .collect();
    let mut audited: BTreeSet<String> = actions(&app, s.tenant.id).await.into_iter().collect();
    // SSO configuration needs a live OpenID provider (`oidc.rs` checks both are audited), and
    // deleting the workspace would end this test (`deletion.rs` checks it).
    audited.extend([
        "configureSso".to_owned(),
        "setSsoOnly".to_owned(),
        "deleteWorkspace".to_owned(),
    ]);
    let missing: Vec<&String> = mutations.difference(&audited).collect();
    assert!(
        missing.is_empty(),
        "mutations without audit entries: {missing:?}"
    );
    assert!(audited.contains("workspace.create"));

    // Entries carry actor, target, request id and resolved arguments, readable by audit:read.
    let data = app.ok("acme", t, "{ auditEntries(first: 100) { seq action actorType actorUser targetType targetId requestId clientIp payload erased } auditStatus { ok entries } }", json!({})).await;
    let entries = data["auditEntries"].as_array().unwrap();
    let upd = entries
        .iter()
        .find(|e| e["action"] == "updateProject")
        .unwrap();
    assert_eq!(upd["actorType"], "token");
    assert_eq!(upd["actorUser"], s.owner.to_string());
    assert_eq!(upd["targetType"], "Project");
    assert_eq!(upd["targetId"], p);
    assert_eq!(upd["clientIp"], "127.0.0.1");
    assert!(upd["requestId"].as_str().is_some_and(|r| r.len() >= 32));
    assert_eq!(upd["payload"]["arguments"]["input"]["name"], "P2");
    // The field-level before/after of the change travels with the entry.
    assert_eq!(
        upd["payload"]["changes"][0]["changes"]["name"],
        json!({ "old": "P", "new": "P2" })
    );
    assert_eq!(upd["payload"]["changes"][0]["entity"], "project");
    let team_upd = entries
        .iter()
        .find(|e| e["action"] == "updateTeam")
        .unwrap();
    assert_eq!(
        team_upd["payload"]["changes"][0]["changes"]["name"],
        json!({ "old": "T", "new": "T2" })
    );
    let revoke = entries
        .iter()
        .find(|e| e["action"] == "revokeApiToken")
        .unwrap();
    assert!(revoke["payload"]["changes"][0]["changes"]["revoked_at"]["old"].is_null());
    // Filters: action, target, actor, time range.
    let filtered = app
        .ok(
            "acme",
            t,
            "query($p: String!, $u: ID!) {
                byAction: auditEntries(first: 100, actions: [\"updateProject\", \"archiveProject\"]) { action }
                byTarget: auditEntries(first: 100, targetId: $p) { action }
                byActor: auditEntries(first: 100, actorUser: $u) { seq }
                past: auditEntries(first: 100, to: \"2000-01-01T00:00:00Z\") { seq }
            }",
            json!({ "p": p, "u": s.owner.to_string() }),
        )
        .await;
    assert_eq!(
        filtered["byAction"],
        json!([{ "action": "updateProject" }, { "action": "archiveProject" }])
    );
    let target_actions: Vec<&str> = filtered["byTarget"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        target_actions,
        ["createProject", "updateProject", "archiveProject"]
    );
    assert!(filtered["byActor"].as_array().unwrap().len() > 20);
    assert_eq!(filtered["past"], json!([]));
    assert_eq!(data["auditStatus"]["ok"], true);
    // A member may not read the audit log.
    let mtok = app
        .db
        .token(&s.tenant, m, &[tessera::authz::Scope::Read])
        .await;
    let (_, body) = app
        .gql("acme", &mtok, "{ auditStatus { ok } }", json!({}))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    // Refused and failed mutations leave no entry.
    let before = actions(&app, s.tenant.id).await.len();
    let (_, body) = app
        .gql(
            "acme",
            &mtok,
            "mutation { createTeam(input: {name: \"x\", visibility: OPEN}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (_, body) = app
        .gql(
            "acme",
            t,
            "mutation { createGoal(input: {title: \"\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(actions(&app, s.tenant.id).await.len(), before);
}

#[tokio::test]
async fn the_runtime_role_cannot_change_or_remove_entries() {
    let app = TestApp::spawn().await;
    seed(&app, "acme").await;
    let slug = Slug::parse("acme").unwrap();
    for stmt in [
        "UPDATE public.audit_log SET action = 'nothing'",
        "DELETE FROM public.audit_log",
        "TRUNCATE public.audit_log",
        "UPDATE public.audit_checkpoints SET seq = 0",
        "DELETE FROM public.tenant_keys",
    ] {
        let mut tx = tenancy::begin(&app.pool, &slug, Access::ReadWrite)
            .await
            .unwrap()
            .unwrap();
        let err = tessera::db::query(stmt)
            .execute(tx.conn())
            .await
            .expect_err(stmt);
        assert_eq!(
            tessera::db::sqlstate(&err).as_deref(),
            Some("42501"),
            "{stmt}: {err}"
        );
        tx.rollback().await.unwrap();
    }
    // Even the owning migrator role is refused by the trigger.
    for stmt in [
        "UPDATE public.audit_log SET action = 'x'",
        "DELETE FROM public.audit_log",
        "TRUNCATE public.audit_log",
    ] {
        let err = sqlx::query(stmt)
            .execute(&app.db.migrator)
            .await
            .expect_err(stmt);
        // The server's error type: the same type on sqlx, a wrapper on tokio-postgres.
        #[allow(clippy::useless_conversion)]
        let err = tessera::db::Error::from(err);
        assert_eq!(
            tessera::db::sqlstate(&err).as_deref(),
            Some("42501"),
            "{stmt}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_make_one_gapless_chain() {
    let app = Arc::new(TestApp::spawn().await);
    let s = seed(&app, "acme").await;
    let mut tasks = Vec::new();
    for w in 0..16 {
        let (app, tok) = (app.clone(), s.owner_token.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                app.ok(
                    "acme",
                    &tok,
                    "mutation($t: String!) { createIdea(input: {title: $t}) { id } }",
                    json!({ "t": format!("{w}-{i}") }),
                )
                .await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let seqs: Vec<i64> =
        sqlx::query_scalar("SELECT seq FROM public.audit_log WHERE tenant_id = $1 ORDER BY seq")
            .bind(s.tenant.id)
            .fetch_all(&app.db.migrator)
            .await
            .unwrap();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    assert!(seqs.len() >= 163, "{}", seqs.len());
    let r = verify(&app, s.tenant.id).await;
    assert!(r.ok(), "{:?}", r.problem);
}

/// Builds a chain of 11 entries (provisioning, team, project, 8 ideas) with a checkpoint at the head, then applies `tamper`.
async fn tampered(tamper: &str) -> (TestApp, audit::VerifyReport, uuid::Uuid) {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    for i in 0..8 {
        app.ok(
            "acme",
            &s.owner_token,
            "mutation($t: String!) { createIdea(input: {title: $t}) { id } }",
            json!({ "t": format!("i{i}") }),
        )
        .await;
    }
    let mut conn = app.db.owner.acquire().await.unwrap();
    let signed = audit::checkpoint(&mut conn, &app.db.keyring, s.tenant.id)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(signed, Some(11));
    assert!(verify(&app, s.tenant.id).await.ok());
    let mut su = superuser(&app).await;
    sqlx::raw_sql(&tamper.replace("$T", &format!("'{}'", s.tenant.id)))
        .execute(&mut su)
        .await
        .unwrap();
    let report = verify(&app, s.tenant.id).await;
    (app, report, s.tenant.id)
}

#[tokio::test]
async fn every_kind_of_tampering_is_detected_and_names_the_first_bad_entry() {
    let cases = [
        (
            "edit a payload",
            "UPDATE public.audit_log SET payload = set_byte(payload, 30, get_byte(payload, 30) # 1) WHERE tenant_id = $T AND seq = 5",
            5,
        ),
        (
            "edit a field",
            "UPDATE public.audit_log SET actor_user = 'someone else' WHERE tenant_id = $T AND seq = 7",
            7,
        ),
        (
            "edit a hash",
            "UPDATE public.audit_log SET hash = sha256('x') WHERE tenant_id = $T AND seq = 6",
            6,
        ),
        (
            "delete an entry",
            "DELETE FROM public.audit_log WHERE tenant_id = $T AND seq = 4",
            4,
        ),
        (
            "reorder two entries",
            "UPDATE public.audit_log SET seq = 1000 WHERE tenant_id = $T AND seq = 8; UPDATE public.audit_log SET seq = 8 WHERE tenant_id = $T AND seq = 9; UPDATE public.audit_log SET seq = 9 WHERE tenant_id = $T AND seq = 1000",
            8,
        ),
        (
            "truncate the tail",
            "DELETE FROM public.audit_log WHERE tenant_id = $T AND seq > 9; UPDATE public.audit_heads SET (seq, hash) = (SELECT seq, hash FROM public.audit_log WHERE tenant_id = $T AND seq = 9) WHERE tenant_id = $T",
            10,
        ),
        (
            "truncate the tail, head untouched",
            "DELETE FROM public.audit_log WHERE tenant_id = $T AND seq > 9",
            10,
        ),
        (
            "forge a checkpoint",
            "ALTER TABLE public.audit_checkpoints DISABLE TRIGGER USER; UPDATE public.audit_checkpoints SET hash = sha256('x') WHERE tenant_id = $T",
            11,
        ),
    ];
    for (name, sql, bad) in cases {
        let (_app, report, _) = tampered(sql).await;
        let problem = report
            .problem
            .unwrap_or_else(|| panic!("{name}: not detected"));
        assert_eq!(problem.seq, bad, "{name}: {}", problem.reason);
    }
}

/// What an attacker with the public algorithm does after editing entries: recomputes every
/// entry's links and hash, and the head, so the chain is consistent on its own again. The
/// caller has the append-only triggers off.
pub(crate) async fn rehash_chain(su: &mut sqlx::PgConnection, tenant: uuid::Uuid) {
    #[derive(sqlx::FromRow)]
    struct ChainRow {
        seq: i64,
        at: chrono::DateTime<chrono::Utc>,
        actor_type: String,
        actor_id: String,
        actor_user: String,
        action: String,
        target_type: String,
        target_id: String,
        request_id: String,
        client_ip: String,
        payload: Option<Vec<u8>>,
    }
    let rows: Vec<ChainRow> = sqlx::query_as(
        "SELECT seq, at, actor_type, actor_id, actor_user, action, target_type, target_id, request_id, client_ip, payload
         FROM public.audit_log WHERE tenant_id = $1 ORDER BY seq",
    )
    .bind(tenant)
    .fetch_all(&mut *su)
    .await
    .unwrap();
    let mut prev = audit::GENESIS_HASH.to_vec();
    for r in rows {
        let c = audit::canonical_bytes(
            tenant,
            r.seq,
            r.at.timestamp_micros(),
            (&r.actor_type, &r.actor_id, &r.actor_user),
            &r.action,
            (&r.target_type, &r.target_id),
            (&r.request_id, &r.client_ip),
            r.payload.as_deref(),
        );
        let mut h = <sha2::Sha256 as sha2::Digest>::new();
        sha2::Digest::update(&mut h, &prev);
        sha2::Digest::update(&mut h, &c);
        let hash = sha2::Digest::finalize(h).to_vec();
        sqlx::query("UPDATE public.audit_log SET prev_hash = $3, hash = $4 WHERE tenant_id = $1 AND seq = $2")
            .bind(tenant).bind(r.seq).bind(&prev).bind(&hash)
            .execute(&mut *su).await.unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE public.audit_heads SET hash = $2 WHERE tenant_id = $1")
        .bind(tenant)
        .bind(&prev)
        .execute(&mut *su)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_consistent_rewrite_of_the_whole_chain_is_caught_by_the_signed_checkpoint() {
    // The attacker recomputes every hash with the public algorithm after changing entry 3.
    let (app, _, tenant) = tampered("SELECT 1").await;
    let mut su = superuser(&app).await;
    sqlx::query(
        "UPDATE public.audit_log SET actor_user = 'framed' WHERE tenant_id = $1 AND seq = 3",
    )
    .bind(tenant)
    .execute(&mut su)
    .await
    .unwrap();
    rehash_chain(&mut su, tenant).await;
    let report = verify(&app, tenant).await;
    let problem = report
        .problem
        .expect("a consistent rewrite must still be detected");
    assert_eq!(problem.seq, 11, "{}", problem.reason);
    assert!(problem.reason.contains("checkpoint"));
    // The CLI reports it and exits non-zero.
    let out = cli(&app.db, &["audit", "verify", "--tenant", "acme"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("BROKEN at seq 11"));
    let _ = admin_url();
}

#[tokio::test]
async fn shredding_the_audit_key_keeps_the_chain_verifiable_and_the_contents_unreadable() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let before = app
        .ok(
            "acme",
            &s.owner_token,
            "{ auditEntries { action payload erased } }",
            json!({}),
        )
        .await;
    assert!(
        before["auditEntries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["erased"] == false && e["payload"].is_object())
    );
    let out = cli(&app.db, &["tenant", "shred-audit-key", "acme"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = app
        .ok(
            "acme",
            &s.owner_token,
            "{ auditEntries { action payload erased } auditStatus { ok entries } }",
            json!({}),
        )
        .await;
    let entries = after["auditEntries"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .all(|e| e["erased"] == true && e["payload"].is_null()),
        "{after}"
    );
    assert_eq!(after["auditStatus"]["ok"], true);
    // Changes after shredding are still chained (with no payload to keep).
    app.ok(
        "acme",
        &s.owner_token,
        "mutation { createIdea(input: {title: \"after\"}) { id } }",
        json!({}),
    )
    .await;
    assert!(verify(&app, s.tenant.id).await.ok());
    let out = cli(&app.db, &["audit", "verify"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("acme: ok"));
}

#[tokio::test]
async fn the_periodic_job_signs_heads_and_cli_actions_are_audited() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let pass = audit::job::checkpoint_all(&app.pool, &app.db.keyring, None)
        .await
        .unwrap();
    assert_eq!((pass.signed, pass.broken), (1, 0));
    let pass = audit::job::checkpoint_all(&app.pool, &app.db.keyring, None)
        .await
        .unwrap();
    assert_eq!(pass.signed, 0, "nothing new to sign");
    let out = cli(
        &app.db,
        &["user", "add", "--tenant", "acme", "--email", "n@acme.test"],
    );
    assert!(out.status.success());
    let out = cli(
        &app.db,
        &[
            "token",
            "create",
            "--tenant",
            "acme",
            "--user",
            "n@acme.test",
        ],
    );
    assert!(out.status.success());
    let acts = actions(&app, s.tenant.id).await;
    assert!(
        acts.ends_with(&["member.add".to_owned(), "token.mint".to_owned()]),
        "{acts:?}"
    );
    // The token secret is not in the audit payload.
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let data = app
        .ok(
            "acme",
            &s.owner_token,
            "{ auditEntries(first: 100) { payload } }",
            json!({}),
        )
        .await;
    assert!(!data.to_string().contains(&token));
    let status = app
        .ok(
            "acme",
            &s.owner_token,
            "{ auditStatus { ok checkpoints } }",
            json!({}),
        )
        .await;
    assert_eq!(
        status["auditStatus"],
        json!({ "ok": true, "checkpoints": 1 })
    );
}

#[tokio::test]
async fn an_export_verifies_outside_tessera_and_filters_by_action_and_time() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    for i in 0..5 {
        app.ok(
            "acme",
            &s.owner_token,
            "mutation($t: String!) { createIdea(input: {title: $t}) { id } }",
            json!({ "t": format!("i{i}") }),
        )
        .await;
    }
    let mut conn = app.db.owner.acquire().await.unwrap();
    audit::checkpoint(&mut conn, &app.db.keyring, s.tenant.id)
        .await
        .unwrap();
    drop(conn);
    let out = cli(&app.db, &["audit", "export", "--tenant", "acme"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().count(),
        1 + 8 + 1,
        "header + 8 entries + 1 checkpoint"
    );
    assert!(
        text.contains("\"title\":\"i4\""),
        "payloads are decrypted for the exporter"
    );
    let dir = crate::helpers::tempdir::Dir::new();
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &text).unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/verify_audit_export.py");
    let run = |f: &std::path::Path| {
        std::process::Command::new("python3")
            .arg(&script)
            .arg(f)
            .output()
            .unwrap()
    };
    let ok = run(&file);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let report = String::from_utf8_lossy(&ok.stdout).into_owned();
    assert!(
        report.contains("ok: 8 entries verified; 1 checkpoints match"),
        "{report}"
    );
    let has_ed25519 = std::process::Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if has_ed25519 {
        assert!(report.contains("1 signatures checked"), "{report}");
        // A checkpoint with a forged signature is refused.
        let line = text.lines().last().unwrap();
        let mut cp: serde_json::Value = serde_json::from_str(line).unwrap();
        cp["checkpoint"]["signature"] = json!(base64_of(&[7u8; 64]));
        let forged = text.replace(line, &cp.to_string());
        std::fs::write(&file, forged).unwrap();
        let bad = run(&file);
        assert!(!bad.status.success());
        assert!(String::from_utf8_lossy(&bad.stdout).contains("signature does not verify"));
    }
    // A doctored export fails the independent check, naming the entry.
    let doctored = text.replacen("\"action\":\"createIdea\"", "\"action\":\"nothing\"", 1);
    std::fs::write(&file, doctored).unwrap();
    let bad = run(&file);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("BROKEN at seq 4"),
        "{}",
        String::from_utf8_lossy(&bad.stdout)
    );

    // Filters: one action, and an empty time range.
    let only = cli(
        &app.db,
        &[
            "audit",
            "export",
            "--tenant",
            "acme",
            "--action",
            "createProject",
            "--format",
            "csv",
        ],
    );
    let csv = String::from_utf8(only.stdout).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.lines().nth(1).unwrap().contains("\"createProject\""));
    let none = cli(
        &app.db,
        &[
            "audit",
            "export",
            "--tenant",
            "acme",
            "--to",
            "2000-01-01T00:00:00Z",
        ],
    );
    // No entries in range: the header and the checkpoints only.
    let none = String::from_utf8(none.stdout).unwrap();
    assert_eq!(none.lines().count(), 2, "{none}");
    assert!(none.lines().nth(1).unwrap().starts_with("{\"checkpoint\""));
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
