//! Background exports: queued by `startExport`, written to the store by the worker, served
//! only through the signing proxy and only to `export:run`, expired on time, retried and
//! then given up when the store fails, and each run by one worker only.

use std::sync::Arc;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tessera::authz::{Role, Scope};
use tessera::jobs::{Ran, Worker};
use tessera::storage::BlobStore;
use tessera::tenancy::{self, Access, Slug};

use crate::helpers::{TestApp, TestDb, code, seed};

const FIELDS: &str = "id status size sha256 manifest error contentUrl expiresAt";

/// Starts a background export; returns its id.
pub async fn start(app: &TestApp, slug: &str, token: &str) -> String {
    let data = app
        .ok(
            slug,
            token,
            &format!("mutation {{ startExport {{ {FIELDS} }} }}"),
            json!({}),
        )
        .await;
    let e = &data["startExport"];
    assert_eq!(e["status"], "QUEUED", "{e}");
    assert_eq!(e["contentUrl"], Value::Null, "nothing to download yet");
    e["id"].as_str().unwrap().to_owned()
}

/// Waits until the export has left the queue; returns it.
pub async fn settled(app: &TestApp, slug: &str, token: &str, id: &str) -> Value {
    for _ in 0..300 {
        let data = app
            .ok(
                slug,
                token,
                &format!("query($id: ID!) {{ export(id: $id) {{ {FIELDS} }} }}"),
                json!({ "id": id }),
            )
            .await;
        let e = data["export"].clone();
        if e["status"] != "QUEUED" && e["status"] != "RUNNING" {
            return e;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("export {id} did not finish");
}

/// GET without following redirects.
async fn get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn files(app: &TestApp, tenant: uuid::Uuid) -> usize {
    std::fs::read_dir(app.db.blob_dir.join("blobs").join(tenant.to_string()))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_background_export_is_stored_and_served_only_through_fresh_signed_links() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    app.ok(
        "acme",
        t,
        "mutation($p: ID!) { createRecord(input: {projectId: $p, title: \"r1\"}) { id } }",
        json!({ "p": s.project_id }),
    )
    .await;
    let id = start(&app, "acme", t).await;
    let e = settled(&app, "acme", t, &id).await;
    assert_eq!(e["status"], "DONE", "{e}");
    let url = format!("/w/acme/exports/{id}/content");
    assert_eq!(e["contentUrl"], url.as_str());
    assert!(e["expiresAt"].is_string());

    // The proxy answers a redirect to a short-lived link, never the content itself.
    let resp = get(&app, &url, t).await;
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let link = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(link.starts_with("/blobs/"), "{link}");
    let resp = app.http.get(app.url(&link)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"acme-export-")
    );
    let body = resp.bytes().await.unwrap();
    // What was recorded is what is served, and the document verifies against its manifest.
    assert_eq!(e["size"], body.len());
    assert_eq!(e["sha256"], hex::encode(Sha256::digest(&body)));
    let doc: Value = serde_json::from_slice(&body).unwrap();
    let manifest = tessera::export::verify(&doc).unwrap();
    assert_eq!(serde_json::to_value(&manifest).unwrap(), e["manifest"]);
    assert_eq!(manifest.counts["records"], 1);
    assert_eq!(doc["parts"]["records"][0]["title"], "r1");
    // The same content as the streamed export, part for part (the audit chain has grown).
    let streamed: Value = app
        .http
        .get(app.url("/w/acme/export"))
        .bearer_auth(t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for part in ["teams", "members", "projects", "records", "versions"] {
        assert_eq!(doc["parts"][part], streamed["parts"][part], "{part}");
    }

    // A tampered link is refused.
    let tampered = link.replace("sig=", "sig=0");
    let resp = app.http.get(app.url(&tampered)).send().await.unwrap();
    assert_eq!(resp.status(), 403);

    // Expiry: the file is deleted, the export is `EXPIRED`, the proxy answers 410, and a link
    // handed out earlier serves nothing any more.
    assert_eq!(files(&app, s.tenant.id), 1);
    sqlx::query("UPDATE public.jobs SET run_after = now() WHERE kind = 'export_expire'")
        .execute(&app.db.migrator)
        .await
        .unwrap();
    let mut expired = Value::Null;
    for _ in 0..100 {
        expired = app
            .ok(
                "acme",
                t,
                &format!("query($id: ID!) {{ export(id: $id) {{ {FIELDS} }} }}"),
                json!({ "id": id }),
            )
            .await["export"]
            .clone();
        if expired["status"] == "EXPIRED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(expired["status"], "EXPIRED");
    assert_eq!(expired["contentUrl"], Value::Null);
    assert_eq!(files(&app, s.tenant.id), 0);
    let resp = get(&app, &url, t).await;
    assert_eq!(resp.status(), 410);
    let resp = app.http.get(app.url(&link)).send().await.unwrap();
    assert_ne!(resp.status(), 200);

    // Every step is in the chain, and the chain verifies.
    let mut conn = app.db.owner.acquire().await.unwrap();
    let report = tessera::audit::verify(&mut conn, &app.db.keyring, s.tenant.id)
        .await
        .unwrap();
    assert!(report.ok(), "{:?}", report.problem);
    let entries = tessera::audit::list(&mut conn, &app.db.keyring, s.tenant.id, 0, 1000)
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for a in [
        "startExport",
        "workspace.export.complete",
        "workspace.export.download",
        "workspace.export.expire",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
}

#[tokio::test]
async fn background_exports_are_for_export_run_only_and_stay_in_their_workspace() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let other = seed(&app, "other").await;
    let id = start(&app, "acme", &s.owner_token).await;
    assert_eq!(
        settled(&app, "acme", &s.owner_token, &id).await["status"],
        "DONE"
    );
    let url = format!("/w/acme/exports/{id}/content");

    // A member's token with every scope still lacks export:run.
    let member = app
        .db
        .add_user(&s.tenant, "mel@acme.test", Role::Member)
        .await;
    let member = app
        .db
        .token(
            &s.tenant,
            member,
            &[Scope::Read, Scope::Write, Scope::Settings],
        )
        .await;
    let (_, body) = app
        .gql(
            "acme",
            &member,
            "mutation { startExport { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (_, body) = app
        .gql("acme", &member, "{ exports { id } }", json!({}))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    assert_eq!(get(&app, &url, &member).await.status(), 403);
    // An owner's read-only token: export:run needs the settings scope.
    let reader = app.db.token(&s.tenant, s.owner, &[Scope::Read]).await;
    assert_eq!(get(&app, &url, &reader).await.status(), 403);

    // Another workspace's owner: not a member here, and the id means nothing in their own.
    let resp = get(&app, &url, &other.owner_token).await;
    assert_eq!(resp.status(), 401);
    let resp = get(
        &app,
        &format!("/w/other/exports/{id}/content"),
        &other.owner_token,
    )
    .await;
    assert_eq!(resp.status(), 404);
    let (_, body) = app
        .gql("other", &other.owner_token, "{ exports { id } }", json!({}))
        .await;
    assert_eq!(body["data"]["exports"], json!([]));

    // Not finished yet: a clear conflict, no link.
    sqlx::query("INSERT INTO tenant_acme.exports (id, requested_by) VALUES ($1, $2)")
        .bind(uuid::Uuid::new_v4())
        .bind(s.owner)
        .execute(&app.db.migrator)
        .await
        .unwrap();
    let (_, body) = app
        .gql(
            "acme",
            &s.owner_token,
            "{ exports { id status } }",
            json!({}),
        )
        .await;
    let queued = body["data"]["exports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["status"] == "QUEUED")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = get(
        &app,
        &format!("/w/acme/exports/{queued}/content"),
        &s.owner_token,
    )
    .await;
    assert_eq!(resp.status(), 409);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "CONFLICT");
    // One export at a time per workspace: no piling up full dumps while one is pending.
    let (_, body) = app
        .gql(
            "acme",
            &s.owner_token,
            "mutation { startExport { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT", "{body}");
    // Garbage ids are a plain 404.
    let resp = get(&app, "/w/acme/exports/not-an-id/content", &s.owner_token).await;
    assert_eq!(resp.status(), 404);
}

/// A worker over `db`'s runtime pool with its own store and settings, for driving jobs by hand.
async fn worker(db: &TestDb, store: Arc<dyn BlobStore>, max_attempts: i32) -> Worker {
    let mut jobs = db.cfg.jobs.clone();
    jobs.max_attempts = max_attempts;
    let pool = db.app_pool(4).await;
    let [write, expire] = tessera::export::job::Exports {
        pool: pool.clone(),
        keyring: Arc::new(db.keyring.clone()),
        blobs: store,
        clock: Arc::new(tessera::SystemClock),
        keep_days: jobs.export_keep_days,
    }
    .jobs();
    Worker::new(pool, jobs).with(write).with(expire)
}

async fn queue(db: &TestDb, slug: &str, user: uuid::Uuid) -> uuid::Uuid {
    let pool = db.app_pool(1).await;
    let mut tx = tenancy::begin(&pool, &Slug::parse(slug).unwrap(), Access::ReadWrite)
        .await
        .unwrap()
        .unwrap();
    let e = tessera::export::job::queue(&mut tx, user)
        .await
        .unwrap()
        .expect("nothing else queued");
    tx.commit().await.unwrap();
    e.id
}

/// An export row and its job written directly, bypassing the one-at-a-time rule.
async fn enqueue_raw(db: &TestDb, user: uuid::Uuid) -> uuid::Uuid {
    let id = uuid::Uuid::new_v4();
    sqlx::query("INSERT INTO tenant_acme.exports (id, requested_by) VALUES ($1, $2)")
        .bind(id)
        .bind(user)
        .execute(&db.migrator)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO public.jobs (tenant_id, kind, ref_id)
         SELECT id, 'export', $1 FROM public.tenants WHERE slug = 'acme'",
    )
    .bind(id)
    .execute(&db.migrator)
    .await
    .unwrap();
    id
}

async fn status(db: &TestDb, id: uuid::Uuid) -> (String, Option<String>, Option<String>) {
    sqlx::query_as("SELECT status, object_key, error FROM tenant_acme.exports WHERE id = $1")
        .bind(id)
        .fetch_one(&db.migrator)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_failing_store_is_retried_then_the_export_is_marked_failed() {
    let db = TestDb::new().await;
    let tenant = db.create_tenant("acme").await;
    let owner = db.add_user(&tenant, "o@acme.test", Role::Owner).await;
    // A store whose root is a regular file: every write fails.
    let root = db.blob_dir.join("not-a-directory");
    std::fs::write(&root, b"x").unwrap();
    let broken: Arc<dyn BlobStore> = Arc::new(tessera::storage::FsStore::new(root));
    let w = worker(&db, broken, 2).await;
    let id = queue(&db, "acme", owner).await;

    assert_eq!(w.run_once().await.unwrap(), Ran::Retrying("export"));
    // Backoff: not due again at once.
    assert_eq!(w.run_once().await.unwrap(), Ran::Idle);
    let (state, _, _) = status(&db, id).await;
    assert_eq!(state, "running");
    sqlx::query("UPDATE public.jobs SET run_after = now()")
        .execute(&db.migrator)
        .await
        .unwrap();
    assert_eq!(w.run_once().await.unwrap(), Ran::GaveUp("export"));
    // The store could not even delete: the key stays recorded for the purge.
    let (state, _, error) = status(&db, id).await;
    assert_eq!(state, "failed");
    let error = error.unwrap();
    assert!(
        !error.contains("not-a-directory") && !error.contains('/'),
        "no server detail leaks: {error}"
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM public.jobs")
        .fetch_one(&db.migrator)
        .await
        .unwrap();
    assert_eq!(left, 0, "a given-up job leaves the queue");
    let mut conn = db.owner.acquire().await.unwrap();
    let entries = tessera::audit::list(&mut conn, &db.keyring, tenant.id, 0, 100)
        .await
        .unwrap();
    assert!(entries.iter().any(|e| e.action == "workspace.export.fail"));
}

#[tokio::test]
async fn an_interrupted_attempt_is_cleaned_up_and_each_job_runs_on_one_worker_only() {
    let db = TestDb::new().await;
    let tenant = db.create_tenant("acme").await;
    let owner = db.add_user(&tenant, "o@acme.test", Role::Owner).await;
    let dir = db.blob_dir.join("store");
    let store: Arc<dyn BlobStore> = Arc::new(tessera::storage::FsStore::new(dir.clone()));

    // An attempt that died after recording its object key and writing part of the file.
    let first = queue(&db, "acme", owner).await;
    let stale = tessera::storage::ObjectKey::new(tenant.id);
    store
        .put(
            &stale,
            &tessera::storage::ObjectMeta {
                content_type: "application/json".into(),
                filename: "partial.json".into(),
            },
            Box::pin(futures_util::stream::iter([Ok(
                axum::body::Bytes::from_static(b"{\"format\":"),
            )])),
        )
        .await
        .unwrap();
    sqlx::query("UPDATE tenant_acme.exports SET status = 'running', object_key = $2 WHERE id = $1")
        .bind(first)
        .bind(stale.as_string())
        .execute(&db.migrator)
        .await
        .unwrap();

    // Five more (queued past the one-at-a-time rule, as a queue left by an older release could
    // hold), and two workers racing over the queue.
    let mut ids = vec![first];
    for _ in 0..5 {
        ids.push(enqueue_raw(&db, owner).await);
    }
    let (a, b) = (
        worker(&db, store.clone(), 3).await,
        worker(&db, store.clone(), 3).await,
    );
    let drain = |w: Worker| async move {
        let mut ran = 0;
        loop {
            match w.run_once().await.unwrap() {
                Ran::Idle => return ran,
                Ran::Done("export") => ran += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
    };
    let (ran_a, ran_b) = tokio::join!(drain(a), drain(b));
    assert_eq!(ran_a + ran_b, 6, "each job ran once ({ran_a} + {ran_b})");

    let tenant_dir = dir.join(tenant.id.to_string());
    let on_disk: std::collections::BTreeSet<String> = std::fs::read_dir(&tenant_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut recorded = std::collections::BTreeSet::new();
    for id in &ids {
        let (state, object, _) = status(&db, *id).await;
        assert_eq!(state, "done");
        let key = tessera::storage::ObjectKey::parse(&object.unwrap()).unwrap();
        recorded.insert(key.object.to_string());
    }
    assert!(
        !on_disk
            .iter()
            .any(|n| n.starts_with(&stale.object.to_string())),
        "the interrupted attempt's partial file is gone"
    );
    assert_eq!(recorded.len(), 6);
    assert_eq!(
        on_disk.len(),
        6,
        "one file per export, nothing else: {on_disk:?}"
    );
    for name in &recorded {
        assert!(on_disk.contains(name), "{name} missing from {on_disk:?}");
    }
}
