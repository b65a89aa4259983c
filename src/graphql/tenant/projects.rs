//! Projects and their records.

use async_graphql::{Context, ID, InputObject, Json, Object, Result};

use super::objects::{ProjectObj, RecordObj};
use crate::authz::{Permission as P, requires};
use crate::graphql::compiled::{self, Root, Served};
use crate::graphql::connection::{Conn, connection};
use crate::graphql::context::{opt_id, page, parse_id, perm, state, tx};
use crate::work::projects::{self, NewProject, ProjectChanges, ProjectFilter};
use crate::work::records::{self, NewRecord, RecordChanges, RecordStatus};

#[derive(Default)]
pub struct ProjectsQuery;

#[Object]
impl ProjectsQuery {
    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn project(&self, ctx: &Context<'_>, id: ID) -> Result<Served<ProjectObj>> {
        let id = parse_id(&id)?;
        if let Some(v) = compiled::serve(ctx, Root::Project(id)).await? {
            return Ok(Served::Compiled(v));
        }
        let viewer = state(ctx)?.principal.viewer();
        Ok(Served::Resolved(ProjectObj(
            projects::get(&mut *tx(ctx).await?, viewer, id).await?,
        )))
    }

    /// Projects the caller can see, optionally filtered by team or goal.
    #[graphql(
        directive = requires::apply(perm(P::WorkspaceRead)),
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity + 1"
    )]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        team_id: Option<ID>,
        goal_id: Option<ID>,
        #[graphql(default = false)] include_archived: bool,
    ) -> Result<Served<Conn<ProjectObj>>> {
        let args = page(ctx, first, after.as_deref())?;
        let filter = ProjectFilter {
            team_id: opt_id(team_id.as_ref())?,
            goal_id: opt_id(goal_id.as_ref())?,
            include_archived,
        };
        if let Some(v) = compiled::serve(ctx, Root::Projects(filter, args)).await? {
            return Ok(Served::Compiled(v));
        }
        let viewer = state(ctx)?.principal.viewer();
        let found = projects::list(&mut *tx(ctx).await?, viewer, filter, args).await?;
        Ok(Served::Resolved(connection(
            found,
            args.after.is_some(),
            |p| p.id,
            ProjectObj,
        )))
    }

    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn record(&self, ctx: &Context<'_>, id: ID) -> Result<Served<RecordObj>> {
        let id = parse_id(&id)?;
        if let Some(v) = compiled::serve(ctx, Root::Record(id)).await? {
            return Ok(Served::Compiled(v));
        }
        let viewer = state(ctx)?.principal.viewer();
        Ok(Served::Resolved(RecordObj(
            records::get(&mut *tx(ctx).await?, viewer, id).await?,
        )))
    }

    /// Records of one project, newest first.
    #[graphql(
        directive = requires::apply(perm(P::WorkspaceRead)),
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity + 1"
    )]
    async fn records(
        &self,
        ctx: &Context<'_>,
        project_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Served<Conn<RecordObj>>> {
        let project_id = parse_id(&project_id)?;
        let args = page(ctx, first, after.as_deref())?;
        if let Some(v) = compiled::serve(ctx, Root::Records(project_id, args)).await? {
            return Ok(Served::Compiled(v));
        }
        let viewer = state(ctx)?.principal.viewer();
        let mut tx = tx(ctx).await?;
        // Not found (rather than an empty list) when the project is invisible.
        projects::get(&mut tx, viewer, project_id).await?;
        let found = records::list_for_project(&mut tx, viewer, project_id, args).await?;
        Ok(Served::Resolved(connection(
            found,
            args.after.is_some(),
            |r| r.id,
            RecordObj,
        )))
    }
}

#[derive(Default)]
pub struct ProjectsMutation;

#[Object]
impl ProjectsMutation {
    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        input: CreateProjectInput,
    ) -> Result<ProjectObj> {
        let viewer = state(ctx)?.principal.viewer();
        let new = NewProject {
            team_id: parse_id(&input.team_id)?,
            goal_id: opt_id(input.goal_id.as_ref())?,
            name: &input.name,
            description: &input.description,
        };
        Ok(ProjectObj(
            projects::create(&mut *tx(ctx).await?, viewer, new).await?,
        ))
    }

    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn update_project(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateProjectInput,
    ) -> Result<ProjectObj> {
        let id = parse_id(&id)?;
        let viewer = state(ctx)?.principal.viewer();
        let changes = ProjectChanges {
            name: input.name.as_deref(),
            description: input.description.as_deref(),
            team_id: opt_id(input.team_id.as_ref())?,
            goal_id: opt_id(input.goal_id.as_ref())?,
        };
        Ok(ProjectObj(
            projects::update(&mut *tx(ctx).await?, viewer, id, changes).await?,
        ))
    }

    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn archive_project(&self, ctx: &Context<'_>, id: ID) -> Result<ProjectObj> {
        let id = parse_id(&id)?;
        let viewer = state(ctx)?.principal.viewer();
        Ok(ProjectObj(
            projects::archive(&mut *tx(ctx).await?, viewer, id).await?,
        ))
    }

    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn create_record(
        &self,
        ctx: &Context<'_>,
        input: CreateRecordInput,
    ) -> Result<RecordObj> {
        let viewer = state(ctx)?.principal.viewer();
        let new = NewRecord {
            project_id: parse_id(&input.project_id)?,
            title: &input.title,
            body: &input.body,
            status: input.status.unwrap_or(RecordStatus::Open),
            assignee_id: opt_id(input.assignee_id.as_ref())?,
            fields: input.fields.map_or_else(|| serde_json::json!({}), |j| j.0),
        };
        Ok(RecordObj(
            records::create(&mut *tx(ctx).await?, viewer, new).await?,
        ))
    }

    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn update_record(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateRecordInput,
    ) -> Result<RecordObj> {
        let id = parse_id(&id)?;
        let viewer = state(ctx)?.principal.viewer();
        let changes = RecordChanges {
            title: input.title.as_deref(),
            body: input.body.as_deref(),
            status: input.status,
            assignee_id: opt_id(input.assignee_id.as_ref())?,
            fields: input.fields.map(|j| j.0),
        };
        Ok(RecordObj(
            records::update(&mut *tx(ctx).await?, viewer, id, changes).await?,
        ))
    }

    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn archive_record(&self, ctx: &Context<'_>, id: ID) -> Result<RecordObj> {
        let id = parse_id(&id)?;
        let viewer = state(ctx)?.principal.viewer();
        Ok(RecordObj(
            records::archive(&mut *tx(ctx).await?, viewer, id).await?,
        ))
    }
}

#[derive(InputObject)]
pub struct CreateProjectInput {
    pub team_id: ID,
    pub goal_id: Option<ID>,
    pub name: String,
    #[graphql(default)]
    pub description: String,
}

#[derive(InputObject)]
pub struct UpdateProjectInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub team_id: Option<ID>,
    pub goal_id: Option<ID>,
}

#[derive(InputObject)]
pub struct CreateRecordInput {
    pub project_id: ID,
    pub title: String,
    #[graphql(default)]
    pub body: String,
    pub status: Option<RecordStatus>,
    pub assignee_id: Option<ID>,
    /// Custom fields: a JSON object of at most 16 KiB.
    pub fields: Option<Json<serde_json::Value>>,
}

#[derive(InputObject)]
pub struct UpdateRecordInput {
    pub title: Option<String>,
    pub body: Option<String>,
    pub status: Option<RecordStatus>,
    pub assignee_id: Option<ID>,
    pub fields: Option<Json<serde_json::Value>>,
}
