//! The caller and the workspace's members: listing them, changing roles, removing, leaving,
//! transferring ownership (rules in [`crate::members`]).

use async_graphql::{Context, ID, Object, Result};

use super::member_role::MemberRole;

use crate::graphql::context::parse_id;
use crate::members::{self, Manager};

use crate::authz::{Permission as P, requires};
use crate::graphql::compiled::{self, Root, Served};
use crate::graphql::connection::{Conn, connection};
use crate::graphql::context::{page, perm, state, tx};
use crate::graphql::errors::ApiError;
use crate::identity::Member;
use crate::work::Page;
use uuid::Uuid;

#[derive(Default)]
pub struct MembersQuery;

#[Object]
impl MembersQuery {
    /// The caller in this workspace.
    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn viewer(&self, ctx: &Context<'_>) -> Result<ViewerObj> {
        let st = state(ctx)?;
        let slug = tx(ctx).await?.tenant().slug.to_string();
        Ok(ViewerObj {
            user_id: st.principal.user_id,
            workspace_slug: slug,
            role: MemberRole::parse(st.principal.role.as_str()),
            permissions: st
                .principal
                .permissions()
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
        })
    }

    /// Members of this workspace.
    #[graphql(
        directive = requires::apply(perm(P::WorkspaceRead)),
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity + 1"
    )]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Served<Conn<MemberObj>>> {
        let args = page(ctx, first, after.as_deref())?;
        if let Some(v) = compiled::serve(ctx, Root::Members(args)).await? {
            return Ok(Served::Compiled(v));
        }
        let rows = crate::identity::list_members(&mut *tx(ctx).await?, args.after, args.limit())
            .await
            .map_err(ApiError::from)?;
        let found = Page::from_rows(rows, &args);
        Ok(Served::Resolved(connection(
            found,
            args.after.is_some(),
            |m| m.user_id,
            MemberObj,
        )))
    }
}

/// The caller as a manager of members.
pub(super) fn manager(ctx: &Context<'_>) -> Result<Manager, ApiError> {
    let p = &state(ctx)?.principal;
    Ok(Manager {
        user_id: p.user_id,
        role: p.role,
        session: matches!(p.actor, crate::authz::Actor::Session { .. }),
    })
}

/// A member by user id, after a change.
async fn member_by_id(ctx: &Context<'_>, user: Uuid) -> Result<MemberObj> {
    let found = crate::identity::members_by_ids(&mut *tx(ctx).await?, &[user])
        .await
        .map_err(ApiError::from)?;
    found
        .into_iter()
        .next()
        .map(MemberObj)
        .ok_or_else(|| ApiError::not_found().into())
}

#[derive(Default)]
pub struct MembersMutation;

#[Object]
impl MembersMutation {
    /// Gives a member another role. Owners and admins; an admin cannot change an owner or make
    /// anyone an owner, and only an owner's browser session can grant the owner role. The last
    /// owner cannot be demoted (`LAST_OWNER`).
    #[graphql(directive = requires::apply(perm(P::MembersManage)))]
    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        role: MemberRole,
    ) -> Result<MemberObj> {
        let user = parse_id(&user_id)?;
        let by = manager(ctx)?;
        members::change_role(&mut *tx(ctx).await?, &by, user, role.into()).await?;
        member_by_id(ctx, user).await
    }

    /// Removes a member at once: their sessions lose the workspace on their next request,
    /// their API tokens for it are revoked, their queued exports cancelled, and download links
    /// they were given stop working. An admin cannot remove an owner; the last owner cannot be
    /// removed (`LAST_OWNER`).
    #[graphql(directive = requires::apply(perm(P::MembersManage)))]
    async fn remove_member(&self, ctx: &Context<'_>, user_id: ID) -> Result<bool> {
        let user = parse_id(&user_id)?;
        let by = manager(ctx)?;
        members::remove(&mut *tx(ctx).await?, &by, user).await?;
        Ok(true)
    }

    /// The caller leaves the workspace (a browser session). The last owner cannot leave
    /// (`LAST_OWNER`): transfer ownership first.
    #[graphql(directive = requires::apply(perm(P::WorkspaceLeave)))]
    async fn leave_workspace(&self, ctx: &Context<'_>) -> Result<bool> {
        let user = state(ctx)?.principal.user_id;
        members::leave(&mut *tx(ctx).await?, user).await?;
        Ok(true)
    }

    /// Makes another member an owner and the caller an admin. An owner's browser session whose
    /// second factor (authenticator or passkey) was checked in the last 5 minutes
    /// (`SECOND_FACTOR_REQUIRED` otherwise: `verifySecondFactor` on `/graphql`, or sign in with a
    /// passkey, first).
    #[graphql(directive = requires::apply(perm(P::WorkspaceTransfer)))]
    async fn transfer_ownership(&self, ctx: &Context<'_>, user_id: ID) -> Result<MemberObj> {
        let user = parse_id(&user_id)?;
        let st = state(ctx)?;
        let by = manager(ctx)?;
        let fresh = st.factor_fresh();
        members::transfer_ownership(&mut *tx(ctx).await?, &by, user, fresh).await?;
        member_by_id(ctx, user).await
    }
}

pub struct MemberObj(pub Member);

#[Object(name = "Member")]
impl MemberObj {
    /// The user's id.
    async fn id(&self) -> ID {
        ID(self.0.user_id.to_string())
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    async fn role(&self) -> MemberRole {
        MemberRole::parse(&self.0.role)
    }
}

/// The caller, as seen by this workspace.
pub struct ViewerObj {
    pub user_id: Uuid,
    pub workspace_slug: String,
    pub role: MemberRole,
    pub permissions: Vec<String>,
}

#[Object(name = "Viewer")]
impl ViewerObj {
    async fn user_id(&self) -> ID {
        ID(self.user_id.to_string())
    }
    async fn workspace(&self) -> &str {
        &self.workspace_slug
    }
    async fn role(&self) -> MemberRole {
        self.role
    }
    /// Effective permissions: the role's, narrowed by the token's scopes.
    async fn permissions(&self) -> &[String] {
        &self.permissions
    }
}
