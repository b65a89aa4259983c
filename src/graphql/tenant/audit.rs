//! The audit chain: its status and its entries.

use async_graphql::{Context, ID, Object, Result, SimpleObject};

use crate::audit::{self, Payload};
use crate::authz::{Permission as P, requires};
use crate::db;
use crate::graphql::compiled::{self, Root, Served};
use crate::graphql::context::{page, perm, state, tx};
use crate::graphql::errors::ApiError;

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// How long this workspace keeps its audit entries, and where its chain starts.
    #[graphql(directive = requires::apply(perm(P::AuditRead)))]
    async fn audit_retention(&self, ctx: &Context<'_>) -> Result<Served<AuditRetention>> {
        if let Some(v) = compiled::serve(ctx, Root::AuditRetention).await? {
            return Ok(Served::Compiled(v));
        }
        let mut tx = tx(ctx).await?;
        let (days, first_kept): (i32, i64) =
            db::query_as("SELECT days, first_kept FROM public.tessera_audit_retention()")
                .fetch_one(tx.conn())
                .await
                .map_err(ApiError::from)?;
        Ok(Served::Resolved(AuditRetention { days, first_kept }))
    }

    /// Re-verifies this workspace's audit chain (hashes, links and signed checkpoints).
    #[graphql(directive = requires::apply(perm(P::AuditRead)))]
    async fn audit_status(&self, ctx: &Context<'_>) -> Result<AuditStatus> {
        let st = state(ctx)?;
        let mut tx = tx(ctx).await?;
        let tenant_id = tx.tenant_id();
        let r = crate::audit::verify(tx.conn(), &st.keyring, tenant_id)
            .await
            .map_err(ApiError::from)?;
        let last = crate::audit::last_checkpoint(tx.conn(), tenant_id)
            .await
            .map_err(ApiError::from)?;
        Ok(AuditStatus {
            first_kept: r.floor.unwrap_or(1),
            last_checkpoint: last.map(|(seq, signed_at, key_id)| AuditCheckpoint {
                seq,
                signed_at,
                key_id,
            }),
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
    ) -> Result<Vec<AuditEntry>> {
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
        .map_err(ApiError::from)?;
        Ok(entries.into_iter().map(Into::into).collect())
    }
}

/// The audit retention window of a workspace.
#[derive(SimpleObject)]
pub struct AuditRetention {
    /// Entries older than this many days are removed (behind a signed checkpoint).
    pub days: i32,
    /// The first entry kept: 1 until retention removed anything.
    pub first_kept: i64,
}

/// Result of re-verifying the workspace's chain.
#[derive(SimpleObject)]
pub struct AuditStatus {
    pub ok: bool,
    pub entries: u64,
    pub last_seq: i64,
    pub checkpoints: usize,
    /// The first sequence number that cannot be trusted, when broken.
    pub first_bad_seq: Option<i64>,
    pub reason: Option<String>,
    /// The newest signed checkpoint, if any.
    pub last_checkpoint: Option<AuditCheckpoint>,
    /// Where verification started: 1, or the first entry retention kept (the chain is
    /// verified from the signed checkpoint of the entry before it).
    pub first_kept: i64,
}

/// A signed checkpoint: the chain's hash at `seq`, signed with the server's key.
#[derive(SimpleObject)]
pub struct AuditCheckpoint {
    pub seq: i64,
    pub signed_at: chrono::DateTime<chrono::Utc>,
    /// The master key id whose signing key signed it.
    pub key_id: i64,
}

/// One audit entry as an authorized reader sees it.
#[derive(SimpleObject)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor_type: String,
    pub actor_id: String,
    pub actor_user: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub request_id: String,
    pub client_ip: String,
    /// Decrypted payload; null when `erased`.
    pub payload: Option<async_graphql::Json<serde_json::Value>>,
    /// The workspace's audit key was destroyed: the contents are gone for good.
    pub erased: bool,
    /// Hex SHA-256 of the entry, for checking an export against the chain.
    pub hash: String,
}

impl From<audit::Entry> for AuditEntry {
    fn from(e: audit::Entry) -> Self {
        let (payload, erased) = match e.payload {
            Payload::Plain(v) => (Some(async_graphql::Json(v)), false),
            Payload::Erased => (None, true),
        };
        Self {
            seq: e.seq,
            at: e.at,
            actor_type: e.actor_type,
            actor_id: e.actor_id,
            actor_user: e.actor_user,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            request_id: e.request_id,
            client_ip: e.client_ip,
            payload,
            erased,
            hash: hex::encode(e.hash),
        }
    }
}
