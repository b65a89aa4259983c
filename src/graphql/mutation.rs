//! Tenant mutations. Every field carries `@requires`, which the guard enforces; domain
//! services add the row-level checks (team editability, membership of assignees).

use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};

use super::context::{opt_id, parse_id, state, tx};
use super::query::perm;
use super::types::{ApiTokenObj, GoalObj, IdeaObj, ProjectObj, RecordObj, TeamObj};
use crate::authz::{Permission as P, requires};
use crate::work::projects::{self, NewProject, ProjectChanges};
use crate::work::records::{self, NewRecord, RecordChanges, RecordStatus};
use crate::work::teams::{self, Visibility};
use crate::work::{goals, ideas};

pub struct Mutation;

/// Secret kinds that `settings:manage` may store. OIDC client secrets have their own,
/// session-only mutation, so each guard in the SDL states the whole requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum SettingsSecretKind {
    WebhookSecret,
    IntegrationCredential,
}

impl From<SettingsSecretKind> for crate::crypto::store::SecretKind {
    fn from(k: SettingsSecretKind) -> Self {
        match k {
            SettingsSecretKind::WebhookSecret => Self::WebhookSecret,
            SettingsSecretKind::IntegrationCredential => Self::IntegrationCredential,
        }
    }
}

async fn store_secret(
    ctx: &Context<'_>,
    kind: crate::crypto::store::SecretKind,
    name: &str,
    secret: String,
) -> Result<super::types::SecretInfoObj> {
    let keyring = state(ctx)?.keyring.clone();
    let value = crate::crypto::Secret::new(secret);
    let info =
        crate::crypto::store::put(&mut *tx(ctx).await?, &keyring, kind, name, &value).await?;
    Ok(super::types::SecretInfoObj(info))
}

fn viewer(ctx: &Context<'_>) -> Result<crate::authz::Viewer, super::errors::ApiError> {
    Ok(state(ctx)?.principal.viewer())
}

#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// `https://…` (or `http://…`); no credentials in it.
    pub url: String,
    /// Mutation names (`createProject`), or `*` for every event.
    pub events: Vec<String>,
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

#[derive(InputObject)]
pub struct CreateProjectInput {
    pub team_id: ID,
    pub goal_id: Option<ID>,
    pub name: String,
    #[graphql(default)]
    pub description: String,
}

#[derive(InputObject)]
pub struct UpdateProjectInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub team_id: Option<ID>,
    pub goal_id: Option<ID>,
}

#[derive(InputObject)]
pub struct CreateRecordInput {
    pub project_id: ID,
    pub title: String,
    #[graphql(default)]
    pub body: String,
    pub status: Option<RecordStatus>,
    pub assignee_id: Option<ID>,
    /// Custom fields: a JSON object of at most 16 KiB.
    pub fields: Option<Json<serde_json::Value>>,
}

#[derive(InputObject)]
pub struct UpdateRecordInput {
    pub title: Option<String>,
    pub body: Option<String>,
    pub status: Option<RecordStatus>,
    pub assignee_id: Option<ID>,
    pub fields: Option<Json<serde_json::Value>>,
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

/// Scope of an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum ApiTokenScope {
    Read,
    Write,
    Settings,
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

/// Role given to people created at their first SSO sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum SsoJitRole {
    Admin,
    Member,
}

impl From<SsoJitRole> for crate::authz::Role {
    fn from(r: SsoJitRole) -> Self {
        match r {
            SsoJitRole::Admin => Self::Admin,
            SsoJitRole::Member => Self::Member,
        }
    }
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
            start_url: format!(
                "{}/auth/oidc/{slug}/start",
                public_origin.trim_end_matches('/')
            ),
        }
    }
}

/// A minted token: `secret` is shown this once and never stored in clear.
#[derive(SimpleObject)]
pub struct MintedApiToken {
    pub secret: String,
    pub api_token: ApiTokenObj,
}

#[derive(SimpleObject)]
pub struct PromoteIdeaPayload {
    pub idea: IdeaObj,
    pub project: ProjectObj,
}

#[Object]
impl Mutation {
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

    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        input: CreateProjectInput,
    ) -> Result<ProjectObj> {
        let viewer = state(ctx)?.principal.viewer();
        let new = NewProject {
            team_id: parse_id(&input.team_id)?,
            goal_id: opt_id(input.goal_id.as_ref())?,
            name: &input.name,
            description: &input.description,
        };
        Ok(ProjectObj(
            projects::create(&mut *tx(ctx).await?, viewer, new).await?,
        ))
    }

    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn update_project(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateProjectInput,
    ) -> Result<ProjectObj> {
        let id = parse_id(&id)?;
        let viewer = state(ctx)?.principal.viewer();
        let changes = ProjectChanges {
            name: input.name.as_deref(),
            description: input.description.as_deref(),
            team_id: opt_id(input.team_id.as_ref())?,
            goal_id: opt_id(input.goal_id.as_ref())?,
        };
        Ok(ProjectObj(
            projects::update(&mut *tx(ctx).await?, viewer, id, changes).await?,
        ))
    }

    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn archive_project(&self, ctx: &Context<'_>, id: ID) -> Result<ProjectObj> {
        let id = parse_id(&id)?;
        let viewer = state(ctx)?.principal.viewer();
        Ok(ProjectObj(
            projects::archive(&mut *tx(ctx).await?, viewer, id).await?,
        ))
    }

    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn create_record(
        &self,
        ctx: &Context<'_>,
        input: CreateRecordInput,
    ) -> Result<RecordObj> {
        let viewer = state(ctx)?.principal.viewer();
        let new = NewRecord {
            project_id: parse_id(&input.project_id)?,
            title: &input.title,
            body: &input.body,
            status: input.status.unwrap_or(RecordStatus::Open),
            assignee_id: opt_id(input.assignee_id.as_ref())?,
            fields: input.fields.map_or_else(|| serde_json::json!({}), |j| j.0),
        };
        Ok(RecordObj(
            records::create(&mut *tx(ctx).await?, viewer, new).await?,
        ))
    }

    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn update_record(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateRecordInput,
    ) -> Result<RecordObj> {
        let id = parse_id(&id)?;
        let viewer = state(ctx)?.principal.viewer();
        let changes = RecordChanges {
            title: input.title.as_deref(),
            body: input.body.as_deref(),
            status: input.status,
            assignee_id: opt_id(input.assignee_id.as_ref())?,
            fields: input.fields.map(|j| j.0),
        };
        Ok(RecordObj(
            records::update(&mut *tx(ctx).await?, viewer, id, changes).await?,
        ))
    }

    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn archive_record(&self, ctx: &Context<'_>, id: ID) -> Result<RecordObj> {
        let id = parse_id(&id)?;
        let viewer = state(ctx)?.principal.viewer();
        Ok(RecordObj(
            records::archive(&mut *tx(ctx).await?, viewer, id).await?,
        ))
    }

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

    /// Stores (or replaces) a webhook secret or integration credential. The value is sealed
    /// at once and never returned, logged or written to the audit log.
    #[graphql(directive = requires::apply(perm(P::SettingsManage)))]
    async fn set_secret(
        &self,
        ctx: &Context<'_>,
        kind: SettingsSecretKind,
        name: String,
        secret: String,
    ) -> Result<super::types::SecretInfoObj> {
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
    ) -> Result<super::types::SecretInfoObj> {
        store_secret(
            ctx,
            crate::crypto::store::SecretKind::OidcClientSecret,
            &name,
            secret,
        )
        .await
    }

    /// Brings back an earlier version of a goal, project, record or idea as a new version.
    #[graphql(directive = requires::apply(perm(P::WorkWrite)))]
    async fn restore_version(
        &self,
        ctx: &Context<'_>,
        entity_type: crate::work::history::EntityType,
        id: ID,
        version: i32,
    ) -> Result<super::types::VersionObj> {
        let id = parse_id(&id)?;
        let v = crate::work::history::restore(
            &mut *tx(ctx).await?,
            viewer(ctx)?,
            entity_type,
            id,
            version,
        )
        .await?;
        Ok(super::types::VersionObj(v))
    }

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
            .ok_or_else(super::errors::ApiError::not_found)?;
        Ok(MintedApiToken {
            secret: secret.expose().to_owned(),
            api_token: ApiTokenObj(info),
        })
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
            return Err(super::errors::ApiError::new(
                super::errors::ErrorCode::MfaRequired,
                "sign in with a second factor before changing the MFA policy",
            )
            .into());
        }
        let mut tx = tx(ctx).await?;
        let done: bool = sqlx::query_scalar("SELECT public.tessera_set_mfa_required($1)")
            .bind(required)
            .fetch_one(tx.conn())
            .await
            .map_err(super::errors::ApiError::from)?;
        if !done {
            return Err(super::errors::ApiError::not_found().into());
        }
        tx.note_change(serde_json::json!({
            "entity": "workspace", "field": "mfa_required", "after": required
        }));
        Ok(required)
    }

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
            return Err(super::errors::ApiError::new(
                super::errors::ErrorCode::Conflict,
                "configure single sign-on first",
            )
            .into());
        }
        let done: bool = sqlx::query_scalar("SELECT public.tessera_set_sso_only($1)")
            .bind(only)
            .fetch_one(tx.conn())
            .await
            .map_err(super::errors::ApiError::from)?;
        if !done {
            return Err(super::errors::ApiError::not_found().into());
        }
        tx.note_change(
            serde_json::json!({ "entity": "workspace", "field": "sso_only", "after": only }),
        );
        Ok(only)
    }

    /// Deletes this workspace: inaccessible at once, restorable by an owner for 7 days
    /// (`restoreWorkspace` on `/graphql`), then purged. Owners only, from a browser session;
    /// `confirmSlug` must repeat the workspace's slug.
    #[graphql(directive = requires::apply(perm(P::WorkspaceDelete)))]
    async fn delete_workspace(&self, ctx: &Context<'_>, confirm_slug: String) -> Result<bool> {
        let mut tx = tx(ctx).await?;
        if confirm_slug != tx.tenant().slug.as_str() {
            return Err(super::errors::ApiError::bad_input(
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

    /// Queues a background export of the whole workspace. The server's worker writes it to
    /// the attachment store; follow `exports`/`export(id)` until it is `DONE`, then download it
    /// through its `contentUrl`. It stays for `jobs.export_keep_days` days. One at a time per
    /// workspace: `CONFLICT` while another is queued or running.
    #[graphql(directive = requires::apply(perm(P::ExportRun)))]
    async fn start_export(&self, ctx: &Context<'_>) -> Result<super::types::ExportObj> {
        let user = state(ctx)?.principal.user_id;
        let mut tx = tx(ctx).await?;
        let slug = tx.tenant().slug.as_str().to_owned();
        let e = crate::export::job::queue(&mut tx, user)
            .await
            .map_err(super::errors::ApiError::from)?
            .ok_or_else(|| {
                super::errors::ApiError::new(
                    super::errors::ErrorCode::Conflict,
                    "an export of this workspace is already queued or running",
                )
            })?;
        Ok(super::types::ExportObj { e, slug })
    }

    /// Registers a webhook endpoint for some event types (mutation names such as
    /// `createProject`, or `*`). The URL must reach a public address (loopback and private
    /// ranges only where the server's `network` settings allow them). Returns the signing
    /// secret, shown this once.
    #[graphql(directive = requires::apply(perm(P::SettingsManage)))]
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> Result<super::types::WebhookEndpointSecretObj> {
        let st = state(ctx)?;
        let (keyring, outbound, user) = (
            st.keyring.clone(),
            st.outbound.clone(),
            st.principal.user_id,
        );
        let (endpoint, secret) = crate::webhooks::create(
            &mut *tx(ctx).await?,
            &keyring,
            &outbound,
            user,
            &input.url,
            &input.events,
        )
        .await?;
        Ok(super::types::WebhookEndpointSecretObj {
            endpoint,
            secret: secret.expose(),
        })
    }

    /// A new signing secret for an endpoint (shown this once). The previous secret keeps
    /// signing, as a second signature, for `webhooks.rotation_overlap_hours`.
    #[graphql(directive = requires::apply(perm(P::SettingsManage)))]
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<super::types::WebhookEndpointSecretObj> {
        let id = parse_id(&id)?;
        let st = state(ctx)?;
        let (keyring, overlap) = (st.keyring.clone(), st.webhooks.rotation_overlap_hours);
        let (endpoint, secret) =
            crate::webhooks::rotate(&mut *tx(ctx).await?, &keyring, id, overlap).await?;
        Ok(super::types::WebhookEndpointSecretObj {
            endpoint,
            secret: secret.expose(),
        })
    }

    /// Turns an endpoint disabled by repeated failures back on.
    #[graphql(directive = requires::apply(perm(P::SettingsManage)))]
    async fn enable_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<super::types::WebhookEndpointObj> {
        let id = parse_id(&id)?;
        Ok(super::types::WebhookEndpointObj(
            crate::webhooks::enable(&mut *tx(ctx).await?, id).await?,
        ))
    }

    /// Removes an endpoint with its messages and secrets.
    #[graphql(directive = requires::apply(perm(P::SettingsManage)))]
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id(&id)?;
        if crate::webhooks::delete(&mut *tx(ctx).await?, id).await? {
            Ok(true)
        } else {
            Err(super::errors::ApiError::not_found().into())
        }
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
