//! Thousands of interleaved requests across 20 workspaces on a pool of 4 connections: no
//! response ever holds another workspace's data, and no connection keeps tenant settings.

use std::sync::Arc;

use serde_json::json;

use crate::helpers::{TestApp, TestDb, seed};

const TENANTS: usize = 20;
const WORKERS: usize = 32;
const REQUESTS_PER_WORKER: usize = 75;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_requests_never_cross_tenants_and_connections_come_back_clean() {
    let app = Arc::new(TestApp::spawn_on(TestDb::new().await, 4).await);
    let mut tenants = Vec::new();
    for i in 0..TENANTS {
        let slug = format!("tenant{i:02}");
        let s = seed(&app, &slug).await;
        tenants.push((slug, s.owner_token));
    }
    let tenants = Arc::new(tenants);
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let (app, tenants) = (app.clone(), tenants.clone());
        tasks.push(tokio::spawn(async move {
            for r in 0..REQUESTS_PER_WORKER {
                let (slug, token) = &tenants[(w * 7 + r * 3) % TENANTS];
                if r % 5 == 4 {
                    // Read-write transactions interleave with the read-only ones.
                    let data = app.ok(slug, token, "mutation { createIdea(input: {title: \"i\"}) { id } }", json!({})).await;
                    assert!(data["createIdea"]["id"].is_string());
                    continue;
                }
                let data = app
                    .ok(slug, token, "{ viewer { workspace } projects(first: 5) { edges { node { name } } } members { edges { node { email } } } }", json!({}))
                    .await;
                assert_eq!(data["viewer"]["workspace"], slug.as_str());
                let names: Vec<&str> = data["projects"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["name"].as_str().unwrap()).collect();
                assert_eq!(names, [format!("{slug} project")], "cross-tenant data in {slug}");
                assert_eq!(data["members"]["edges"][0]["node"]["email"], format!("owner@{slug}.test"));
                assert_eq!(data["members"]["edges"].as_array().map(Vec::len), Some(1));
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    // Reads answer before their COMMIT has completed (`http::graphql::tenant`); moments
    // later, no backend of the runtime role is still inside a transaction. (Read as the
    // superuser: other roles' `state` is hidden from the migrator.)
    let mut admin = tessera::db::admin_connect_url(&crate::helpers::admin_url())
        .await
        .unwrap();
    let mut busy: Vec<String> = Vec::new();
    for _ in 0..500 {
        busy = sqlx::query_scalar(
            "SELECT coalesce(state, 'unknown') FROM pg_stat_activity
             WHERE datname = $1 AND usename = $2 AND state IS DISTINCT FROM 'idle'",
        )
        .bind(&app.db.name)
        .bind(&app.db.roles.app)
        .fetch_all(&mut admin)
        .await
        .unwrap();
        if busy.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(busy.is_empty(), "runtime connections still busy: {busy:?}");
    // Every pooled connection, checked out afterwards, is back to the runtime role with no
    // tenant context.
    let mut held = Vec::new();
    for _ in 0..4 {
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
        held.push(conn);
    }
    let ideas: i64 = sqlx::query_scalar(
        "SELECT sum(n)::bigint FROM (SELECT count(*) AS n FROM tenant_tenant00.ideas UNION ALL SELECT count(*) FROM tenant_tenant07.ideas) s",
    )
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    assert!(ideas > 0);
}
