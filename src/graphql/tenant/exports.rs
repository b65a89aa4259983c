//! Background exports of the whole workspace.

use async_graphql::{Context, ID, Json, Object, Result};

use crate::authz::{Permission as P, requires};
use crate::graphql::compiled::{self, Root, Served};
use crate::graphql::context::{parse_id, perm, state, tx};
use chrono::{DateTime, Utc};

#[derive(Default)]
pub struct ExportsQuery;

#[Object]
impl ExportsQuery {
    /// Background exports of this workspace, newest first (`export:run`).
    #[graphql(directive = requires::apply(perm(P::ExportRun)))]
    async fn exports(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> Result<Served<Vec<ExportObj>>> {
        if let Some(v) = compiled::serve(ctx, Root::Exports(i64::from(first))).await? {
            return Ok(Served::Compiled(v));
        }
        let mut tx = tx(ctx).await?;
        let slug = tx.tenant().slug.as_str().to_owned();
        let found = crate::export::job::list(&mut tx, i64::from(first))
            .await
            .map_err(crate::graphql::errors::ApiError::from)?;
        Ok(Served::Resolved(
            found
                .into_iter()
                .map(|e| ExportObj {
                    e,
                    slug: slug.clone(),
                })
                .collect(),
        ))
    }

    /// One background export (`export:run`).
    #[graphql(directive = requires::apply(perm(P::ExportRun)))]
    async fn export(&self, ctx: &Context<'_>, id: ID) -> Result<Served<Option<ExportObj>>> {
        let id = parse_id(&id)?;
        if let Some(v) = compiled::serve(ctx, Root::Export(id)).await? {
            return Ok(Served::Compiled(v));
        }
        let mut tx = tx(ctx).await?;
        let slug = tx.tenant().slug.as_str().to_owned();
        Ok(Served::Resolved(
            crate::export::job::get(&mut tx, id)
                .await
                .map_err(crate::graphql::errors::ApiError::from)?
                .map(|e| ExportObj { e, slug }),
        ))
    }
}

#[derive(Default)]
pub struct ExportsMutation;

#[Object]
impl ExportsMutation {
    /// Queues a background export of the whole workspace. The server's worker writes it to
    /// the attachment store; follow `exports`/`export(id)` until it is `DONE`, then download it
    /// through its `contentUrl`. It stays for `jobs.export_keep_days` days. One at a time per
    /// workspace: `CONFLICT` while another is queued or running.
    #[graphql(directive = requires::apply(perm(P::ExportRun)))]
    async fn start_export(&self, ctx: &Context<'_>) -> Result<ExportObj> {
        let user = state(ctx)?.principal.user_id;
        let mut tx = tx(ctx).await?;
        let slug = tx.tenant().slug.as_str().to_owned();
        let e = crate::export::job::queue(&mut tx, user)
            .await
            .map_err(crate::graphql::errors::ApiError::from)?
            .ok_or_else(|| {
                crate::graphql::errors::ApiError::new(
                    crate::graphql::errors::ErrorCode::Conflict,
                    "an export of this workspace is already queued or running",
                )
            })?;
        Ok(ExportObj { e, slug })
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
