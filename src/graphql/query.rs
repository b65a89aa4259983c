use async_graphql::{Context, ID, Object, Result};

use super::context::{opt_id, page, parse_id, state, tx};
use super::errors::ApiError;
use super::types::{
    ApiTokenObj, Conn, GoalObj, IdeaObj, MemberObj, MemberRole, ProjectObj, RecordObj, TeamObj,
    ViewerObj, connection,
};
use crate::authz::{Permission as P, requires};
use crate::work::projects::{self, ProjectFilter};
use crate::work::{Page, goals, ideas, records, teams};

/// The `@requires` argument for a permission.
pub(crate) fn perm(p: P) -> String {
    p.as_str().to_owned()
}

/// Tenant queries, served at `/w/{slug}/graphql` inside a read-only tenant transaction.
pub struct Query;

#[Object]
impl Query {
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

    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn team(&self, ctx: &Context<'_>, id: ID) -> Result<TeamObj> {
        let id = parse_id(&id)?;
        let viewer = state(ctx)?.principal.viewer();
        Ok(TeamObj(teams::get(&mut *tx(ctx).await?, viewer, id).await?))
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
    ) -> Result<Conn<TeamObj>> {
        let args = page(ctx, first, after.as_deref())?;
        let viewer = state(ctx)?.principal.viewer();
        let found = teams::list(&mut *tx(ctx).await?, viewer, args).await?;
        Ok(connection(found, args.after.is_some(), |t| t.id, TeamObj))
    }

    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn goal(&self, ctx: &Context<'_>, id: ID) -> Result<GoalObj> {
        let id = parse_id(&id)?;
        Ok(GoalObj(goals::get(&mut *tx(ctx).await?, id).await?))
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
    ) -> Result<Conn<GoalObj>> {
        let args = page(ctx, first, after.as_deref())?;
        let found = goals::list(&mut *tx(ctx).await?, args).await?;
        Ok(connection(found, args.after.is_some(), |g| g.id, GoalObj))
    }

    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn project(&self, ctx: &Context<'_>, id: ID) -> Result<ProjectObj> {
        let id = parse_id(&id)?;
        let viewer = state(ctx)?.principal.viewer();
        Ok(ProjectObj(
            projects::get(&mut *tx(ctx).await?, viewer, id).await?,
        ))
    }

    /// Projects the caller can see, optionally filtered by team or goal.
    #[graphql(
        directive = requires::apply(perm(P::WorkspaceRead)),
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity + 1"
    )]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        team_id: Option<ID>,
        goal_id: Option<ID>,
        #[graphql(default = false)] include_archived: bool,
    ) -> Result<Conn<ProjectObj>> {
        let args = page(ctx, first, after.as_deref())?;
        let filter = ProjectFilter {
            team_id: opt_id(team_id.as_ref())?,
            goal_id: opt_id(goal_id.as_ref())?,
            include_archived,
        };
        let viewer = state(ctx)?.principal.viewer();
        let found = projects::list(&mut *tx(ctx).await?, viewer, filter, args).await?;
        Ok(connection(
            found,
            args.after.is_some(),
            |p| p.id,
            ProjectObj,
        ))
    }

    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn record(&self, ctx: &Context<'_>, id: ID) -> Result<RecordObj> {
        let id = parse_id(&id)?;
        let viewer = state(ctx)?.principal.viewer();
        Ok(RecordObj(
            records::get(&mut *tx(ctx).await?, viewer, id).await?,
        ))
    }

    /// Records of one project, newest first.
    #[graphql(
        directive = requires::apply(perm(P::WorkspaceRead)),
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity + 1"
    )]
    async fn records(
        &self,
        ctx: &Context<'_>,
        project_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<RecordObj>> {
        let project_id = parse_id(&project_id)?;
        let args = page(ctx, first, after.as_deref())?;
        let viewer = state(ctx)?.principal.viewer();
        let mut tx = tx(ctx).await?;
        // Not found (rather than an empty list) when the project is invisible.
        projects::get(&mut tx, viewer, project_id).await?;
        let found = records::list_for_project(&mut tx, viewer, project_id, args).await?;
        Ok(connection(found, args.after.is_some(), |r| r.id, RecordObj))
    }

    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn idea(&self, ctx: &Context<'_>, id: ID) -> Result<IdeaObj> {
        let id = parse_id(&id)?;
        Ok(IdeaObj(ideas::get(&mut *tx(ctx).await?, id).await?))
    }

    #[graphql(
        directive = requires::apply(perm(P::WorkspaceRead)),
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity + 1"
    )]
    async fn ideas(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<IdeaObj>> {
        let args = page(ctx, first, after.as_deref())?;
        let found = ideas::list(&mut *tx(ctx).await?, args).await?;
        Ok(connection(found, args.after.is_some(), |i| i.id, IdeaObj))
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

    /// Re-verifies this workspace's audit chain (hashes, links and signed checkpoints).
    #[graphql(directive = requires::apply(perm(P::AuditRead)))]
    async fn audit_status(&self, ctx: &Context<'_>) -> Result<super::audit::AuditStatus> {
        let st = state(ctx)?;
        let mut tx = tx(ctx).await?;
        let tenant_id = tx.tenant_id();
        let r = crate::audit::verify(tx.conn(), &st.keyring, tenant_id)
            .await
            .map_err(ApiError::from)?;
        Ok(super::audit::AuditStatus {
            ok: r.ok(),
            entries: r.entries,
            last_seq: r.last_seq,
            checkpoints: r.checkpoints,
            first_bad_seq: r.problem.as_ref().map(|b| b.seq),
            reason: r.problem.map(|b| b.reason),
        })
    }

    /// Audit entries, oldest first, payloads decrypted. `after` is a sequence number.
    #[graphql(
        directive = requires::apply(perm(P::AuditRead)),
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity + 1"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn audit_entries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        #[graphql(default = 0)] after: i64,
        from: Option<chrono::DateTime<chrono::Utc>>,
        to: Option<chrono::DateTime<chrono::Utc>>,
        #[graphql(default)] actions: Vec<String>,
        actor_user: Option<ID>,
        target_id: Option<String>,
    ) -> Result<Vec<super::audit::AuditEntry>> {
        let args = page(ctx, first, None)?;
        let st = state(ctx)?;
        let filter = crate::audit::Filter {
            from,
            to,
            actions,
            actor_user: actor_user.map(|a| a.0),
            target_id,
        };
        let mut tx = tx(ctx).await?;
        let tenant_id = tx.tenant_id();
        let entries = crate::audit::list_filtered(
            tx.conn(),
            &st.keyring,
            tenant_id,
            &filter,
            after,
            i64::from(args.first),
        )
        .await
        .map_err(|e| ApiError::internal(&e))?;
        Ok(entries.into_iter().map(Into::into).collect())
    }

    /// The field-level history of a goal, project, record or idea, oldest first.
    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn history(
        &self,
        ctx: &Context<'_>,
        entity_type: crate::work::history::EntityType,
        id: ID,
    ) -> Result<Vec<super::types::VersionObj>> {
        let id = parse_id(&id)?;
        let viewer = state(ctx)?.principal.viewer();
        let found =
            crate::work::history::list(&mut *tx(ctx).await?, viewer, entity_type, id).await?;
        Ok(found.into_iter().map(super::types::VersionObj).collect())
    }

    /// Stored workspace secrets (metadata only).
    #[graphql(directive = requires::apply(perm(P::SettingsManage)))]
    async fn secrets(&self, ctx: &Context<'_>) -> Result<Vec<super::types::SecretInfoObj>> {
        let found = crate::crypto::store::list(&mut *tx(ctx).await?).await?;
        Ok(found.into_iter().map(super::types::SecretInfoObj).collect())
    }

    /// The workspace's single sign-on configuration, if any (session-only, `sso:manage`).
    #[graphql(directive = requires::apply(perm(P::SsoManage)))]
    async fn sso(&self, ctx: &Context<'_>) -> Result<Option<super::mutation::SsoConfigObj>> {
        let st = state(ctx)?;
        let mut tx = tx(ctx).await?;
        let cfg = crate::identity::sso::config(&mut tx).await?;
        let slug = tx.tenant().slug.as_str().to_owned();
        Ok(cfg.map(|c| {
            super::mutation::SsoConfigObj::new(c, tx.sso_only(), &st.public_origin, &slug)
        }))
    }

    /// Files attached to a project, record or idea the caller can read. Upload with
    /// `POST /w/{slug}/attachments`; read through `contentUrl` (a short-lived signed link).
    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn attachments(
        &self,
        ctx: &Context<'_>,
        entity_type: crate::work::attachments::AttachedTo,
        entity_id: ID,
    ) -> Result<Vec<super::types::AttachmentObj>> {
        let id = parse_id(&entity_id)?;
        let viewer = state(ctx)?.principal.viewer();
        let mut tx = tx(ctx).await?;
        let slug = tx.tenant().slug.as_str().to_owned();
        let rows = crate::work::attachments::list(&mut tx, viewer, entity_type, id).await?;
        Ok(rows
            .into_iter()
            .map(|a| super::types::AttachmentObj {
                content_url: format!("/w/{slug}/attachments/{}/content", a.id),
                a,
            })
            .collect())
    }

    /// The workspace's webhook endpoints.
    #[graphql(directive = requires::apply(perm(P::SettingsManage)))]
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::types::WebhookEndpointObj>> {
        Ok(crate::webhooks::list(&mut *tx(ctx).await?)
            .await?
            .into_iter()
            .map(super::types::WebhookEndpointObj)
            .collect())
    }

    /// Messages to one endpoint, newest first, with their latest attempt.
    #[graphql(directive = requires::apply(perm(P::SettingsManage)))]
    async fn webhook_messages(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
        #[graphql(default = 20, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> Result<Vec<super::types::WebhookMessageObj>> {
        let id = parse_id(&endpoint_id)?;
        Ok(
            crate::webhooks::messages(&mut *tx(ctx).await?, id, i64::from(first))
                .await?
                .into_iter()
                .map(super::types::WebhookMessageObj)
                .collect(),
        )
    }

    /// Background exports of this workspace, newest first (`export:run`).
    #[graphql(directive = requires::apply(perm(P::ExportRun)))]
    async fn exports(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> Result<Vec<super::types::ExportObj>> {
        let mut tx = tx(ctx).await?;
        let slug = tx.tenant().slug.as_str().to_owned();
        let found = crate::export::job::list(&mut tx, i64::from(first))
            .await
            .map_err(super::errors::ApiError::from)?;
        Ok(found
            .into_iter()
            .map(|e| super::types::ExportObj {
                e,
                slug: slug.clone(),
            })
            .collect())
    }

    /// One background export (`export:run`).
    #[graphql(directive = requires::apply(perm(P::ExportRun)))]
    async fn export(&self, ctx: &Context<'_>, id: ID) -> Result<Option<super::types::ExportObj>> {
        let id = parse_id(&id)?;
        let mut tx = tx(ctx).await?;
        let slug = tx.tenant().slug.as_str().to_owned();
        Ok(crate::export::job::get(&mut tx, id)
            .await
            .map_err(super::errors::ApiError::from)?
            .map(|e| super::types::ExportObj { e, slug }))
    }

    /// Whether this workspace requires a second factor of browser sessions.
    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn mfa_required(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(tx(ctx).await?.mfa_required())
    }

    /// API tokens of this workspace (metadata only).
    #[graphql(directive = requires::apply(perm(P::TokensRead)))]
    async fn api_tokens(&self, ctx: &Context<'_>) -> Result<Vec<ApiTokenObj>> {
        let found = crate::identity::list_tokens(&mut *tx(ctx).await?).await?;
        Ok(found.into_iter().map(ApiTokenObj).collect())
    }
}
