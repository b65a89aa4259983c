//! A lost database is the server's trouble, not the client's and not an internal error: while
//! PostgreSQL is down every request answers 503 `UNAVAILABLE` with `Retry-After`, and service
//! resumes on its own when the database is back. The test runs its own cluster (the shared one
//! serves the other tests) and stops it under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tessera::authz::{Role, Scope};
use tessera::config::Config;
use tessera::db::embedded::EmbeddedCluster;
use tessera::db::migrate::{self, MigrationSet};
use tessera::db::{RoleNames, connect_app_pool, connect_migrator_pool};
use tessera::tenancy::{self, Slug};

use crate::helpers::tempdir;

#[derive(Debug)]
struct Answer {
    status: u16,
    code: String,
    retry_after: bool,
}

#[tokio::test]
async fn a_stopped_database_is_503_unavailable_with_retry_after_and_service_resumes() {
    tessera::install_crypto_provider();
    let dir = tempdir::Dir::new();
    let roles = RoleNames::new("tessera");
    let cluster = EmbeddedCluster::start(dir.path(), &roles).await.unwrap();
    let mut cfg = Config {
        pool_acquire_timeout_secs: 2,
        ..Config::default()
    };
    cfg.rate_limits.enabled = false;
    let migrator = connect_migrator_pool(&cfg, &cluster.migrator_url)
        .await
        .unwrap();
    let set = MigrationSet::load(None).unwrap();
    migrate::run(&migrator, &roles, &set, 2).await.unwrap();
    let keyring = tessera::crypto::Keyring::new(tessera::crypto::MasterKey::generate());
    let slug = Slug::parse("acme").unwrap();
    let tenant = tenancy::create_tenant(&migrator, &keyring, &slug, "Acme", set.tenant_latest())
        .await
        .unwrap();
    let token = {
        let mut conn = migrator.acquire().await.unwrap();
        let user = tessera::identity::ensure_user(&mut conn, "a@acme.test", "A")
            .await
            .unwrap();
        tessera::identity::add_member(&mut conn, tenant.id, user.id, Role::Owner)
            .await
            .unwrap();
        let (_, secret) =
            tessera::identity::mint_token(&mut conn, tenant.id, user.id, "t", &[Scope::Read])
                .await
                .unwrap();
        secret.expose().to_owned()
    };
    migrator.close().await;
    cfg.pool_max_connections = 4;
    let pool = connect_app_pool(&cfg, &cluster.app_url).await.unwrap();
    let limits = cfg.limits.clone();
    cfg.data_dir = dir.path().to_path_buf();
    let state = tessera::http::AppState::new(
        pool,
        tessera::graphql::build_tenant_schema(&limits).unwrap(),
        tessera::graphql::build_global_schema(&limits).unwrap(),
        keyring,
        &cfg,
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(tessera::http::serve(listener, state, async move {
        let _ = stopped.await;
    }));

    // Four clients read in a loop, recording every answer, until told to stop.
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/w/acme/graphql");
    let running = Arc::new(AtomicBool::new(true));
    // Each answer is filed with when its request was sent and when its answer came back.
    let answers = Arc::new(std::sync::Mutex::new(
        Vec::<(Instant, Instant, Answer)>::new(),
    ));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (http, url, token, running, answers) = (
            http.clone(),
            url.clone(),
            token.clone(),
            running.clone(),
            answers.clone(),
        );
        clients.push(tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let resp = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "query": "{ viewer { role } }" }))
                    .send()
                    .await;
                let Ok(resp) = resp else { continue };
                let status = resp.status().as_u16();
                let retry_after = resp.headers().contains_key("retry-after");
                let body: serde_json::Value = resp.json().await.unwrap_or_default();
                let code = body["errors"][0]["extensions"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let answer = Answer {
                    status,
                    code,
                    retry_after,
                };
                answers.lock().unwrap().push((sent, Instant::now(), answer));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stopping = Instant::now();
    assert!(cluster.stop(), "the database did not stop");
    let stopped_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let restarting = Instant::now();
    let cluster = EmbeddedCluster::start(dir.path(), &roles).await.unwrap();
    // Service comes back on its own: a successful read within 30 s of the restart.
    let deadline = Instant::now() + Duration::from_secs(30);
    let recovered = loop {
        let back = answers
            .lock()
            .unwrap()
            .iter()
            .any(|(sent, _, a)| *sent > restarting && a.status == 200);
        if back || Instant::now() > deadline {
            break back;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    running.store(false, Ordering::Relaxed);
    for c in clients {
        let _ = c.await;
    }
    let _ = stop_server.send(());
    cluster.stop();

    let answers = answers.lock().unwrap();
    let served = answers
        .iter()
        .filter(|(_, done, a)| *done < stopping && a.status == 200)
        .count();
    assert!(served > 0, "no reads served before the outage");
    // The outage window holds the requests both sent and answered while the database was down.
    // A request sent then may wait for a pool slot up to the acquire timeout; one that waits
    // past the restart is rightly served, and is not counted here.
    let during: Vec<&Answer> = answers
        .iter()
        .filter(|(sent, done, _)| *sent > stopped_at && *done < restarting)
        .map(|(_, _, a)| a)
        .collect();
    assert!(
        during.len() > 10,
        "too few answers during the outage: {during:?}"
    );
    for a in &during {
        assert!(
            a.status == 503 && a.code == "UNAVAILABLE" && a.retry_after,
            "during the outage every answer must be 503 UNAVAILABLE with Retry-After: {a:?}"
        );
    }
    // While it restarts, only 503s; never a 500.
    assert!(
        answers
            .iter()
            .all(|(_, _, a)| a.status == 200 || (a.status == 503 && a.code == "UNAVAILABLE")),
        "an answer other than 200 or 503 UNAVAILABLE: {:?}",
        answers
            .iter()
            .find(|(_, _, a)| a.status != 200 && a.status != 503)
    );
    assert!(recovered, "no successful read within 30 s of the restart");
}
