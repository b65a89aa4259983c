//! Output types: thin wrappers over domain models, with nested fields batch-loaded.

use std::sync::Arc;

use async_graphql::connection::{
    Connection, CursorType, DefaultConnectionName, DefaultEdgeName, Edge, EmptyFields,
    EnableNodesField,
};
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, Json, Object, OutputType, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::context::{page, state, tx};
use super::errors::ApiError;
use super::loaders::{GoalKey, LatestRecordsKey, Loaders, TeamKey, UserKey};
use crate::identity::{ApiTokenInfo, Member};
use crate::work::page::encode_cursor;
use crate::work::projects::{self, ProjectFilter};
use crate::work::records::{self, RecordStatus};
use crate::work::teams::{self, Visibility};
use crate::work::{Page, goals, ideas};

/// A Relay connection with a `nodes` shortcut beside `edges` (one object fewer per item
/// when the cursors are not needed).
pub(crate) type Conn<N> = Connection<
    IdCursor,
    N,
    EmptyFields,
    EmptyFields,
    DefaultConnectionName,
    DefaultEdgeName,
    EnableNodesField,
>;

/// A row's cursor, encoded only when a client asks for it.
pub(crate) struct IdCursor(Uuid);

impl CursorType for IdCursor {
    type Error = String;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        crate::work::page::decode_cursor(s)
            .map(Self)
            .map_err(|_| "invalid cursor".to_owned())
    }

    fn encode_cursor(&self) -> String {
        encode_cursor(self.0)
    }
}

/// Builds a Relay connection from a page.
pub(crate) fn connection<T, N: OutputType>(
    page: Page<T>,
    has_previous: bool,
    id: impl Fn(&T) -> Uuid,
    wrap: impl Fn(T) -> N,
) -> Conn<N> {
    let mut conn = Connection::new(has_previous, page.has_next);
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|item| Edge::new(IdCursor(id(&item)), wrap(item))),
    );
    conn
}

fn loader<'a>(ctx: &Context<'a>) -> Result<&'a DataLoader<Loaders>, ApiError> {
    ctx.data::<DataLoader<Loaders>>()
        .map_err(|_| ApiError::internal(&"loader missing"))
}

pub struct TeamObj(pub teams::Team);

#[Object(name = "Team")]
impl TeamObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn visibility(&self) -> Visibility {
        self.0.visibility
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Team members.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<MemberObj>> {
        let ids = {
            let mut tx = tx(ctx).await?;
            teams::member_ids(&mut tx, self.0.id).await?
        };
        let found = loader(ctx)?
            .load_many(ids.iter().copied().map(UserKey))
            .await?;
        Ok(ids
            .iter()
            .filter_map(|id| found.get(&UserKey(*id)).cloned().map(MemberObj))
            .collect())
    }
    /// The team's projects.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity + 1")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<ProjectObj>> {
        let args = page(ctx, first, after.as_deref())?;
        let viewer = state(ctx)?.principal.viewer();
        let filter = ProjectFilter {
            team_id: Some(self.0.id),
            ..ProjectFilter::default()
        };
        let mut tx = tx(ctx).await?;
        let found = projects::list(&mut tx, viewer, filter, args).await?;
        Ok(connection(
            found,
            args.after.is_some(),
            |p| p.id,
            ProjectObj,
        ))
    }
}

pub struct GoalObj(pub goals::Goal);

#[Object(name = "Goal")]
impl GoalObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Projects serving this goal that the caller can see.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity + 1")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<ProjectObj>> {
        let args = page(ctx, first, after.as_deref())?;
        let viewer = state(ctx)?.principal.viewer();
        let filter = ProjectFilter {
            goal_id: Some(self.0.id),
            ..ProjectFilter::default()
        };
        let mut tx = tx(ctx).await?;
        let found = projects::list(&mut tx, viewer, filter, args).await?;
        Ok(connection(
            found,
            args.after.is_some(),
            |p| p.id,
            ProjectObj,
        ))
    }
}

pub struct ProjectObj(pub projects::Project);

#[Object(name = "Project")]
impl ProjectObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The owning team (its visibility governs the project's).
    async fn team(&self, ctx: &Context<'_>) -> Result<TeamObj> {
        loader(ctx)?
            .load_one(TeamKey(self.0.team_id))
            .await?
            .map(TeamObj)
            .ok_or_else(|| ApiError::not_found().into())
    }
    async fn goal(&self, ctx: &Context<'_>) -> Result<Option<GoalObj>> {
        let Some(goal) = self.0.goal_id else {
            return Ok(None);
        };
        Ok(loader(ctx)?.load_one(GoalKey(goal)).await?.map(GoalObj))
    }
    /// Records, newest first. The first page of many projects is loaded in one batch.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity + 1")]
    async fn records(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<RecordObj>> {
        let args = page(ctx, first, after.as_deref())?;
        let found = if args.after.is_none() {
            let rows = loader(ctx)?
                .load_one(LatestRecordsKey {
                    project_id: self.0.id,
                    first: args.first,
                })
                .await?
                // The batch has dropped its own reference by the time this resolver resumes,
                // so the rows are taken, not copied; the copy is only a fallback.
                .map(|rows| Arc::try_unwrap(rows).unwrap_or_else(|shared| (*shared).clone()))
                .unwrap_or_default();
            Page::from_rows(rows, &args)
        } else {
            let viewer = state(ctx)?.principal.viewer();
            let mut tx = tx(ctx).await?;
            records::list_for_project(&mut tx, viewer, self.0.id, args).await?
        };
        Ok(connection(found, args.after.is_some(), |r| r.id, RecordObj))
    }
}

pub struct RecordObj(pub records::Record);

#[Object(name = "Record")]
impl RecordObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn status(&self) -> RecordStatus {
        RecordStatus::parse(&self.0.status)
    }
    /// Custom fields: a JSON object.
    async fn fields(&self) -> Json<serde_json::Value> {
        Json(self.0.fields.clone())
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn project_id(&self) -> ID {
        ID(self.0.project_id.to_string())
    }
    async fn assignee(&self, ctx: &Context<'_>) -> Result<Option<MemberObj>> {
        let Some(user) = self.0.assignee_id else {
            return Ok(None);
        };
        Ok(loader(ctx)?.load_one(UserKey(user)).await?.map(MemberObj))
    }
}

pub struct IdeaObj(pub ideas::Idea);

#[Object(name = "Idea")]
impl IdeaObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The project this idea became, when the caller can see it.
    async fn promoted_project(&self, ctx: &Context<'_>) -> Result<Option<ProjectObj>> {
        let Some(id) = self.0.promoted_project_id else {
            return Ok(None);
        };
        let viewer = state(ctx)?.principal.viewer();
        let mut tx = tx(ctx).await?;
        match projects::get(&mut tx, viewer, id).await {
            Ok(p) => Ok(Some(ProjectObj(p))),
            Err(crate::work::WorkError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
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

/// One version of an entity: the fields it changed (old and new) and the state after it.
pub struct VersionObj(pub crate::work::history::Version);

#[Object(name = "Version")]
impl VersionObj {
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// The user who made the change.
    async fn actor_user(&self) -> ID {
        ID(self.0.actor_user.to_string())
    }
    /// `{field: {old, new}}` for each changed field.
    async fn changes(&self) -> Json<serde_json::Value> {
        Json(self.0.changes.clone())
    }
    /// The entity's state after this version.
    async fn snapshot(&self) -> Json<serde_json::Value> {
        Json(self.0.snapshot.clone())
    }
    /// Set when this version restored an earlier one.
    async fn restored_from(&self) -> Option<i32> {
        self.0.restored_from
    }
}

/// A file attached to a project, record or idea (metadata; content via `contentUrl`).
pub struct AttachmentObj {
    pub a: crate::work::attachments::Attachment,
    pub content_url: String,
}

#[Object(name = "Attachment")]
impl AttachmentObj {
    async fn id(&self) -> ID {
        ID(self.a.id.to_string())
    }
    async fn filename(&self) -> &str {
        &self.a.filename
    }
    async fn content_type(&self) -> &str {
        &self.a.content_type
    }
    async fn size(&self) -> i64 {
        self.a.size_bytes
    }
    /// SHA-256 of the content, hex.
    async fn sha256(&self) -> String {
        hex::encode(&self.a.sha256)
    }
    async fn uploaded_by(&self) -> ID {
        ID(self.a.uploaded_by.to_string())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.a.created_at
    }
    /// Answers a redirect to a short-lived signed link, after checking access again.
    async fn content_url(&self) -> &str {
        &self.content_url
    }
}

/// A background workspace export.
pub struct ExportObj {
    pub e: crate::export::job::Export,
    pub slug: String,
}

#[Object(name = "Export")]
impl ExportObj {
    async fn id(&self) -> ID {
        ID(self.e.id.to_string())
    }
    async fn status(&self) -> crate::export::job::Status {
        self.e.status
    }
    async fn requested_by(&self) -> ID {
        ID(self.e.requested_by.to_string())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.e.created_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.e.finished_at
    }
    /// When the file is deleted (finished exports).
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.e.expires_at
    }
    /// Size of the file in bytes (finished exports).
    async fn size(&self) -> Option<i64> {
        self.e.size_bytes
    }
    /// SHA-256 of the file, hex (finished exports).
    async fn sha256(&self) -> Option<String> {
        self.e.sha256.as_ref().map(hex::encode)
    }
    /// The manifest written into the file: schema version, counts and SHA-256 of each part.
    async fn manifest(&self) -> Option<Json<serde_json::Value>> {
        self.e.manifest.clone().map(Json)
    }
    /// Why the export failed.
    async fn error(&self) -> Option<&str> {
        self.e.error.as_deref()
    }
    /// While the export is `DONE`: answers a redirect to a short-lived signed link, after
    /// checking `export:run` again.
    async fn content_url(&self) -> Option<String> {
        (self.e.status == crate::export::job::Status::Done)
            .then(|| format!("/w/{}/exports/{}/content", self.slug, self.e.id))
    }
}

/// A webhook endpoint of the workspace. Its secret is never returned after registration.
pub struct WebhookEndpointObj(pub crate::webhooks::Endpoint);

#[Object(name = "WebhookEndpoint")]
impl WebhookEndpointObj {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// Event types (mutation names, or `*` for all).
    async fn events(&self) -> &[String] {
        &self.0.events
    }
    /// False after repeated failures (see `disabledReason`) until `enableWebhookEndpoint`.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    /// Messages in a row that failed every attempt.
    async fn consecutive_failures(&self) -> i32 {
        self.0.consecutive_failures
    }
    /// While set and in the future, messages carry a second signature with the previous secret.
    async fn previous_secret_until(&self) -> Option<DateTime<Utc>> {
        self.0.previous_secret_until
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A registered endpoint and its signing secret, shown this once.
pub struct WebhookEndpointSecretObj {
    pub endpoint: crate::webhooks::Endpoint,
    pub secret: String,
}

#[Object(name = "WebhookEndpointWithSecret")]
impl WebhookEndpointSecretObj {
    async fn endpoint(&self) -> WebhookEndpointObj {
        WebhookEndpointObj(self.endpoint.clone())
    }
    /// `whsec_<base64>`: store it now; it is never shown again.
    async fn secret(&self) -> &str {
        &self.secret
    }
}

/// One outbox message to an endpoint and its latest attempt.
pub struct WebhookMessageObj(pub crate::webhooks::Message);

#[Object(name = "WebhookMessage")]
impl WebhookMessageObj {
    /// The `webhook-id` header receivers see (and deduplicate by).
    async fn id(&self) -> String {
        crate::webhooks::message_id(self.0.id)
    }
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    /// `pending`, `delivered` or `failed` (every attempt failed).
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
    /// The HTTP status of the latest attempt, if the endpoint answered.
    async fn last_status_code(&self) -> Option<i32> {
        self.0.last_status_code
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
}
