//! Attachment metadata (content goes through the signing proxy).

use async_graphql::{Context, ID, Object, Result};

use crate::authz::{Permission as P, requires};
use crate::graphql::compiled::{self, Root, Served};
use crate::graphql::context::{parse_id, perm, state, tx};
use chrono::{DateTime, Utc};

#[derive(Default)]
pub struct AttachmentsQuery;

#[Object]
impl AttachmentsQuery {
    /// Files attached to a project, record or idea the caller can read. Upload with
    /// `POST /w/{slug}/attachments`; read through `contentUrl` (a short-lived signed link).
    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn attachments(
        &self,
        ctx: &Context<'_>,
        entity_type: crate::work::attachments::AttachedTo,
        entity_id: ID,
    ) -> Result<Served<Vec<AttachmentObj>>> {
        let id = parse_id(&entity_id)?;
        if let Some(v) = compiled::serve(ctx, Root::Attachments(entity_type, id)).await? {
            return Ok(Served::Compiled(v));
        }
        let viewer = state(ctx)?.principal.viewer();
        let mut tx = tx(ctx).await?;
        let slug = tx.tenant().slug.as_str().to_owned();
        let rows = crate::work::attachments::list(&mut tx, viewer, entity_type, id).await?;
        Ok(Served::Resolved(
            rows.into_iter()
                .map(|a| AttachmentObj {
                    content_url: format!("/w/{slug}/attachments/{}/content", a.id),
                    a,
                })
                .collect(),
        ))
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
