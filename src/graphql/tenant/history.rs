//! Field-level history of goals, projects, records and ideas, and restoring a version.

use async_graphql::{Context, ID, Json, Object, Result};

use crate::authz::{Permission as P, requires};
use crate::graphql::compiled::{self, Root, Served};
use crate::graphql::context::{parse_id, perm, state, tx, viewer};
use chrono::{DateTime, Utc};

#[derive(Default)]
pub struct HistoryQuery;

#[Object]
impl HistoryQuery {
    /// The field-level history of a goal, project, record or idea, oldest first.
    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn history(
        &self,
        ctx: &Context<'_>,
        entity_type: crate::work::history::EntityType,
        id: ID,
    ) -> Result<Served<Vec<VersionObj>>> {
        let id = parse_id(&id)?;
        if let Some(v) = compiled::serve(ctx, Root::History(entity_type, id)).await? {
            return Ok(Served::Compiled(v));
        }
        let viewer = state(ctx)?.principal.viewer();
        let found =
            crate::work::versions::list(&mut *tx(ctx).await?, viewer, entity_type, id).await?;
        Ok(Served::Resolved(
            found.into_iter().map(VersionObj).collect(),
        ))
    }
}

#[derive(Default)]
pub struct HistoryMutation;

#[Object]
impl HistoryMutation {
    /// Brings back an earlier version of a goal, project, record or idea as a new version.
    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn restore_version(
        &self,
        ctx: &Context<'_>,
        entity_type: crate::work::history::EntityType,
        id: ID,
        version: i32,
    ) -> Result<VersionObj> {
        let id = parse_id(&id)?;
        let v = crate::work::versions::restore(
            &mut *tx(ctx).await?,
            viewer(ctx)?,
            entity_type,
            id,
            version,
        )
        .await?;
        Ok(VersionObj(v))
    }
}

/// One version of an entity: the fields it changed (old and new) and the state after it.
pub struct VersionObj(pub crate::work::history::Version);

#[Object(name = "Version")]
impl VersionObj {
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// The user who made the change.
    async fn actor_user(&self) -> ID {
        ID(self.0.actor_user.to_string())
    }
    /// `{field: {old, new}}` for each changed field.
    async fn changes(&self) -> Json<serde_json::Value> {
        Json(self.0.changes.clone())
    }
    /// The entity's state after this version.
    async fn snapshot(&self) -> Json<serde_json::Value> {
        Json(self.0.snapshot.clone())
    }
    /// Set when this version restored an earlier one.
    async fn restored_from(&self) -> Option<i32> {
        self.0.restored_from
    }
}
