//! Server state: the pools, schemas, keys, limits and clients every handler shares.

use std::sync::Arc;
use std::time::Instant;

use crate::config::Limits;
use crate::db::AppPool;
use crate::graphql::{GlobalSchema, TenantSchema};

/// How outgoing mail is sent (see [`crate::mail`]).
#[derive(Clone)]
pub(super) struct MailSetup {
    pub(super) outgoing: crate::mail::Outgoing,
    pub(super) from: lettre::message::Mailbox,
    pub(super) max_attempts: i32,
}

/// Who may read `/metrics` on a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MetricsAccess {
    /// Not served here (404).
    Off,
    /// Only with `Authorization: Bearer <metrics_token>`.
    Token,
    /// Anyone who reaches the listener.
    Open,
}

/// Shared, immutable server state.
#[derive(Clone)]
pub struct AppState {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) pool: AppPool,
    pub(super) tenant_schema: TenantSchema,
    pub(super) global_schema: GlobalSchema,
    pub(super) limits: Limits,
    pub(super) keyring: Arc<crate::crypto::Keyring>,
    pub(super) clock: Arc<dyn crate::Clock>,
    pub(super) auth: Arc<crate::config::Auth>,
    /// Outgoing mail: where it goes and from whom.
    pub(super) mail: MailSetup,
    pub(super) passwords: crate::identity::Passwords,
    pub(super) auth_limits: Arc<crate::ratelimit::AuthLimits>,
    /// Request limits per workspace, actor and route.
    pub(super) request_limits: Arc<crate::ratelimit::RequestLimits>,
    pub(super) webhooks: crate::config::Webhooks,
    /// Proxies whose forwarding headers name the client (see [`super::client_addr`]).
    pub(super) trusted_proxies: crate::config::TrustedProxies,
    pub(super) forwarded_header: crate::config::ForwardedHeader,
    /// Bearer token `/metrics` requires, if any.
    pub(super) metrics_token: Option<crate::crypto::Secret<String>>,
    /// Who may read `/metrics` on the main listener (see [`super::ops::metrics`]).
    pub(super) metrics_on_main: MetricsAccess,
    pub(super) webauthn: Arc<webauthn_rs::prelude::Webauthn>,
    pub(super) outbound: Arc<crate::net::Outbound>,
    pub(super) blobs: Arc<dyn crate::storage::BlobStore>,
    /// Signs and checks the download links this server hands out.
    pub(super) links: crate::storage::links::LinkSigner,
    /// The filesystem backend, whose objects this server serves itself.
    pub(super) fs_blobs: Option<Arc<crate::storage::FsStore>>,
    pub(super) storage: crate::config::Storage,
    /// Automatic persisted queries.
    pub(super) apq: Arc<crate::graphql::apq::PersistedQueries>,
    /// Parsed query documents.
    pub(super) documents: Arc<crate::graphql::documents::Documents>,
    /// The (public, tenant) migration versions this binary expects (`/readyz`).
    pub(super) expected_migrations: (i32, i32),
    pub(super) started: Instant,
    /// Whether a workspace's statement may join the shared schema's tables: the database is
    /// not a Citus coordinator (see [`shared_joins`]).
    pub(super) shared_joins: bool,
    /// Live updates: the fan-out of committed changes and the count of connections.
    pub(super) live: Arc<crate::live::Hub>,
}

impl AppState {
    /// The server's state from its configuration (limits, auth, network, storage).
    pub async fn new(
        pool: AppPool,
        tenant_schema: TenantSchema,
        global_schema: GlobalSchema,
        keyring: crate::crypto::Keyring,
        cfg: &crate::config::Config,
    ) -> Result<Self, String> {
        let (limits, auth, network, storage) = (
            cfg.limits.clone(),
            cfg.auth.clone(),
            &cfg.network,
            &cfg.storage,
        );
        let data_dir = &cfg.data_dir;
        let passwords = crate::identity::Passwords::new(
            auth.argon2_memory_kib,
            auth.argon2_iterations,
            auth.argon2_parallelism,
            auth.password_min_length,
            auth.max_concurrent_hashes,
        )
        .map_err(|e| format!("password hashing set-up: {}", e.describe()))?;
        let webauthn = Arc::new(crate::identity::passkeys::relying_party(
            &auth.public_origin,
        )?);
        let (blobs, fs_blobs) = crate::storage::open(storage, data_dir).await?;
        let links = crate::storage::links::LinkSigner::new(
            *keyring
                .current()
                .derive(crate::crypto::Purpose::BlobUrls, uuid::Uuid::nil())
                .bytes(),
        );
        let mail = MailSetup {
            outgoing: crate::mail::Outgoing::from_config(&cfg.mail, data_dir)?,
            from: cfg
                .mail
                .from
                .parse()
                .map_err(|e| format!("mail.from: {e}"))?,
            max_attempts: cfg.mail.max_attempts,
        };
        let apq = Arc::new(crate::graphql::apq::PersistedQueries::new(
            limits.apq_entries,
        ));
        let documents = Arc::new(crate::graphql::documents::Documents::new(
            limits.document_cache_entries,
        ));
        let set = crate::db::migrate::MigrationSet::load(cfg.migrations_dir.as_deref())
            .map_err(|e| format!("migrations: {e}"))?;
        let buckets = Arc::new(match &cfg.rate_limits.redis_url {
            Some(url) => {
                crate::ratelimit::Buckets::shared(url.expose(), &cfg.rate_limits.redis_prefix)?
            }
            None => crate::ratelimit::Buckets::in_process(),
        });
        crate::observability::metrics::install();
        let live = Arc::new(crate::live::Hub::default());
        // LISTEN needs a session of its own: through PgBouncer in transaction mode it goes
        // to the database directly.
        let listen = match &cfg.database_listen_url {
            Some(url) => url.as_str(),
            None => pool.url(),
        };
        live.listen(listen)
            .map_err(|e| format!("database_listen_url: {e}"))?;
        let shared_joins = shared_joins(&pool).await;
        let outbound = Arc::new(crate::net::Outbound::new(crate::net::AddressPolicy {
            allow_loopback: network.allow_loopback,
            allow_private: network.allow_private,
        })?);
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                tenant_schema,
                global_schema,
                limits,
                keyring: Arc::new(keyring),
                clock: Arc::new(crate::SystemClock),
                auth_limits: Arc::new(crate::ratelimit::AuthLimits::new(&auth, buckets.clone())),
                request_limits: Arc::new(crate::ratelimit::RequestLimits::new(
                    cfg.rate_limits.clone(),
                    buckets,
                )),
                metrics_token: cfg.metrics_token.clone(),
                metrics_on_main: match (&cfg.metrics_listen, &cfg.metrics_token) {
                    (Some(_), _) => MetricsAccess::Off,
                    (None, Some(_)) => MetricsAccess::Token,
                    (None, None) if cfg.metrics_public => MetricsAccess::Open,
                    (None, None) => MetricsAccess::Off,
                },
                webhooks: cfg.webhooks.clone(),
                trusted_proxies: cfg.trusted_proxies.clone(),
                forwarded_header: cfg.forwarded_header,
                webauthn,
                outbound,
                blobs,
                fs_blobs,
                links,
                storage: storage.clone(),
                expected_migrations: (set.public_latest(), set.tenant_latest()),
                apq,
                documents,
                auth: Arc::new(auth),
                mail,
                passwords,
                started: Instant::now(),
                shared_joins,
                live,
            }),
        })
    }
}

/// Whether the database lets one statement join a workspace's tables with the shared
/// schema's: not on Citus. A database out of reach at start counts as Citus, which only
/// leaves `Record.assignee` to the resolvers.
async fn shared_joins(pool: &AppPool) -> bool {
    let citus = match pool.acquire().await {
        Ok(mut conn) => crate::db::citus::enabled(&mut conn).await,
        Err(e) => Err(e),
    };
    match citus {
        Ok(citus) => !citus,
        Err(e) => {
            tracing::warn!(error = %e, "could not tell whether the database is Citus; assuming it is");
            false
        }
    }
}

impl AppState {
    /// The object store (attachments, exports and audit anchors).
    pub fn blob_store(&self) -> Arc<dyn crate::storage::BlobStore> {
        self.inner.blobs.clone()
    }

    /// The background worker over this server's pool, keys and store, with every kind of
    /// job registered (run it with [`crate::jobs::Worker::run`]).
    pub fn worker(&self, cfg: crate::config::Jobs) -> crate::jobs::Worker {
        let i = &self.inner;
        let exports = crate::export::job::Exports {
            pool: i.pool.clone(),
            keyring: i.keyring.clone(),
            blobs: i.blobs.clone(),
            clock: i.clock.clone(),
            keep_days: cfg.export_keep_days,
        };
        let delivery = crate::webhooks::Delivery {
            pool: i.pool.clone(),
            keyring: i.keyring.clone(),
            clock: i.clock.clone(),
            outbound: i.outbound.clone(),
            webhooks: i.webhooks.clone(),
        };
        let mail = crate::mail::MailJob {
            pool: i.pool.clone(),
            keyring: i.keyring.clone(),
            outgoing: i.mail.outgoing.clone(),
            from: i.mail.from.clone(),
            public_origin: i.auth.public_origin.clone(),
            max_attempts: i.mail.max_attempts,
        };
        let [write, expire] = exports.jobs();
        crate::jobs::Worker::new(i.pool.clone(), cfg)
            .with(write)
            .with(expire)
            .with(Arc::new(delivery))
            .with(Arc::new(mail))
            .with(Arc::new(crate::tenancy::role_pool::RolePoolJob {
                pool: i.pool.clone(),
            }))
    }
}
