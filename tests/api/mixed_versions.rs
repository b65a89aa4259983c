//! Mid-rollout: half the tenants on the new schema version, half on the old, requests
//! alternating through the same two pooled connections.

use serde_json::json;
use sqlx::Connection;

use crate::helpers::{TestApp, TestDb, seed};

/// A migration that changes the result type of a column existing statements select — the
/// case that makes PostgreSQL refuse a cached plan.
/// (One statement per call: on Citus a text of several commands cannot be forwarded.)
fn retype(schema: &str) -> String {
    format!("ALTER TABLE {schema}.projects ALTER COLUMN description TYPE varchar(20000)")
}

#[tokio::test]
async fn the_hazard_is_real_on_a_bare_connection() {
    // Control: a prepared statement reused across schemas of different versions fails.
    let db = TestDb::new().await;
    db.create_tenant("old1").await;
    db.create_tenant("new1").await;
    sqlx::raw_sql(&retype("tenant_new1"))
        .execute(&db.migrator)
        .await
        .unwrap();
    let mut conn = sqlx::PgConnection::connect(&db.migrator_url).await.unwrap();
    let q = "SELECT p.description FROM projects p LIMIT 1";
    sqlx::query("SELECT set_config('search_path', 'tenant_old1', false)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(q).fetch_optional(&mut conn).await.unwrap();
    sqlx::query("SELECT set_config('search_path', 'tenant_new1', false)")
        .execute(&mut conn)
        .await
        .unwrap();
    let err = sqlx::query(q)
        .fetch_optional(&mut conn)
        .await
        .expect_err("stale plan");
    assert!(
        err.to_string()
            .contains("cached plan must not change result type"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alternating_versions_through_shared_connections_raise_no_statement_cache_errors() {
    let app = TestApp::spawn_on(TestDb::new().await, 2).await;
    let mut tenants = Vec::new();
    for i in 0..10 {
        let slug = format!("mix{i}");
        let s = seed(&app, &slug).await;
        tenants.push((slug, s.owner_token));
    }
    // Warm both connections' statement caches on the old version.
    for (slug, tok) in &tenants {
        app.ok(
            slug,
            tok,
            "{ projects { edges { node { name description } } } }",
            json!({}),
        )
        .await;
    }
    // Roll half of the tenants forward, as a migration run would, one transaction each.
    for (slug, _) in tenants.iter().step_by(2) {
        let mut tx = app.db.migrator.begin().await.unwrap();
        sqlx::raw_sql(&retype(&format!("tenant_{slug}")))
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query(
            "UPDATE public.tenants SET schema_version = schema_version + 1 WHERE slug = $1",
        )
        .bind(slug)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    for round in 0..20 {
        for (slug, tok) in &tenants {
            let data = app
                .ok(
                    slug,
                    tok,
                    "{ projects { edges { node { name description team { name } } } } }",
                    json!({}),
                )
                .await;
            assert_eq!(
                data["projects"]["edges"][0]["node"]["name"],
                format!("{slug} project"),
                "round {round}"
            );
            if round % 5 == 0 {
                app.ok(
                    slug,
                    tok,
                    "mutation { createIdea(input: {title: \"x\"}) { id } }",
                    json!({}),
                )
                .await;
            }
        }
    }
}
