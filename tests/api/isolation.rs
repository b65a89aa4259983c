//! The isolation suite: every way one workspace could reach another's data.

use serde_json::json;
use tessera::authz::{Role, Scope};
use tessera::tenancy::{self, Access, Slug};

use crate::helpers::{TestApp, code, seed};

#[tokio::test]
async fn a_token_of_workspace_a_is_refused_by_workspace_b() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "alpha").await;
    let _b = seed(&app, "bravo").await;
    let (status, body) = app
        .gql(
            "bravo",
            &a.owner_token,
            "{ viewer { workspace } }",
            json!({}),
        )
        .await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{body}");
    // Indistinguishable from a workspace that does not exist (no slug enumeration).
    let (status2, body2) = app
        .gql(
            "nowhere",
            &a.owner_token,
            "{ viewer { workspace } }",
            json!({}),
        )
        .await;
    assert_eq!((status2, code(&body2)), (401, "UNAUTHENTICATED"));
    assert_eq!(body["errors"][0]["message"], body2["errors"][0]["message"]);
}

#[tokio::test]
async fn every_object_of_b_is_not_found_through_a() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "alpha").await;
    let b = seed(&app, "bravo").await;
    let record = app
        .ok(
            "bravo",
            &b.owner_token,
            "mutation($p: ID!) { createRecord(input: {projectId: $p, title: \"secret\"}) { id } }",
            json!({ "p": b.project_id }),
        )
        .await;
    let b_record = record["createRecord"]["id"].as_str().unwrap().to_owned();
    let reads = [
        (
            "query($id: ID!) { project(id: $id) { name } }",
            &b.project_id,
        ),
        ("query($id: ID!) { team(id: $id) { name } }", &b.team_id),
        ("query($id: ID!) { record(id: $id) { title } }", &b_record),
        (
            "query($id: ID!) { records(projectId: $id) { edges { node { title } } } }",
            &b.project_id,
        ),
    ];
    for (q, id) in reads {
        let (_, body) = app
            .gql("alpha", &a.owner_token, q, json!({ "id": id }))
            .await;
        assert_eq!(code(&body), "NOT_FOUND", "{q}: {body}");
    }
    let writes = [
        "mutation($id: ID!) { updateProject(id: $id, input: {name: \"pwned\"}) { id } }",
        "mutation($id: ID!) { archiveProject(id: $id) { id } }",
        "mutation($id: ID!) { createRecord(input: {projectId: $id, title: \"x\"}) { id } }",
        "mutation($id: ID!) { createProject(input: {teamId: $id, name: \"x\"}) { id } }",
        "mutation($id: ID!) { updateTeam(id: $id, input: {name: \"pwned\"}) { id } }",
        "mutation($id: ID!) { updateRecord(id: $id, input: {title: \"pwned\"}) { id } }",
    ];
    for q in writes {
        let id = if q.contains("updateRecord") {
            &b_record
        } else if q.contains("Team") || q.contains("teamId") {
            &b.team_id
        } else {
            &b.project_id
        };
        let (_, body) = app
            .gql("alpha", &a.owner_token, q, json!({ "id": id }))
            .await;
        assert_eq!(code(&body), "NOT_FOUND", "{q}: {body}");
    }
    // B's data is untouched.
    let data = app
        .ok(
            "bravo",
            &b.owner_token,
            "query($id: ID!) { project(id: $id) { name archivedAt } }",
            json!({ "id": b.project_id }),
        )
        .await;
    assert_eq!(data["project"]["name"], "bravo project");
    assert!(data["project"]["archivedAt"].is_null());
    // A user of B cannot be made a team member or assignee in A.
    let (_, body) = app
        .gql(
            "alpha",
            &a.owner_token,
            "mutation($t: ID!, $u: ID!) { addTeamMember(teamId: $t, userId: $u) { id } }",
            json!({ "t": a.team_id, "u": b.owner.to_string() }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let (_, body) = app
        .gql("alpha", &a.owner_token, "mutation($p: ID!, $u: ID!) { createRecord(input: {projectId: $p, title: \"t\", assigneeId: $u}) { id } }", json!({ "p": a.project_id, "u": b.owner.to_string() }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
}

#[tokio::test]
async fn sql_naming_another_tenant_schema_is_denied_by_the_database() {
    let app = TestApp::spawn().await;
    seed(&app, "alpha").await;
    seed(&app, "bravo").await;
    let slug = Slug::parse("alpha").unwrap();
    for stmt in [
        "SELECT count(*) FROM tenant_bravo.projects",
        "SELECT count(*) FROM tessera_template.projects",
        "UPDATE tenant_bravo.projects SET name = 'pwned'",
        "SELECT count(*) FROM public.schema_migrations",
        "SELECT count(*) FROM public.tenants",
    ] {
        let mut tx = tenancy::begin(&app.pool, &slug, Access::ReadWrite)
            .await
            .unwrap()
            .unwrap();
        let err = tessera::db::query(stmt)
            .execute(tx.conn())
            .await
            .expect_err(stmt);
        let db_code = tessera::db::sqlstate(&err).map(|c| c.into_owned());
        assert!(
            matches!(db_code.as_deref(), Some("42501") | Some("42P01")),
            "{stmt}: {err}"
        );
        tx.rollback().await.unwrap();
    }
    // Pointing search_path at B inside A's transaction finds nothing usable either.
    let mut tx = tenancy::begin(&app.pool, &slug, Access::ReadOnly)
        .await
        .unwrap()
        .unwrap();
    tessera::db::query("SELECT set_config('search_path', 'tenant_bravo, public', true)")
        .execute(tx.conn())
        .await
        .unwrap();
    let err = tessera::db::query("SELECT count(*) FROM projects")
        .execute(tx.conn())
        .await
        .expect_err("B via search_path");
    let db_code = tessera::db::sqlstate(&err).map(|c| c.into_owned());
    assert!(
        matches!(db_code.as_deref(), Some("42501") | Some("42P01")),
        "{err}"
    );
    tx.rollback().await.unwrap();
    // The same statement against its own schema works: the denial is the boundary, not a typo.
    let mut tx = tenancy::begin(&app.pool, &slug, Access::ReadOnly)
        .await
        .unwrap()
        .unwrap();
    let n: i64 = tessera::db::query_scalar("SELECT count(*) FROM tenant_alpha.projects")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn rls_hides_other_workspaces_rows_in_shared_tables() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "alpha").await;
    let b = seed(&app, "bravo").await;
    app.db
        .add_user(&b.tenant, "extra@bravo.test", Role::Member)
        .await;
    let slug = Slug::parse("alpha").unwrap();
    let mut tx = tenancy::begin(&app.pool, &slug, Access::ReadWrite)
        .await
        .unwrap()
        .unwrap();
    let counts: (i64, i64, i64) = tessera::db::query_as(
        "SELECT (SELECT count(*) FROM public.memberships), (SELECT count(*) FROM public.api_tokens),
                (SELECT count(*) FROM public.users)",
    )
    .fetch_one(tx.conn())
    .await
    .unwrap();
    assert_eq!(
        counts,
        (1, 1, 1),
        "A sees only its own member, token and user"
    );
    let foreign: i64 =
        tessera::db::query_scalar("SELECT count(*) FROM public.memberships WHERE tenant_id = $1")
            .bind(b.tenant.id)
            .fetch_one(tx.conn())
            .await
            .unwrap();
    assert_eq!(foreign, 0);
    // Writing a row for B from A's transaction violates the policy's WITH CHECK.
    let err = tessera::db::query(
        "INSERT INTO public.memberships (tenant_id, user_id, role) VALUES ($1, $2, 'owner')",
    )
    .bind(b.tenant.id)
    .bind(a.owner)
    .execute(tx.conn())
    .await
    .expect_err("cross-tenant insert");
    assert_eq!(
        tessera::db::sqlstate(&err).as_deref(),
        Some("42501"),
        "{err}"
    );
    tx.rollback().await.unwrap();

    // Forging the tenant setting does not help: the role must match too.
    let mut tx = tenancy::begin(&app.pool, &slug, Access::ReadOnly)
        .await
        .unwrap()
        .unwrap();
    let seen: i64 = tessera::db::query_scalar(
        "SELECT count(*) FROM (SELECT set_config('tessera.tenant_id', $1, true)) s, public.memberships",
    )
    .bind(b.tenant.id.to_string())
    .fetch_one(tx.conn())
    .await
    .unwrap();
    assert_eq!(seen, 0, "a forged tessera.tenant_id must open nothing");
}

#[tokio::test]
async fn the_global_endpoint_shows_a_token_only_its_own_workspace() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "alpha").await;
    let b = seed(&app, "bravo").await;
    // The same user is a member of both workspaces.
    let user = app
        .db
        .add_user(&a.tenant, "both@x.test", Role::Member)
        .await;
    app.db.add_user(&b.tenant, "both@x.test", Role::Admin).await;
    let token = app.db.token(&a.tenant, user, &[Scope::Read]).await;
    let resp = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": "{ me { email } workspaces { slug role } }" }))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["me"]["email"], "both@x.test", "{body}");
    assert_eq!(
        body["data"]["workspaces"],
        json!([{ "slug": "alpha", "role": "member" }])
    );
}

#[tokio::test]
async fn queries_run_in_read_only_transactions() {
    let app = TestApp::spawn().await;
    seed(&app, "alpha").await;
    let slug = Slug::parse("alpha").unwrap();
    let mut tx = tenancy::begin(&app.pool, &slug, Access::ReadOnly)
        .await
        .unwrap()
        .unwrap();
    let err = tessera::db::query("UPDATE projects SET name = 'x'")
        .execute(tx.conn())
        .await
        .expect_err("write in a read-only transaction");
    assert_eq!(tessera::db::sqlstate(&err).as_deref(), Some("25006"));
}

/// The tenant check every row-level policy of the shared schema calls, case by case as a
/// workspace's role calls it, on a session that calls it repeatedly: PL/pgSQL keeps its plan
/// for the session (`migrations/public/0013_enter.sql`), and the answer must follow the
/// registry, not the first call. And the protections it keeps: a definer's function with a
/// fixed search path.
#[tokio::test]
async fn the_tenant_check_follows_the_registry_on_every_call() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "alpha").await;
    let b = seed(&app, "bravo").await;
    let slug = Slug::parse("alpha").unwrap();
    let mut tx = tenancy::begin(&app.pool, &slug, Access::ReadOnly)
        .await
        .unwrap()
        .unwrap();
    let check = |role: Option<&'static str>| {
        let sql = match role {
            None => "SELECT public.tessera_tenant_of(current_user)",
            Some(_) => "SELECT public.tessera_tenant_of($1::name)",
        };
        let mut q = tessera::db::query_scalar::<Option<uuid::Uuid>>(sql);
        if let Some(role) = role {
            q = q.bind(role);
        }
        q
    };
    for _ in 0..3 {
        let own = check(None).fetch_one(tx.conn()).await.unwrap();
        assert_eq!(own, Some(a.tenant.id));
    }
    // Another role with alpha's tenant setting: nothing.
    let other = check(Some("postgres")).fetch_one(tx.conn()).await.unwrap();
    assert_eq!(other, None);
    // The setting forged to bravo's id, then emptied: nothing.
    for forged in [b.tenant.id.to_string(), String::new()] {
        let seen: Option<uuid::Uuid> = tessera::db::query_scalar(
            "SELECT public.tessera_tenant_of(current_user) FROM (SELECT set_config('tessera.tenant_id', $1, true)) s",
        )
        .bind(&forged)
        .fetch_one(tx.conn())
        .await
        .unwrap();
        assert_eq!(seen, None, "tenant setting {forged:?}");
    }
    tx.rollback().await.unwrap();

    // A workspace that stops being active loses its rows at the next statement of an open
    // transaction, although the session has run the check before.
    let mut tx = tenancy::begin(&app.pool, &slug, Access::ReadOnly)
        .await
        .unwrap()
        .unwrap();
    let before = check(None).fetch_one(tx.conn()).await.unwrap();
    assert_eq!(before, Some(a.tenant.id));
    sqlx::query("UPDATE public.tenants SET state = 'deleted' WHERE id = $1")
        .bind(a.tenant.id)
        .execute(&app.db.migrator)
        .await
        .unwrap();
    let after = check(None).fetch_one(tx.conn()).await.unwrap();
    assert_eq!(after, None);
    let members: i64 = tessera::db::query_scalar("SELECT count(*) FROM public.memberships")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(
        members, 0,
        "a workspace no longer active sees no shared rows"
    );
    tx.rollback().await.unwrap();

    // Still a definer's function with a fixed search path, stable for the policies.
    let (definer, volatile, config): (bool, String, Vec<String>) = sqlx::query_as(
        "SELECT prosecdef, provolatile::text, proconfig FROM pg_catalog.pg_proc
          WHERE oid = 'public.tessera_tenant_of(name)'::regprocedure",
    )
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    assert!(definer);
    assert_eq!(volatile, "s");
    assert_eq!(config, vec!["search_path=pg_catalog, pg_temp".to_string()]);
}
