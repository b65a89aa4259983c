//! SCIM provisioning settings: the workspace's SCIM base URL and its tokens (minted from a
//! browser session by owners and admins, shown once, revocable).

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::authz::{Permission as P, requires};
use crate::graphql::compiled::{self, Root, Served};
use crate::graphql::context::{parse_id, perm, state, tx};
use crate::graphql::errors::ApiError;
use crate::scim::tokens::{self, ScimToken};

#[derive(Default)]
pub struct ScimQuery;

#[Object]
impl ScimQuery {
    /// The URL an identity provider provisions this workspace at, and its SCIM tokens
    /// (metadata only).
    #[graphql(directive = requires::apply(perm(P::ScimManage)))]
    async fn scim(&self, ctx: &Context<'_>) -> Result<Served<ScimSettings>> {
        if let Some(v) = compiled::serve(ctx, Root::Scim).await? {
            return Ok(Served::Compiled(v));
        }
        let base = base_url(ctx).await?;
        let tokens = tokens::list(&mut *tx(ctx).await?)
            .await
            .map_err(ApiError::from)?;
        Ok(Served::Resolved(ScimSettings {
            base_url: base,
            tokens: tokens.into_iter().map(ScimTokenObj).collect(),
        }))
    }
}

async fn base_url(ctx: &Context<'_>) -> Result<String> {
    let origin = state(ctx)?.public_origin.clone();
    let slug = tx(ctx).await?.tenant().slug.clone();
    Ok(tokens::base_url(&origin, slug.as_str()))
}

#[derive(SimpleObject)]
pub struct ScimSettings {
    /// The SCIM 2.0 base URL (the "tenant URL" or "SCIM connector base URL").
    base_url: String,
    tokens: Vec<ScimTokenObj>,
}

#[derive(SimpleObject)]
pub struct MintedScimToken {
    /// The token, shown this once: give it to the identity provider.
    secret: String,
    scim_token: ScimTokenObj,
}

#[derive(Default)]
pub struct ScimMutation;

#[Object]
impl ScimMutation {
    /// Mints a SCIM token for this workspace's identity provider. It belongs to the
    /// workspace (it keeps working when whoever minted it leaves) and can create,
    /// deactivate and remove members. Session-only, owners and admins.
    #[graphql(directive = requires::apply(perm(P::ScimManage)))]
    async fn create_scim_token(&self, ctx: &Context<'_>, name: String) -> Result<MintedScimToken> {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ApiError::bad_input("a SCIM token's name is 1 to 100 characters").into());
        }
        let by = state(ctx)?.principal.user_id;
        let mut tx = tx(ctx).await?;
        let (id, secret) = tokens::mint(&mut tx, &name, by)
            .await
            .map_err(ApiError::from)?;
        let token = tokens::list(&mut tx)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(ApiError::not_found)?;
        tx.note_change(
            serde_json::json!({ "entity": "scim_token", "id": id, "after": { "name": name } }),
        );
        Ok(MintedScimToken {
            secret,
            scim_token: ScimTokenObj(token),
        })
    }

    /// Revokes a SCIM token: the provider's next request with it is refused.
    #[graphql(directive = requires::apply(perm(P::ScimManage)))]
    async fn revoke_scim_token(&self, ctx: &Context<'_>, id: ID) -> Result<ScimTokenObj> {
        let id = parse_id(&id)?;
        let mut tx = tx(ctx).await?;
        if !tokens::revoke(&mut tx, id).await.map_err(ApiError::from)? {
            return Err(ApiError::not_found().into());
        }
        let token = tokens::list(&mut tx)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(ApiError::not_found)?;
        tx.note_change(
            serde_json::json!({ "entity": "scim_token", "id": id, "after": { "revoked": true } }),
        );
        Ok(ScimTokenObj(token))
    }
}

pub struct ScimTokenObj(ScimToken);

#[Object(name = "ScimToken")]
impl ScimTokenObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
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
