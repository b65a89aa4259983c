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

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::config::Jobs;
use crate::db;
use crate::db::AppPool;
use crate::tenancy::{Slug, TenantTx};

/// What a job failed with (logged; never shown to the requester).
pub type JobError = Box<dyn std::error::Error + Send + Sync>;

/// One kind of job. Domains implement it for their own jobs and register them with the
/// [`Worker`], so the runner knows a trait, not its clients.
#[async_trait::async_trait]
pub trait Job: Send + Sync + 'static {
    /// The name stored in `public.jobs.kind`. Queued jobs carry it: never rename one.
    fn kind(&self) -> &'static str;

    /// Runs the job for the row `ref_id`, of the workspace `slug` (`None` for a job that
    /// belongs to no workspace, such as account mail). It must be safe to run again after an
    /// interrupted attempt. An error is retried with backoff up to [`Job::max_attempts`].
    async fn run(&self, slug: Option<&Slug>, ref_id: Uuid) -> Result<(), JobError>;

    /// Called once when the job failed its last attempt (mark the row failed, clean up).
    async fn give_up(&self, _slug: Option<&Slug>, _ref_id: Uuid) -> Result<(), JobError> {
        Ok(())
    }

    /// Attempts before giving up; `default` is `jobs.max_attempts`.
    fn max_attempts(&self, default: i32) -> i32 {
        default
    }
}

/// Queues a job of `kind` for the workspace of `tx`, in its transaction: it runs only if `tx`
/// commits. `run_after`: not before then (default: now).
pub async fn enqueue(
    tx: &mut TenantTx,
    kind: &'static str,
    ref_id: Uuid,
    run_after: Option<DateTime<Utc>>,
) -> Result<(), db::Error> {
    let tenant_id = tx.tenant_id();
    db::query(
        "INSERT INTO public.jobs (tenant_id, kind, ref_id, run_after)
         VALUES ($1, $2, $3, coalesce($4, now()))",
    )
    .bind(tenant_id)
    .bind(kind)
    .bind(ref_id)
    .bind(run_after)
    .execute(tx.conn())
    .await?;
    Ok(())
}

#[derive(db::FromRow)]
struct Claimed {
    id: Uuid,
    /// `None`: a job of no workspace.
    tenant_id: Option<Uuid>,
    /// `None` for a workspace job: the workspace is not active.
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
    /// A job of this kind ran to its end.
    Done(&'static str),
    /// A job of this kind failed and will be tried again later.
    Retrying(&'static str),
    /// A job of this kind failed its last attempt and was given up.
    GaveUp(&'static str),
    /// The job's workspace is not active (deleted, restorable): put off.
    Deferred,
}

/// The background worker. Cheap to clone; run one per server with [`Worker::run`].
#[derive(Clone)]
pub struct Worker {
    pool: AppPool,
    cfg: Jobs,
    jobs: Arc<HashMap<&'static str, Arc<dyn Job>>>,
}

impl Worker {
    /// A worker with no job kinds yet: register them with [`Worker::with`].
    pub fn new(pool: AppPool, cfg: Jobs) -> Self {
        Self {
            pool,
            cfg,
            jobs: Arc::new(HashMap::new()),
        }
    }

    /// Registers a kind of job.
    pub fn with(mut self, job: Arc<dyn Job>) -> Self {
        Arc::make_mut(&mut self.jobs).insert(job.kind(), job);
        self
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
    pub async fn run_once(&self) -> Result<Ran, db::Error> {
        let claimed: Option<Claimed> = db::query_as(
            "SELECT id, tenant_id, slug, kind, ref_id, attempts FROM public.tessera_job_claim($1)",
        )
        .bind(self.cfg.lease_secs.max(1))
        .fetch_optional(&mut *self.pool.acquire().await?)
        .await?;
        let Some(job) = claimed else {
            return Ok(Ran::Idle);
        };
        let Some(handler) = self.jobs.get(job.kind.as_str()).cloned() else {
            // Queued by a newer replica during a rolling upgrade: left for one that knows it.
            tracing::warn!(job = %job.id, kind = %job.kind, "job kind not known here; put off");
            self.defer(job.id, 60).await?;
            return Ok(Ran::Deferred);
        };
        let slug = match (
            job.tenant_id,
            job.slug.as_deref().and_then(|s| Slug::parse(s).ok()),
        ) {
            (None, _) => None,
            (Some(_), Some(slug)) => Some(slug),
            (Some(_), None) => {
                // Deleted but restorable: the job waits (a purge removes it with the workspace).
                self.defer(job.id, 3600).await?;
                return Ok(Ran::Deferred);
            }
        };
        let kind = handler.kind();
        let outcome = handler.run(slug.as_ref(), job.ref_id).await;
        let tenant = slug.as_ref().map_or("-", Slug::as_str);
        match outcome {
            Ok(()) => {
                self.done(job.id).await?;
                Ok(Ran::Done(kind))
            }
            Err(e) if job.attempts < handler.max_attempts(self.cfg.max_attempts) => {
                let delay = 30i32.saturating_mul(1 << (job.attempts - 1).clamp(0, 7));
                tracing::warn!(job = %job.id, kind, tenant, attempt = job.attempts, error = %e, retry_in_secs = delay, "job failed; will retry");
                self.defer(job.id, delay.min(3600)).await?;
                Ok(Ran::Retrying(kind))
            }
            Err(e) => {
                tracing::error!(job = %job.id, kind, tenant, attempt = job.attempts, error = %e, "job failed its last attempt; giving up");
                if let Err(e) = handler.give_up(slug.as_ref(), job.ref_id).await {
                    tracing::error!(job = %job.id, kind, error = %e, "giving up failed");
                }
                self.done(job.id).await?;
                Ok(Ran::GaveUp(kind))
            }
        }
    }

    async fn done(&self, job: Uuid) -> Result<(), db::Error> {
        db::query("SELECT public.tessera_job_done($1)")
            .bind(job)
            .execute(&mut *self.pool.acquire().await?)
            .await?;
        Ok(())
    }

    async fn defer(&self, job: Uuid, secs: i32) -> Result<(), db::Error> {
        db::query("SELECT public.tessera_job_defer($1, $2)")
            .bind(job)
            .bind(secs)
            .execute(&mut *self.pool.acquire().await?)
            .await?;
        Ok(())
    }
}
