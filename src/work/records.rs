use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::history::{EntityType, Versioned, record_change};
use super::projects::ensure_team_editable;
use super::{Page, PageArgs, VISIBLE_TEAM, WorkError, check_text, map_constraint};
use crate::authz::Viewer;
use crate::db;
use crate::tenancy::TenantTx;

#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum RecordStatus {
    Open,
    InProgress,
    Done,
}

impl RecordStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::InProgress => "in_progress",
            Self::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "in_progress" => Self::InProgress,
            "done" => Self::Done,
            _ => Self::Open,
        }
    }
}

#[derive(Debug, Clone, db::FromRow, serde::Serialize, serde::Deserialize)]
pub struct Record {
    pub id: Uuid,
    pub project_id: Uuid,
    pub title: String,
    pub body: String,
    pub status: String,
    pub assignee_id: Option<Uuid>,
    pub fields: serde_json::Value,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLS: &str = "r.id, r.project_id, r.title, r.body, r.status, r.assignee_id, r.fields, \
                    r.archived_at, r.created_at, r.updated_at";
/// Largest custom-fields document accepted, in bytes of JSON.
const MAX_FIELDS_BYTES: usize = 16 * 1024;

/// Records of one visible project, newest first.
pub async fn list_for_project(
    tx: &mut TenantTx,
    viewer: Viewer,
    project_id: Uuid,
    page: PageArgs,
) -> Result<Page<Record>, WorkError> {
    let sql = format!(
        "SELECT {COLS} FROM records r
         JOIN projects p ON p.id = r.project_id JOIN teams tm ON tm.id = p.team_id
         WHERE r.project_id = $5 AND {VISIBLE_TEAM} AND r.archived_at IS NULL
           AND ($3::uuid IS NULL OR r.id < $3)
         ORDER BY r.id DESC LIMIT $4"
    );
    let rows = db::query_as(&sql)
        .bind(viewer.user_id)
        .bind(viewer.sees_all_teams)
        .bind(page.after)
        .bind(page.limit())
        .bind(project_id)
        .fetch_all(tx.conn())
        .await?;
    Ok(Page::from_rows(rows, &page))
}

/// The newest `limit` records of each project, in one statement (the batch behind the
/// nested `Project.records` field: 50 projects cost one query, not 50).
pub async fn latest_for_projects(
    tx: &mut TenantTx,
    viewer: Viewer,
    project_ids: &[Uuid],
    limit: i64,
) -> Result<HashMap<Uuid, Vec<Record>>, WorkError> {
    let sql = format!(
        "SELECT {COLS} FROM unnest($3::uuid[]) AS want(id)
         JOIN projects p ON p.id = want.id JOIN teams tm ON tm.id = p.team_id
         CROSS JOIN LATERAL (
             SELECT {COLS} FROM records r
             WHERE r.project_id = want.id AND r.archived_at IS NULL
             ORDER BY r.id DESC LIMIT $4) r
         WHERE {VISIBLE_TEAM}
         ORDER BY r.project_id, r.id DESC"
    );
    let rows: Vec<Record> = db::query_as(&sql)
        .bind(viewer.user_id)
        .bind(viewer.sees_all_teams)
        .bind(project_ids)
        .bind(limit)
        .fetch_all(tx.conn())
        .await?;
    let mut out: HashMap<Uuid, Vec<Record>> = HashMap::new();
    for r in rows {
        out.entry(r.project_id).or_default().push(r);
    }
    Ok(out)
}

pub async fn get(tx: &mut TenantTx, viewer: Viewer, id: Uuid) -> Result<Record, WorkError> {
    let sql = format!(
        "SELECT {COLS} FROM records r
         JOIN projects p ON p.id = r.project_id JOIN teams tm ON tm.id = p.team_id
         WHERE r.id = $3 AND {VISIBLE_TEAM}"
    );
    db::query_as(&sql)
        .bind(viewer.user_id)
        .bind(viewer.sees_all_teams)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(WorkError::NotFound)
}

fn check_fields(fields: &serde_json::Value) -> Result<(), WorkError> {
    if !fields.is_object() {
        return Err(WorkError::Invalid("fields must be a JSON object".into()));
    }
    if serde_json::to_vec(fields).map_or(usize::MAX, |v| v.len()) > MAX_FIELDS_BYTES {
        return Err(WorkError::Invalid(format!(
            "fields must be at most {MAX_FIELDS_BYTES} bytes"
        )));
    }
    Ok(())
}

/// The assignee must be a member of this workspace (RLS limits `memberships` to it).
async fn check_assignee(tx: &mut TenantTx, assignee: Option<Uuid>) -> Result<(), WorkError> {
    let Some(user) = assignee else { return Ok(()) };
    let tenant_id = tx.tenant_id();
    let member: bool = db::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM public.memberships WHERE tenant_id = $1 AND user_id = $2)",
    )
    .bind(tenant_id)
    .bind(user)
    .fetch_one(tx.conn())
    .await?;
    if member {
        Ok(())
    } else {
        Err(WorkError::Invalid(
            "the assignee is not a member of this workspace".into(),
        ))
    }
}

async fn project_team(
    tx: &mut TenantTx,
    viewer: Viewer,
    project_id: Uuid,
) -> Result<Uuid, WorkError> {
    Ok(super::projects::get(tx, viewer, project_id).await?.team_id)
}

pub struct NewRecord<'a> {
    pub project_id: Uuid,
    pub title: &'a str,
    pub body: &'a str,
    pub status: RecordStatus,
    pub assignee_id: Option<Uuid>,
    pub fields: serde_json::Value,
}

pub async fn create(
    tx: &mut TenantTx,
    viewer: Viewer,
    input: NewRecord<'_>,
) -> Result<Record, WorkError> {
    check_text("title", input.title, 500, false)?;
    check_text("body", input.body, 100_000, true)?;
    check_fields(&input.fields)?;
    let team = project_team(tx, viewer, input.project_id).await?;
    ensure_team_editable(tx, viewer, team).await?;
    check_assignee(tx, input.assignee_id).await?;
    let sql = format!(
        "INSERT INTO records AS r (id, project_id, title, body, status, assignee_id, fields)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLS}"
    );
    let record: Record = db::query_as(&sql)
        .bind(Uuid::now_v7())
        .bind(input.project_id)
        .bind(input.title.trim())
        .bind(input.body)
        .bind(input.status.as_str())
        .bind(input.assignee_id)
        .bind(&input.fields)
        .fetch_one(tx.conn())
        .await
        .map_err(map_constraint)?;
    record_change(
        tx,
        EntityType::Record,
        record.id,
        None,
        &record,
        viewer.user_id,
        None,
    )
    .await?;
    Ok(record)
}

#[derive(Default)]
pub struct RecordChanges<'a> {
    pub title: Option<&'a str>,
    pub body: Option<&'a str>,
    pub status: Option<RecordStatus>,
    pub assignee_id: Option<Uuid>,
    pub fields: Option<serde_json::Value>,
}

/// Writes a record's editable fields after the edit checks, recording the change.
async fn write(
    tx: &mut TenantTx,
    viewer: Viewer,
    before: &Record,
    after: &Record,
    restored_from: Option<i32>,
) -> Result<Record, WorkError> {
    let team = project_team(tx, viewer, before.project_id).await?;
    ensure_team_editable(tx, viewer, team).await?;
    if after.assignee_id != before.assignee_id {
        check_assignee(tx, after.assignee_id).await?;
    }
    check_fields(&after.fields)?;
    let sql = format!(
        "UPDATE records AS r SET title = $2, body = $3, status = $4, assignee_id = $5, fields = $6,
                archived_at = $7, updated_at = now()
         WHERE r.id = $1 RETURNING {COLS}"
    );
    let record: Record = db::query_as(&sql)
        .bind(before.id)
        .bind(&after.title)
        .bind(&after.body)
        .bind(&after.status)
        .bind(after.assignee_id)
        .bind(&after.fields)
        .bind(after.archived_at)
        .fetch_optional(tx.conn())
        .await
        .map_err(map_constraint)?
        .ok_or(WorkError::NotFound)?;
    record_change(
        tx,
        EntityType::Record,
        record.id,
        Some(before),
        &record,
        viewer.user_id,
        restored_from,
    )
    .await?;
    Ok(record)
}

pub async fn update(
    tx: &mut TenantTx,
    viewer: Viewer,
    id: Uuid,
    c: RecordChanges<'_>,
) -> Result<Record, WorkError> {
    if let Some(t) = c.title {
        check_text("title", t, 500, false)?;
    }
    if let Some(b) = c.body {
        check_text("body", b, 100_000, true)?;
    }
    if let Some(f) = &c.fields {
        check_fields(f)?;
    }
    let before = get(tx, viewer, id).await?;
    let mut after = before.clone();
    if let Some(t) = c.title {
        after.title = t.trim().to_owned();
    }
    if let Some(b) = c.body {
        after.body = b.to_owned();
    }
    if let Some(st) = c.status {
        after.status = st.as_str().to_owned();
    }
    if let Some(a) = c.assignee_id {
        after.assignee_id = Some(a);
    }
    if let Some(f) = c.fields {
        after.fields = f;
    }
    write(tx, viewer, &before, &after, None).await
}

pub async fn archive(tx: &mut TenantTx, viewer: Viewer, id: Uuid) -> Result<Record, WorkError> {
    let before = get(tx, viewer, id).await?;
    let mut after = before.clone();
    after.archived_at = after
        .archived_at
        .or_else(|| Some(crate::Clock::now(&crate::SystemClock)));
    write(tx, viewer, &before, &after, None).await
}

/// Records keep field-level history: `restoreVersion` brings back a snapshot through this.
pub struct Records;

#[async_trait::async_trait]
impl Versioned for Records {
    const ENTITY: EntityType = EntityType::Record;
    type Snapshot = Record;

    async fn ensure_visible(tx: &mut TenantTx, viewer: Viewer, id: Uuid) -> Result<(), WorkError> {
        get(tx, viewer, id).await.map(drop)
    }

    async fn restore(
        tx: &mut TenantTx,
        viewer: Viewer,
        id: Uuid,
        snapshot: Record,
        version: i32,
    ) -> Result<(), WorkError> {
        let before = get(tx, viewer, id).await?;
        let after = Record {
            project_id: before.project_id,
            ..snapshot
        };
        write(tx, viewer, &before, &after, Some(version))
            .await
            .map(drop)
    }
}
