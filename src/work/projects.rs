use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{EDITABLE_TEAM, Page, PageArgs, VISIBLE_TEAM, WorkError, check_text, map_constraint};
use crate::authz::Viewer;
use crate::tenancy::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Project {
    pub id: Uuid,
    pub team_id: Uuid,
    pub goal_id: Option<Uuid>,
    pub name: String,
    pub description: String,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLS: &str =
    "p.id, p.team_id, p.goal_id, p.name, p.description, p.archived_at, p.created_at, p.updated_at";

/// Filters for the project list.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProjectFilter {
    pub team_id: Option<Uuid>,
    pub goal_id: Option<Uuid>,
    pub include_archived: bool,
}

pub async fn list(
    tx: &mut TenantTx,
    viewer: Viewer,
    filter: ProjectFilter,
    page: PageArgs,
) -> Result<Page<Project>, WorkError> {
    let sql = format!(
        "SELECT {COLS} FROM projects p JOIN teams tm ON tm.id = p.team_id
         WHERE {VISIBLE_TEAM}
           AND ($3::uuid IS NULL OR p.id > $3)
           AND ($5::uuid IS NULL OR p.team_id = $5)
           AND ($6::uuid IS NULL OR p.goal_id = $6)
           AND ($7 OR p.archived_at IS NULL)
         ORDER BY p.id LIMIT $4"
    );
    let rows = sqlx::query_as(&sql)
        .bind(viewer.user_id)
        .bind(viewer.sees_all_teams)
        .bind(page.after)
        .bind(page.limit())
        .bind(filter.team_id)
        .bind(filter.goal_id)
        .bind(filter.include_archived)
        .fetch_all(tx.conn())
        .await?;
    Ok(Page::from_rows(rows, &page))
}

pub async fn get(tx: &mut TenantTx, viewer: Viewer, id: Uuid) -> Result<Project, WorkError> {
    let sql = format!(
        "SELECT {COLS} FROM projects p JOIN teams tm ON tm.id = p.team_id
         WHERE p.id = $3 AND {VISIBLE_TEAM}"
    );
    sqlx::query_as(&sql)
        .bind(viewer.user_id)
        .bind(viewer.sees_all_teams)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(WorkError::NotFound)
}

/// Checks that the viewer may edit entities of `team_id`: not found when the team is not
/// visible at all, forbidden when it is visible but not editable.
pub(crate) async fn ensure_team_editable(
    tx: &mut TenantTx,
    viewer: Viewer,
    team_id: Uuid,
) -> Result<(), WorkError> {
    let sql = format!(
        "SELECT {EDITABLE_TEAM} FROM teams tm WHERE tm.id = $3 AND tm.archived_at IS NULL AND {VISIBLE_TEAM}"
    );
    let editable: Option<bool> = sqlx::query_scalar(&sql)
        .bind(viewer.user_id)
        .bind(viewer.sees_all_teams)
        .bind(team_id)
        .fetch_optional(tx.conn())
        .await?;
    match editable {
        None => Err(WorkError::NotFound),
        Some(false) => Err(WorkError::Forbidden(
            "only members of this team may change its work".into(),
        )),
        Some(true) => Ok(()),
    }
}

pub struct NewProject<'a> {
    pub team_id: Uuid,
    pub goal_id: Option<Uuid>,
    pub name: &'a str,
    pub description: &'a str,
}

pub async fn create(
    tx: &mut TenantTx,
    viewer: Viewer,
    input: NewProject<'_>,
) -> Result<Project, WorkError> {
    check_text("name", input.name, 200, false)?;
    check_text("description", input.description, 20_000, true)?;
    ensure_team_editable(tx, viewer, input.team_id).await?;
    let sql = format!(
        "INSERT INTO projects AS p (id, team_id, goal_id, name, description)
         VALUES ($1, $2, $3, $4, $5) RETURNING {COLS}"
    );
    sqlx::query_as(&sql)
        .bind(Uuid::now_v7())
        .bind(input.team_id)
        .bind(input.goal_id)
        .bind(input.name.trim())
        .bind(input.description)
        .fetch_one(tx.conn())
        .await
        .map_err(map_constraint)
}

#[derive(Default)]
pub struct ProjectChanges<'a> {
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub team_id: Option<Uuid>,
    pub goal_id: Option<Uuid>,
}

pub async fn update(
    tx: &mut TenantTx,
    viewer: Viewer,
    id: Uuid,
    changes: ProjectChanges<'_>,
) -> Result<Project, WorkError> {
    if let Some(n) = changes.name {
        check_text("name", n, 200, false)?;
    }
    if let Some(d) = changes.description {
        check_text("description", d, 20_000, true)?;
    }
    let current = get(tx, viewer, id).await?;
    ensure_team_editable(tx, viewer, current.team_id).await?;
    if let Some(team) = changes.team_id.filter(|t| *t != current.team_id) {
        ensure_team_editable(tx, viewer, team).await?;
    }
    let sql = format!(
        "UPDATE projects AS p SET name = coalesce($2, p.name), description = coalesce($3, p.description),
                team_id = coalesce($4, p.team_id), goal_id = coalesce($5, p.goal_id), updated_at = now()
         WHERE p.id = $1 RETURNING {COLS}"
    );
    sqlx::query_as(&sql)
        .bind(id)
        .bind(changes.name.map(str::trim))
        .bind(changes.description)
        .bind(changes.team_id)
        .bind(changes.goal_id)
        .fetch_optional(tx.conn())
        .await
        .map_err(map_constraint)?
        .ok_or(WorkError::NotFound)
}

pub async fn archive(tx: &mut TenantTx, viewer: Viewer, id: Uuid) -> Result<Project, WorkError> {
    let current = get(tx, viewer, id).await?;
    ensure_team_editable(tx, viewer, current.team_id).await?;
    let sql = format!(
        "UPDATE projects AS p SET archived_at = coalesce(p.archived_at, now()), updated_at = now()
         WHERE p.id = $1 RETURNING {COLS}"
    );
    sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(WorkError::NotFound)
}
