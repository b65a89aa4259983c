//! The caller and the workspace's members.

use async_graphql::{Context, Enum, ID, Object, Result};

use crate::authz::{Permission as P, requires};
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
    ) -> Result<Conn<MemberObj>> {
        let args = page(ctx, first, after.as_deref())?;
        let rows = crate::identity::list_members(&mut *tx(ctx).await?, args.after, args.limit())
            .await
            .map_err(ApiError::from)?;
        let found = Page::from_rows(rows, &args);
        Ok(connection(
            found,
            args.after.is_some(),
            |m| m.user_id,
            MemberObj,
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum MemberRole {
    Owner,
    Admin,
    Member,
}

impl MemberRole {
    pub fn parse(s: &str) -> Self {
        match s {
            "owner" => Self::Owner,
            "admin" => Self::Admin,
            _ => Self::Member,
        }
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
