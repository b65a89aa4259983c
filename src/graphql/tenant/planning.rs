//! Teams and goals.

use async_graphql::{Context, ID, InputObject, Object, Result};

use super::objects::{GoalObj, TeamObj};
use crate::authz::{Permission as P, requires};
use crate::graphql::compiled::{self, Root, Served};
use crate::graphql::connection::{Conn, connection};
use crate::graphql::context::{page, parse_id, perm, state, tx, viewer};
use crate::work::goals;
use crate::work::teams::{self, Visibility};

#[derive(Default)]
pub struct PlanningQuery;

#[Object]
impl PlanningQuery {
    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn team(&self, ctx: &Context<'_>, id: ID) -> Result<Served<TeamObj>> {
        let id = parse_id(&id)?;
        if let Some(v) = compiled::serve(ctx, Root::Team(id)).await? {
            return Ok(Served::Compiled(v));
        }
        let viewer = state(ctx)?.principal.viewer();
        Ok(Served::Resolved(TeamObj(
            teams::get(&mut *tx(ctx).await?, viewer, id).await?,
        )))
    }

    #[graphql(
        directive = requires::apply(perm(P::WorkspaceRead)),
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity + 1"
    )]
    async fn teams(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Served<Conn<TeamObj>>> {
        let args = page(ctx, first, after.as_deref())?;
        if let Some(v) = compiled::serve(ctx, Root::Teams(args)).await? {
            return Ok(Served::Compiled(v));
        }
        let viewer = state(ctx)?.principal.viewer();
        let found = teams::list(&mut *tx(ctx).await?, viewer, args).await?;
        Ok(Served::Resolved(connection(
            found,
            args.after.is_some(),
            |t| t.id,
            TeamObj,
        )))
    }

    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn goal(&self, ctx: &Context<'_>, id: ID) -> Result<Served<GoalObj>> {
        let id = parse_id(&id)?;
        if let Some(v) = compiled::serve(ctx, Root::Goal(id)).await? {
            return Ok(Served::Compiled(v));
        }
        Ok(Served::Resolved(GoalObj(
            goals::get(&mut *tx(ctx).await?, id).await?,
        )))
    }

    #[graphql(
        directive = requires::apply(perm(P::WorkspaceRead)),
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity + 1"
    )]
    async fn goals(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Served<Conn<GoalObj>>> {
        let args = page(ctx, first, after.as_deref())?;
        if let Some(v) = compiled::serve(ctx, Root::Goals(args)).await? {
            return Ok(Served::Compiled(v));
        }
        let found = goals::list(&mut *tx(ctx).await?, args).await?;
        Ok(Served::Resolved(connection(
            found,
            args.after.is_some(),
            |g| g.id,
            GoalObj,
        )))
    }
}

#[derive(Default)]
pub struct PlanningMutation;

#[Object]
impl PlanningMutation {
    #[graphql(directive = requires::apply(perm(P::TeamsManage)))]
    async fn create_team(&self, ctx: &Context<'_>, input: CreateTeamInput) -> Result<TeamObj> {
        Ok(TeamObj(
            teams::create(&mut *tx(ctx).await?, &input.name, input.visibility).await?,
        ))
    }

    #[graphql(directive = requires::apply(perm(P::TeamsManage)))]
    async fn update_team(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateTeamInput,
    ) -> Result<TeamObj> {
        let id = parse_id(&id)?;
        let team = teams::update(
            &mut *tx(ctx).await?,
            id,
            input.name.as_deref(),
            input.visibility,
        )
        .await?;
        Ok(TeamObj(team))
    }

    #[graphql(directive = requires::apply(perm(P::TeamsManage)))]
    async fn archive_team(&self, ctx: &Context<'_>, id: ID) -> Result<TeamObj> {
        let id = parse_id(&id)?;
        Ok(TeamObj(teams::archive(&mut *tx(ctx).await?, id).await?))
    }

    #[graphql(directive = requires::apply(perm(P::TeamsManage)))]
    async fn add_team_member(
        &self,
        ctx: &Context<'_>,
        team_id: ID,
        user_id: ID,
    ) -> Result<TeamObj> {
        let (team_id, user_id) = (parse_id(&team_id)?, parse_id(&user_id)?);
        let viewer = state(ctx)?.principal.viewer();
        let mut tx = tx(ctx).await?;
        teams::add_member(&mut tx, team_id, user_id).await?;
        Ok(TeamObj(teams::get(&mut tx, viewer, team_id).await?))
    }

    #[graphql(directive = requires::apply(perm(P::TeamsManage)))]
    async fn remove_team_member(
        &self,
        ctx: &Context<'_>,
        team_id: ID,
        user_id: ID,
    ) -> Result<TeamObj> {
        let (team_id, user_id) = (parse_id(&team_id)?, parse_id(&user_id)?);
        let viewer = state(ctx)?.principal.viewer();
        let mut tx = tx(ctx).await?;
        teams::remove_member(&mut tx, team_id, user_id).await?;
        Ok(TeamObj(teams::get(&mut tx, viewer, team_id).await?))
    }

    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn create_goal(&self, ctx: &Context<'_>, input: GoalInput) -> Result<GoalObj> {
        Ok(GoalObj(
            goals::create(
                &mut *tx(ctx).await?,
                viewer(ctx)?,
                &input.title,
                &input.description,
            )
            .await?,
        ))
    }

    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn update_goal(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateGoalInput,
    ) -> Result<GoalObj> {
        let id = parse_id(&id)?;
        let goal = goals::update(
            &mut *tx(ctx).await?,
            viewer(ctx)?,
            id,
            input.title.as_deref(),
            input.description.as_deref(),
        )
        .await?;
        Ok(GoalObj(goal))
    }

    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn archive_goal(&self, ctx: &Context<'_>, id: ID) -> Result<GoalObj> {
        let id = parse_id(&id)?;
        Ok(GoalObj(
            goals::archive(&mut *tx(ctx).await?, viewer(ctx)?, id).await?,
        ))
    }
}

#[derive(InputObject)]
pub struct CreateTeamInput {
    pub name: String,
    pub visibility: Visibility,
}

#[derive(InputObject)]
pub struct UpdateTeamInput {
    pub name: Option<String>,
    pub visibility: Option<Visibility>,
}

#[derive(InputObject)]
pub struct GoalInput {
    pub title: String,
    #[graphql(default)]
    pub description: String,
}

#[derive(InputObject)]
pub struct UpdateGoalInput {
    pub title: Option<String>,
    pub description: Option<String>,
}
