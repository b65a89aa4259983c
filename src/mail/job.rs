//! The `mail` job: sends one outbox message and records the attempt.

use std::sync::Arc;

use lettre::message::Mailbox;
use uuid::Uuid;

use super::Outgoing;
use crate::crypto::Keyring;
use crate::db;
use crate::db::AppPool;
use crate::jobs::{Job, JobError};
use crate::tenancy::Slug;

/// The outbox's job kind in `public.jobs`.
pub const KIND: &str = "mail";

/// What sending needs: the runtime pool, the keys that open the outbox, the way out, the
/// sender, the origin links point to, and how often to try.
pub struct MailJob {
    pub pool: AppPool,
    pub keyring: Arc<Keyring>,
    pub outgoing: Outgoing,
    pub from: Mailbox,
    pub public_origin: String,
    pub max_attempts: i32,
}

#[derive(db::FromRow)]
struct Queued {
    to_address: String,
    sealed: Option<Vec<u8>>,
    status: String,
}

impl MailJob {
    async fn settle(&self, id: Uuid, ok: bool, last: bool, error: &str) -> Result<(), JobError> {
        db::query("SELECT public.tessera_mail_settle($1, $2, $3, $4)")
            .bind(id)
            .bind(ok)
            .bind(last)
            .bind(error)
            .execute(&mut *self.pool.acquire().await?)
            .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Job for MailJob {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn max_attempts(&self, _default: i32) -> i32 {
        self.max_attempts.max(1)
    }

    async fn run(&self, _slug: Option<&Slug>, id: Uuid) -> Result<(), JobError> {
        let queued: Option<Queued> =
            db::query_as("SELECT to_address, sealed, status FROM public.tessera_mail_take($1)")
                .bind(id)
                .fetch_optional(&mut *self.pool.acquire().await?)
                .await?;
        let Some(q) = queued.filter(|q| q.status == "queued") else {
            return Ok(());
        };
        let Some(sealed) = q.sealed else {
            return Ok(());
        };
        let mail = match super::open(&self.keyring, id, &sealed) {
            Ok(m) => m,
            Err(e) => {
                // Cannot ever be sent (a master key no longer configured): give up now.
                tracing::error!(mail = %id, error = %e, "queued mail cannot be opened; dropped");
                return self.settle(id, false, true, "cannot be opened").await;
            }
        };
        let rendered = super::render::render(&mail, &self.public_origin);
        match self
            .outgoing
            .send(&self.from, &q.to_address, &rendered)
            .await
        {
            Ok(()) => {
                tracing::info!(mail = %id, template = mail.template(), "mail sent");
                self.settle(id, true, false, "").await
            }
            Err(e) => {
                self.settle(id, false, false, &e).await?;
                Err(e.into())
            }
        }
    }

    async fn give_up(&self, _slug: Option<&Slug>, id: Uuid) -> Result<(), JobError> {
        self.settle(id, false, true, "gave up").await
    }
}
