//! Ideas are workspace-wide; promoting one creates a project in a team the caller may edit.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::history::{EntityType, Versioned, record_change};
use super::projects::{self, NewProject, Project};
use super::{Page, PageArgs, WorkError, check_text, map_constraint};
use crate::authz::Viewer;
use crate::db;
use crate::tenancy::TenantTx;

#[derive(Debug, Clone, db::FromRow, serde::Serialize, serde::Deserialize)]
pub struct Idea {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub promoted_project_id: Option<Uuid>,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const COLS: &str = "i.id, i.title, i.body, i.promoted_project_id, i.archived_at, i.created_at";

pub async fn list(tx: &mut TenantTx, page: PageArgs) -> Result<Page<Idea>, WorkError> {
    let sql = format!(
        "SELECT {COLS} FROM ideas i WHERE i.archived_at IS NULL AND ($1::uuid IS NULL OR i.id > $1)
         ORDER BY i.id LIMIT $2"
    );
    let rows = db::query_as(&sql)
        .bind(page.after)
        .bind(page.limit())
        .fetch_all(tx.conn())
        .await?;
    Ok(Page::from_rows(rows, &page))
}

pub async fn get(tx: &mut TenantTx, id: Uuid) -> Result<Idea, WorkError> {
    let sql = format!("SELECT {COLS} FROM ideas i WHERE i.id = $1");
    db::query_as(&sql)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(WorkError::NotFound)
}

pub async fn create(
    tx: &mut TenantTx,
    viewer: Viewer,
    title: &str,
    body: &str,
) -> Result<Idea, WorkError> {
    check_text("title", title, 200, false)?;
    check_text("body", body, 20_000, true)?;
    let sql =
        format!("INSERT INTO ideas AS i (id, title, body) VALUES ($1, $2, $3) RETURNING {COLS}");
    let idea: Idea = db::query_as(&sql)
        .bind(Uuid::now_v7())
        .bind(title.trim())
        .bind(body)
        .fetch_one(tx.conn())
        .await
        .map_err(map_constraint)?;
    record_change(
        tx,
        EntityType::Idea,
        idea.id,
        None,
        &idea,
        viewer.user_id,
        None,
    )
    .await?;
    Ok(idea)
}

/// Writes an idea's editable fields, recording the change.
async fn write(
    tx: &mut TenantTx,
    viewer: Viewer,
    before: &Idea,
    after: &Idea,
    restored_from: Option<i32>,
) -> Result<Idea, WorkError> {
    let sql = format!(
        "UPDATE ideas AS i SET title = $2, body = $3, archived_at = $4, promoted_project_id = $5, updated_at = now()
         WHERE i.id = $1 RETURNING {COLS}"
    );
    let idea: Idea = db::query_as(&sql)
        .bind(before.id)
        .bind(&after.title)
        .bind(&after.body)
        .bind(after.archived_at)
        .bind(after.promoted_project_id)
        .fetch_optional(tx.conn())
        .await
        .map_err(map_constraint)?
        .ok_or(WorkError::NotFound)?;
    record_change(
        tx,
        EntityType::Idea,
        idea.id,
        Some(before),
        &idea,
        viewer.user_id,
        restored_from,
    )
    .await?;
    Ok(idea)
}

pub async fn update(
    tx: &mut TenantTx,
    viewer: Viewer,
    id: Uuid,
    title: Option<&str>,
    body: Option<&str>,
) -> Result<Idea, WorkError> {
    if let Some(t) = title {
        check_text("title", t, 200, false)?;
    }
    if let Some(b) = body {
        check_text("body", b, 20_000, true)?;
    }
    let before = get(tx, id).await?;
    let mut after = before.clone();
    if let Some(t) = title {
        after.title = t.trim().to_owned();
    }
    if let Some(b) = body {
        after.body = b.to_owned();
    }
    write(tx, viewer, &before, &after, None).await
}

pub async fn archive(tx: &mut TenantTx, viewer: Viewer, id: Uuid) -> Result<Idea, WorkError> {
    let before = get(tx, id).await?;
    let mut after = before.clone();
    after.archived_at = after
        .archived_at
        .or_else(|| Some(crate::Clock::now(&crate::SystemClock)));
    write(tx, viewer, &before, &after, None).await
}

/// Ideas keep field-level history: `restoreVersion` brings back a snapshot through this.
pub struct Ideas;

#[async_trait::async_trait]
impl Versioned for Ideas {
    const ENTITY: EntityType = EntityType::Idea;
    type Snapshot = Idea;

    async fn ensure_visible(tx: &mut TenantTx, _viewer: Viewer, id: Uuid) -> Result<(), WorkError> {
        get(tx, id).await.map(drop)
    }

    async fn restore(
        tx: &mut TenantTx,
        viewer: Viewer,
        id: Uuid,
        snapshot: Idea,
        version: i32,
    ) -> Result<(), WorkError> {
        let before = get(tx, id).await?;
        let after = Idea {
            promoted_project_id: before.promoted_project_id,
            ..snapshot
        };
        write(tx, viewer, &before, &after, Some(version))
            .await
            .map(drop)
    }
}

/// Creates a project from the idea and links them. An idea is promoted at most once.
pub async fn promote(
    tx: &mut TenantTx,
    viewer: Viewer,
    id: Uuid,
    team_id: Uuid,
) -> Result<(Idea, Project), WorkError> {
    let before: Idea = {
        let sql = format!("SELECT {COLS} FROM ideas i WHERE i.id = $1 FOR UPDATE");
        db::query_as(&sql)
            .bind(id)
            .fetch_optional(tx.conn())
            .await?
            .ok_or(WorkError::NotFound)?
    };
    if before.promoted_project_id.is_some() {
        return Err(WorkError::Conflict("this idea was already promoted".into()));
    }
    let project = projects::create(
        tx,
        viewer,
        NewProject {
            team_id,
            goal_id: None,
            name: &before.title,
            description: &before.body,
        },
    )
    .await?;
    let after = Idea {
        promoted_project_id: Some(project.id),
        ..before.clone()
    };
    let idea = write(tx, viewer, &before, &after, None).await?;
    Ok((idea, project))
}
