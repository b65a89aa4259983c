use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::history::{EntityType, Versioned, record_change};
use super::{EDITABLE_TEAM, Page, PageArgs, VISIBLE_TEAM, WorkError, check_text, map_constraint};
use crate::authz::Viewer;
use crate::db;
use crate::tenancy::TenantTx;

#[derive(Debug, Clone, db::FromRow, serde::Serialize, serde::Deserialize)]
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
    let rows = db::query_as(&sql)
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
    db::query_as(&sql)
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
    let editable: Option<bool> = db::query_scalar(&sql)
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
    let project: Project = db::query_as(&sql)
        .bind(Uuid::now_v7())
        .bind(input.team_id)
        .bind(input.goal_id)
        .bind(input.name.trim())
        .bind(input.description)
        .fetch_one(tx.conn())
        .await
        .map_err(map_constraint)?;
    record_change(
        tx,
        EntityType::Project,
        project.id,
        None,
        &project,
        viewer.user_id,
        None,
    )
    .await?;
    Ok(project)
}

#[derive(Default)]
pub struct ProjectChanges<'a> {
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub team_id: Option<Uuid>,
    pub goal_id: Option<Uuid>,
}

/// Writes a project's editable fields after the edit checks (current team, and the new
/// team when it moves), recording the change.
async fn write(
    tx: &mut TenantTx,
    viewer: Viewer,
    before: &Project,
    after: &Project,
    restored_from: Option<i32>,
) -> Result<Project, WorkError> {
    ensure_team_editable(tx, viewer, before.team_id).await?;
    if after.team_id != before.team_id {
        ensure_team_editable(tx, viewer, after.team_id).await?;
    }
    let sql = format!(
        "UPDATE projects AS p SET name = $2, description = $3, team_id = $4, goal_id = $5,
                archived_at = $6, updated_at = now()
         WHERE p.id = $1 RETURNING {COLS}"
    );
    let project: Project = db::query_as(&sql)
        .bind(before.id)
        .bind(&after.name)
        .bind(&after.description)
        .bind(after.team_id)
        .bind(after.goal_id)
        .bind(after.archived_at)
        .fetch_optional(tx.conn())
        .await
        .map_err(map_constraint)?
        .ok_or(WorkError::NotFound)?;
    record_change(
        tx,
        EntityType::Project,
        project.id,
        Some(before),
        &project,
        viewer.user_id,
        restored_from,
    )
    .await?;
    Ok(project)
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
    let before = get(tx, viewer, id).await?;
    let mut after = before.clone();
    if let Some(n) = changes.name {
        after.name = n.trim().to_owned();
    }
    if let Some(d) = changes.description {
        after.description = d.to_owned();
    }
    if let Some(t) = changes.team_id {
        after.team_id = t;
    }
    if let Some(g) = changes.goal_id {
        after.goal_id = Some(g);
    }
    write(tx, viewer, &before, &after, None).await
}

pub async fn archive(tx: &mut TenantTx, viewer: Viewer, id: Uuid) -> Result<Project, WorkError> {
    let before = get(tx, viewer, id).await?;
    let mut after = before.clone();
    after.archived_at = after
        .archived_at
        .or_else(|| Some(crate::Clock::now(&crate::SystemClock)));
    write(tx, viewer, &before, &after, None).await
}

/// Projects keep field-level history: `restoreVersion` brings back a snapshot through this.
pub struct Projects;

#[async_trait::async_trait]
impl Versioned for Projects {
    const ENTITY: EntityType = EntityType::Project;
    type Snapshot = Project;

    async fn ensure_visible(tx: &mut TenantTx, viewer: Viewer, id: Uuid) -> Result<(), WorkError> {
        get(tx, viewer, id).await.map(drop)
    }

    async fn restore(
        tx: &mut TenantTx,
        viewer: Viewer,
        id: Uuid,
        snapshot: Project,
        version: i32,
    ) -> Result<(), WorkError> {
        let before = get(tx, viewer, id).await?;
        write(tx, viewer, &before, &snapshot, Some(version))
            .await
            .map(drop)
    }
}
