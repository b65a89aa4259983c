//! Single sign-on configuration (session-only).

use async_graphql::{Context, Object, Result, SimpleObject};

use crate::authz::{Permission as P, requires};
use crate::db;
use crate::graphql::compiled::{self, Root, Served};
use crate::graphql::context::{perm, state, tx};

#[derive(Default)]
pub struct SsoQuery;

#[Object]
impl SsoQuery {
    /// The workspace's single sign-on configuration, if any (session-only, `sso:manage`).
    #[graphql(directive = requires::apply(perm(P::SsoManage)))]
    async fn sso(&self, ctx: &Context<'_>) -> Result<Served<Option<SsoConfigObj>>> {
        if let Some(v) = compiled::serve(ctx, Root::Sso).await? {
            return Ok(Served::Compiled(v));
        }
        let st = state(ctx)?;
        let mut tx = tx(ctx).await?;
        let cfg = crate::identity::sso::config(&mut tx).await?;
        let slug = tx.tenant().slug.as_str().to_owned();
        Ok(Served::Resolved(cfg.map(|c| {
            SsoConfigObj::new(c, tx.sso_only(), &st.public_origin, &slug)
        })))
    }
}

#[derive(Default)]
pub struct SsoMutation;

#[Object]
impl SsoMutation {
    /// Configures the workspace's OIDC single sign-on: issuer (checked against the outbound
    /// address policy and validated by discovery now), client id and client secret (sealed,
    /// never returned). `jitRole`: role of people created at their first sign-in; null for
    /// invite-only. Session-only (`sso:manage`).
    #[graphql(directive = requires::apply(perm(P::SsoManage)))]
    async fn configure_sso(
        &self,
        ctx: &Context<'_>,
        issuer: String,
        client_id: String,
        client_secret: String,
        jit_role: Option<SsoJitRole>,
    ) -> Result<SsoConfigObj> {
        let st = state(ctx)?;
        let secret = crate::crypto::Secret::new(client_secret);
        let mut tx = tx(ctx).await?;
        let cfg = crate::identity::sso::configure(
            &mut tx,
            &st.keyring,
            &st.outbound,
            &issuer,
            &client_id,
            &secret,
            jit_role.map(Into::into),
        )
        .await?;
        Ok(SsoConfigObj::new(
            cfg,
            tx.sso_only(),
            &st.public_origin,
            tx.tenant().slug.as_str(),
        ))
    }

    /// Accepts only sign-ins through the workspace's SSO (or stops doing so). Session-only.
    #[graphql(directive = requires::apply(perm(P::SsoManage)))]
    async fn set_sso_only(&self, ctx: &Context<'_>, only: bool) -> Result<bool> {
        let mut tx = tx(ctx).await?;
        if only && crate::identity::sso::config(&mut tx).await?.is_none() {
            return Err(crate::graphql::errors::ApiError::new(
                crate::graphql::errors::ErrorCode::Conflict,
                "configure single sign-on first",
            )
            .into());
        }
        let done: bool = db::query_scalar("SELECT public.tessera_set_sso_only($1)")
            .bind(only)
            .fetch_one(tx.conn())
            .await
            .map_err(crate::graphql::errors::ApiError::from)?;
        if !done {
            return Err(crate::graphql::errors::ApiError::not_found().into());
        }
        tx.note_change(
            serde_json::json!({ "entity": "workspace", "field": "sso_only", "after": only }),
        );
        Ok(only)
    }
}

/// Role given to people created at their first SSO sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum SsoJitRole {
    Admin,
    Member,
}

/// A workspace's SSO configuration (the client secret is never returned).
#[derive(SimpleObject)]
#[graphql(name = "SsoConfig")]
pub struct SsoConfigObj {
    pub issuer: String,
    pub client_id: String,
    /// Null: invite-only.
    pub jit_role: Option<SsoJitRole>,
    pub sso_only: bool,
    /// Register this redirect URI with the provider.
    pub callback_url: String,
    /// Send people here to sign in.
    pub start_url: String,
}

impl SsoConfigObj {
    pub fn new(
        cfg: crate::identity::sso::SsoConfig,
        sso_only: bool,
        public_origin: &str,
        slug: &str,
    ) -> Self {
        Self {
            issuer: cfg.issuer,
            client_id: cfg.client_id,
            jit_role: match cfg.jit_role.as_deref() {
                Some("admin") => Some(SsoJitRole::Admin),
                Some(_) => Some(SsoJitRole::Member),
                None => None,
            },
            sso_only,
            callback_url: crate::identity::sso::callback_url(public_origin, slug),
            start_url: crate::identity::sso::start_url(public_origin, slug),
        }
    }
}

impl From<SsoJitRole> for crate::authz::Role {
    fn from(r: SsoJitRole) -> Self {
        match r {
            SsoJitRole::Admin => Self::Admin,
            SsoJitRole::Member => Self::Member,
        }
    }
}
