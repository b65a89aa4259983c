//! SCIM Groups are the workspace's teams: the provider links an existing team by name,
//! creates teams, and adds and removes members the ways Okta and Entra ID send it; team
//! membership is what opens a restricted team; members added in Tessera are not the
//! provider's; a Group of another workspace is not found; deleting a Group archives its
//! team; every change is in the audit chain as the provider's.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, seed};
use crate::scim::{PATCH, mint, new_user, owner, scim};

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// The ids of a Group's members.
fn members(group: &Value) -> Vec<&str> {
    group["members"]
        .as_array()
        .map(|a| a.iter().map(|m| m["value"].as_str().unwrap()).collect())
        .unwrap_or_default()
}

fn sorted(mut ids: Vec<uuid::Uuid>) -> Vec<uuid::Uuid> {
    ids.sort();
    ids
}

/// The accounts in team `id` of workspace `grp`, sorted.
async fn team_members(app: &TestApp, id: &str) -> Vec<uuid::Uuid> {
    sqlx::query_scalar(&format!(
        "SELECT user_id FROM tenant_grp.team_members WHERE team_id = '{id}' ORDER BY user_id"
    ))
    .fetch_all(&app.db.migrator)
    .await
    .unwrap()
}

/// The account a SCIM User of workspace `grp` is linked to.
async fn account(app: &TestApp, scim_id: &str) -> uuid::Uuid {
    sqlx::query_scalar(&format!(
        "SELECT user_id FROM tenant_grp.scim_users WHERE id = '{scim_id}'"
    ))
    .fetch_one(&app.db.migrator)
    .await
    .unwrap()
}

/// Whether `token` can read team `id`.
async fn reads_team(app: &TestApp, token: &str, id: &str) -> bool {
    let (_, body) = app
        .gql(
            "grp",
            token,
            "query($id: ID!) { team(id: $id) { name } }",
            json!({ "id": id }),
        )
        .await;
    body["data"]["team"]["name"].is_string()
}

#[tokio::test]
async fn the_provider_manages_teams_as_groups_and_their_members() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "grp").await;
    let other = seed(&app, "grpother").await;
    let mut boss = owner(&app, &s.tenant, "boss@grp.test").await;
    let token = mint(&mut boss, "grp").await;
    let groups = "/scim/v2/grp/Groups";

    // Discovery names both resource types.
    let (_, types) = scim(
        &app,
        Method::GET,
        "/scim/v2/grp/ResourceTypes",
        &token,
        None,
    )
    .await;
    assert_eq!(types["Resources"][1]["endpoint"], "/Groups", "{types}");
    let (status, schema) = scim(
        &app,
        Method::GET,
        &format!("/scim/v2/grp/Schemas/{GROUP}"),
        &token,
        None,
    )
    .await;
    assert_eq!((status, schema["id"].as_str()), (200, Some(GROUP)));

    // Okta links an existing team by name.
    let (status, found) = app
        .http
        .get(app.url(groups))
        .query(&[("filter", r#"displayName eq "core""#)])
        .bearer_auth(&token)
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    let found: Value = found.json().await.unwrap();
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_eq!(found["Resources"][0]["id"], s.team_id.as_str());

    // Two provisioned people; each gets a token to read with.
    let mut ids = Vec::new();
    let mut tokens = Vec::new();
    for (n, ext) in [("ada", "00u1"), ("grace", "00u2")] {
        let email = format!("{n}@grp.test");
        let (status, body) = scim(
            &app,
            Method::POST,
            "/scim/v2/grp/Users",
            &token,
            Some(new_user(&email, &email, ext)),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
        let account: uuid::Uuid =
            sqlx::query_scalar("SELECT id FROM public.users WHERE email = $1")
                .bind(&email)
                .fetch_one(&app.db.migrator)
                .await
                .unwrap();
        tokens.push(
            app.db
                .token(&s.tenant, account, &[tessera::authz::Scope::Read])
                .await,
        );
    }
    let (ada, grace) = (ids[0].as_str(), ids[1].as_str());

    // A new group is a restricted team: only its members read it.
    let (status, created) = scim(
        &app,
        Method::POST,
        groups,
        &token,
        Some(json!({
            "schemas": [GROUP], "displayName": "Security Research", "externalId": "g-sec",
            "members": [{ "value": ada, "display": "Ada" }]
        })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let gid = created["id"].as_str().unwrap().to_owned();
    assert_eq!(members(&created), [ada]);
    assert!(
        created["members"][0]["$ref"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/scim/v2/grp/Users/{ada}")),
        "{created}"
    );
    assert!(
        reads_team(&app, &tokens[0], &gid).await,
        "Ada is in the team"
    );
    assert!(!reads_team(&app, &tokens[1], &gid).await, "Grace is not");

    // The same name again, or a member who is no User here: refused, nothing made.
    for (body, status, kind) in [
        (
            json!({ "schemas": [GROUP], "displayName": "security research" }),
            409,
            "uniqueness",
        ),
        (
            json!({ "schemas": [GROUP], "displayName": "Ghosts", "members": [{ "value": s.owner.to_string() }] }),
            400,
            "invalidValue",
        ),
        (
            json!({ "schemas": [GROUP], "members": [] }),
            400,
            "invalidValue",
        ),
    ] {
        let (got, err) = scim(&app, Method::POST, groups, &token, Some(body)).await;
        assert_eq!(
            (got, err["scimType"].as_str()),
            (status, Some(kind)),
            "{err}"
        );
    }
    let (_, all) = scim(&app, Method::GET, groups, &token, None).await;
    assert_eq!(all["totalResults"], 2, "Core and Security Research: {all}");

    // Okta: rename with the id in the value, add Grace, remove Ada by selection.
    let path = format!("{groups}/{gid}");
    let (status, body) = scim(&app, Method::PATCH, &path, &token, Some(json!({
        "schemas": [PATCH], "Operations": [
            { "op": "replace", "value": { "id": gid, "displayName": "Security" } },
            { "op": "add", "path": "members", "value": [{ "value": grace, "display": "Grace" }] },
            { "op": "remove", "path": format!("members[value eq \"{ada}\"]") }
        ]
    }))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["displayName"], "Security");
    assert_eq!(members(&body), [grace]);
    assert!(
        !reads_team(&app, &tokens[0], &gid).await,
        "Ada left the team"
    );
    assert!(reads_team(&app, &tokens[1], &gid).await, "Grace joined it");

    // A member the owner adds in Tessera is not the provider's to see or remove.
    let (_, added) = boss
        .gql_vars(
            "grp",
            "mutation($t: ID!, $u: ID!) { addTeamMember(teamId: $t, userId: $u) { members { id } } }",
            json!({ "t": gid, "u": s.owner.to_string() }),
        )
        .await;
    assert!(added["data"].is_object(), "{added}");
    let (_, body) = scim(&app, Method::GET, &path, &token, None).await;
    assert_eq!(members(&body), [grace]);
    // Entra ID: remove with the members as the value; then a PUT puts Ada back.
    let (status, body) = scim(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(json!({
            "schemas": [PATCH],
            "Operations": [{ "op": "Remove", "path": "members", "value": [{ "value": grace }] }]
        })),
    )
    .await;
    assert_eq!((status, members(&body).len()), (200, 0), "{body}");
    let (status, body) = scim(
        &app,
        Method::PUT,
        &path,
        &token,
        Some(json!({
            "schemas": [GROUP], "displayName": "Security", "externalId": "g-sec",
            "members": [{ "value": ada }, { "value": grace }]
        })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(members(&body).len(), 2, "{body}");
    let (ada_account, grace_account) = (account(&app, ada).await, account(&app, grace).await);
    assert_eq!(
        team_members(&app, &gid).await,
        sorted(vec![s.owner, ada_account, grace_account]),
        "the owner stayed"
    );
    // Taken out of the team in Tessera, Grace is out of the group the provider sees.
    let (_, removed) = boss
        .gql_vars(
            "grp",
            "mutation($t: ID!, $u: ID!) { removeTeamMember(teamId: $t, userId: $u) { id } }",
            json!({ "t": gid, "u": grace_account.to_string() }),
        )
        .await;
    assert!(removed["data"].is_object(), "{removed}");
    let (_, body) = scim(&app, Method::GET, &path, &token, None).await;
    assert_eq!(members(&body), [ada]);

    // Filters Entra ID uses: externalId, and membership of a user.
    for filter in [
        r#"externalId eq "g-sec""#.to_owned(),
        format!(r#"id eq "{gid}" and members eq "{ada}""#),
    ] {
        let found: Value = app
            .http
            .get(app.url(groups))
            .query(&[
                ("filter", filter.as_str()),
                ("excludedAttributes", "members"),
            ])
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(found["totalResults"], 1, "{filter}: {found}");
        assert!(found["Resources"][0].get("members").is_none(), "{found}");
    }

    // Deactivated, Ada leaves the team but stays in the provider's group; reactivated, she
    // is back in the team.
    let active = |on: bool| json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "active", "value": on }] });
    let user = format!("/scim/v2/grp/Users/{ada}");
    let (status, _) = scim(&app, Method::PATCH, &user, &token, Some(active(false))).await;
    assert_eq!(status, 200);
    assert_eq!(team_members(&app, &gid).await, vec![s.owner]);
    let (_, body) = scim(&app, Method::GET, &path, &token, None).await;
    assert_eq!(members(&body), [ada], "{body}");
    let (status, _) = scim(&app, Method::PATCH, &user, &token, Some(active(true))).await;
    assert_eq!(status, 200);
    assert_eq!(
        team_members(&app, &gid).await,
        sorted(vec![s.owner, ada_account])
    );

    // Another workspace's team is not found here, by id or by writing to it.
    let theirs = format!("{groups}/{}", other.team_id);
    assert_eq!(scim(&app, Method::GET, &theirs, &token, None).await.0, 404);
    let rename = json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "displayName", "value": "Owned" }] });
    assert_eq!(
        scim(&app, Method::PATCH, &theirs, &token, Some(rename))
            .await
            .0,
        404
    );
    assert_eq!(
        scim(&app, Method::DELETE, &theirs, &token, None).await.0,
        404
    );
    let name: String = sqlx::query_scalar(&format!(
        "SELECT name FROM tenant_grpother.teams WHERE id = '{}'",
        other.team_id
    ))
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    assert_eq!(name, "Core");

    // Deleted: the Group is gone and its team archived, projects and history kept.
    assert_eq!(scim(&app, Method::DELETE, &path, &token, None).await.0, 204);
    assert_eq!(scim(&app, Method::GET, &path, &token, None).await.0, 404);
    let (_, body) = boss
        .gql_vars(
            "grp",
            "query($id: ID!) { team(id: $id) { archivedAt } }",
            json!({ "id": gid }),
        )
        .await;
    assert!(body["data"]["team"]["archivedAt"].is_string(), "{body}");

    // Every change is in the audit chain as the provider's, with who joined and left.
    let (_, body) = boss
        .gql("grp", "{ auditEntries(first: 50, actions: [\"scim.createGroup\", \"scim.patchGroup\", \"scim.replaceGroup\", \"scim.deleteGroup\"]) { action actorType targetType payload } }")
        .await;
    let entries = body["data"]["auditEntries"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(
        entries.len(),
        5,
        "a creation, two patches, a replacement, a deletion: {body}"
    );
    assert!(
        entries
            .iter()
            .all(|e| e["actorType"] == "scim" && e["targetType"] == "Team"),
        "{body}"
    );
    let okta = entries
        .iter()
        .find(|e| {
            e["action"] == "scim.patchGroup"
                && e["payload"]["after"]["displayName"] == "Security"
                && e["payload"]["before"]["displayName"] == "Security Research"
        })
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(
        okta["payload"]["membersAdded"].as_array().unwrap().len(),
        1,
        "{okta}"
    );
    assert_eq!(
        okta["payload"]["membersRemoved"].as_array().unwrap().len(),
        1,
        "{okta}"
    );
}
