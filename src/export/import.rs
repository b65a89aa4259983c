//! `tessera tenant import`: restores a workspace export into a new workspace.
//!
//! The document is verified against its manifest first and must come from the same tenant
//! schema version. Rows keep their ids, so an export of the new workspace has the same
//! content. Members are matched by id: a missing account is created (without a password:
//! it signs in through a reset or SSO), and an email already used by another account is
//! refused rather than merged. Attachment metadata is restored; the files themselves are not
//! part of the JSON document. The new workspace's audit chain starts fresh, and its first
//! entries record the creation and the import (with the source's manifest and chain head),
//! so the imported history stays verifiable against the export it came from.

use super::Manifest;
use crate::audit::{self, EntryMeta, NewEntry};
use crate::crypto::Keyring;
use crate::db;
use crate::tenancy::{self, Slug};

/// Tenant tables in dependency order.
const TABLES: &[&str] = &[
    "teams",
    "team_members",
    "goals",
    "projects",
    "records",
    "ideas",
    "versions",
    "attachments",
];

/// Rows per INSERT.
const CHUNK: usize = 2000;

pub struct Imported {
    pub tenant: tenancy::Tenant,
    pub manifest: Manifest,
}

pub async fn import(
    migrator: &db::MigratorPool,
    keyring: &Keyring,
    doc: &serde_json::Value,
    slug: &Slug,
    name: Option<&str>,
    schema_version: i32,
) -> Result<Imported, String> {
    let manifest = super::verify(doc)?;
    if manifest.schema_version != schema_version {
        return Err(format!(
            "the export is from tenant schema version {}; this server is at {schema_version}",
            manifest.schema_version
        ));
    }
    let parts = &doc["parts"];
    let name = name
        .map(str::to_owned)
        .or_else(|| doc["workspace"]["name"].as_str().map(str::to_owned))
        .unwrap_or_else(|| slug.as_str().to_owned());
    let tenant = tenancy::create_tenant(migrator, keyring, slug, &name, schema_version)
        .await
        .map_err(|e| e.to_string())?;
    let db = |e: db::Error| format!("database: {e}");
    let mut tx = migrator.begin().await.map_err(db)?;
    // Members first: accounts by id, then memberships.
    for m in parts["members"].as_array().into_iter().flatten() {
        let clash: Option<uuid::Uuid> = db::query_scalar(
            "INSERT INTO public.users (id, email, display_name)
             SELECT ($1->>'user_id')::uuid, $1->>'email', $1->>'display_name'
             ON CONFLICT (id) DO NOTHING RETURNING NULL::uuid",
        )
        .bind(m)
        .fetch_optional(&mut tx)
        .await
        .map_err(|e| format!("member {}: {e}", m["email"]))?;
        let _ = clash;
        db::query(
            "INSERT INTO public.memberships (tenant_id, user_id, role, created_at)
             VALUES ($1, ($2->>'user_id')::uuid, $2->>'role', ($2->>'joined_at')::timestamptz)",
        )
        .bind(tenant.id)
        .bind(m)
        .execute(&mut tx)
        .await
        .map_err(db)?;
    }
    let schema = format!("tenant_{}", slug.as_str());
    for table in TABLES {
        let rows = parts[*table].as_array().cloned().unwrap_or_default();
        for chunk in rows.chunks(CHUNK) {
            let mut chunk = serde_json::Value::Array(chunk.to_vec());
            if *table == "attachments" {
                // Objects are not in the document: keys name where they would live here.
                for r in chunk.as_array_mut().into_iter().flatten() {
                    let id = r["id"].as_str().unwrap_or_default().to_owned();
                    r["object_key"] = serde_json::Value::String(format!("{}/{id}", tenant.id));
                }
            }
            let sql = format!(
                "INSERT INTO {schema}.{table} SELECT * FROM jsonb_populate_recordset(NULL::{schema}.{table}, $1)"
            );
            db::query(&sql)
                .bind(&chunk)
                .execute(&mut tx)
                .await
                .map_err(|e| format!("{table}: {e}"))?;
        }
    }
    let source_head = parts["audit"]
        .as_array()
        .and_then(|a| a.last())
        .map(|e| e["hash"].clone())
        .unwrap_or(serde_json::Value::Null);
    audit::append(
        &mut tx,
        keyring,
        tenant.id,
        crate::Clock::now(&crate::SystemClock),
        &EntryMeta::system("cli: tenant import"),
        NewEntry {
            action: "workspace.import",
            target_type: "Workspace",
            target_id: tenant.id.to_string(),
            payload: serde_json::json!({
                "source": doc["workspace"], "manifest": manifest, "source_chain_head": source_head,
            }),
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(db)?;
    Ok(Imported { tenant, manifest })
}
