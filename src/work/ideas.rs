//! Ideas are workspace-wide; promoting one creates a project in a team the caller may edit.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::projects::{self, NewProject, Project};
use super::{Page, PageArgs, WorkError, check_text, map_constraint};
use crate::authz::Viewer;
use crate::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
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
    let rows = sqlx::query_as(&sql)
        .bind(page.after)
        .bind(page.limit())
        .fetch_all(tx.conn())
        .await?;
    Ok(Page::from_rows(rows, &page))
}

pub async fn get(tx: &mut TenantTx, id: Uuid) -> Result<Idea, WorkError> {
    let sql = format!("SELECT {COLS} FROM ideas i WHERE i.id = $1");
    sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(WorkError::NotFound)
}

pub async fn create(tx: &mut TenantTx, title: &str, body: &str) -> Result<Idea, WorkError> {
    check_text("title", title, 200, false)?;
    check_text("body", body, 20_000, true)?;
    let sql =
        format!("INSERT INTO ideas AS i (id, title, body) VALUES ($1, $2, $3) RETURNING {COLS}");
    sqlx::query_as(&sql)
        .bind(Uuid::now_v7())
        .bind(title.trim())
        .bind(body)
        .fetch_one(tx.conn())
        .await
        .map_err(map_constraint)
}

pub async fn update(
    tx: &mut TenantTx,
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
    let sql = format!(
        "UPDATE ideas AS i SET title = coalesce($2, i.title), body = coalesce($3, i.body), updated_at = now()
         WHERE i.id = $1 RETURNING {COLS}"
    );
    sqlx::query_as(&sql)
        .bind(id)
        .bind(title.map(str::trim))
        .bind(body)
        .fetch_optional(tx.conn())
        .await
        .map_err(map_constraint)?
        .ok_or(WorkError::NotFound)
}

pub async fn archive(tx: &mut TenantTx, id: Uuid) -> Result<Idea, WorkError> {
    let sql = format!(
        "UPDATE ideas AS i SET archived_at = coalesce(i.archived_at, now()), updated_at = now()
         WHERE i.id = $1 RETURNING {COLS}"
    );
    sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(WorkError::NotFound)
}

/// Creates a project from the idea and links them. An idea is promoted at most once.
pub async fn promote(
    tx: &mut TenantTx,
    viewer: Viewer,
    id: Uuid,
    team_id: Uuid,
) -> Result<(Idea, Project), WorkError> {
    let idea: Idea = {
        let sql = format!("SELECT {COLS} FROM ideas i WHERE i.id = $1 FOR UPDATE");
        sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(tx.conn())
            .await?
            .ok_or(WorkError::NotFound)?
    };
    if idea.promoted_project_id.is_some() {
        return Err(WorkError::Conflict("this idea was already promoted".into()));
    }
    let project = projects::create(
        tx,
        viewer,
        NewProject {
            team_id,
            goal_id: None,
            name: &idea.title,
            description: &idea.body,
        },
    )
    .await?;
    let sql = format!(
        "UPDATE ideas AS i SET promoted_project_id = $2, updated_at = now() WHERE i.id = $1 RETURNING {COLS}"
    );
    let idea = sqlx::query_as(&sql)
        .bind(id)
        .bind(project.id)
        .fetch_one(tx.conn())
        .await?;
    Ok((idea, project))
}
