//! Purging deleted workspaces whose restore window has passed (`tessera tenant purge`).
//!
//! Each step is idempotent, and the workspace is marked `purged` only after all of them, so a
//! run that stops anywhere is finished by the next: stored objects are deleted, sealed secrets
//! erased, the audit key destroyed (crypto-shredding the payloads; the chain itself stays and
//! still verifies), the schema dropped (and with it the role's privileges), the role dropped, and the
//! memberships, tokens, SSO rows and queued jobs removed. A final audit entry records the purge.

use uuid::Uuid;

use crate::audit::{self, EntryMeta, NewEntry};
use crate::crypto::Keyring;
use crate::db;
use crate::storage::{BlobStore, ObjectKey};

/// What a purge did for one workspace.
#[derive(Debug, Clone)]
pub struct Purged {
    pub slug: String,
    pub objects_deleted: usize,
}

/// Purges every deleted workspace past its restore window (or `only`, if given and due).
pub async fn purge_due(
    migrator: &db::MigratorPool,
    keyring: &Keyring,
    store: &dyn BlobStore,
    only: Option<&str>,
) -> Result<Vec<Purged>, String> {
    let db = |e: db::Error| format!("database: {e}");
    let due: Vec<(Uuid, String, String)> = db::query_as(
        "SELECT id, slug, db_role FROM public.tenants
         WHERE state = 'deleted' AND purge_after <= now() AND ($1::text IS NULL OR slug = $1)
         ORDER BY purge_after",
    )
    .bind(only)
    .fetch_all(&mut *migrator.acquire().await.map_err(db)?)
    .await
    .map_err(db)?;
    let mut done = Vec::new();
    for (id, slug, role) in due {
        let schema = format!("tenant_{slug}");
        // 1. Stored objects (the schema still lists them until step 4).
        let has_schema: bool =
            db::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
                .bind(&schema)
                .fetch_one(&mut *migrator.acquire().await.map_err(db)?)
                .await
                .map_err(db)?;
        let mut objects = 0;
        if has_schema {
            // Attachments, and background exports' files (tenant migration 0004 on).
            let has_exports: bool = db::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                .bind(format!("\"{schema}\".exports"))
                .fetch_one(&mut *migrator.acquire().await.map_err(db)?)
                .await
                .map_err(db)?;
            let mut sql = format!("SELECT object_key FROM \"{schema}\".attachments");
            if has_exports {
                sql.push_str(&format!(
                    " UNION ALL SELECT object_key FROM \"{schema}\".exports WHERE object_key IS NOT NULL"
                ));
            }
            let keys: Vec<String> = db::query_scalar(&sql)
                .fetch_all(&mut *migrator.acquire().await.map_err(db)?)
                .await
                .map_err(db)?;
            for key in keys.iter().filter_map(|k| ObjectKey::parse(k)) {
                store
                    .delete(&key)
                    .await
                    .map_err(|e| format!("{slug}: deleting an object: {e}"))?;
                objects += 1;
            }
        }
        let mut tx = migrator.begin().await.map_err(db)?;
        // 2. Secrets, 3. the audit key.
        db::query("DELETE FROM public.tenant_secrets WHERE tenant_id = $1")
            .bind(id)
            .execute(&mut tx)
            .await
            .map_err(db)?;
        audit::destroy_audit_key(&mut tx, id).await.map_err(db)?;
        // 4. Schema, 5. role.
        db::raw_sql(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .execute(&mut tx)
            .await
            .map_err(db)?;
        let role_exists: bool =
            db::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
                .bind(&role)
                .fetch_one(&mut tx)
                .await
                .map_err(db)?;
        if role_exists {
            // Its privileges lived in the schema dropped above (grants and default privileges
            // go with it); its memberships go with the role.
            db::raw_sql(&format!("DROP ROLE \"{role}\""))
                .execute(&mut tx)
                .await
                .map_err(db)?;
        }
        // 6. Access rows, then the state.
        for table in [
            "jobs",
            "api_tokens",
            "memberships",
            "tenant_sso",
            "sso_identities",
            "oidc_flows",
        ] {
            db::query(&format!("DELETE FROM public.{table} WHERE tenant_id = $1"))
                .bind(id)
                .execute(&mut tx)
                .await
                .map_err(db)?;
        }
        db::query("UPDATE public.tenants SET state = 'purged', purged_at = now() WHERE id = $1")
            .bind(id)
            .execute(&mut tx)
            .await
            .map_err(db)?;
        audit::append(
            &mut tx,
            keyring,
            id,
            crate::Clock::now(&crate::SystemClock),
            &EntryMeta::system("cli: tenant purge"),
            NewEntry {
                action: "workspace.purge",
                target_type: "Workspace",
                target_id: id.to_string(),
                payload: serde_json::json!({ "objects_deleted": objects }),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(db)?;
        done.push(Purged {
            slug,
            objects_deleted: objects,
        });
    }
    Ok(done)
}
