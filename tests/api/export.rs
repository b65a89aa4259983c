//! Workspace export: one streamed JSON document whose manifest counts and hashes every part,
//! with no secrets in it, audited, and for `export:run` only.

use serde_json::{Value, json};
use tessera::authz::{Role, Scope};

use crate::helpers::{TestApp, code, seed};

async fn export(
    app: &TestApp,
    slug: &str,
    token: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = app.get(&format!("/w/{slug}/export"), token).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn an_export_holds_every_part_with_a_manifest_that_verifies() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    seed(&app, "other").await;
    let t = &s.owner_token;
    // Some history, an idea, a secret and an attachment.
    let rec = app
        .ok(
            "acme",
            t,
            "mutation($p: ID!) { createRecord(input: {projectId: $p, title: \"r1\", fields: {k: 1}}) { id } }",
            json!({ "p": s.project_id }),
        )
        .await["createRecord"]["id"]
        .clone();
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { updateRecord(id: $id, input: {title: \"r1 v2\"}) { id } }",
        json!({ "id": rec }),
    )
    .await;
    app.ok(
        "acme",
        t,
        "mutation { createIdea(input: {title: \"idea\"}) { id } }",
        json!({}),
    )
    .await;
    // Text that JSON must escape: the rows are rendered without serde_json's `Value`, and the
    // manifest check below re-serialises them through it, so both must agree byte for byte.
    app.ok(
        "acme",
        t,
        "mutation($p: ID!, $t: String!) { createRecord(input: {projectId: $p, title: $t, body: $t, fields: {s: $t, n: -1.5e3, z: null}}) { id } }",
        json!({ "p": s.project_id, "t": "q\"uote\\ slash/ \n\t\u{1} ü 😀 \u{2028} </script>" }),
    )
    .await;
    app.ok(
        "acme",
        t,
        "mutation { setSecret(kind: WEBHOOK_SECRET, name: \"hook\", secret: \"whsec-export-never\") { id } }",
        json!({}),
    )
    .await;
    let resp = app
        .http
        .post(app.url("/w/acme/attachments"))
        .query(&[
            ("entityType", "project"),
            ("entityId", s.project_id.as_str()),
            ("filename", "a.txt"),
        ])
        .bearer_auth(t)
        .body("attached")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

    let (status, headers, body) = export(&app, "acme", t).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let doc: Value = serde_json::from_slice(&body).unwrap();
    let manifest = tessera::export::verify(&doc).unwrap();
    assert_eq!(doc["workspace"]["slug"], "acme");
    for (part, n) in [
        ("teams", 1),
        ("projects", 1),
        ("records", 2),
        ("ideas", 1),
        ("attachments", 1),
        ("members", 1),
    ] {
        assert_eq!(manifest.counts[part], n, "{part}");
    }
    let tricky = "q\"uote\\ slash/ \n\t\u{1} ü 😀 \u{2028} </script>";
    assert!(
        doc["parts"]["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["title"] == tricky && r["fields"]["s"] == tricky),
        "text survives exactly"
    );
    assert!(manifest.counts["versions"] >= 3, "history is exported");
    let audit_rows = doc["parts"]["audit"].as_array().unwrap();
    let chain_len: i64 =
        sqlx::query_scalar("SELECT count(*) FROM public.audit_log WHERE tenant_id = $1")
            .bind(s.tenant.id)
            .fetch_one(&app.db.migrator)
            .await
            .unwrap();
    // The export's own audit entry is written before the snapshot, so it is in it.
    assert_eq!(audit_rows.len() as i64, chain_len);
    assert_eq!(audit_rows.last().unwrap()["action"], "workspace.export");
    assert_eq!(
        audit_rows[1]["prev_hash"], audit_rows[0]["hash"],
        "hashes are included"
    );
    assert!(
        audit_rows
            .iter()
            .any(|r| r["action"] == "createRecord" && r["payload"]["result"].is_object()),
        "payloads are decrypted"
    );
    // No secret, password hash or token in it; no other workspace either.
    let text = String::from_utf8(body.clone()).unwrap();
    for needle in [
        "whsec-export-never",
        "password",
        "$argon2",
        "tsr_",
        "object_key",
        "other project",
    ] {
        assert!(!text.contains(needle), "{needle} leaked into the export");
    }
    // Tampering with any part breaks verification.
    let mut forged = doc.clone();
    forged["parts"]["records"][0]["title"] = json!("forged");
    assert!(tessera::export::verify(&forged).is_err());
    let mut dropped = doc.clone();
    dropped["parts"]["audit"].as_array_mut().unwrap().pop();
    assert!(tessera::export::verify(&dropped).is_err());

    // Only export:run: a member's token and a read-only token are refused.
    let mo = app
        .db
        .add_user(&s.tenant, "mo@acme.test", Role::Member)
        .await;
    let member = app
        .db
        .token(&s.tenant, mo, &[Scope::Read, Scope::Write, Scope::Settings])
        .await;
    let (status, _, body) = export(&app, "acme", &member).await;
    assert_eq!(
        (status, code(&serde_json::from_slice(&body).unwrap())),
        (403, "FORBIDDEN")
    );
    let reader = app.db.token(&s.tenant, s.owner, &[Scope::Read]).await;
    let (status, _, _) = export(&app, "acme", &reader).await;
    assert_eq!(status, 403);
    let (status, _, _) = export(&app, "other", t).await;
    assert_eq!(status, 401, "another workspace's token");
}

#[tokio::test]
async fn export_import_export_round_trips_and_a_forged_document_is_refused() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    let mo = app
        .db
        .add_user(&s.tenant, "mo@acme.test", Role::Member)
        .await;
    app.ok(
        "acme",
        t,
        "mutation($t: ID!, $u: ID!) { addTeamMember(teamId: $t, userId: $u) { id } }",
        json!({ "t": s.team_id, "u": mo.to_string() }),
    )
    .await;
    let rec = app
        .ok(
            "acme",
            t,
            "mutation($p: ID!, $a: ID) { createRecord(input: {projectId: $p, title: \"ünïcode ✓\", assigneeId: $a, fields: {n: 1.5, tags: [\"a\"]}}) { id } }",
            json!({ "p": s.project_id, "a": mo.to_string() }),
        )
        .await["createRecord"]["id"]
        .clone();
    app.ok(
        "acme",
        t,
        "mutation($id: ID!) { updateRecord(id: $id, input: {status: DONE}) { id } }",
        json!({ "id": rec }),
    )
    .await;
    let resp = app
        .http
        .post(app.url("/w/acme/attachments"))
        .query(&[
            ("entityType", "record"),
            ("entityId", rec.as_str().unwrap()),
            ("filename", "r.txt"),
        ])
        .bearer_auth(t)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let (_, _, first) = export(&app, "acme", t).await;
    let dir = crate::helpers::tempdir::Dir::new();
    let file = dir.path().join("acme.json");
    std::fs::write(&file, &first).unwrap();

    let out = crate::provisioning::cli(
        &app.db,
        &[
            "tenant",
            "import",
            file.to_str().unwrap(),
            "--slug",
            "acme_copy",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy = tessera::tenancy::list_tenants(&app.db.owner)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.slug.as_str() == "acme_copy")
        .unwrap();
    let owner_copy = app
        .db
        .token(&copy, s.owner, &[Scope::Read, Scope::Settings])
        .await;
    let (status, _, second) = export(&app, "acme_copy", &owner_copy).await;
    assert_eq!(status, 200);
    let (a, b): (Value, Value) = (
        serde_json::from_slice(&first).unwrap(),
        serde_json::from_slice(&second).unwrap(),
    );
    let mb = tessera::export::verify(&b).unwrap();
    let ma = tessera::export::verify(&a).unwrap();
    for part in [
        "teams",
        "team_members",
        "members",
        "goals",
        "projects",
        "records",
        "ideas",
        "versions",
        "attachments",
    ] {
        assert_eq!(
            a["parts"][part], b["parts"][part],
            "{part} differs after the round trip"
        );
        assert_eq!(ma.sha256[part], mb.sha256[part], "{part}");
    }
    // The copy's chain starts fresh and records where it came from.
    let actions: Vec<String> = b["parts"]["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions[..2], ["workspace.create", "workspace.import"]);
    let import = &b["parts"]["audit"][1]["payload"];
    assert_eq!(
        import["source_chain_head"],
        a["parts"]["audit"].as_array().unwrap().last().unwrap()["hash"]
    );

    // A document altered after export is refused before anything is created.
    let mut forged: Value = a.clone();
    forged["parts"]["members"][0]["role"] = json!("owner");
    forged["parts"]["members"][1]["role"] = json!("owner");
    std::fs::write(&file, serde_json::to_vec(&forged).unwrap()).unwrap();
    let out = crate::provisioning::cli(
        &app.db,
        &[
            "tenant",
            "import",
            file.to_str().unwrap(),
            "--slug",
            "acme_forged",
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SHA-256"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM public.tenants WHERE slug = 'acme_forged')",
    )
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    assert!(!exists);
}

#[tokio::test]
async fn csv_exports_stream_one_entity_type_with_formulas_defused() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    app.ok(
        "acme",
        t,
        "mutation($p: ID!) { createRecord(input: {projectId: $p, title: \"=HYPERLINK(\\\"http://x\\\",\\\"y\\\")\", body: \"line1\\nline2, \\\"quoted\\\"\"}) { id } }",
        json!({ "p": s.project_id }),
    )
    .await;
    let resp = app.get("/w/acme/export/records.csv", t).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let text = resp.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,project_id,title,body,status,assignee_id,fields,archived_at,created_at,updated_at"
    );
    assert!(text.contains("'=HYPERLINK"), "formulas are defused: {text}");
    assert!(
        text.contains("\"line1\nline2, \"\"quoted\"\"\""),
        "CSV quoting: {text}"
    );
    for entity in [
        "teams",
        "members",
        "goals",
        "projects",
        "ideas",
        "attachments",
    ] {
        let resp = app.get(&format!("/w/acme/export/{entity}.csv"), t).await;
        assert_eq!(resp.status(), 200, "{entity}");
        let body = resp.text().await.unwrap();
        assert!(
            !body.contains("argon2") && body.lines().count() >= 1,
            "{entity}: {body}"
        );
    }
    let members = app
        .get("/w/acme/export/members.csv", t)
        .await
        .text()
        .await
        .unwrap();
    assert!(members.contains("owner@acme.test"), "{members}");
    let resp = app.get("/w/acme/export/secrets.csv", t).await;
    assert_eq!(resp.status(), 404, "only the listed entity types");
    let mo = app
        .db
        .add_user(&s.tenant, "mo@acme.test", Role::Member)
        .await;
    let member = app.db.token(&s.tenant, mo, &[Scope::Read]).await;
    let resp = app.get("/w/acme/export/records.csv", &member).await;
    assert_eq!(resp.status(), 403);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM public.audit_log WHERE tenant_id = $1 AND action = 'workspace.export'",
    )
    .bind(s.tenant.id)
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    assert_eq!(audited, 8);
}

/// A client that leaves in the middle of a CSV export must not leave the connection mid-COPY:
/// with a pool of one connection, every later request reuses it.
#[tokio::test]
async fn a_client_leaving_mid_csv_leaves_the_connection_clean() {
    let app = TestApp::spawn_on(crate::helpers::TestDb::new().await, 1).await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    // About 13 MB of CSV: far more than the socket and stream buffers hold.
    sqlx::query(
        "INSERT INTO tenant_acme.records (id, project_id, title, body)
         SELECT gen_random_uuid(), $1, 'record ' || i, repeat('x', 250)
         FROM generate_series(1, 50000) AS i",
    )
    .bind(uuid::Uuid::parse_str(&s.project_id).unwrap())
    .execute(&app.db.migrator)
    .await
    .unwrap();
    for _ in 0..3 {
        let mut resp = app.get("/w/acme/export/records.csv", t).await;
        assert_eq!(resp.status(), 200);
        assert!(!resp.chunk().await.unwrap().unwrap().is_empty());
        drop(resp);
        for _ in 0..3 {
            let data = app.ok("acme", t, "{ viewer { role } }", json!({})).await;
            assert_eq!(data["viewer"]["role"], "OWNER");
        }
    }
    let full = app
        .get("/w/acme/export/records.csv", t)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(full.lines().count(), 50_001, "the header and every record");
}

/// `GET /w/{slug}/audit/export`: a time range as JSON Lines (with hashes and the
/// checkpoint keys) or CSV, for `audit:read` only, itself audited.
#[tokio::test]
async fn the_audit_log_of_a_time_range_downloads_as_json_lines_or_csv() {
    let app = crate::helpers::TestApp::spawn().await;
    let s = crate::helpers::seed(&app, "auditx").await;
    // The database's clock stamps the entries; the range starts just before the goal.
    let before: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(&app.db.migrator)
        .await
        .unwrap();
    crate::helpers::create_goal(&app, "auditx", &s.owner_token, "=HYPERLINK(\"x\")").await;
    let path = |q: &str| format!("/w/auditx/audit/export?{q}");
    let from = before.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let encoded = from.replace('+', "%2B").replace(':', "%3A");

    let resp = app
        .get(&path(&format!("from={encoded}")), &s.owner_token)
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/jsonl");
    let body = resp.text().await.unwrap();
    let lines: Vec<serde_json::Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["format"], "tessera-audit-export-v1", "{body}");
    let actions: Vec<&str> = lines.iter().filter_map(|l| l["action"].as_str()).collect();
    assert_eq!(
        actions,
        ["createGoal", "audit.export"],
        "only the range, and the export itself is recorded: {body}"
    );
    assert!(lines[1]["hash"].as_str().is_some_and(|h| h.len() == 64));

    let resp = app
        .get(
            &path(&format!("from={encoded}&format=csv&action=createGoal")),
            &s.owner_token,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let csv = resp.text().await.unwrap();
    let mut rows = csv.lines();
    assert!(rows.next().unwrap().starts_with("seq,at,"));
    let row = rows.next().unwrap();
    assert!(row.contains("\"createGoal\""), "{csv}");
    assert!(rows.next().is_none(), "one action kept: {csv}");

    // A range that ends before it starts, an unknown format, a member without audit:read.
    let resp = app
        .get(
            &path("from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z"),
            &s.owner_token,
        )
        .await;
    assert_eq!(resp.status(), 400);
    let resp = app.get(&path("format=xml"), &s.owner_token).await;
    assert_eq!(resp.status(), 400);
    let resp = app.get(&path("from=yesterday"), &s.owner_token).await;
    assert_eq!(resp.status(), 400);
    let member = app
        .db
        .add_user(&s.tenant, "m@auditx.test", tessera::authz::Role::Member)
        .await;
    let token = app
        .db
        .token(&s.tenant, member, &[tessera::authz::Scope::Read])
        .await;
    let resp = app.get(&path(""), &token).await;
    assert_eq!(resp.status(), 403);
}
