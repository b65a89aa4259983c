//! Workspace settings: stored secrets, the MFA policy, deletion.

use async_graphql::{Context, ID, Object, Result};

use crate::authz::{Permission as P, requires};
use crate::db;
use crate::graphql::compiled::{self, Root, Served};
use crate::graphql::context::{perm, state, tx};
use chrono::{DateTime, Utc};

#[derive(Default)]
pub struct SettingsQuery;

#[Object]
impl SettingsQuery {
    /// Stored workspace secrets (metadata only).
    #[graphql(directive = requires::apply(perm(P::SettingsManage)))]
    async fn secrets(&self, ctx: &Context<'_>) -> Result<Served<Vec<SecretInfoObj>>> {
        if let Some(v) = compiled::serve(ctx, Root::Secrets).await? {
            return Ok(Served::Compiled(v));
        }
        let found = crate::crypto::store::list(&mut *tx(ctx).await?).await?;
        Ok(Served::Resolved(
            found.into_iter().map(SecretInfoObj).collect(),
        ))
    }

    /// Whether this workspace requires a second factor of browser sessions.
    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn mfa_required(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(tx(ctx).await?.mfa_required())
    }
}

#[derive(Default)]
pub struct SettingsMutation;

#[Object]
impl SettingsMutation {
    /// Stores (or replaces) a webhook secret or integration credential. The value is sealed
    /// at once and never returned, logged or written to the audit log.
    #[graphql(directive = requires::apply(perm(P::SettingsManage)))]
    async fn set_secret(
        &self,
        ctx: &Context<'_>,
        kind: SettingsSecretKind,
        name: String,
        secret: String,
    ) -> Result<SecretInfoObj> {
        store_secret(ctx, kind.into(), &name, secret).await
    }

    /// Stores (or replaces) the workspace's OIDC client secret. OIDC configuration is
    /// sensitive: `sso:manage` is session-only, so no API token can call this.
    #[graphql(directive = requires::apply(perm(P::SsoManage)))]
    async fn set_oidc_client_secret(
        &self,
        ctx: &Context<'_>,
        name: String,
        secret: String,
    ) -> Result<SecretInfoObj> {
        store_secret(
            ctx,
            crate::crypto::store::SecretKind::OidcClientSecret,
            &name,
            secret,
        )
        .await
    }

    /// Requires (or stops requiring) a second factor of every browser session for this
    /// workspace, on every request. Owners only, from an `aal2` session.
    #[graphql(directive = requires::apply(perm(P::MfaManage)))]
    async fn set_mfa_required(&self, ctx: &Context<'_>, required: bool) -> Result<bool> {
        let st = state(ctx)?;
        let aal2 = matches!(
            st.principal.actor,
            crate::authz::Actor::Session { aal2: true, .. }
        );
        if !aal2 {
            return Err(crate::graphql::errors::ApiError::new(
                crate::graphql::errors::ErrorCode::MfaRequired,
                "sign in with a second factor before changing the MFA policy",
            )
            .into());
        }
        let mut tx = tx(ctx).await?;
        let done: bool = db::query_scalar("SELECT public.tessera_set_mfa_required($1)")
            .bind(required)
            .fetch_one(tx.conn())
            .await
            .map_err(crate::graphql::errors::ApiError::from)?;
        if !done {
            return Err(crate::graphql::errors::ApiError::not_found().into());
        }
        tx.note_change(serde_json::json!({
            "entity": "workspace", "field": "mfa_required", "after": required
        }));
        Ok(required)
    }

    /// Sets how long this workspace keeps its audit entries, in days (30 to 36525; 2557, 7
    /// years, by default). Older entries are removed by the operator's daily prune, behind a
    /// signed checkpoint. Owners only, from a browser session; the change is audited with
    /// its before and after.
    #[graphql(directive = requires::apply(perm(P::AuditRetention)))]
    async fn set_audit_retention(&self, ctx: &Context<'_>, days: i32) -> Result<i32> {
        if !(30..=36525).contains(&days) {
            return Err(crate::graphql::errors::ApiError::bad_input(
                "audit retention is 30 days to 100 years (36525 days)",
            )
            .into());
        }
        let mut tx = tx(ctx).await?;
        let before: Option<i32> = db::query_scalar("SELECT public.tessera_set_audit_retention($1)")
            .bind(days)
            .fetch_one(tx.conn())
            .await
            .map_err(crate::graphql::errors::ApiError::from)?;
        let Some(before) = before else {
            return Err(crate::graphql::errors::ApiError::not_found().into());
        };
        tx.note_change(serde_json::json!({
            "entity": "workspace", "field": "audit_retention_days", "before": before, "after": days
        }));
        Ok(days)
    }

    /// Deletes this workspace: inaccessible at once, restorable by an owner for 7 days
    /// (`restoreWorkspace` on `/graphql`), then purged. Owners only, from a browser session;
    /// `confirmSlug` must repeat the workspace's slug.
    #[graphql(directive = requires::apply(perm(P::WorkspaceDelete)))]
    async fn delete_workspace(&self, ctx: &Context<'_>, confirm_slug: String) -> Result<bool> {
        let mut tx = tx(ctx).await?;
        if confirm_slug != tx.tenant().slug.as_str() {
            return Err(crate::graphql::errors::ApiError::bad_input(
                "confirmSlug must repeat the workspace's slug",
            )
            .into());
        }
        tx.request_delete();
        tx.note_change(
            serde_json::json!({ "entity": "workspace", "field": "state", "after": "deleted" }),
        );
        Ok(true)
    }
}

/// Secret kinds that `settings:manage` may store. OIDC client secrets have their own,
/// session-only mutation, so each guard in the SDL states the whole requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum SettingsSecretKind {
    WebhookSecret,
    IntegrationCredential,
}

/// A stored workspace secret: metadata only, the value is never returned.
pub struct SecretInfoObj(pub crate::crypto::store::SecretInfo);

#[Object(name = "SecretInfo")]
impl SecretInfoObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> crate::crypto::store::SecretKind {
        self.0.kind
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

async fn store_secret(
    ctx: &Context<'_>,
    kind: crate::crypto::store::SecretKind,
    name: &str,
    secret: String,
) -> Result<SecretInfoObj> {
    let keyring = state(ctx)?.keyring.clone();
    let value = crate::crypto::Secret::new(secret);
    let info =
        crate::crypto::store::put(&mut *tx(ctx).await?, &keyring, kind, name, &value).await?;
    Ok(SecretInfoObj(info))
}

impl From<SettingsSecretKind> for crate::crypto::store::SecretKind {
    fn from(k: SettingsSecretKind) -> Self {
        match k {
            SettingsSecretKind::WebhookSecret => Self::WebhookSecret,
            SettingsSecretKind::IntegrationCredential => Self::IntegrationCredential,
        }
    }
}
