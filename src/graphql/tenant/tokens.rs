//! API tokens: listing, minting (session-only), revoking.

use async_graphql::{Context, ID, Object, Result, SimpleObject};

use crate::authz::{Permission as P, requires};
use crate::graphql::compiled::{self, Root, Served};
use crate::graphql::context::{parse_id, perm, state, tx};
use crate::identity::ApiTokenInfo;
use chrono::{DateTime, Utc};

#[derive(Default)]
pub struct TokensQuery;

#[Object]
impl TokensQuery {
    /// API tokens of this workspace (metadata only).
    #[graphql(directive = requires::apply(perm(P::TokensRead)))]
    async fn api_tokens(&self, ctx: &Context<'_>) -> Result<Served<Vec<ApiTokenObj>>> {
        if let Some(v) = compiled::serve(ctx, Root::ApiTokens).await? {
            return Ok(Served::Compiled(v));
        }
        let found = crate::identity::list_tokens(&mut *tx(ctx).await?).await?;
        Ok(Served::Resolved(
            found.into_iter().map(ApiTokenObj).collect(),
        ))
    }
}

#[derive(Default)]
pub struct TokensMutation;

#[Object]
impl TokensMutation {
    /// Mints an API token for the caller in this workspace. Session-only (`tokens:mint`),
    /// owners and admins; `aal2` where the workspace requires MFA.
    #[graphql(directive = requires::apply(perm(P::TokensMint)))]
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        name: String,
        scopes: Vec<ApiTokenScope>,
    ) -> Result<MintedApiToken> {
        let st = state(ctx)?;
        let (tenant_id, user_id) = (st.principal.tenant_id, st.principal.user_id);
        let scopes: Vec<crate::authz::Scope> = scopes.into_iter().map(Into::into).collect();
        let mut tx = tx(ctx).await?;
        let (id, secret) =
            crate::identity::mint_token(tx.conn(), tenant_id, user_id, &name, &scopes).await?;
        let info = crate::identity::list_tokens(&mut tx)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(crate::graphql::errors::ApiError::not_found)?;
        Ok(MintedApiToken {
            secret: secret.expose().to_owned(),
            api_token: ApiTokenObj(info),
        })
    }

    /// Revokes an API token of this workspace; it stops working on the next request.
    #[graphql(directive = requires::apply(perm(P::TokensRevoke)))]
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> Result<ApiTokenObj> {
        let id = parse_id(&id)?;
        Ok(ApiTokenObj(
            crate::identity::revoke_token(&mut *tx(ctx).await?, id).await?,
        ))
    }
}

/// Scope of an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum ApiTokenScope {
    Read,
    Write,
    Settings,
}

/// A minted token: `secret` is shown this once and never stored in clear.
#[derive(SimpleObject)]
pub struct MintedApiToken {
    pub secret: String,
    pub api_token: ApiTokenObj,
}

/// Token metadata. The secret is shown once at minting and never again.
pub struct ApiTokenObj(pub ApiTokenInfo);

#[Object(name = "ApiToken")]
impl ApiTokenObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn user_id(&self) -> ID {
        ID(self.0.user_id.to_string())
    }
    async fn scopes(&self) -> &[String] {
        &self.0.scopes
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

impl From<ApiTokenScope> for crate::authz::Scope {
    fn from(s: ApiTokenScope) -> Self {
        match s {
            ApiTokenScope::Read => Self::Read,
            ApiTokenScope::Write => Self::Write,
            ApiTokenScope::Settings => Self::Settings,
        }
    }
}
