//! SCIM Groups: the workspace's live teams. A Group's id is its team's id, `displayName` the
//! team's name; what only the provider writes (`externalId`) and when it last wrote it live
//! in `scim_groups`. Members are the provider's word (`scim_group_members`): an active User
//! among them is a team member, an inactive one is not until reactivated (`users`); members
//! added in Tessera are not the provider's to see or remove. A team made by the provider is
//! restricted (only its members read it) until an owner opens it; deleting a Group archives
//! its team, which keeps its projects and history.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::ScimError;
use super::filter::Compiled;
use super::group::{GroupInput, GroupRow};
use super::store::Store;
use crate::db;
use crate::tenancy::TenantTx;
use crate::work::WorkError;
use crate::work::teams::{self, Visibility};

const COLS: &str = "tm.id, tm.name AS display_name, g.external_id,
        coalesce((SELECT array_agg(m.scim_user_id ORDER BY m.scim_user_id)
                  FROM scim_group_members m WHERE m.team_id = tm.id), '{}') AS members,
        tm.created_at, greatest(tm.updated_at, g.updated_at) AS updated_at";
/// Live teams, up to a condition.
const FROM: &str =
    "teams tm LEFT JOIN scim_groups g ON g.team_id = tm.id WHERE tm.archived_at IS NULL AND";

/// What a write changed, for its audit entry.
#[derive(Debug, Default)]
pub struct Outcome {
    pub row: Option<GroupRow>,
    /// Accounts the write added to or removed from the team.
    pub added: Vec<Uuid>,
    pub removed: Vec<Uuid>,
    /// Field-level changes the team functions recorded.
    pub changes: Vec<Value>,
}

fn work_error(e: WorkError) -> ScimError {
    crate::graphql::errors::ApiError::from(e).into()
}

/// Refuses a name another live team has (case-insensitively): the provider should link
/// that team (filter on `displayName`) rather than make a second one.
async fn unique_name(tx: &mut TenantTx, name: &str, except: Option<Uuid>) -> Result<(), ScimError> {
    let taken: Option<Uuid> = db::query_scalar(
        "SELECT id FROM teams WHERE archived_at IS NULL AND lower(name) = lower($1)
                AND id IS DISTINCT FROM $2 LIMIT 1",
    )
    .bind(name)
    .bind(except)
    .fetch_optional(tx.conn())
    .await?;
    match taken {
        Some(id) => Err(ScimError::uniqueness(format!(
            "a team named {name} exists already, as group {id}: link it instead of creating one"
        ))),
        None => Ok(()),
    }
}

/// Records what the provider wrote of the group.
async fn stamp(
    tx: &mut TenantTx,
    team: Uuid,
    external_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), ScimError> {
    db::query(
        "INSERT INTO scim_groups (team_id, external_id, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (team_id) DO UPDATE SET external_id = EXCLUDED.external_id,
                updated_at = greatest(scim_groups.updated_at, EXCLUDED.updated_at)",
    )
    .bind(team)
    .bind(external_id)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Makes the group's members exactly `wanted` (SCIM User ids) and the team follow: active
/// Users join it, those no longer wanted leave it. An id that is no User of this workspace
/// is an error. Members added in Tessera are untouched.
async fn set_members(
    tx: &mut TenantTx,
    team: Uuid,
    wanted: &[Uuid],
    out: &mut Outcome,
) -> Result<(), ScimError> {
    let found: Vec<Uuid> = db::query_scalar("SELECT id FROM scim_users WHERE id = ANY($1)")
        .bind(wanted)
        .fetch_all(tx.conn())
        .await?;
    if let Some(missing) = wanted.iter().find(|w| !found.contains(w)) {
        return Err(ScimError::bad(
            "invalidValue",
            format!("member {missing} is not a User of this workspace"),
        ));
    }
    // Those who leave: their accounts, if they are in the team.
    let leaving: Vec<Uuid> = db::query_scalar(
        "DELETE FROM scim_group_members m USING scim_users su
         WHERE m.team_id = $1 AND NOT (m.scim_user_id = ANY($2)) AND su.id = m.scim_user_id
         RETURNING su.user_id",
    )
    .bind(team)
    .bind(wanted)
    .fetch_all(tx.conn())
    .await?;
    for user in leaving {
        match teams::remove_member(tx, team, user).await {
            Ok(()) => out.removed.push(user),
            Err(WorkError::NotFound) => {}
            Err(e) => return Err(work_error(e)),
        }
    }
    let joining: Vec<(Uuid, bool)> = db::query_as(
        "WITH joined AS (
             INSERT INTO scim_group_members (team_id, scim_user_id)
             SELECT $1, su.id FROM scim_users su WHERE su.id = ANY($2)
             ON CONFLICT DO NOTHING RETURNING scim_user_id)
         SELECT su.user_id, su.active FROM joined JOIN scim_users su ON su.id = joined.scim_user_id",
    )
    .bind(team)
    .bind(wanted)
    .fetch_all(tx.conn())
    .await?;
    for (user, active) in joining {
        if !active {
            continue;
        }
        match teams::add_member(tx, team, user).await {
            Ok(()) => out.added.push(user),
            // Active in the provider but removed from the workspace in Tessera: not a
            // member, so not a team member either.
            Err(WorkError::NotFound) => {}
            Err(e) => return Err(work_error(e)),
        }
    }
    Ok(())
}

/// Puts a reactivated User back in the teams of their groups; the accounts' team changes
/// are noted on the transaction like any other.
pub async fn rejoin(tx: &mut TenantTx, scim_user: Uuid, user: Uuid) -> Result<(), ScimError> {
    let teams_of: Vec<Uuid> = db::query_scalar(
        "SELECT m.team_id FROM scim_group_members m JOIN teams t ON t.id = m.team_id
         WHERE m.scim_user_id = $1 AND t.archived_at IS NULL ORDER BY m.team_id",
    )
    .bind(scim_user)
    .fetch_all(tx.conn())
    .await?;
    for team in teams_of {
        match teams::add_member(tx, team, user).await {
            Ok(()) | Err(WorkError::NotFound) => {}
            Err(e) => return Err(work_error(e)),
        }
    }
    Ok(())
}

async fn reread(tx: &mut TenantTx, id: Uuid, out: &mut Outcome) -> Result<(), ScimError> {
    out.changes = tx.take_changes();
    out.row = Some(
        <Groups as Store>::get(tx, id)
            .await?
            .ok_or_else(|| ScimError::internal(&"the group vanished during the write"))?,
    );
    Ok(())
}

/// The Group store, for the HTTP layer.
pub struct Groups;

impl Store for Groups {
    const KIND: super::Kind = super::Kind::Group;
    const PATCH: &'static super::patch::Patchable = &super::patch::GROUP;
    const TARGET: &'static str = "Team";
    type Row = GroupRow;
    type Input = GroupInput;
    type Outcome = Outcome;

    fn parse(body: &Value) -> Result<GroupInput, ScimError> {
        GroupInput::parse(body)
    }
    fn writable(row: &GroupRow) -> Value {
        row.writable()
    }
    fn resource(row: &GroupRow, base: &str) -> Value {
        row.resource(base)
    }
    fn target_id(row: &GroupRow) -> String {
        row.id.to_string()
    }
    fn written(out: &Outcome) -> Option<&GroupRow> {
        out.row.as_ref()
    }
    /// Before, after, who joined and left the team, and the team's field changes.
    fn audit(before: Option<&GroupRow>, out: &Outcome) -> Value {
        let view = |r: &GroupRow| {
            json!({ "id": r.id, "displayName": r.display_name, "externalId": r.external_id,
                    "members": r.members })
        };
        json!({
            "before": before.map(view),
            "after": out.row.as_ref().map(view),
            "membersAdded": out.added,
            "membersRemoved": out.removed,
            "changes": out.changes,
        })
    }
    async fn get(tx: &mut TenantTx, id: Uuid) -> Result<Option<GroupRow>, ScimError> {
        Ok(
            db::query_as(&format!("SELECT {COLS} FROM {FROM} tm.id = $1"))
                .bind(id)
                .fetch_optional(tx.conn())
                .await?,
        )
    }

    /// One page of the Groups matching `filter`, oldest first, and how many match in all.
    async fn list(
        tx: &mut TenantTx,
        filter: Option<&Compiled>,
        offset: i64,
        limit: i64,
    ) -> Result<(i64, Vec<GroupRow>), ScimError> {
        let query = (COLS, FROM, "tm.created_at, tm.id");
        super::store::page(tx, query, filter, offset, limit).await
    }

    async fn create(
        tx: &mut TenantTx,
        input: &GroupInput,
        now: DateTime<Utc>,
    ) -> Result<Outcome, ScimError> {
        unique_name(tx, &input.display_name, None).await?;
        let team = teams::create(tx, &input.display_name, Visibility::Restricted)
            .await
            .map_err(work_error)?;
        stamp(tx, team.id, input.external_id.as_deref(), now).await?;
        let mut out = Outcome::default();
        set_members(tx, team.id, &input.members, &mut out).await?;
        reread(tx, team.id, &mut out).await?;
        Ok(out)
    }

    /// Replaces a Group's attributes (PUT, or the result of a PATCH).
    async fn replace(
        tx: &mut TenantTx,
        before: &GroupRow,
        input: &GroupInput,
        now: DateTime<Utc>,
    ) -> Result<Outcome, ScimError> {
        if input.display_name != before.display_name {
            unique_name(tx, &input.display_name, Some(before.id)).await?;
            teams::update(tx, before.id, Some(&input.display_name), None)
                .await
                .map_err(work_error)?;
        }
        stamp(tx, before.id, input.external_id.as_deref(), now).await?;
        let mut out = Outcome::default();
        set_members(tx, before.id, &input.members, &mut out).await?;
        reread(tx, before.id, &mut out).await?;
        Ok(out)
    }

    /// Deletes a Group: its team is archived, with its projects and history kept.
    async fn delete(tx: &mut TenantTx, before: &GroupRow) -> Result<Outcome, ScimError> {
        teams::archive(tx, before.id).await.map_err(work_error)?;
        Ok(Outcome {
            changes: tx.take_changes(),
            ..Outcome::default()
        })
    }
}
