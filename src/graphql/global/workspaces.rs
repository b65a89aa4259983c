//! Workspaces the caller creates or joins: `createWorkspace`, `acceptInvitation`.

use async_graphql::{Context, Object, Result};

use super::account::Workspace;
use super::state::state;
use crate::authz::{Permission as P, requires};
use crate::graphql::context::perm;
use crate::graphql::errors::ApiError;
use crate::members::{self, AcceptContext};
use crate::tenancy::{self, Slug};

#[derive(Default)]
pub struct WorkspacesMutation;

#[Object]
impl WorkspacesMutation {
    /// Creates a workspace with the caller as its owner (a browser session signed in to the
    /// account itself, never an API token). `slug` is its address (`/w/<slug>/...`): 3 to 40
    /// lowercase letters, digits or `_`, starting with a letter (`SLUG_INVALID`), not reserved
    /// (`SLUG_RESERVED`) or taken (`SLUG_TAKEN`). Limited per address and per account
    /// (`RATE_LIMITED`).
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn create_workspace(
        &self,
        ctx: &Context<'_>,
        name: String,
        slug: String,
    ) -> Result<Workspace> {
        let st = state(ctx)?;
        let slug =
            Slug::parse(slug.trim()).map_err(|e| ApiError::from(tenancy::TenancyError::Slug(e)))?;
        st.auth_limits
            .workspace_created(st.user_id, &st.client_ip)
            .await
            .map_err(ApiError::rate_limited)?;
        let mut tx = st.tx.lock().await;
        tenancy::create_for_user(
            &mut tx,
            &st.keyring,
            st.user_id,
            &slug,
            &name,
            st.tenant_version,
            &st.audit_meta,
            st.clock.now(),
        )
        .await
        .map_err(ApiError::from)?;
        Ok(Workspace {
            slug: slug.as_str().to_owned(),
            name: name.trim().to_owned(),
            role: "owner".into(),
        })
    }

    /// Joins a workspace with the invitation link's token (`workspace` is the slug the link
    /// names). The signed-in account's verified address must be the invited one
    /// (`INVITATION_EMAIL_MISMATCH`, `EMAIL_NOT_VERIFIED`), and the workspace's policies apply:
    /// `MFA_REQUIRED` below `aal2` where it requires a second factor, `SSO_REQUIRED` where it is
    /// SSO-only (accept by signing in through its SSO). An unknown token or one of another
    /// workspace is `INVITATION_NOT_FOUND`; expired, revoked and used ones are
    /// `INVITATION_EXPIRED`, `INVITATION_REVOKED` and `INVITATION_USED`.
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        workspace: String,
        token: String,
    ) -> Result<Workspace> {
        let st = state(ctx)?;
        let Ok(slug) = Slug::parse(workspace.trim()) else {
            return Err(ApiError::from(members::MemberError::Invitation(
                members::Refusal::NotFound,
            ))
            .into());
        };
        let session = st.session.ok_or_else(ApiError::unauthenticated)?;
        let accept = AcceptContext {
            user_id: st.user_id,
            aal2: session.aal == crate::identity::session::Aal::Aal2,
            sso_tenant: session.sso_tenant,
            keyring: &st.keyring,
            meta: &st.audit_meta,
            now: st.clock.now(),
        };
        let mut tx = st.tx.lock().await;
        let joined = members::accept(&mut tx, accept, &slug, &token).await?;
        st.event(
            "membership.joined",
            serde_json::json!({ "workspace": joined.slug, "role": joined.role }),
            false,
        );
        Ok(Workspace {
            slug: joined.slug,
            name: joined.name,
            role: joined.role,
        })
    }
}
