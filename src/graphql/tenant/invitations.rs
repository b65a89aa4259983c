//! Invitations: inviting an address, listing, revoking and resending (rules in
//! [`crate::members`]). Accepting one is on `/graphql` (`acceptInvitation`).

use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::{DateTime, Utc};

use super::member_role::MemberRole;
use super::members::manager;
use crate::authz::{Permission as P, requires};
use crate::graphql::compiled::{self, InvitationFilter, Root, Served};
use crate::graphql::context::{parse_id, perm, state, tx};
use crate::graphql::errors::ApiError;
use crate::members::{self, Invitation, InvitationStatus, NewInvitation};

#[derive(Default)]
pub struct InvitationsQuery;

#[Object]
impl InvitationsQuery {
    /// The workspace's invitations, newest first: pending, expired, revoked and accepted
    /// (`status` narrows them). Owners and admins.
    #[graphql(directive = requires::apply(perm(P::MembersManage)))]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] status: Vec<InvitationStatusObj>,
        #[graphql(default = 50, validator(minimum = 1, maximum = 200))] first: i32,
    ) -> Result<Served<Vec<InvitationObj>>> {
        let now = state(ctx)?.clock.now();
        let filter = InvitationFilter {
            pending: status.contains(&InvitationStatusObj::Pending),
            expired: status.contains(&InvitationStatusObj::Expired),
            revoked: status.contains(&InvitationStatusObj::Revoked),
            accepted: status.contains(&InvitationStatusObj::Accepted),
        };
        let root = Root::Invitations(filter, i64::from(first), now);
        if let Some(v) = compiled::serve(ctx, root).await? {
            return Ok(Served::Compiled(v));
        }
        let found = members::list(&mut *tx(ctx).await?, i64::from(first)).await?;
        Ok(Served::Resolved(
            found
                .into_iter()
                .map(|i| InvitationObj::new(i, now))
                .filter(|i| status.is_empty() || status.contains(&i.status))
                .collect(),
        ))
    }
}

#[derive(Default)]
pub struct InvitationsMutation;

#[Object]
impl InvitationsMutation {
    /// Invites an address with a role and teams, and mails it a link that works once for
    /// `auth.invitation_ttl_hours` (7 days by default). Owners and admins; an admin cannot
    /// invite an owner, and only an owner's browser session can. `ALREADY_MEMBER` for a member's
    /// address, `CONFLICT` while an invitation to it is pending (resend it instead).
    #[graphql(directive = requires::apply(perm(P::MembersManage)))]
    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        email: String,
        role: MemberRole,
        #[graphql(default)] team_ids: Vec<ID>,
    ) -> Result<InvitationObj> {
        let st = state(ctx)?;
        let by = manager(ctx)?;
        let teams = team_ids
            .iter()
            .map(parse_id)
            .collect::<Result<Vec<_>, _>>()?;
        st.auth_limits
            .invitation_sent(st.principal.tenant_id)
            .await
            .map_err(ApiError::rate_limited)?;
        let now = st.clock.now();
        let new = NewInvitation {
            email: &email,
            role: role.into(),
            team_ids: &teams,
        };
        let ttl = st.auth.invitation_ttl_hours;
        let inv = members::invite(&mut *tx(ctx).await?, &st.keyring, &by, new, ttl, now).await?;
        Ok(InvitationObj::new(inv, now))
    }

    /// Withdraws an invitation: its link stops working (`INVITATION_REVOKED`).
    #[graphql(directive = requires::apply(perm(P::MembersManage)))]
    async fn revoke_invitation(&self, ctx: &Context<'_>, id: ID) -> Result<InvitationObj> {
        let id = parse_id(&id)?;
        let st = state(ctx)?;
        let by = manager(ctx)?;
        let now = st.clock.now();
        let inv = members::revoke(&mut *tx(ctx).await?, &by, id, now).await?;
        Ok(InvitationObj::new(inv, now))
    }

    /// Mails a pending or expired invitation again with a new link (the previous one stops
    /// working) and a new expiry.
    #[graphql(directive = requires::apply(perm(P::MembersManage)))]
    async fn resend_invitation(&self, ctx: &Context<'_>, id: ID) -> Result<InvitationObj> {
        let id = parse_id(&id)?;
        let st = state(ctx)?;
        let by = manager(ctx)?;
        st.auth_limits
            .invitation_sent(st.principal.tenant_id)
            .await
            .map_err(ApiError::rate_limited)?;
        let now = st.clock.now();
        let ttl = st.auth.invitation_ttl_hours;
        let inv = members::resend(&mut *tx(ctx).await?, &st.keyring, &by, id, ttl, now).await?;
        Ok(InvitationObj::new(inv, now))
    }
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(name = "InvitationStatus")]
pub enum InvitationStatusObj {
    Pending,
    Expired,
    Revoked,
    Accepted,
}

impl From<InvitationStatus> for InvitationStatusObj {
    fn from(s: InvitationStatus) -> Self {
        match s {
            InvitationStatus::Pending => Self::Pending,
            InvitationStatus::Expired => Self::Expired,
            InvitationStatus::Revoked => Self::Revoked,
            InvitationStatus::Accepted => Self::Accepted,
        }
    }
}

/// An invitation (its link is never shown again after it was mailed).
pub struct InvitationObj {
    inv: Invitation,
    status: InvitationStatusObj,
}

impl InvitationObj {
    fn new(inv: Invitation, now: DateTime<Utc>) -> Self {
        let status = inv.status(now).into();
        Self { inv, status }
    }
}

#[Object(name = "Invitation")]
impl InvitationObj {
    async fn id(&self) -> ID {
        ID(self.inv.id.to_string())
    }
    async fn email(&self) -> &str {
        &self.inv.email
    }
    async fn role(&self) -> MemberRole {
        MemberRole::parse(&self.inv.role)
    }
    async fn team_ids(&self) -> Vec<ID> {
        self.inv
            .team_ids
            .iter()
            .map(|t| ID(t.to_string()))
            .collect()
    }
    async fn status(&self) -> InvitationStatusObj {
        self.status
    }
    /// Who invited (a user id).
    async fn invited_by(&self) -> ID {
        ID(self.inv.invited_by.to_string())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.inv.created_at
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.inv.expires_at
    }
    /// How many times it was mailed.
    async fn sent_count(&self) -> i32 {
        self.inv.sent_count
    }
    async fn last_sent_at(&self) -> DateTime<Utc> {
        self.inv.last_sent_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.inv.revoked_at
    }
    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.inv.accepted_at
    }
    /// Who accepted it (a user id).
    async fn accepted_by(&self) -> Option<ID> {
        self.inv.accepted_by.map(|u| ID(u.to_string()))
    }
}
