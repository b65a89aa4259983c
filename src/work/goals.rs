//! Goals are workspace-wide: every member reads them; `work:write` creates and edits.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::history::{EntityType, Versioned, record_change};
use super::{Page, PageArgs, WorkError, check_text, map_constraint};
use crate::authz::Viewer;
use crate::db;
use crate::tenancy::TenantTx;

#[derive(Debug, Clone, db::FromRow, serde::Serialize, serde::Deserialize)]
pub struct Goal {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const COLS: &str = "g.id, g.title, g.description, g.archived_at, g.created_at";

pub async fn list(tx: &mut TenantTx, page: PageArgs) -> Result<Page<Goal>, WorkError> {
    let sql = format!(
        "SELECT {COLS} FROM goals g WHERE g.archived_at IS NULL AND ($1::uuid IS NULL OR g.id > $1)
         ORDER BY g.id LIMIT $2"
    );
    let rows = db::query_as(&sql)
        .bind(page.after)
        .bind(page.limit())
        .fetch_all(tx.conn())
        .await?;
    Ok(Page::from_rows(rows, &page))
}

pub async fn get(tx: &mut TenantTx, id: Uuid) -> Result<Goal, WorkError> {
    let sql = format!("SELECT {COLS} FROM goals g WHERE g.id = $1");
    db::query_as(&sql)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(WorkError::NotFound)
}

/// Goals among `ids` (for batch loading).
pub async fn by_ids(tx: &mut TenantTx, ids: &[Uuid]) -> Result<Vec<Goal>, WorkError> {
    let sql = format!("SELECT {COLS} FROM goals g WHERE g.id = ANY($1)");
    Ok(db::query_as(&sql).bind(ids).fetch_all(tx.conn()).await?)
}

pub async fn create(
    tx: &mut TenantTx,
    viewer: Viewer,
    title: &str,
    description: &str,
) -> Result<Goal, WorkError> {
    check_text("title", title, 200, false)?;
    check_text("description", description, 20_000, true)?;
    let sql = format!(
        "INSERT INTO goals AS g (id, title, description) VALUES ($1, $2, $3) RETURNING {COLS}"
    );
    let goal: Goal = db::query_as(&sql)
        .bind(Uuid::now_v7())
        .bind(title.trim())
        .bind(description)
        .fetch_one(tx.conn())
        .await
        .map_err(map_constraint)?;
    record_change(
        tx,
        EntityType::Goal,
        goal.id,
        None,
        &goal,
        viewer.user_id,
        None,
    )
    .await?;
    Ok(goal)
}

/// Writes a goal's editable fields, recording the change.
async fn write(
    tx: &mut TenantTx,
    viewer: Viewer,
    before: &Goal,
    after: &Goal,
    restored_from: Option<i32>,
) -> Result<Goal, WorkError> {
    let sql = format!(
        "UPDATE goals AS g SET title = $2, description = $3, archived_at = $4, updated_at = now()
         WHERE g.id = $1 RETURNING {COLS}"
    );
    let goal: Goal = db::query_as(&sql)
        .bind(before.id)
        .bind(&after.title)
        .bind(&after.description)
        .bind(after.archived_at)
        .fetch_optional(tx.conn())
        .await
        .map_err(map_constraint)?
        .ok_or(WorkError::NotFound)?;
    record_change(
        tx,
        EntityType::Goal,
        goal.id,
        Some(before),
        &goal,
        viewer.user_id,
        restored_from,
    )
    .await?;
    Ok(goal)
}

pub async fn update(
    tx: &mut TenantTx,
    viewer: Viewer,
    id: Uuid,
    title: Option<&str>,
    description: Option<&str>,
) -> Result<Goal, WorkError> {
    if let Some(t) = title {
        check_text("title", t, 200, false)?;
    }
    if let Some(d) = description {
        check_text("description", d, 20_000, true)?;
    }
    let before = get(tx, id).await?;
    let mut after = before.clone();
    if let Some(t) = title {
        after.title = t.trim().to_owned();
    }
    if let Some(d) = description {
        after.description = d.to_owned();
    }
    write(tx, viewer, &before, &after, None).await
}

pub async fn archive(tx: &mut TenantTx, viewer: Viewer, id: Uuid) -> Result<Goal, WorkError> {
    let before = get(tx, id).await?;
    let mut after = before.clone();
    after.archived_at = after
        .archived_at
        .or_else(|| Some(crate::Clock::now(&crate::SystemClock)));
    write(tx, viewer, &before, &after, None).await
}

/// Goals keep field-level history: `restoreVersion` brings back a snapshot through this.
pub struct Goals;

#[async_trait::async_trait]
impl Versioned for Goals {
    const ENTITY: EntityType = EntityType::Goal;
    type Snapshot = Goal;

    async fn ensure_visible(tx: &mut TenantTx, _viewer: Viewer, id: Uuid) -> Result<(), WorkError> {
        get(tx, id).await.map(drop)
    }

    async fn restore(
        tx: &mut TenantTx,
        viewer: Viewer,
        id: Uuid,
        snapshot: Goal,
        version: i32,
    ) -> Result<(), WorkError> {
        let before = get(tx, id).await?;
        write(tx, viewer, &before, &snapshot, Some(version))
            .await
            .map(drop)
    }
}
