use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::history::note_diff;
use super::{Page, PageArgs, VISIBLE_TEAM, WorkError, check_text, map_constraint};
use crate::authz::Viewer;
use crate::db;
use crate::tenancy::TenantTx;

#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum Visibility {
    /// Every member reads and edits.
    Open,
    /// Every member reads; team members edit.
    Limited,
    /// Only team members read and edit.
    Restricted,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Limited => "limited",
            Self::Restricted => "restricted",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "open" => Self::Open,
            "limited" => Self::Limited,
            // The database CHECK admits only the three values; fail towards least access.
            _ => Self::Restricted,
        }
    }
}

#[derive(Debug, Clone, db::FromRow, serde::Serialize)]
struct TeamRow {
    id: Uuid,
    name: String,
    visibility: String,
    archived_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub visibility: Visibility,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<TeamRow> for Team {
    fn from(r: TeamRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            visibility: Visibility::parse(&r.visibility),
            archived_at: r.archived_at,
            created_at: r.created_at,
        }
    }
}

const COLS: &str = "tm.id, tm.name, tm.visibility, tm.archived_at, tm.created_at";

pub async fn list(
    tx: &mut TenantTx,
    viewer: Viewer,
    page: PageArgs,
) -> Result<Page<Team>, WorkError> {
    let sql = format!(
        "SELECT {COLS} FROM teams tm
         WHERE {VISIBLE_TEAM} AND tm.archived_at IS NULL AND ($3::uuid IS NULL OR tm.id > $3)
         ORDER BY tm.id LIMIT $4"
    );
    let rows: Vec<TeamRow> = db::query_as(&sql)
        .bind(viewer.user_id)
        .bind(viewer.sees_all_teams)
        .bind(page.after)
        .bind(page.limit())
        .fetch_all(tx.conn())
        .await?;
    Ok(Page::from_rows(
        rows.into_iter().map(Team::from).collect(),
        &page,
    ))
}

pub async fn get(tx: &mut TenantTx, viewer: Viewer, id: Uuid) -> Result<Team, WorkError> {
    let sql = format!("SELECT {COLS} FROM teams tm WHERE tm.id = $3 AND {VISIBLE_TEAM}");
    let row: Option<TeamRow> = db::query_as(&sql)
        .bind(viewer.user_id)
        .bind(viewer.sees_all_teams)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    row.map(Team::from).ok_or(WorkError::NotFound)
}

pub async fn create(
    tx: &mut TenantTx,
    name: &str,
    visibility: Visibility,
) -> Result<Team, WorkError> {
    check_text("name", name, 200, false)?;
    let sql = format!(
        "INSERT INTO teams AS tm (id, name, visibility) VALUES ($1, $2, $3) RETURNING {COLS}"
    );
    let row: TeamRow = db::query_as(&sql)
        .bind(Uuid::now_v7())
        .bind(name.trim())
        .bind(visibility.as_str())
        .fetch_one(tx.conn())
        .await
        .map_err(map_constraint)?;
    Ok(row.into())
}

/// Updates name and/or visibility. Callers hold `teams:manage`.
pub async fn update(
    tx: &mut TenantTx,
    id: Uuid,
    name: Option<&str>,
    visibility: Option<Visibility>,
) -> Result<Team, WorkError> {
    if let Some(n) = name {
        check_text("name", n, 200, false)?;
    }
    let before = locked(tx, id).await?;
    let sql = format!(
        "UPDATE teams AS tm SET name = coalesce($2, tm.name), visibility = coalesce($3, tm.visibility),
                updated_at = now()
         WHERE tm.id = $1 RETURNING {COLS}"
    );
    let row: TeamRow = db::query_as(&sql)
        .bind(id)
        .bind(name.map(str::trim))
        .bind(visibility.map(Visibility::as_str))
        .fetch_optional(tx.conn())
        .await
        .map_err(map_constraint)?
        .ok_or(WorkError::NotFound)?;
    note_diff(tx, "team", id, &before, &row);
    Ok(row.into())
}

/// The team row, locked for the change (for its before values).
async fn locked(tx: &mut TenantTx, id: Uuid) -> Result<TeamRow, WorkError> {
    db::query_as(&format!(
        "SELECT {COLS} FROM teams tm WHERE tm.id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(WorkError::NotFound)
}

pub async fn archive(tx: &mut TenantTx, id: Uuid) -> Result<Team, WorkError> {
    let before = locked(tx, id).await?;
    let sql = format!(
        // `least` keeps an earlier archive time (it ignores NULL), like `coalesce(…, now())`,
        // which Citus refuses in an UPDATE (no volatile function in CASE or COALESCE).
        "UPDATE teams AS tm SET archived_at = least(tm.archived_at, now()), updated_at = now()
         WHERE tm.id = $1 RETURNING {COLS}"
    );
    let row: TeamRow = db::query_as(&sql)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(WorkError::NotFound)?;
    note_diff(tx, "team", id, &before, &row);
    Ok(row.into())
}

/// Adds a workspace member to a team. The membership check reads `public.memberships`,
/// which RLS limits to this workspace: a user of another workspace is "not a member".
pub async fn add_member(tx: &mut TenantTx, team_id: Uuid, user_id: Uuid) -> Result<(), WorkError> {
    let tenant_id = tx.tenant_id();
    let inserted = db::query(
        "INSERT INTO team_members (team_id, user_id)
         SELECT t.id, m.user_id FROM teams t, public.memberships m
         WHERE t.id = $1 AND m.user_id = $2 AND m.tenant_id = $3
         ON CONFLICT DO NOTHING",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(tenant_id)
    .execute(tx.conn())
    .await?;
    if inserted.rows_affected() == 0 {
        let exists: bool = db::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM team_members WHERE team_id = $1 AND user_id = $2)",
        )
        .bind(team_id)
        .bind(user_id)
        .fetch_one(tx.conn())
        .await?;
        if !exists {
            return Err(WorkError::NotFound);
        }
    } else {
        tx.note_change(serde_json::json!({
            "entity": "team", "id": team_id, "changes": { "members": { "added": user_id } }
        }));
    }
    Ok(())
}

pub async fn remove_member(
    tx: &mut TenantTx,
    team_id: Uuid,
    user_id: Uuid,
) -> Result<(), WorkError> {
    let removed = db::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
        .bind(team_id)
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    if removed.rows_affected() == 0 {
        return Err(WorkError::NotFound);
    }
    // Taken out in Tessera, they are out of the identity provider's group too, so the
    // provider sees who is in the team (and puts them back if it disagrees).
    db::query(
        "DELETE FROM scim_group_members m USING scim_users su
         WHERE m.team_id = $1 AND su.id = m.scim_user_id AND su.user_id = $2",
    )
    .bind(team_id)
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    tx.note_change(serde_json::json!({
        "entity": "team", "id": team_id, "changes": { "members": { "removed": user_id } }
    }));
    Ok(())
}

/// Member user ids of a visible team.
pub async fn member_ids(tx: &mut TenantTx, team_id: Uuid) -> Result<Vec<Uuid>, WorkError> {
    Ok(
        db::query_scalar("SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id")
            .bind(team_id)
            .fetch_all(tx.conn())
            .await?,
    )
}

/// Visible teams among `ids` (for batch loading).
pub async fn by_ids(
    tx: &mut TenantTx,
    viewer: Viewer,
    ids: &[Uuid],
) -> Result<Vec<Team>, WorkError> {
    let sql = format!("SELECT {COLS} FROM teams tm WHERE tm.id = ANY($3) AND {VISIBLE_TEAM}");
    let rows: Vec<TeamRow> = db::query_as(&sql)
        .bind(viewer.user_id)
        .bind(viewer.sees_all_teams)
        .bind(ids)
        .fetch_all(tx.conn())
        .await?;
    Ok(rows.into_iter().map(Team::from).collect())
}
