//! Roles, token scopes and team visibility, on lists and by-id reads.

use serde_json::json;
use tessera::authz::{Role, Scope};

use crate::helpers::{TestApp, code, create_goal, seed};

const CREATE_TEAM: &str = "mutation($n: String!, $v: Visibility!) { createTeam(input: {name: $n, visibility: $v}) { id } }";
const CREATE_PROJECT: &str =
    "mutation($t: ID!, $n: String!) { createProject(input: {teamId: $t, name: $n}) { id } }";

#[tokio::test]
async fn members_admins_and_owners_get_their_role_permissions() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let all = [Scope::Read, Scope::Write, Scope::Settings];
    let member = app
        .db
        .add_user(&s.tenant, "m@acme.test", Role::Member)
        .await;
    let admin = app.db.add_user(&s.tenant, "a@acme.test", Role::Admin).await;
    let member_tok = app.db.token(&s.tenant, member, &all).await;
    let admin_tok = app.db.token(&s.tenant, admin, &all).await;

    let (_, body) = app
        .gql(
            "acme",
            &member_tok,
            CREATE_TEAM,
            json!({ "n": "M", "v": "OPEN" }),
        )
        .await;
    assert_eq!(
        code(&body),
        "FORBIDDEN",
        "members cannot manage teams: {body}"
    );
    app.ok(
        "acme",
        &admin_tok,
        CREATE_TEAM,
        json!({ "n": "A", "v": "OPEN" }),
    )
    .await;
    app.ok(
        "acme",
        &s.owner_token,
        CREATE_TEAM,
        json!({ "n": "O", "v": "OPEN" }),
    )
    .await;

    // Members write work; listing tokens is an admin permission.
    app.ok(
        "acme",
        &member_tok,
        CREATE_PROJECT,
        json!({ "t": s.team_id, "n": "by member" }),
    )
    .await;
    let (_, body) = app
        .gql("acme", &member_tok, "{ apiTokens { id } }", json!({}))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let tokens = app
        .ok(
            "acme",
            &admin_tok,
            "{ apiTokens { id name scopes } }",
            json!({}),
        )
        .await;
    assert_eq!(tokens["apiTokens"].as_array().map(Vec::len), Some(3));
    let text = tokens.to_string();
    assert!(
        !text.contains("tsr_"),
        "token secrets must never be returned"
    );

    let viewer = app
        .ok(
            "acme",
            &member_tok,
            "{ viewer { role permissions } }",
            json!({}),
        )
        .await;
    assert_eq!(viewer["viewer"]["role"], "MEMBER");
    assert_eq!(
        viewer["viewer"]["permissions"],
        json!(["workspace:read", "work:write"])
    );
}

#[tokio::test]
async fn token_scopes_narrow_what_a_token_can_do() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let read = app.db.token(&s.tenant, s.owner, &[Scope::Read]).await;
    let write = app.db.token(&s.tenant, s.owner, &[Scope::Write]).await;
    let settings = app.db.token(&s.tenant, s.owner, &[Scope::Settings]).await;

    app.ok(
        "acme",
        &read,
        "query($id: ID!) { project(id: $id) { name } }",
        json!({ "id": s.project_id }),
    )
    .await;
    let (_, body) = app
        .gql(
            "acme",
            &read,
            CREATE_PROJECT,
            json!({ "t": s.team_id, "n": "x" }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    app.ok(
        "acme",
        &write,
        CREATE_PROJECT,
        json!({ "t": s.team_id, "n": "x" }),
    )
    .await;
    let (_, body) = app
        .gql(
            "acme",
            &write,
            CREATE_TEAM,
            json!({ "n": "T", "v": "OPEN" }),
        )
        .await;
    assert_eq!(
        code(&body),
        "FORBIDDEN",
        "write scope does not manage teams: {body}"
    );
    app.ok(
        "acme",
        &settings,
        CREATE_TEAM,
        json!({ "n": "T", "v": "OPEN" }),
    )
    .await;
    let (_, body) = app
        .gql(
            "acme",
            &settings,
            CREATE_PROJECT,
            json!({ "t": s.team_id, "n": "y" }),
        )
        .await;
    assert_eq!(
        code(&body),
        "FORBIDDEN",
        "settings scope does not write work: {body}"
    );
    // Even an owner's all-scope token never carries session-only permissions.
    let viewer = app
        .ok(
            "acme",
            &s.owner_token,
            "{ viewer { permissions } }",
            json!({}),
        )
        .await;
    let perms = viewer["viewer"]["permissions"].to_string();
    assert!(
        !perms.contains("tokens:mint") && !perms.contains("workspace:delete"),
        "{perms}"
    );
}

#[tokio::test]
async fn a_revoked_token_stops_working_on_the_next_request() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let victim = app.db.token(&s.tenant, s.owner, &[Scope::Read]).await;
    app.ok("acme", &victim, "{ viewer { role } }", json!({}))
        .await;
    let tokens = app
        .ok(
            "acme",
            &s.owner_token,
            "{ apiTokens { id scopes } }",
            json!({}),
        )
        .await;
    let id = tokens["apiTokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["scopes"] == json!(["read"]))
        .unwrap()["id"]
        .clone();
    app.ok(
        "acme",
        &s.owner_token,
        "mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }",
        json!({ "id": id }),
    )
    .await;
    let (status, body) = app
        .gql("acme", &victim, "{ viewer { role } }", json!({}))
        .await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"));
    // Replaying a revoked token keeps failing.
    let (status, _) = app
        .gql("acme", &victim, "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_removed_member_token_is_refused() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let m = app
        .db
        .add_user(&s.tenant, "m@acme.test", Role::Member)
        .await;
    let tok = app.db.token(&s.tenant, m, &[Scope::Read]).await;
    app.ok("acme", &tok, "{ viewer { role } }", json!({})).await;
    sqlx::query("DELETE FROM public.memberships WHERE user_id = $1")
        .bind(m)
        .execute(&app.db.migrator)
        .await
        .unwrap();
    let (status, _) = app
        .gql("acme", &tok, "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn team_visibility_applies_to_lists_by_id_reads_and_edits() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await; // s.team_id is OPEN, owned by the owner
    let member = app
        .db
        .add_user(&s.tenant, "m@acme.test", Role::Member)
        .await;
    let insider = app
        .db
        .add_user(&s.tenant, "i@acme.test", Role::Member)
        .await;
    let admin = app.db.add_user(&s.tenant, "a@acme.test", Role::Admin).await;
    let rw = [Scope::Read, Scope::Write];
    let member_tok = app.db.token(&s.tenant, member, &rw).await;
    let insider_tok = app.db.token(&s.tenant, insider, &rw).await;
    let admin_tok = app.db.token(&s.tenant, admin, &rw).await;

    let mut team = std::collections::HashMap::new();
    let mut project = std::collections::HashMap::new();
    for vis in ["LIMITED", "RESTRICTED"] {
        let t = app
            .ok(
                "acme",
                &s.owner_token,
                CREATE_TEAM,
                json!({ "n": vis, "v": vis }),
            )
            .await;
        let tid = t["createTeam"]["id"].as_str().unwrap().to_owned();
        app.ok(
            "acme",
            &s.owner_token,
            "mutation($t: ID!, $u: ID!) { addTeamMember(teamId: $t, userId: $u) { id } }",
            json!({ "t": tid, "u": insider.to_string() }),
        )
        .await;
        let p = app
            .ok(
                "acme",
                &s.owner_token,
                CREATE_PROJECT,
                json!({ "t": tid, "n": format!("{vis} project") }),
            )
            .await;
        project.insert(vis, p["createProject"]["id"].as_str().unwrap().to_owned());
        team.insert(vis, tid);
    }
    let list =
        "{ projects(first: 50) { edges { node { name } } } teams { edges { node { name } } } }";
    let names = |v: &serde_json::Value, key: &str| -> Vec<String> {
        let mut n: Vec<String> = v[key]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
            .collect();
        n.sort();
        n
    };
    // An outsider member sees open and limited work, never restricted.
    let seen = app.ok("acme", &member_tok, list, json!({})).await;
    assert_eq!(
        names(&seen, "projects"),
        ["LIMITED project", "acme project"]
    );
    assert_eq!(names(&seen, "teams"), ["Core", "LIMITED"]);
    let (_, body) = app
        .gql(
            "acme",
            &member_tok,
            "query($id: ID!) { project(id: $id) { name } }",
            json!({ "id": project["RESTRICTED"] }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let (_, body) = app
        .gql(
            "acme",
            &member_tok,
            "query($id: ID!) { team(id: $id) { name } }",
            json!({ "id": team["RESTRICTED"] }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    // ...reads limited work but cannot edit it, and cannot write into restricted teams at all.
    let (_, body) = app
        .gql(
            "acme",
            &member_tok,
            "mutation($id: ID!) { updateProject(id: $id, input: {name: \"x\"}) { id } }",
            json!({ "id": project["LIMITED"] }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = app
        .gql(
            "acme",
            &member_tok,
            CREATE_PROJECT,
            json!({ "t": team["LIMITED"], "n": "x" }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = app
        .gql(
            "acme",
            &member_tok,
            CREATE_PROJECT,
            json!({ "t": team["RESTRICTED"], "n": "x" }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    app.ok(
        "acme",
        &member_tok,
        CREATE_PROJECT,
        json!({ "t": s.team_id, "n": "open is open" }),
    )
    .await;

    // Team members see and edit their restricted and limited teams.
    let seen = app.ok("acme", &insider_tok, list, json!({})).await;
    assert_eq!(
        names(&seen, "projects"),
        [
            "LIMITED project",
            "RESTRICTED project",
            "acme project",
            "open is open"
        ]
    );
    app.ok("acme", &insider_tok, "mutation($id: ID!) { updateProject(id: $id, input: {name: \"RESTRICTED project\"}) { id } }", json!({ "id": project["RESTRICTED"] })).await;
    // Admins see everything.
    let seen = app.ok("acme", &admin_tok, list, json!({})).await;
    assert_eq!(names(&seen, "teams"), ["Core", "LIMITED", "RESTRICTED"]);

    // Removing the insider from the team hides the restricted project on the next request.
    app.ok(
        "acme",
        &s.owner_token,
        "mutation($t: ID!, $u: ID!) { removeTeamMember(teamId: $t, userId: $u) { id } }",
        json!({ "t": team["RESTRICTED"], "u": insider.to_string() }),
    )
    .await;
    let (_, body) = app
        .gql(
            "acme",
            &insider_tok,
            "query($id: ID!) { project(id: $id) { name } }",
            json!({ "id": project["RESTRICTED"] }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
}

#[tokio::test]
async fn a_failed_mutation_rolls_back_the_whole_request() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    // Two mutations in one request; the second fails, so the first must not persist.
    let q = "mutation($t: ID!) { a: createProject(input: {teamId: $t, name: \"kept?\"}) { id } b: createProject(input: {teamId: $t, name: \"\"}) { id } }";
    let (_, body) = app
        .gql("acme", &s.owner_token, q, json!({ "t": s.team_id }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let data = app
        .ok(
            "acme",
            &s.owner_token,
            "{ projects { edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert!(!data.to_string().contains("kept?"), "{data}");
}

#[tokio::test]
async fn the_domain_round_trip_works_for_every_entity() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    let goal = create_goal(&app, "acme", t, "G").await;
    app.ok("acme", t, "mutation($id: ID!, $g: ID!) { updateProject(id: $id, input: {goalId: $g, description: \"d\"}) { id } }", json!({ "id": s.project_id, "g": goal })).await;
    let rec = app
        .ok("acme", t, "mutation($p: ID!, $u: ID!) { createRecord(input: {projectId: $p, title: \"R\", assigneeId: $u, fields: {size: 3}}) { id status } }", json!({ "p": s.project_id, "u": s.owner.to_string() }))
        .await;
    let rid = rec["createRecord"]["id"].clone();
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { updateRecord(id: $id, input: {status: DONE}) { status } }",
        json!({ "id": rid }),
    )
    .await;
    let idea = app
        .ok(
            "acme",
            t,
            "mutation { createIdea(input: {title: \"I\"}) { id } }",
            json!({}),
        )
        .await["createIdea"]["id"]
        .clone();
    let promoted = app.ok("acme", t, "mutation($i: ID!, $t: ID!) { promoteIdea(id: $i, teamId: $t) { project { name } idea { promotedProject { name } } } }", json!({ "i": idea, "t": s.team_id })).await;
    assert_eq!(
        promoted["promoteIdea"]["idea"]["promotedProject"]["name"],
        "I"
    );
    let (_, body) = app
        .gql(
            "acme",
            t,
            "mutation($i: ID!, $t: ID!) { promoteIdea(id: $i, teamId: $t) { project { id } } }",
            json!({ "i": idea, "t": s.team_id }),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT");
    let view = app
        .ok("acme", t, "query($g: ID!) { goal(id: $g) { projects { edges { node { name records { edges { node { title status fields assignee { email } } } } } } } } }", json!({ "g": goal }))
        .await;
    let node = &view["goal"]["projects"]["edges"][0]["node"];
    assert_eq!(node["records"]["edges"][0]["node"]["status"], "DONE");
    assert_eq!(
        node["records"]["edges"][0]["node"]["fields"],
        json!({ "size": 3 })
    );
    assert_eq!(
        node["records"]["edges"][0]["node"]["assignee"]["email"],
        "owner@acme.test"
    );
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { archiveRecord(id: $id) { archivedAt } }",
        json!({ "id": rid }),
    )
    .await;
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { archiveProject(id: $id) { archivedAt } }",
        json!({ "id": s.project_id }),
    )
    .await;
    let list = app.ok("acme", t, "{ projects { edges { node { id } } } all: projects(includeArchived: true) { edges { node { id } } } }", json!({})).await;
    assert_eq!(list["projects"]["edges"].as_array().map(Vec::len), Some(1)); // the promoted one
    assert_eq!(list["all"]["edges"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn the_guard_sees_through_fragments_aliases_and_skipped_fields() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let member = app
        .db
        .add_user(&s.tenant, "m@acme.test", Role::Member)
        .await;
    let read = app.db.token(&s.tenant, member, &[Scope::Read]).await;
    // `apiTokens` needs tokens:read (admins); `createTeam` needs teams:manage; this member's
    // read-only token holds neither. Every disguise of those fields is refused before anything
    // runs, including a field its own directives skip (the check is over the document).
    let refused = [
        "{ t: apiTokens { id } }",
        "{ ... on Query { apiTokens { id } } }",
        "{ ... { apiTokens { id } } }",
        "{ ...F } fragment F on Query { apiTokens { id } }",
        "{ ...F } fragment F on Query { ...G } fragment G on Query { apiTokens { id } }",
        "{ viewer { role } apiTokens @skip(if: true) { id } }",
        "query($no: Boolean! = false) { viewer { role } apiTokens @include(if: $no) { id } }",
        "mutation { ...M } fragment M on Mutation { createTeam(input: {name: \"T\", visibility: OPEN}) { id } }",
        "mutation { a: createIdea(input: {title: \"ok\"}) { id } b: createTeam(input: {name: \"T\", visibility: OPEN}) { id } }",
    ];
    for q in refused {
        let (status, body) = app.gql("acme", &read, q, json!({})).await;
        assert_eq!((status, code(&body)), (403, "FORBIDDEN"), "{q}: {body}");
        assert!(
            body.get("data").is_none_or(serde_json::Value::is_null),
            "{q}: {body}"
        );
    }
    // Nothing of the refused mutations ran, not even the permitted field before the refused one.
    let teams: i64 = sqlx::query_scalar("SELECT count(*) FROM tenant_acme.teams")
        .fetch_one(&app.db.migrator)
        .await
        .unwrap();
    let ideas: i64 = sqlx::query_scalar("SELECT count(*) FROM tenant_acme.ideas")
        .fetch_one(&app.db.migrator)
        .await
        .unwrap();
    assert_eq!((teams, ideas), (1, 0));
    // Meta fields need nothing, and permitted fields through the same disguises still work.
    let data = app
        .ok(
            "acme",
            &read,
            "{ __typename ...F v: viewer { role } } fragment F on Query { projects(first: 1) { nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["__typename"], "Query");
    assert_eq!(data["v"]["role"], "MEMBER");
    assert_eq!(data["projects"]["nodes"][0]["name"], "acme project");
}

/// Every column of a record and of a project lands in its own field, through every path
/// that reads them: by id, as a list, and in the nested batch. Each column gets a distinct
/// value — the timestamps set directly in the database — so a column list out of step with
/// the struct it is decoded into shows (lists leave archived records out, so the record's
/// `archived_at` is checked by id last).
#[tokio::test]
async fn every_column_of_a_record_and_a_project_reads_back_into_its_own_field() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    let goal = create_goal(&app, "acme", t, "G").await;
    app.ok("acme", t, "mutation($id: ID!, $g: ID!) { updateProject(id: $id, input: {goalId: $g, description: \"the description\"}) { id } }", json!({ "id": s.project_id, "g": goal })).await;
    let rid = app
        .ok("acme", t, "mutation($p: ID!, $u: ID!) { createRecord(input: {projectId: $p, title: \"the title\", body: \"the body\", status: IN_PROGRESS, assigneeId: $u, fields: {size: 3}}) { id } }", json!({ "p": s.project_id, "u": s.owner.to_string() }))
        .await["createRecord"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let set_times = |table: &'static str, id: String, archived: Option<&'static str>| {
        let db = &app.db.migrator;
        async move {
            sqlx::query(&format!(
                "UPDATE tenant_acme.{table} SET created_at = '2001-01-01T00:00:01Z',
                     updated_at = '2002-02-02T00:00:02Z', archived_at = $2::timestamptz
                 WHERE id = $1::uuid"
            ))
            .bind(id)
            .bind(archived)
            .execute(db)
            .await
            .unwrap();
        }
    };
    set_times(
        "projects",
        s.project_id.clone(),
        Some("2003-03-03T00:00:03Z"),
    )
    .await;
    set_times("records", rid.clone(), None).await;

    let stamp = |v: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_default())
            .map(|d| d.timestamp())
            .unwrap_or_else(|e| panic!("{v}: {e}"))
    };
    let check_record = |r: &serde_json::Value, archived: serde_json::Value| {
        assert_eq!(r["id"], rid, "{r}");
        assert_eq!(r["projectId"], s.project_id, "{r}");
        assert_eq!(r["title"], "the title", "{r}");
        assert_eq!(r["body"], "the body", "{r}");
        assert_eq!(r["status"], "IN_PROGRESS", "{r}");
        assert_eq!(r["assignee"]["email"], "owner@acme.test", "{r}");
        assert_eq!(r["fields"], json!({ "size": 3 }), "{r}");
        assert_eq!(stamp(&r["createdAt"]), 978_307_201, "{r}");
        assert_eq!(stamp(&r["updatedAt"]), 1_012_608_002, "{r}");
        match archived.as_i64() {
            Some(at) => assert_eq!(stamp(&r["archivedAt"]), at, "{r}"),
            None => assert!(r["archivedAt"].is_null(), "{r}"),
        }
    };
    let check_project = |p: &serde_json::Value| {
        assert_eq!(p["id"], s.project_id, "{p}");
        assert_eq!(p["team"]["id"], s.team_id, "{p}");
        assert_eq!(p["goal"]["id"], goal, "{p}");
        assert_eq!(p["name"], "acme project", "{p}");
        assert_eq!(p["description"], "the description", "{p}");
        assert_eq!(stamp(&p["createdAt"]), 978_307_201, "{p}");
        assert_eq!(stamp(&p["updatedAt"]), 1_012_608_002, "{p}");
        assert_eq!(stamp(&p["archivedAt"]), 1_046_649_603, "{p}");
    };
    const RECORD: &str =
        "id projectId title body status assignee { email } fields createdAt updatedAt archivedAt";
    const PROJECT: &str =
        "id team { id } goal { id } name description createdAt updatedAt archivedAt";

    let read = format!(
        "query($r: ID!, $p: ID!) {{
            record(id: $r) {{ {RECORD} }}
            project(id: $p) {{ {PROJECT} }}
            records(projectId: $p) {{ nodes {{ {RECORD} }} }}
            projects(includeArchived: true) {{ nodes {{ {PROJECT} records {{ nodes {{ {RECORD} }} }} }} }}
        }}"
    );
    let vars = json!({ "r": rid, "p": s.project_id });
    let data = app.ok("acme", t, &read, vars.clone()).await;
    check_record(&data["record"], json!(null));
    check_project(&data["project"]);
    check_record(&data["records"]["nodes"][0], json!(null));
    check_project(&data["projects"]["nodes"][0]);
    check_record(
        &data["projects"]["nodes"][0]["records"]["nodes"][0],
        json!(null),
    );

    set_times("records", rid.clone(), Some("2004-04-04T00:00:04Z")).await;
    let data = app.ok("acme", t, &read, vars).await;
    check_record(&data["record"], json!(1_081_036_804));
}
