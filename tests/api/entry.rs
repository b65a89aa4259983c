//! The one-round-trip tenant entry: `BEGIN` and `public.tessera_enter(..)` in one message, the
//! transaction tracked by `TenantTx` itself. Refused and abandoned requests must hand their
//! connection back outside any transaction, and the entry must resolve nothing for anyone but
//! the workspace's own members.

use serde_json::json;
use tessera::authz::{Role, Scope};
use tessera::tenancy::{self, Access, Entrant, Slug};

use crate::helpers::{TestApp, TestDb, code, seed};

/// The one connection of a pool of one: no transaction open, runtime role, no tenant context.
async fn assert_clean(app: &TestApp) {
    let mut conn = app.pool.acquire().await.unwrap();
    let (user, path, tenant, uid): (String, String, String, String) = tessera::db::query_as(
        "SELECT current_user::text, current_setting('search_path'),
                coalesce(current_setting('tessera.tenant_id', true), ''),
                coalesce(current_setting('tessera.user_id', true), '')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(user, app.db.roles.app);
    assert_eq!(path, "\"$user\", public");
    assert_eq!((tenant.as_str(), uid.as_str()), ("", ""));
    // A savepoint exists only inside a transaction block.
    let outside = tessera::db::Executor::execute(&mut *conn, "SAVEPOINT tessera_probe").await;
    let message = outside.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("can only be used in transaction blocks"),
        "the connection came back inside a transaction: {message:?}"
    );
}

#[tokio::test]
async fn refused_requests_give_their_connection_back_outside_any_transaction() {
    let app = TestApp::spawn_on(TestDb::new().await, 1).await;
    let a = seed(&app, "alpha").await;
    let member = app
        .db
        .add_user(&a.tenant, "m@alpha.test", Role::Member)
        .await;
    let read = app.db.token(&a.tenant, member, &[Scope::Read]).await;
    let other = "tsr_".to_owned() + &"x".repeat(43);

    // Each of these fails after the entry began the transaction: an unknown token, a
    // missing permission (read and write), an unknown workspace, an unparsable variable.
    let cases = [
        (
            other.as_str(),
            "{ viewer { role } }",
            json!({}),
            "UNAUTHENTICATED",
        ),
        (
            read.as_str(),
            "{ apiTokens { id } }",
            json!({}),
            "FORBIDDEN",
        ),
        (
            read.as_str(),
            "mutation { createIdea(input: {title: \"x\"}) { id } }",
            json!({}),
            "FORBIDDEN",
        ),
        (
            read.as_str(),
            "query($id: ID!) { project(id: $id) { name } }",
            json!({ "id": "not-a-uuid" }),
            "BAD_USER_INPUT",
        ),
    ];
    for (token, query, vars, expected) in cases {
        for slug in ["alpha", "nowhere"] {
            let (_, body) = app.gql(slug, token, query, vars.clone()).await;
            let expected = if slug == "nowhere" {
                "UNAUTHENTICATED"
            } else {
                expected
            };
            assert_eq!(code(&body), expected, "{slug} {query}: {body}");
            assert_clean(&app).await;
        }
    }
    // The single connection still serves: nothing was closed or left behind.
    let data = app
        .ok("alpha", &read, "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(data["viewer"]["role"], "MEMBER");
    assert_eq!(app.pool.size(), 1);
}

#[tokio::test]
async fn a_request_abandoned_by_its_client_rolls_back_and_frees_the_connection() {
    let app = TestApp::spawn_on(TestDb::new().await, 1).await;
    let a = seed(&app, "alpha").await;
    // A dropped TenantTx, exactly as a cancelled handler drops it: mid-transaction, with a
    // write done and tenant settings set.
    let slug = Slug::parse("alpha").unwrap();
    {
        let mut tx = tenancy::begin(&app.pool, &slug, Access::ReadWrite)
            .await
            .unwrap()
            .unwrap();
        tessera::db::query("INSERT INTO ideas (id, title) VALUES (gen_random_uuid(), 'never')")
            .execute(tx.conn())
            .await
            .unwrap();
    }
    assert_clean(&app).await;
    let ideas: i64 = sqlx::query_scalar("SELECT count(*) FROM tenant_alpha.ideas")
        .fetch_one(&app.db.migrator)
        .await
        .unwrap();
    assert_eq!(ideas, 0, "the abandoned write must not commit");
    app.ok("alpha", &a.owner_token, "{ viewer { role } }", json!({}))
        .await;
}

#[tokio::test]
async fn the_entry_finds_a_credential_only_in_its_own_workspace() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "alpha").await;
    let b = seed(&app, "bravo").await;
    let alpha = Slug::parse("alpha").unwrap();
    let bravo = Slug::parse("bravo").unwrap();
    let token =
        tessera::identity::PresentedToken::from_authorization(&format!("Bearer {}", a.owner_token))
            .unwrap();

    let (tx, standing) = tenancy::enter(&app.pool, &alpha, Access::ReadOnly, token.entrant(), None)
        .await
        .unwrap()
        .unwrap();
    let standing = standing.expect("a's token in a");
    assert_eq!(standing.user_id, a.owner);
    assert_eq!(standing.role, "owner");
    assert!(standing.token.is_some());
    assert_eq!(tx.tenant_id(), a.tenant.id);
    tx.rollback().await.unwrap();

    // The same token entering b: b is entered, the token is not found (RLS and the
    // workspace check both say no).
    let (tx, standing) = tenancy::enter(&app.pool, &bravo, Access::ReadOnly, token.entrant(), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(standing, None);
    assert_eq!(tx.tenant_id(), b.tenant.id);
    tx.rollback().await.unwrap();

    // A member of a is not a member of b; a member of b is.
    for (slug, user, expected) in [
        (&bravo, a.owner, None),
        (&bravo, b.owner, Some("owner")),
        (&alpha, b.owner, None),
    ] {
        let (tx, standing) = tenancy::enter(
            &app.pool,
            slug,
            Access::ReadOnly,
            Entrant::Member(user),
            None,
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(standing.as_ref().map(|s| s.role.as_str()), expected);
        assert!(standing.is_none_or(|s| s.token.is_none()));
        tx.rollback().await.unwrap();
    }

    // The entry decides the allowlist in the same round trip: no list admits any address
    // (an unknown one too); a list admits its networks only, never an unknown address.
    sqlx::query("UPDATE public.tenants SET ip_allowlist = '{10.1.0.0/16, 2001:db8::/32}' WHERE slug = 'alpha'")
        .execute(&app.db.migrator)
        .await
        .unwrap();
    for (slug, client, admitted) in [
        (&bravo, None, true),
        (&bravo, Some("192.0.2.1"), true),
        (&alpha, Some("10.1.2.3"), true),
        (&alpha, Some("::ffff:10.1.2.3"), true),
        (&alpha, Some("2001:db8::5"), true),
        (&alpha, Some("10.2.0.1"), false),
        (&alpha, None, false),
    ] {
        let ip = client.map(|c| c.parse().unwrap());
        let (tx, _) = tenancy::enter(
            &app.pool,
            slug,
            Access::ReadOnly,
            Entrant::Member(a.owner),
            ip,
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(tx.ip_allowed(), admitted, "{slug} from {client:?}");
        tx.rollback().await.unwrap();
    }

    // An unknown or deleted workspace is not entered at all, and sets nothing.
    assert!(
        tenancy::enter(
            &app.pool,
            &Slug::parse("nowhere").unwrap(),
            Access::ReadOnly,
            token.entrant(),
            None
        )
        .await
        .unwrap()
        .is_none()
    );
    sqlx::query("UPDATE public.tenants SET state = 'deleted' WHERE slug = 'bravo'")
        .execute(&app.db.migrator)
        .await
        .unwrap();
    assert!(
        tenancy::enter(
            &app.pool,
            &bravo,
            Access::ReadOnly,
            Entrant::Member(b.owner),
            None
        )
        .await
        .unwrap()
        .is_none()
    );
}

#[tokio::test]
async fn requests_survive_the_database_ending_every_pooled_session() {
    let app = TestApp::spawn_on(TestDb::new().await, 2).await;
    let a = seed(&app, "alpha").await;
    for _ in 0..3 {
        // Warm both connections, then have the server end them while they sit in the pool.
        let (x, y) = tokio::join!(
            app.gql("alpha", &a.owner_token, "{ viewer { role } }", json!({})),
            app.gql("alpha", &a.owner_token, "{ viewer { role } }", json!({}))
        );
        assert_eq!((x.0, y.0), (200, 200));
        let mut admin = tessera::db::admin_connect_url(&crate::helpers::admin_url())
            .await
            .unwrap();
        let ended: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE usename = $1) t",
        )
        .bind(&app.db.roles.app)
        .fetch_one(&mut admin)
        .await
        .unwrap();
        assert!(ended >= 1);
        let data = app
            .ok("alpha", &a.owner_token, "{ viewer { role } }", json!({}))
            .await;
        assert_eq!(data["viewer"]["role"], "OWNER");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_hang_up_mid_request_leave_no_transaction_behind() {
    let app = TestApp::spawn_on(TestDb::new().await, 1).await;
    let a = seed(&app, "alpha").await;
    let b = seed(&app, "bravo").await;
    // Requests cut off by the client after 0.05 to 3 ms: some before the entry is answered,
    // some mid-resolver, some during COMMIT. hyper drops a handler whose client is gone.
    let url_a = app.url("/w/alpha/graphql");
    let url_b = app.url("/w/bravo/graphql");
    let mut cut = 0;
    for i in 0u64..240 {
        let (url, token) = if i % 2 == 0 {
            (&url_a, &a.owner_token)
        } else {
            (&url_b, &b.owner_token)
        };
        let query = if i % 3 == 0 {
            "mutation { createIdea(input: {title: \"cut\"}) { id } }"
        } else {
            "{ viewer { workspace } projects(first: 5) { nodes { name } } }"
        };
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_micros(50 + (i * 37) % 3000))
            .build()
            .unwrap();
        let sent = client
            .post(url)
            .bearer_auth(token)
            .json(&json!({ "query": query }))
            .send()
            .await;
        cut += usize::from(sent.is_err());
    }
    assert!(cut > 0, "no request was cut off: the test proves nothing");
    assert_clean(&app).await;
    for (slug, s) in [("alpha", &a), ("bravo", &b)] {
        let data = app
            .ok(
                slug,
                &s.owner_token,
                "{ viewer { workspace } projects(first: 5) { nodes { name } } }",
                json!({}),
            )
            .await;
        assert_eq!(data["viewer"]["workspace"], slug);
        assert_eq!(
            data["projects"]["nodes"][0]["name"],
            format!("{slug} project")
        );
    }
    // Ideas exist only where their own token created them.
    let (in_a, in_b): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM tenant_alpha.ideas), (SELECT count(*) FROM tenant_bravo.ideas)",
    )
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    assert!(in_a <= 40 && in_b <= 40, "{in_a} {in_b}");
}

/// A read of one compiled root field sends its statement and `COMMIT` in one round trip.
/// Whether the read found its row or not, the connection comes back outside any
/// transaction; reads of two fields, or of a field the resolvers answer, commit as before.
#[tokio::test]
async fn a_read_of_one_compiled_field_commits_with_its_statement() {
    let app = TestApp::spawn_on(TestDb::new().await, 1).await;
    let a = seed(&app, "alpha").await;
    let by_id = "query($id: ID!) { project(id: $id) { id name } }";
    let unknown = "00000000-0000-7000-8000-000000000000";
    let cases = [
        // (query, variables, compiled root fields, the error's code)
        (by_id, json!({ "id": a.project_id }), 1, None),
        (by_id, json!({ "id": unknown }), 1, Some("NOT_FOUND")),
        (
            "{ projects(first: 5) { nodes { id records(first: 2) { nodes { id title } } } } }",
            json!({}),
            1,
            None,
        ),
        (
            "query($id: ID!) { a: project(id: $id) { id } b: project(id: $id) { name } }",
            json!({ "id": a.project_id }),
            2,
            None,
        ),
        ("{ viewer { role } }", json!({}), 0, None),
    ];
    for (query, vars, compiled, error) in cases {
        let (_, body) = app.gql("alpha", &a.owner_token, query, vars).await;
        match error {
            Some(expected) => assert_eq!(code(&body), expected, "{query}: {body}"),
            None => assert!(body.get("errors").is_none(), "{query}: {body}"),
        }
        let report = &body["extensions"]["tessera"];
        assert_eq!(report["compiled"], compiled, "{query}: {body}");
        assert_eq!(report["statements"], 1 + compiled, "{query}: {body}");
        assert_clean(&app).await;
    }
    assert_eq!(app.pool.size(), 1);
}

/// The mechanism itself: after `end_with_next`, a read-only transaction's `fetch_last` ends
/// it — the session is back to the runtime role outside any transaction, and the request's
/// cell refuses every later statement. A transaction that may write ignores it.
#[tokio::test]
async fn a_last_statement_ends_only_a_read_only_transaction() {
    let app = TestApp::spawn_on(TestDb::new().await, 1).await;
    seed(&app, "alpha").await;
    let slug = Slug::parse("alpha").unwrap();
    let probe = "SELECT current_user::text FROM projects LIMIT 1";

    let mut tx = tenancy::begin(&app.pool, &slug, Access::ReadOnly)
        .await
        .unwrap()
        .unwrap();
    tx.end_with_next();
    let rows = tx.fetch_last(tessera::db::query(probe)).await.unwrap();
    let role: String = tessera::db::RowExt::try_get(&rows[0], 0).unwrap();
    assert_ne!(
        role, app.db.roles.app,
        "the read ran as the workspace's role"
    );
    assert!(tx.is_finished());
    let outside = tessera::db::Executor::execute(tx.conn(), "SAVEPOINT tessera_probe").await;
    let message = outside.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("can only be used in transaction blocks"),
        "the transaction did not end with its last statement: {message:?}"
    );
    let cell = tessera::graphql::TxCell::new(tx);
    assert!(
        cell.lock().await.is_err(),
        "an ended transaction takes no statement"
    );
    cell.take().await.unwrap().commit().await.unwrap();
    assert_clean(&app).await;

    let mut tx = tenancy::begin(&app.pool, &slug, Access::ReadWrite)
        .await
        .unwrap()
        .unwrap();
    tx.end_with_next();
    tx.fetch_last(tessera::db::query(probe)).await.unwrap();
    assert!(!tx.is_finished());
    tessera::db::Executor::execute(tx.conn(), "SAVEPOINT tessera_probe")
        .await
        .expect("still inside its transaction");
    tx.rollback().await.unwrap();
    assert_clean(&app).await;
}
