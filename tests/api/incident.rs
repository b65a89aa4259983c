//! Incident tooling: freezing a workspace (every request, or writes) with a reason its
//! members see, lifting it, and revoking every token and session of a workspace at once.
//! Each step is an audit entry; a frozen workspace reveals nothing to outsiders.

use serde_json::json;

use crate::helpers::{Browser, TestApp, code, seed};
use crate::provisioning::cli;

const READ: &str = "{ projects(first: 1) { nodes { id } } }";
const WRITE: &str = "mutation { createTeam(input: {name: \"T\", visibility: OPEN}) { id } }";

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_frozen_workspace_refuses_its_members_and_says_why() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "frz").await;
    ok(&cli(
        &app.db,
        &[
            "tenant",
            "freeze",
            "frz",
            "--reason",
            "suspected token leak, back by 14:00",
        ],
    ));
    let (status, body) = app.gql("frz", &s.owner_token, READ, json!({})).await;
    assert_eq!(status, 423, "{body}");
    assert_eq!(code(&body), "WORKSPACE_FROZEN");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("suspected token leak"), "{message}");
    // An outsider learns nothing: the same answer as for any workspace.
    let (status, body) = app
        .gql("frz", "tsr_not_a_real_token_at_all", READ, json!({}))
        .await;
    assert_eq!(status, 401, "{body}");

    // Read-only: reads again, writes refused.
    ok(&cli(&app.db, &["tenant", "freeze", "frz", "--read-only"]));
    let (status, body) = app.gql("frz", &s.owner_token, READ, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = app.gql("frz", &s.owner_token, WRITE, json!({})).await;
    assert_eq!(code(&body), "WORKSPACE_FROZEN", "{body}");

    ok(&cli(&app.db, &["tenant", "unfreeze", "frz"]));
    app.ok("frz", &s.owner_token, WRITE, json!({})).await;
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM public.audit_log WHERE tenant_id = $1 AND action LIKE 'workspace.%freeze' ORDER BY seq",
    )
    .bind(s.tenant.id)
    .fetch_all(&app.db.migrator)
    .await
    .unwrap();
    assert_eq!(
        actions,
        ["workspace.freeze", "workspace.freeze", "workspace.unfreeze"]
    );
    let out = cli(&app.db, &["audit", "verify", "--tenant", "frz"]);
    ok(&out);
}

#[tokio::test]
async fn revoking_everything_stops_every_token_and_session_of_the_workspace() {
    let app = TestApp::spawn().await;
    let mut owner = Browser::new(&app);
    owner.sign_up("owner@rvk.test").await;
    let (_, created) = owner
        .global(
            "mutation { createWorkspace(name: \"R\", slug: \"rvk\") { slug } }",
            json!({}),
        )
        .await;
    assert!(created.get("errors").is_none(), "{created}");
    let other = seed(&app, "rvk_other").await;
    let (status, _) = owner.gql("rvk", READ).await;
    assert_eq!(status, 200);
    let out = cli(&app.db, &["tenant", "revoke-all", "rvk"]);
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("sessions of 1 members"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let (status, body) = owner.gql("rvk", READ).await;
    assert_eq!(status, 401, "the session is revoked: {body}");
    // Another workspace's tokens are untouched.
    app.ok("rvk_other", &other.owner_token, READ, json!({}))
        .await;
}
