//! The work domain's object types (teams, goals, projects, records, ideas), with nested
//! fields batch-loaded. They refer to each other, so they live together.

use std::sync::Arc;

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Json, Object, Result};
use chrono::{DateTime, Utc};

use super::members::MemberObj;
use crate::graphql::connection::{Conn, connection};
use crate::graphql::context::{page, state, tx};
use crate::graphql::errors::ApiError;
use crate::graphql::loaders::{GoalKey, LatestRecordsKey, Loaders, TeamKey, UserKey};
use crate::work::projects::{self, ProjectFilter};
use crate::work::records::{self, RecordStatus};
use crate::work::teams::{self, Visibility};
use crate::work::{Page, goals, ideas};

fn loader<'a>(ctx: &Context<'a>) -> Result<&'a DataLoader<Loaders>, ApiError> {
    ctx.data::<DataLoader<Loaders>>()
        .map_err(|_| ApiError::internal(&"loader missing"))
}

pub struct TeamObj(pub teams::Team);

#[Object(name = "Team")]
impl TeamObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn visibility(&self) -> Visibility {
        self.0.visibility
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Team members.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<MemberObj>> {
        let ids = {
            let mut tx = tx(ctx).await?;
            teams::member_ids(&mut tx, self.0.id).await?
        };
        let found = loader(ctx)?
            .load_many(ids.iter().copied().map(UserKey))
            .await?;
        Ok(ids
            .iter()
            .filter_map(|id| found.get(&UserKey(*id)).cloned().map(MemberObj))
            .collect())
    }
    /// The team's projects.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity + 1")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<ProjectObj>> {
        let args = page(ctx, first, after.as_deref())?;
        let viewer = state(ctx)?.principal.viewer();
        let filter = ProjectFilter {
            team_id: Some(self.0.id),
            ..ProjectFilter::default()
        };
        let mut tx = tx(ctx).await?;
        let found = projects::list(&mut tx, viewer, filter, args).await?;
        Ok(connection(
            found,
            args.after.is_some(),
            |p| p.id,
            ProjectObj,
        ))
    }
}

pub struct GoalObj(pub goals::Goal);

#[Object(name = "Goal")]
impl GoalObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Projects serving this goal that the caller can see.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity + 1")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<ProjectObj>> {
        let args = page(ctx, first, after.as_deref())?;
        let viewer = state(ctx)?.principal.viewer();
        let filter = ProjectFilter {
            goal_id: Some(self.0.id),
            ..ProjectFilter::default()
        };
        let mut tx = tx(ctx).await?;
        let found = projects::list(&mut tx, viewer, filter, args).await?;
        Ok(connection(
            found,
            args.after.is_some(),
            |p| p.id,
            ProjectObj,
        ))
    }
}

pub struct ProjectObj(pub projects::Project);

#[Object(name = "Project")]
impl ProjectObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The owning team (its visibility governs the project's).
    async fn team(&self, ctx: &Context<'_>) -> Result<TeamObj> {
        loader(ctx)?
            .load_one(TeamKey(self.0.team_id))
            .await?
            .map(TeamObj)
            .ok_or_else(|| ApiError::not_found().into())
    }
    async fn goal(&self, ctx: &Context<'_>) -> Result<Option<GoalObj>> {
        let Some(goal) = self.0.goal_id else {
            return Ok(None);
        };
        Ok(loader(ctx)?.load_one(GoalKey(goal)).await?.map(GoalObj))
    }
    /// Records, newest first. The first page of many projects is loaded in one batch.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity + 1")]
    async fn records(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<RecordObj>> {
        let args = page(ctx, first, after.as_deref())?;
        let found = if args.after.is_none() {
            let rows = loader(ctx)?
                .load_one(LatestRecordsKey {
                    project_id: self.0.id,
                    first: args.first,
                })
                .await?
                // The batch has dropped its own reference by the time this resolver resumes,
                // so the rows are taken, not copied; the copy is only a fallback.
                .map(|rows| Arc::try_unwrap(rows).unwrap_or_else(|shared| (*shared).clone()))
                .unwrap_or_default();
            Page::from_rows(rows, &args)
        } else {
            let viewer = state(ctx)?.principal.viewer();
            let mut tx = tx(ctx).await?;
            records::list_for_project(&mut tx, viewer, self.0.id, args).await?
        };
        Ok(connection(found, args.after.is_some(), |r| r.id, RecordObj))
    }
}

pub struct RecordObj(pub records::Record);

#[Object(name = "Record")]
impl RecordObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn status(&self) -> RecordStatus {
        RecordStatus::parse(&self.0.status)
    }
    /// Custom fields: a JSON object.
    async fn fields(&self) -> Json<serde_json::Value> {
        Json(self.0.fields.clone())
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn project_id(&self) -> ID {
        ID(self.0.project_id.to_string())
    }
    async fn assignee(&self, ctx: &Context<'_>) -> Result<Option<MemberObj>> {
        let Some(user) = self.0.assignee_id else {
            return Ok(None);
        };
        Ok(loader(ctx)?.load_one(UserKey(user)).await?.map(MemberObj))
    }
}

pub struct IdeaObj(pub ideas::Idea);

#[Object(name = "Idea")]
impl IdeaObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The project this idea became, when the caller can see it.
    async fn promoted_project(&self, ctx: &Context<'_>) -> Result<Option<ProjectObj>> {
        let Some(id) = self.0.promoted_project_id else {
            return Ok(None);
        };
        let viewer = state(ctx)?.principal.viewer();
        let mut tx = tx(ctx).await?;
        match projects::get(&mut tx, viewer, id).await {
            Ok(p) => Ok(Some(ProjectObj(p))),
            Err(crate::work::WorkError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
