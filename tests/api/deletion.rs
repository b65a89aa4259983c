//! Workspace deletion: owners only, from a browser session; inaccessible at once; restorable
//! for the window; then purged — schema, role, secrets, keys and objects gone — with the audit
//! chain still verifiable.

use serde_json::json;
use tessera::authz::Role;

use crate::helpers::{Browser, TestApp, code, seed};

async fn session<'a>(
    app: &'a TestApp,
    tenant: &tessera::tenancy::Tenant,
    email: &str,
    role: Role,
) -> Browser<'a> {
    let mut b = Browser::new(app);
    let (s, _, _) = b
        .post(
            "/auth/signup",
            json!({ "email": email, "password": "a long enough passphrase" }),
        )
        .await;
    assert_eq!(s, 201);
    app.db.add_user(tenant, email, role).await;
    b
}

fn purge(app: &TestApp) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["tenant", "purge"])
        .env("TESSERA_DATABASE_URL", &app.db.app_url)
        .env("TESSERA_MIGRATOR_DATABASE_URL", &app.db.migrator_url)
        .env("TESSERA_ROLE_PREFIX", &app.db.name)
        .env("TESSERA_MASTER_KEY", &app.db.master_key_b64)
        .env("TESSERA_DATA_DIR", &app.db.blob_dir)
        .env("TESSERA_STORAGE_DIR", app.db.blob_dir.join("blobs"))
        .env("TESSERA_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn a_deleted_workspace_is_gone_at_once_restorable_for_a_while_then_purged() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let mut owner = session(&app, &s.tenant, "olga@acme.test", Role::Owner).await;
    let mut member = session(&app, &s.tenant, "mel@acme.test", Role::Member).await;
    app.ok(
        "acme",
        &s.owner_token,
        "mutation { setSecret(kind: WEBHOOK_SECRET, name: \"hook\", secret: \"whsec\") { id } }",
        json!({}),
    )
    .await;
    let resp = app
        .http
        .post(app.url("/w/acme/attachments"))
        .query(&[
            ("entityType", "project"),
            ("entityId", s.project_id.as_str()),
            ("filename", "f.txt"),
        ])
        .bearer_auth(&s.owner_token)
        .body("file")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let objects = || {
        std::fs::read_dir(app.db.blob_dir.join("blobs").join(s.tenant.id.to_string()))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_eq!(objects(), 1);
    // A background export's file is stored there too.
    let export = crate::export_jobs::start(&app, "acme", &s.owner_token).await;
    let done = crate::export_jobs::settled(&app, "acme", &s.owner_token, &export).await;
    assert_eq!(done["status"], "DONE");
    assert_eq!(objects(), 2);

    // Only an owner's browser session deletes, and only with the slug repeated.
    let del = "mutation { deleteWorkspace(confirmSlug: \"acme\") }";
    let (_, body) = app.gql("acme", &s.owner_token, del, json!({})).await;
    assert_eq!(code(&body), "FORBIDDEN", "tokens never delete");
    let (_, body) = member.gql("acme", del).await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (_, body) = owner
        .gql("acme", "mutation { deleteWorkspace(confirmSlug: \"acm\") }")
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let (_, body) = owner.gql("acme", del).await;
    assert_eq!(body["data"]["deleteWorkspace"], true, "{body}");
    // Gone at once, for every kind of caller.
    let (status, _) = app
        .gql("acme", &s.owner_token, "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(status, 401);
    let (status, _) = owner.gql("acme", "{ viewer { role } }").await;
    assert_eq!(status, 401);

    // Restorable by an owner (not a member) while the window lasts.
    let (_, body) = owner
        .global("{ myDeletedWorkspaces { slug purgeAfter } }", json!({}))
        .await;
    assert_eq!(
        body["data"]["myDeletedWorkspaces"][0]["slug"], "acme",
        "{body}"
    );
    let restore = "mutation { restoreWorkspace(slug: \"acme\") }";
    let (_, body) = member.global(restore, json!({})).await;
    assert_eq!(code(&body), "NOT_FOUND");
    let (_, body) = owner.global(restore, json!({})).await;
    assert_eq!(body["data"]["restoreWorkspace"], true, "{body}");
    let (status, _) = app
        .gql("acme", &s.owner_token, "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(status, 200, "restored");

    // Deleted again, and the window passes: no restore any more; the purge runs.
    let (_, body) = owner.gql("acme", del).await;
    assert_eq!(body["data"]["deleteWorkspace"], true);
    assert!(purge(&app).contains("0 workspaces purged"), "not due yet");
    sqlx::query(
        "UPDATE public.tenants SET purge_after = now() - interval '1 second' WHERE id = $1",
    )
    .bind(s.tenant.id)
    .execute(&app.db.migrator)
    .await
    .unwrap();
    let (_, body) = owner.global(restore, json!({})).await;
    assert_eq!(code(&body), "NOT_FOUND", "the window has passed");
    let out = purge(&app);
    assert!(out.contains("purged acme (2 objects deleted)"), "{out}");

    let m = &app.db.migrator;
    let q = |sql: &'static str| {
        let id = s.tenant.id;
        async move {
            sqlx::query_scalar::<_, bool>(sql)
                .bind(id)
                .fetch_one(m)
                .await
                .unwrap()
        }
    };
    assert!(!q("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'tenant_acme' AND $1 IS NOT NULL)").await);
    assert!(!q("SELECT EXISTS (SELECT 1 FROM pg_roles r JOIN public.tenants t ON t.db_role = r.rolname WHERE t.id = $1)").await);
    assert!(!q("SELECT EXISTS (SELECT 1 FROM public.tenant_secrets WHERE tenant_id = $1)").await);
    assert!(q("SELECT EXISTS (SELECT 1 FROM public.tenant_keys WHERE tenant_id = $1 AND wrapped IS NULL)").await);
    assert!(!q("SELECT EXISTS (SELECT 1 FROM public.memberships WHERE tenant_id = $1)").await);
    assert!(!q("SELECT EXISTS (SELECT 1 FROM public.jobs WHERE tenant_id = $1)").await);
    assert!(q("SELECT state = 'purged' FROM public.tenants WHERE id = $1").await);
    assert_eq!(objects(), 0, "stored objects are deleted");
    // The chain still verifies; its payloads are unreadable; it records every step.
    let mut conn = app.db.owner.acquire().await.unwrap();
    let report = tessera::audit::verify(&mut conn, &app.db.keyring, s.tenant.id)
        .await
        .unwrap();
    assert!(report.ok(), "{:?}", report.problem);
    let entries = tessera::audit::list(&mut conn, &app.db.keyring, s.tenant.id, 0, 1000)
        .await
        .unwrap();
    assert!(
        entries
            .iter()
            .all(|e| matches!(e.payload, tessera::audit::Payload::Erased))
    );
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for a in ["deleteWorkspace", "workspace.restore", "workspace.purge"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    drop(conn);
    // Running the purge again does nothing; the slug stays taken by the purged record.
    assert!(purge(&app).contains("0 workspaces purged"));
    let (status, _) = app
        .gql("acme", &s.owner_token, "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(status, 401);
}
