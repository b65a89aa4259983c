//! Field-level history and restore for goals, projects, records and ideas.
//!
//! Every change writes a version in the same transaction: the changed fields with their old
//! and new values, and the full state after the change. Restoring version N applies N's
//! state as a new change (with `restored_from = N`), so nothing is overwritten and the
//! intermediate history stays. Restores go through the same visibility and edit checks as
//! updates, and the restore mutation is audited like every mutation.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::WorkError;
use crate::authz::Viewer;
use crate::db;
use crate::tenancy::TenantTx;

#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum EntityType {
    Goal,
    Project,
    Record,
    Idea,
}

impl EntityType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Goal => "goal",
            Self::Project => "project",
            Self::Record => "record",
            Self::Idea => "idea",
        }
    }
}

/// Fields that change on every write and say nothing about content.
const BOOKKEEPING: &[&str] = &["id", "created_at", "updated_at"];

#[derive(Debug, Clone, db::FromRow)]
pub struct Version {
    pub version: i32,
    pub changes: Value,
    pub snapshot: Value,
    pub actor_user: Uuid,
    pub restored_from: Option<i32>,
    pub at: DateTime<Utc>,
}

/// `{field: {old, new}}` for every field that differs.
fn diff(before: Option<&Value>, after: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(after) = after.as_object() else {
        return out;
    };
    for (k, new) in after {
        if BOOKKEEPING.contains(&k.as_str()) {
            continue;
        }
        let old = before
            .and_then(|b| b.get(k))
            .cloned()
            .unwrap_or(Value::Null);
        if before.is_none() || old != *new {
            out.insert(k.clone(), serde_json::json!({ "old": old, "new": new }));
        }
    }
    out
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Notes the before/after of a change to an entity without history (teams, ...) for the
/// mutation's audit entry.
pub(crate) fn note_diff<T: serde::Serialize>(
    tx: &mut TenantTx,
    entity: &str,
    id: Uuid,
    before: &T,
    after: &T,
) {
    let changes = diff(Some(&to_json(before)), &to_json(after));
    if !changes.is_empty() {
        tx.note_change(serde_json::json!({ "entity": entity, "id": id, "changes": changes }));
    }
}

/// Records a change of an entity. No-op updates (nothing but bookkeeping changed) write
/// no version.
pub(crate) async fn record_change<T: serde::Serialize>(
    tx: &mut TenantTx,
    entity: EntityType,
    id: Uuid,
    before: Option<&T>,
    after: &T,
    actor: Uuid,
    restored_from: Option<i32>,
) -> Result<(), WorkError> {
    let (before, after) = (before.map(to_json), to_json(after));
    let changes = diff(before.as_ref(), &after);
    if before.is_some() && changes.is_empty() {
        return Ok(());
    }
    let changes = Value::Object(changes);
    let version: i32 = db::query_scalar(
        // The next number in a CTE, not beside the bound values in one SELECT: Citus 13.2
        // deparses an INSERT … SELECT mixing parameters and an aggregate into invalid SQL.
        "WITH next AS (SELECT coalesce(max(v.version), 0) + 1 AS version
                       FROM versions v WHERE v.entity_type = $2 AND v.entity_id = $3)
         INSERT INTO versions (id, entity_type, entity_id, version, changes, snapshot, actor_user, restored_from)
         SELECT $1, $2, $3, next.version, $4, $5, $6, $7 FROM next
         RETURNING version",
    )
    .bind(Uuid::now_v7())
    .bind(entity.as_str())
    .bind(id)
    .bind(&changes)
    .bind(&after)
    .bind(actor)
    .bind(restored_from)
    .fetch_one(tx.conn())
    .await?;
    // The audit entry of this mutation carries the same before/after values.
    tx.note_change(serde_json::json!({
        "entity": entity.as_str(),
        "id": id,
        "version": version,
        "changes": changes,
    }));
    Ok(())
}

/// An entity with field-level history. Goals, projects, records and ideas implement it, so
/// history lists and restores their versions without knowing them.
#[async_trait::async_trait]
pub trait Versioned {
    /// How its versions are labelled.
    const ENTITY: EntityType;
    /// The state a version's snapshot holds.
    type Snapshot: DeserializeOwned + Send;

    /// Not found unless the viewer can see the entity.
    async fn ensure_visible(tx: &mut TenantTx, viewer: Viewer, id: Uuid) -> Result<(), WorkError>;

    /// Writes `snapshot` back as a new change restored from `version`, through the same
    /// edit checks as an update.
    async fn restore(
        tx: &mut TenantTx,
        viewer: Viewer,
        id: Uuid,
        snapshot: Self::Snapshot,
        version: i32,
    ) -> Result<(), WorkError>;
}

const COLS: &str = "version, changes, snapshot, actor_user, restored_from, at";

/// The versions of a visible entity, oldest first.
pub async fn list<V: Versioned>(
    tx: &mut TenantTx,
    viewer: Viewer,
    id: Uuid,
) -> Result<Vec<Version>, WorkError> {
    let entity = V::ENTITY;
    V::ensure_visible(tx, viewer, id).await?;
    Ok(db::query_as(&format!(
        "SELECT {COLS} FROM versions WHERE entity_type = $1 AND entity_id = $2 ORDER BY version"
    ))
    .bind(entity.as_str())
    .bind(id)
    .fetch_all(tx.conn())
    .await?)
}

fn snapshot_of<T: DeserializeOwned>(v: &Version) -> Result<T, WorkError> {
    serde_json::from_value(v.snapshot.clone())
        .map_err(|_| WorkError::Invalid("this version cannot be restored".into()))
}

/// Brings back the state of `version` as a new version; returns the new version.
pub async fn restore<V: Versioned>(
    tx: &mut TenantTx,
    viewer: Viewer,
    id: Uuid,
    version: i32,
) -> Result<Version, WorkError> {
    let entity = V::ENTITY;
    V::ensure_visible(tx, viewer, id).await?;
    let target: Version = db::query_as(&format!(
        "SELECT {COLS} FROM versions WHERE entity_type = $1 AND entity_id = $2 AND version = $3"
    ))
    .bind(entity.as_str())
    .bind(id)
    .bind(version)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(WorkError::NotFound)?;
    V::restore(tx, viewer, id, snapshot_of(&target)?, version).await?;
    db::query_as(&format!(
        "SELECT {COLS} FROM versions WHERE entity_type = $1 AND entity_id = $2 ORDER BY version DESC LIMIT 1"
    ))
    .bind(entity.as_str())
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(WorkError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lists_changed_fields_with_old_and_new() {
        let before =
            serde_json::json!({ "id": 1, "name": "a", "description": "d", "updated_at": "t1" });
        let after =
            serde_json::json!({ "id": 1, "name": "b", "description": "d", "updated_at": "t2" });
        let d = diff(Some(&before), &after);
        assert_eq!(
            Value::Object(d),
            serde_json::json!({ "name": { "old": "a", "new": "b" } })
        );
        let created = diff(None, &after);
        assert_eq!(created.len(), 2);
    }
}
