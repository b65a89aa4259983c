//! Attachment metadata and the access rules of attachments: reading one needs read access to
//! its owning project, record or idea (team visibility applies); attaching needs edit access.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{WorkError, ideas, projects, records};
use crate::authz::Viewer;
use crate::db;
use crate::tenancy::TenantTx;

/// What an attachment hangs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachedTo {
    Project,
    Record,
    Idea,
}

impl AttachedTo {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Project => "project",
            Self::Record => "record",
            Self::Idea => "idea",
        }
    }
}

#[derive(Debug, Clone, db::FromRow)]
pub struct Attachment {
    pub id: Uuid,
    pub entity_type: String,
    pub entity_id: Uuid,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: Vec<u8>,
    pub object_key: String,
    pub uploaded_by: Uuid,
    pub created_at: DateTime<Utc>,
}

const COLS: &str = "id, entity_type, entity_id, filename, content_type, size_bytes, sha256, \
                    object_key, uploaded_by, created_at";

/// The viewer can see the entity (not found otherwise).
pub async fn ensure_readable(
    tx: &mut TenantTx,
    viewer: Viewer,
    to: AttachedTo,
    id: Uuid,
) -> Result<(), WorkError> {
    match to {
        AttachedTo::Project => projects::get(tx, viewer, id).await.map(drop),
        AttachedTo::Record => records::get(tx, viewer, id).await.map(drop),
        AttachedTo::Idea => ideas::get(tx, id).await.map(drop),
    }
}

/// The viewer may change the entity (and so attach to it).
pub async fn ensure_editable(
    tx: &mut TenantTx,
    viewer: Viewer,
    to: AttachedTo,
    id: Uuid,
) -> Result<(), WorkError> {
    let team = match to {
        AttachedTo::Project => Some(projects::get(tx, viewer, id).await?.team_id),
        AttachedTo::Record => {
            let record = records::get(tx, viewer, id).await?;
            Some(projects::get(tx, viewer, record.project_id).await?.team_id)
        }
        // Ideas belong to the whole workspace.
        AttachedTo::Idea => {
            ideas::get(tx, id).await?;
            None
        }
    };
    match team {
        Some(team) => projects::ensure_team_editable(tx, viewer, team).await,
        None => Ok(()),
    }
}

pub struct NewAttachment<'a> {
    pub id: Uuid,
    pub to: AttachedTo,
    pub entity_id: Uuid,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: [u8; 32],
    pub object_key: &'a str,
    pub uploaded_by: Uuid,
}

pub async fn insert(tx: &mut TenantTx, a: NewAttachment<'_>) -> Result<Attachment, WorkError> {
    let sql = format!(
        "INSERT INTO attachments (id, entity_type, entity_id, filename, content_type, size_bytes,
                                  sha256, object_key, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLS}"
    );
    Ok(db::query_as(&sql)
        .bind(a.id)
        .bind(a.to.as_str())
        .bind(a.entity_id)
        .bind(a.filename)
        .bind(a.content_type)
        .bind(a.size_bytes)
        .bind(&a.sha256[..])
        .bind(a.object_key)
        .bind(a.uploaded_by)
        .fetch_one(tx.conn())
        .await?)
}

fn parse_to(s: &str) -> AttachedTo {
    match s {
        "project" => AttachedTo::Project,
        "record" => AttachedTo::Record,
        _ => AttachedTo::Idea,
    }
}

/// One attachment, if the viewer may read its owning entity (checked on every call).
pub async fn get(tx: &mut TenantTx, viewer: Viewer, id: Uuid) -> Result<Attachment, WorkError> {
    let sql = format!("SELECT {COLS} FROM attachments WHERE id = $1");
    let a: Attachment = db::query_as(&sql)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(WorkError::NotFound)?;
    ensure_readable(tx, viewer, parse_to(&a.entity_type), a.entity_id).await?;
    Ok(a)
}

/// Attachments of one readable entity, oldest first.
pub async fn list(
    tx: &mut TenantTx,
    viewer: Viewer,
    to: AttachedTo,
    id: Uuid,
) -> Result<Vec<Attachment>, WorkError> {
    ensure_readable(tx, viewer, to, id).await?;
    let sql = format!(
        "SELECT {COLS} FROM attachments WHERE entity_type = $1 AND entity_id = $2 ORDER BY created_at, id"
    );
    Ok(db::query_as(&sql)
        .bind(to.as_str())
        .bind(id)
        .fetch_all(tx.conn())
        .await?)
}
