//! Background exports: `startExport` queues one; the worker writes the JSON export
//! ([`super::write`]) to the attachment store, recording its size, SHA-256 and manifest; the
//! signing proxy serves it until it expires, when a second job deletes the file.
//!
//! Every step can run again: an attempt first records the object key it is about to write
//! (so a later attempt deletes whatever an interrupted one left), and the result is recorded
//! only if the row still names that key.

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use crate::audit::{self, EntryMeta, NewEntry};
use std::sync::Arc;

use crate::Clock;
use crate::crypto::Keyring;
use crate::db;
use crate::db::AppPool;
use crate::jobs::{self, Job, JobError};
use crate::storage::BlobStore;
use crate::storage::{ObjectKey, ObjectMeta, StorageError};
use crate::tenancy::{self, Access, Slug, TenantTx};

/// The job that writes a queued export.
const WRITE: &str = "export";
/// The job that deletes an export's file when it expires.
const EXPIRE: &str = "export_expire";

/// What the export jobs need: the runtime pool, the keys, the store, a clock, and how long a
/// file stays. Register [`Exports::jobs`] with the worker.
pub struct Exports {
    pub pool: AppPool,
    pub keyring: Arc<Keyring>,
    pub blobs: Arc<dyn BlobStore>,
    pub clock: Arc<dyn Clock>,
    /// Days a finished export stays downloadable (`jobs.export_keep_days`).
    pub keep_days: i32,
}

impl Exports {
    /// The two export jobs: writing a queued export, and deleting it when it expires.
    pub fn jobs(self) -> [Arc<dyn Job>; 2] {
        let shared = Arc::new(self);
        [
            Arc::new(WriteJob(shared.clone())),
            Arc::new(ExpireJob(shared)),
        ]
    }
}

struct WriteJob(Arc<Exports>);
struct ExpireJob(Arc<Exports>);

#[async_trait::async_trait]
impl Job for WriteJob {
    fn kind(&self) -> &'static str {
        WRITE
    }

    async fn run(&self, slug: Option<&Slug>, id: Uuid) -> Result<(), JobError> {
        let slug = slug.ok_or("a workspace job without a workspace")?;
        write(&self.0, slug, id).await
    }

    async fn give_up(&self, slug: Option<&Slug>, id: Uuid) -> Result<(), JobError> {
        let slug = slug.ok_or("a workspace job without a workspace")?;
        give_up(&self.0, slug, id).await
    }
}

#[async_trait::async_trait]
impl Job for ExpireJob {
    fn kind(&self) -> &'static str {
        EXPIRE
    }

    async fn run(&self, slug: Option<&Slug>, id: Uuid) -> Result<(), JobError> {
        let slug = slug.ok_or("a workspace job without a workspace")?;
        expire(&self.0, slug, id).await
    }
}

/// Where a background export stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "ExportStatus")]
pub enum Status {
    Queued,
    Running,
    Done,
    Failed,
    Expired,
    /// The member who asked for it was removed before it finished.
    Cancelled,
}

impl Status {
    fn parse(s: &str) -> Self {
        match s {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "done" => Self::Done,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => Self::Expired,
        }
    }
}

/// A background export as its requester sees it.
#[derive(Debug, Clone)]
pub struct Export {
    pub id: Uuid,
    pub requested_by: Uuid,
    pub status: Status,
    pub size_bytes: Option<i64>,
    pub sha256: Option<Vec<u8>>,
    pub manifest: Option<serde_json::Value>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Internal: where the file is (never shown).
    pub(crate) object_key: Option<String>,
}

type Row = (
    Uuid,
    Uuid,
    String,
    Option<i64>,
    Option<Vec<u8>>,
    Option<serde_json::Value>,
    Option<String>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<String>,
);

const COLUMNS: &str = "id, requested_by, status, size_bytes, sha256, manifest, error, created_at,
                       finished_at, expires_at, object_key";

fn from_row(r: Row) -> Export {
    Export {
        id: r.0,
        requested_by: r.1,
        status: Status::parse(&r.2),
        size_bytes: r.3,
        sha256: r.4,
        manifest: r.5,
        error: r.6,
        created_at: r.7,
        finished_at: r.8,
        expires_at: r.9,
        object_key: r.10,
    }
}

/// Queues an export of the workspace of `tx` (in its transaction). `Ok(None)`: one is already
/// queued or running — a workspace gets one at a time, so nobody with `export:run` can pile up
/// full dumps for the worker.
pub async fn queue(tx: &mut TenantTx, requested_by: Uuid) -> Result<Option<Export>, db::Error> {
    // Serialises concurrent requests of one workspace until this transaction ends.
    let tenant_id = tx.tenant_id();
    db::query("SELECT pg_advisory_xact_lock(hashtextextended('tessera.export:' || $1::text, 0))")
        .bind(tenant_id)
        .execute(tx.conn())
        .await?;
    let busy: bool = db::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM exports WHERE status IN ('queued', 'running'))",
    )
    .fetch_one(tx.conn())
    .await?;
    if busy {
        return Ok(None);
    }
    let id = Uuid::new_v4();
    let row: Row = db::query_as(&format!(
        "INSERT INTO exports (id, requested_by) VALUES ($1, $2) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(requested_by)
    .fetch_one(tx.conn())
    .await?;
    jobs::enqueue(tx, WRITE, id, None).await?;
    Ok(Some(from_row(row)))
}

/// The workspace's exports, newest first.
pub async fn list(tx: &mut TenantTx, first: i64) -> Result<Vec<Export>, db::Error> {
    let rows: Vec<Row> = db::query_as(&format!(
        "SELECT {COLUMNS} FROM exports ORDER BY created_at DESC, id LIMIT $1"
    ))
    .bind(first)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// One export.
pub async fn get(tx: &mut TenantTx, id: Uuid) -> Result<Option<Export>, db::Error> {
    let row: Option<Row> = db::query_as(&format!("SELECT {COLUMNS} FROM exports WHERE id = $1"))
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(from_row))
}

fn system() -> EntryMeta {
    EntryMeta::system("export worker")
}

/// Locks the export row; `None` if it is gone or in none of `states`.
async fn lock(
    tx: &mut TenantTx,
    id: Uuid,
    states: &[&str],
) -> Result<Option<Option<ObjectKey>>, db::Error> {
    let row: Option<(String, Option<String>)> =
        db::query_as("SELECT status, object_key FROM exports WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
    Ok(row
        .filter(|(s, _)| states.contains(&s.as_str()))
        .map(|(_, k)| k.as_deref().and_then(ObjectKey::parse)))
}

/// The `export` job: writes the file and records it.
async fn write(w: &Exports, slug: &Slug, id: Uuid) -> Result<(), JobError> {
    // 1. This attempt's object key, recorded first; an earlier attempt's object removed.
    let Some(mut tx) = tenancy::begin(&w.pool, slug, Access::ReadWrite).await? else {
        return Ok(());
    };
    let Some(previous) = lock(&mut tx, id, &["queued", "running"]).await? else {
        return Ok(());
    };
    if let Some(k) = previous {
        w.blobs.delete(&k).await?;
    }
    let key = ObjectKey::new(tx.tenant_id());
    db::query(
        "UPDATE exports SET status = 'running', started_at = now(), object_key = $2 WHERE id = $1",
    )
    .bind(id)
    .bind(key.as_string())
    .execute(tx.conn())
    .await?;
    tx.commit().await?;

    // 2. The export, from one snapshot, streamed into the store while counted and hashed.
    let Some(mut snapshot) = tenancy::begin(&w.pool, slug, Access::Snapshot).await? else {
        return Ok(());
    };
    let meta = ObjectMeta {
        content_type: "application/json".into(),
        filename: format!(
            "{}-export-{}.json",
            slug.as_str(),
            w.clock.now().format("%Y%m%dT%H%M%SZ")
        ),
    };
    let (mut writer, reader) = tokio::io::duplex(64 * 1024);
    let mut tally = (Sha256::new(), 0u64);
    let counted = &mut tally;
    let body = tokio_util::io::ReaderStream::new(reader).map(move |chunk| {
        let chunk = chunk.map_err(StorageError::Io)?;
        counted.0.update(&chunk);
        counted.1 += chunk.len() as u64;
        Ok(chunk)
    });
    let keyring = w.keyring.clone();
    let produce = async move {
        let manifest = super::write(&mut snapshot, &keyring, &mut writer).await;
        // The store sees the end of the body only after the whole document was written.
        let _ = writer.shutdown().await;
        let _ = snapshot.rollback().await;
        manifest
    };
    let (written, stored) = tokio::join!(produce, w.blobs.put(&key, &meta, Box::pin(body)));
    let manifest = match (written, stored) {
        (Ok(m), Ok(())) => m,
        (written, stored) => {
            // A failed export may have left a truncated file: it is never offered.
            let _ = w.blobs.delete(&key).await;
            let mut why = Vec::new();
            if let Err(e) = written {
                why.push(e.to_string());
            }
            if let Err(e) = stored {
                why.push(e.to_string());
            }
            return Err(why.join("; ").into());
        }
    };
    let (hasher, size) = tally;
    let sha256 = hasher.finalize().to_vec();

    // 3. Recorded only if this attempt still owns the row.
    let Some(mut tx) = tenancy::begin(&w.pool, slug, Access::ReadWrite).await? else {
        w.blobs.delete(&key).await?;
        return Ok(());
    };
    let now = w.clock.now();
    let expires_at = now + chrono::Duration::days(i64::from(w.keep_days.max(1)));
    let recorded = db::query(
        "UPDATE exports SET status = 'done', size_bytes = $3, sha256 = $4, manifest = $5,
                            finished_at = now(), expires_at = $6, error = NULL
         WHERE id = $1 AND object_key = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(key.as_string())
    .bind(i64::try_from(size)?)
    .bind(&sha256)
    .bind(serde_json::to_value(&manifest)?)
    .bind(expires_at)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if recorded == 0 {
        tx.rollback().await?;
        w.blobs.delete(&key).await?;
        return Ok(());
    }
    let tenant_id = tx.tenant_id();
    audit::append(
        tx.conn(),
        &w.keyring,
        tenant_id,
        now,
        &system(),
        NewEntry {
            action: "workspace.export.complete",
            target_type: "Export",
            target_id: id.to_string(),
            payload: serde_json::json!({
                "size_bytes": size, "sha256": hex::encode(&sha256), "counts": manifest.counts,
            }),
        },
    )
    .await?;
    jobs::enqueue(&mut tx, EXPIRE, id, Some(expires_at)).await?;
    tx.commit().await?;
    Ok(())
}

/// After the last failed attempt: the export is marked `failed` and any partial file removed.
/// Removing the file is best-effort here (the store may be what failed): if it cannot be
/// removed its key stays recorded, and purging the workspace removes it.
async fn give_up(w: &Exports, slug: &Slug, id: Uuid) -> Result<(), JobError> {
    finish(
        w,
        slug,
        id,
        &["queued", "running"],
        "failed",
        "workspace.export.fail",
    )
    .await
}

/// The `export_expire` job: the file is deleted and the export marked `expired`.
async fn expire(w: &Exports, slug: &Slug, id: Uuid) -> Result<(), JobError> {
    finish(w, slug, id, &["done"], "expired", "workspace.export.expire").await
}

/// Moves an export from one of `from` to `to`, deleting its file first. An expiry must
/// delete it (else the job fails and is retried); a failure only tries.
async fn finish(
    w: &Exports,
    slug: &Slug,
    id: Uuid,
    from: &[&str],
    to: &str,
    action: &'static str,
) -> Result<(), JobError> {
    let Some(mut tx) = tenancy::begin(&w.pool, slug, Access::ReadWrite).await? else {
        return Ok(());
    };
    let Some(object) = lock(&mut tx, id, from).await? else {
        return Ok(());
    };
    // Deleted first: if anything below fails, the next attempt deletes it again.
    let mut kept = None;
    if let Some(k) = &object {
        match w.blobs.delete(k).await {
            Ok(()) => {}
            Err(e) if to == "failed" => {
                tracing::warn!(export = %id, error = %e, "could not delete a failed export's file; the purge will");
                kept = Some(k.as_string());
            }
            Err(e) => return Err(e.into()),
        }
    }
    let error = (to == "failed").then_some(
        "the export could not be written; it was tried several times (the server log has the cause)",
    );
    // `least(finished_at, now())`: the first finish time (NULL is ignored); Citus refuses
    // `coalesce` around a volatile function in an UPDATE.
    db::query(
        "UPDATE exports SET status = $2, object_key = $4, error = coalesce($3, error),
                            finished_at = least(finished_at, now())
         WHERE id = $1",
    )
    .bind(id)
    .bind(to)
    .bind(error)
    .bind(kept)
    .execute(tx.conn())
    .await?;
    let tenant_id = tx.tenant_id();
    audit::append(
        tx.conn(),
        &w.keyring,
        tenant_id,
        w.clock.now(),
        &system(),
        NewEntry {
            action,
            target_type: "Export",
            target_id: id.to_string(),
            payload: serde_json::json!({ "status": to }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
