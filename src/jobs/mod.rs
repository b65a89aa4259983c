//! Background jobs: a queue in `public.jobs` and the worker each server runs.
//!
//! A request enqueues a job in its own tenant transaction, beside the row the job acts on,
//! so the job exists exactly when that row does. The worker claims one due job at a time
//! with a lease (`FOR UPDATE SKIP LOCKED` inside `tessera_job_claim`): with several replicas
//! each job is run by one worker, and a job whose worker died (crash, SIGKILL) is claimed
//! again when its lease has passed. Jobs are written to be run again safely: each attempt
//! first undoes what an interrupted one may have left. A failed attempt is retried with
//! backoff up to `jobs.max_attempts`, then given up.
//!
//! The worker holds only the runtime role: it reaches a workspace through the same tenant
//! transaction as a request ([`crate::tenancy::begin`]), never with more privilege.

use std::sync::Arc;
use std::time::Duration;

use crate::db::AppPool;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::Clock;
use crate::config::Jobs;
use crate::crypto::Keyring;
use crate::storage::BlobStore;
use crate::tenancy::{Slug, TenantTx};

/// What a job failed with (logged; never shown to the requester).
pub type JobError = Box<dyn std::error::Error + Send + Sync>;

/// The kinds of job, as stored in `public.jobs.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Write a queued workspace export to the store.
    Export,
    /// Delete a finished export's file when it expires.
    ExportExpire,
    /// Send one webhook message (and record the attempt).
    Webhook,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Export => "export",
            Self::ExportExpire => "export_expire",
            Self::Webhook => "webhook",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "export" => Some(Self::Export),
            "export_expire" => Some(Self::ExportExpire),
            "webhook" => Some(Self::Webhook),
            _ => None,
        }
    }
}

/// Queues a job for the workspace of `tx`, in its transaction: it runs only if `tx` commits.
/// `run_after`: not before then (default: now).
pub async fn enqueue(
    tx: &mut TenantTx,
    kind: Kind,
    ref_id: Uuid,
    run_after: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    let tenant_id = tx.tenant_id();
    sqlx::query(
        "INSERT INTO public.jobs (tenant_id, kind, ref_id, run_after)
         VALUES ($1, $2, $3, coalesce($4, now()))",
    )
    .bind(tenant_id)
    .bind(kind.as_str())
    .bind(ref_id)
    .bind(run_after)
    .execute(tx.conn())
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Claimed {
    id: Uuid,
    slug: Option<String>,
    kind: String,
    ref_id: Uuid,
    attempts: i32,
}

/// What one call of [`Worker::run_once`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    /// No job was due.
    Idle,
    /// A job ran to its end.
    Done(Kind),
    /// A job failed and will be tried again later.
    Retrying(Kind),
    /// A job failed its last attempt and was given up.
    GaveUp(Kind),
    /// The job's workspace is not active (deleted, restorable): put off.
    Deferred,
}

/// The background worker. Cheap to clone; run one per server with [`Worker::run`].
#[derive(Clone)]
pub struct Worker {
    pub(crate) pool: AppPool,
    pub(crate) keyring: Arc<Keyring>,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cfg: Jobs,
    pub(crate) outbound: Arc<crate::net::Outbound>,
    pub(crate) webhooks: crate::config::Webhooks,
}

impl Worker {
    pub fn new(
        pool: AppPool,
        keyring: Arc<Keyring>,
        blobs: Arc<dyn BlobStore>,
        clock: Arc<dyn Clock>,
        cfg: Jobs,
        outbound: Arc<crate::net::Outbound>,
        webhooks: crate::config::Webhooks,
    ) -> Self {
        Self {
            pool,
            keyring,
            blobs,
            clock,
            cfg,
            outbound,
            webhooks,
        }
    }

    /// Runs due jobs until the task is dropped, looking again every `poll_interval_ms`
    /// when idle.
    pub async fn run(self) {
        self.run_until(std::future::pending()).await;
    }

    /// Runs due jobs until `stop` resolves. A job under way when it does is finished first
    /// (a shutdown should wait for this within its grace period; a job cut off anyway is
    /// claimed again when its lease passes).
    pub async fn run_until(self, stop: impl std::future::Future<Output = ()>) {
        use futures_util::FutureExt;
        let idle = Duration::from_millis(self.cfg.poll_interval_ms.max(10));
        tokio::pin!(stop);
        loop {
            let wait = match self.run_once().await {
                Ok(Ran::Idle) => true,
                Ok(_) => false,
                Err(e) => {
                    tracing::warn!(error = %e, "job queue unavailable");
                    true
                }
            };
            if wait {
                tokio::select! {
                    () = &mut stop => return,
                    () = tokio::time::sleep(idle) => {}
                }
            } else if stop.as_mut().now_or_never().is_some() {
                return;
            }
        }
    }

    /// Claims and runs one due job.
    pub async fn run_once(&self) -> Result<Ran, sqlx::Error> {
        let claimed: Option<Claimed> = sqlx::query_as(
            "SELECT id, slug, kind, ref_id, attempts FROM public.tessera_job_claim($1)",
        )
        .bind(self.cfg.lease_secs.max(1))
        .fetch_optional(&mut *self.pool.acquire().await?)
        .await?;
        let Some(job) = claimed else {
            return Ok(Ran::Idle);
        };
        let Some(kind) = Kind::parse(&job.kind) else {
            tracing::error!(job = %job.id, kind = %job.kind, "unknown job kind; dropped");
            self.done(job.id).await?;
            return Ok(Ran::Idle);
        };
        let Some(slug) = job.slug.as_deref().and_then(|s| Slug::parse(s).ok()) else {
            // Deleted but restorable: the job waits (a purge removes it with the workspace).
            self.defer(job.id, 3600).await?;
            return Ok(Ran::Deferred);
        };
        let outcome = match kind {
            Kind::Export => crate::export::job::write(self, &slug, job.ref_id).await,
            Kind::ExportExpire => crate::export::job::expire(self, &slug, job.ref_id).await,
            // Retries are scheduled by the delivery itself (with the webhook backoff), so a
            // delivery job that returns is done.
            Kind::Webhook => crate::webhooks::deliver(self, &slug, job.ref_id).await,
        };
        match outcome {
            Ok(()) => {
                self.done(job.id).await?;
                Ok(Ran::Done(kind))
            }
            Err(e) if job.attempts < self.cfg.max_attempts => {
                let delay = 30i32.saturating_mul(1 << (job.attempts - 1).clamp(0, 7));
                tracing::warn!(job = %job.id, kind = kind.as_str(), tenant = %slug, attempt = job.attempts, error = %e, retry_in_secs = delay, "job failed; will retry");
                self.defer(job.id, delay.min(3600)).await?;
                Ok(Ran::Retrying(kind))
            }
            Err(e) => {
                tracing::error!(job = %job.id, kind = kind.as_str(), tenant = %slug, attempt = job.attempts, error = %e, "job failed its last attempt; giving up");
                if kind == Kind::Export
                    && let Err(e) = crate::export::job::give_up(self, &slug, job.ref_id).await
                {
                    tracing::error!(job = %job.id, error = %e, "could not mark the export failed");
                }
                self.done(job.id).await?;
                Ok(Ran::GaveUp(kind))
            }
        }
    }

    async fn done(&self, job: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT public.tessera_job_done($1)")
            .bind(job)
            .execute(&mut *self.pool.acquire().await?)
            .await?;
        Ok(())
    }

    async fn defer(&self, job: Uuid, secs: i32) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT public.tessera_job_defer($1, $2)")
            .bind(job)
            .bind(secs)
            .execute(&mut *self.pool.acquire().await?)
            .await?;
        Ok(())
    }
}
