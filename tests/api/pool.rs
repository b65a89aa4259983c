//! The runtime pool: home connections per workspace, fallback when a home is busy, bounded
//! size, lifetime, a cap of workspaces per connection, close.

use tessera::db::AppPool;
use tessera::tenancy::{self, Access, Slug};

use crate::helpers::TestDb;

async fn backend_of(pool: &AppPool, slug: &str) -> i32 {
    let slug = Slug::parse(slug).unwrap();
    let mut tx = tenancy::begin(pool, &slug, Access::ReadOnly)
        .await
        .unwrap()
        .unwrap();
    let pid: i32 = tessera::db::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    pid
}

#[tokio::test]
async fn each_workspace_keeps_to_its_home_connection() {
    let db = TestDb::new().await;
    let slugs: Vec<String> = (0..8).map(|i| format!("home{i}")).collect();
    for s in &slugs {
        db.create_tenant(s).await;
    }
    let pool = db.app_pool(4).await;
    // Sequential requests never find a home busy: a workspace is always served by the same
    // backend, and the workspaces are spread over more than one.
    let mut seen = std::collections::HashMap::new();
    for round in 0..3 {
        for s in &slugs {
            let pid = backend_of(&pool, s).await;
            let first = *seen.entry(s.clone()).or_insert(pid);
            assert_eq!(pid, first, "{s} moved to another backend in round {round}");
        }
    }
    let backends: std::collections::HashSet<_> = seen.values().collect();
    assert!(
        backends.len() > 1,
        "every workspace on one backend: {seen:?}"
    );
    assert!(pool.size() <= 4);
}

#[tokio::test]
async fn a_busy_home_gives_way_to_another_connection() {
    let db = TestDb::new().await;
    db.create_tenant("busy").await;
    let pool = db.app_pool(4).await;
    // Hold both home connections of the workspace (sequential acquisitions fill its homes
    // first), then ask once more: the request takes another connection instead of waiting
    // for the pool's acquire timeout.
    let a = pool.acquire_for("busy").await.unwrap();
    let b = pool.acquire_for("busy").await.unwrap();
    let mut c = pool.acquire_for("busy").await.unwrap();
    let held: i32 = tessera::db::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(pool.size(), 3);
    drop((a, b, c));
    assert!(held > 0);
    // Used directly, they are checked by a task before they go back.
    idle_within(&pool, 3).await;
}

/// Waits (up to 5 s) until `n` connections are idle.
async fn idle_within(pool: &AppPool, n: usize) {
    for _ in 0..500 {
        if pool.num_idle() == n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{} idle connections, not {n}", pool.num_idle());
}

#[tokio::test]
async fn a_connection_that_died_in_use_is_not_handed_out_again() {
    let db = TestDb::new().await;
    let pool = db.app_pool(1).await;
    let mut conn = pool.acquire().await.unwrap();
    let pid: i32 = tessera::db::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let mut admin = tessera::db::admin_connect_url(&crate::helpers::admin_url())
        .await
        .unwrap();
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(ended);
    // The backend is gone: this statement fails, and the connection goes back right after.
    assert!(
        tessera::db::query("SELECT 1")
            .execute(&mut conn)
            .await
            .is_err()
    );
    drop(conn);
    // The next caller, within the ten seconds in which idle connections are not pinged
    // before use, gets a working connection, not the dead one.
    let mut again = pool.acquire().await.unwrap();
    let other: i32 = tessera::db::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut again)
        .await
        .unwrap();
    assert_ne!(other, pid);
}

#[tokio::test]
async fn the_pool_stays_within_its_size_and_times_out() {
    let db = TestDb::new().await;
    let mut cfg = db.cfg.clone();
    cfg.pool_max_connections = 2;
    cfg.pool_acquire_timeout_secs = 1;
    let pool = AppPool::connect(&cfg, &db.app_url).await.unwrap();
    let a = pool.acquire().await.unwrap();
    let b = pool.acquire_for("anyone").await.unwrap();
    assert!(matches!(
        pool.acquire().await.err(),
        Some(tessera::db::Error::PoolTimedOut)
    ));
    assert_eq!(pool.size(), 2);
    // A waiter gets the connection released while it waits.
    let waiter = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.acquire_for("someone").await.map(|_| ()) })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    drop(a);
    waiter.await.unwrap().unwrap();
    drop(b);
    pool.close().await;
    assert!(matches!(
        pool.acquire().await.err(),
        Some(tessera::db::Error::PoolClosed)
    ));
}

#[tokio::test]
async fn connections_past_their_lifetime_are_replaced() {
    let db = TestDb::new().await;
    db.create_tenant("aging").await;
    let mut cfg = db.cfg.clone();
    cfg.pool_max_connections = 1;
    cfg.pool_max_lifetime_secs = 1;
    let pool = AppPool::connect(&cfg, &db.app_url).await.unwrap();
    let first = backend_of(&pool, "aging").await;
    assert_eq!(backend_of(&pool, "aging").await, first);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_ne!(backend_of(&pool, "aging").await, first);
    assert_eq!(pool.size(), 1);
}

#[tokio::test]
async fn a_connection_retires_after_its_cap_of_distinct_workspaces() {
    let db = TestDb::new().await;
    for s in ["capa", "capb"] {
        db.create_tenant(s).await;
    }
    let mut cfg = db.cfg.clone();
    cfg.pool_max_connections = 1;
    cfg.pool_max_workspaces_per_connection = 2;
    let pool = AppPool::connect(&cfg, &db.app_url).await.unwrap();
    // The same workspace again is not another one.
    let first = backend_of(&pool, "capa").await;
    assert_eq!(backend_of(&pool, "capa").await, first);
    // The second distinct workspace is served, then the connection is closed on release.
    assert_eq!(backend_of(&pool, "capb").await, first);
    let second = backend_of(&pool, "capa").await;
    assert_ne!(second, first);
    assert_eq!(backend_of(&pool, "capa").await, second);
    assert_eq!(pool.size(), 1);

    // Without a cap the one connection serves both for as long as it lives.
    cfg.pool_max_workspaces_per_connection = 0;
    let uncapped = AppPool::connect(&cfg, &db.app_url).await.unwrap();
    let pid = backend_of(&uncapped, "capa").await;
    for s in ["capb", "capa", "capb"] {
        assert_eq!(backend_of(&uncapped, s).await, pid);
    }
}
