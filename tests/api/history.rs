//! Field-level history and restore on every entity type.

use serde_json::{Value, json};
use tessera::authz::{Role, Scope};

use crate::helpers::{TestApp, code, create_goal, seed};

const HISTORY: &str = "query($t: EntityType!, $id: ID!) { history(entityType: $t, id: $id) { version changes snapshot restoredFrom actorUser } }";
const RESTORE: &str = "mutation($t: EntityType!, $id: ID!, $v: Int!) { restoreVersion(entityType: $t, id: $id, version: $v) { version restoredFrom changes } }";

async fn history(app: &TestApp, token: &str, ty: &str, id: &Value) -> Vec<Value> {
    let data = app
        .ok("acme", token, HISTORY, json!({ "t": ty, "id": id }))
        .await;
    data["history"].as_array().unwrap().clone()
}

#[tokio::test]
async fn every_entity_keeps_field_level_history_and_restores_as_a_new_version() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    let goal = create_goal(&app, "acme", t, "v1").await;
    let idea = app
        .ok(
            "acme",
            t,
            "mutation { createIdea(input: {title: \"v1\"}) { id } }",
            json!({}),
        )
        .await["createIdea"]["id"]
        .clone();
    let project = app
        .ok(
            "acme",
            t,
            "mutation($t: ID!) { createProject(input: {teamId: $t, name: \"v1\"}) { id } }",
            json!({ "t": s.team_id }),
        )
        .await["createProject"]["id"]
        .clone();
    let record = app
        .ok(
            "acme",
            t,
            "mutation($p: ID!) { createRecord(input: {projectId: $p, title: \"v1\"}) { id } }",
            json!({ "p": project }),
        )
        .await["createRecord"]["id"]
        .clone();
    let cases = [
        (
            "GOAL",
            &goal,
            "title",
            "mutation($id: ID!, $x: String!) { updateGoal(id: $id, input: {title: $x}) { id } }",
            "query($id: ID!) { goal(id: $id) { title archivedAt } }",
            "goal",
        ),
        (
            "IDEA",
            &idea,
            "title",
            "mutation($id: ID!, $x: String!) { updateIdea(id: $id, input: {title: $x}) { id } }",
            "query($id: ID!) { idea(id: $id) { title archivedAt } }",
            "idea",
        ),
        (
            "PROJECT",
            &project,
            "name",
            "mutation($id: ID!, $x: String!) { updateProject(id: $id, input: {name: $x}) { id } }",
            "query($id: ID!) { project(id: $id) { name archivedAt } }",
            "project",
        ),
        (
            "RECORD",
            &record,
            "title",
            "mutation($id: ID!, $x: String!) { updateRecord(id: $id, input: {title: $x}) { id } }",
            "query($id: ID!) { record(id: $id) { title archivedAt } }",
            "record",
        ),
    ];
    for (ty, id, field, update, read, root) in cases {
        app.ok("acme", t, update, json!({ "id": id, "x": "v2" }))
            .await;
        app.ok("acme", t, update, json!({ "id": id, "x": "v3" }))
            .await;
        // A no-op update records nothing.
        app.ok("acme", t, update, json!({ "id": id, "x": "v3" }))
            .await;
        let h = history(&app, t, ty, id).await;
        assert_eq!(h.len(), 3, "{ty}: {h:?}");
        assert_eq!(
            h[1]["changes"],
            json!({ field: { "old": "v1", "new": "v2" } }),
            "{ty}"
        );
        assert_eq!(
            h[2]["changes"][field],
            json!({ "old": "v2", "new": "v3" }),
            "{ty}"
        );
        assert_eq!(h[0]["actorUser"], s.owner.to_string());
        // Restore version 1: a new version 4, the intermediate history untouched.
        let r = app
            .ok("acme", t, RESTORE, json!({ "t": ty, "id": id, "v": 1 }))
            .await;
        assert_eq!(r["restoreVersion"]["version"], 4, "{ty}");
        assert_eq!(r["restoreVersion"]["restoredFrom"], 1);
        assert_eq!(
            r["restoreVersion"]["changes"][field],
            json!({ "old": "v3", "new": "v1" })
        );
        let now = app.ok("acme", t, read, json!({ "id": id })).await;
        assert_eq!(now[root][field], "v1", "{ty}");
        let h = history(&app, t, ty, id).await;
        assert_eq!(
            h.iter()
                .map(|v| v["version"].as_i64().unwrap())
                .collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(h[2]["snapshot"][field], "v3");
    }
    // Archiving is a change too, and restoring an earlier version un-archives.
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { archiveProject(id: $id) { id } }",
        json!({ "id": project }),
    )
    .await;
    let h = history(&app, t, "PROJECT", &project).await;
    assert!(h.last().unwrap()["changes"]["archived_at"]["old"].is_null());
    app.ok(
        "acme",
        t,
        RESTORE,
        json!({ "t": "PROJECT", "id": project, "v": 4 }),
    )
    .await;
    let p = app
        .ok(
            "acme",
            t,
            "query($id: ID!) { project(id: $id) { archivedAt } }",
            json!({ "id": project }),
        )
        .await;
    assert!(p["project"]["archivedAt"].is_null());
    // The restore is an audit event.
    let audit = app
        .ok(
            "acme",
            t,
            "{ auditEntries(first: 100) { action targetId } }",
            json!({}),
        )
        .await;
    assert!(
        audit["auditEntries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "restoreVersion" && e["targetId"] == project)
    );
    // Unknown versions are not found.
    let (_, body) = app
        .gql(
            "acme",
            t,
            RESTORE,
            json!({ "t": "GOAL", "id": goal, "v": 99 }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
}

#[tokio::test]
async fn history_and_restore_respect_team_visibility_and_edit_rights() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    let member = app
        .db
        .add_user(&s.tenant, "m@acme.test", Role::Member)
        .await;
    let mtok = app
        .db
        .token(&s.tenant, member, &[Scope::Read, Scope::Write])
        .await;
    let mut ids = Vec::new();
    for vis in ["RESTRICTED", "LIMITED"] {
        let team = app.ok("acme", t, "mutation($v: Visibility!) { createTeam(input: {name: \"T\", visibility: $v}) { id } }", json!({ "v": vis })).await["createTeam"]["id"].clone();
        let p = app
            .ok(
                "acme",
                t,
                "mutation($t: ID!) { createProject(input: {teamId: $t, name: \"a\"}) { id } }",
                json!({ "t": team }),
            )
            .await["createProject"]["id"]
            .clone();
        app.ok(
            "acme",
            t,
            "mutation($id: ID!) { updateProject(id: $id, input: {name: \"b\"}) { id } }",
            json!({ "id": p }),
        )
        .await;
        ids.push(p);
    }
    let (_, body) = app
        .gql(
            "acme",
            &mtok,
            HISTORY,
            json!({ "t": "PROJECT", "id": ids[0] }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "restricted history is invisible");
    let (_, body) = app
        .gql(
            "acme",
            &mtok,
            RESTORE,
            json!({ "t": "PROJECT", "id": ids[0], "v": 1 }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    assert_eq!(
        history(&app, &mtok, "PROJECT", &ids[1]).await.len(),
        2,
        "limited history is readable"
    );
    let (_, body) = app
        .gql(
            "acme",
            &mtok,
            RESTORE,
            json!({ "t": "PROJECT", "id": ids[1], "v": 1 }),
        )
        .await;
    assert_eq!(
        code(&body),
        "FORBIDDEN",
        "but not restorable by a non-member: {body}"
    );
    let read = app.db.token(&s.tenant, s.owner, &[Scope::Read]).await;
    let (_, body) = app
        .gql(
            "acme",
            &read,
            RESTORE,
            json!({ "t": "PROJECT", "id": ids[1], "v": 1 }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
}
