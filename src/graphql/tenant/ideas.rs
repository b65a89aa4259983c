//! Ideas, and turning one into a project.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::objects::{IdeaObj, ProjectObj};
use crate::authz::{Permission as P, requires};
use crate::graphql::compiled::{self, Root, Served};
use crate::graphql::connection::{Conn, connection};
use crate::graphql::context::{page, parse_id, perm, state, tx, viewer};
use crate::work::ideas;

#[derive(Default)]
pub struct IdeasQuery;

#[Object]
impl IdeasQuery {
    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn idea(&self, ctx: &Context<'_>, id: ID) -> Result<Served<IdeaObj>> {
        let id = parse_id(&id)?;
        if let Some(v) = compiled::serve(ctx, Root::Idea(id)).await? {
            return Ok(Served::Compiled(v));
        }
        Ok(Served::Resolved(IdeaObj(
            ideas::get(&mut *tx(ctx).await?, id).await?,
        )))
    }

    #[graphql(
        directive = requires::apply(perm(P::WorkspaceRead)),
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity + 1"
    )]
    async fn ideas(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Served<Conn<IdeaObj>>> {
        let args = page(ctx, first, after.as_deref())?;
        if let Some(v) = compiled::serve(ctx, Root::Ideas(args)).await? {
            return Ok(Served::Compiled(v));
        }
        let found = ideas::list(&mut *tx(ctx).await?, args).await?;
        Ok(Served::Resolved(connection(
            found,
            args.after.is_some(),
            |i| i.id,
            IdeaObj,
        )))
    }
}

#[derive(Default)]
pub struct IdeasMutation;

#[Object]
impl IdeasMutation {
    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn create_idea(&self, ctx: &Context<'_>, input: IdeaInput) -> Result<IdeaObj> {
        Ok(IdeaObj(
            ideas::create(
                &mut *tx(ctx).await?,
                viewer(ctx)?,
                &input.title,
                &input.body,
            )
            .await?,
        ))
    }

    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn update_idea(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateIdeaInput,
    ) -> Result<IdeaObj> {
        let id = parse_id(&id)?;
        let idea = ideas::update(
            &mut *tx(ctx).await?,
            viewer(ctx)?,
            id,
            input.title.as_deref(),
            input.body.as_deref(),
        )
        .await?;
        Ok(IdeaObj(idea))
    }

    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn archive_idea(&self, ctx: &Context<'_>, id: ID) -> Result<IdeaObj> {
        let id = parse_id(&id)?;
        Ok(IdeaObj(
            ideas::archive(&mut *tx(ctx).await?, viewer(ctx)?, id).await?,
        ))
    }

    /// Turns an idea into a project of a team the caller may edit.
    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn promote_idea(
        &self,
        ctx: &Context<'_>,
        id: ID,
        team_id: ID,
    ) -> Result<PromoteIdeaPayload> {
        let (id, team_id) = (parse_id(&id)?, parse_id(&team_id)?);
        let viewer = state(ctx)?.principal.viewer();
        let (idea, project) = ideas::promote(&mut *tx(ctx).await?, viewer, id, team_id).await?;
        Ok(PromoteIdeaPayload {
            idea: IdeaObj(idea),
            project: ProjectObj(project),
        })
    }
}

#[derive(InputObject)]
pub struct IdeaInput {
    pub title: String,
    #[graphql(default)]
    pub body: String,
}

#[derive(InputObject)]
pub struct UpdateIdeaInput {
    pub title: Option<String>,
    pub body: Option<String>,
}

#[derive(SimpleObject)]
pub struct PromoteIdeaPayload {
    pub idea: IdeaObj,
    pub project: ProjectObj,
}
