use std::sync::Arc;

use async_graphql::{Context, ID};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};
use uuid::Uuid;

use super::errors::ApiError;
use crate::authz::Principal;
use crate::config::Limits;
use crate::tenancy::TenantTx;
use crate::work::PageArgs;

/// The request's one transaction, shared by the resolvers of the request. Resolvers lock
/// it for the duration of a statement; the handler takes it back to commit or roll back.
#[derive(Debug, Default)]
pub struct TxCell(Mutex<Option<TenantTx>>);

impl TxCell {
    pub fn new(tx: TenantTx) -> Self {
        Self(Mutex::new(Some(tx)))
    }

    /// The transaction, while it is open: once taken out, or ended by its last statement
    /// ([`TenantTx::fetch_last`]), no statement may run in it.
    pub async fn lock(&self) -> Result<MappedMutexGuard<'_, TenantTx>, ApiError> {
        MutexGuard::try_map(self.0.lock().await, |tx| {
            tx.as_mut().filter(|tx| !tx.is_finished())
        })
        .map_err(|_| ApiError::internal(&"request transaction already finished"))
    }

    /// Takes the transaction out; later `lock` calls fail.
    pub async fn take(&self) -> Option<TenantTx> {
        self.0.lock().await.take()
    }
}

/// Per-request data of a tenant request.
#[derive(Clone)]
pub struct RequestState {
    pub tx: Arc<TxCell>,
    pub principal: Principal,
    pub limits: Limits,
    pub keyring: Arc<crate::crypto::Keyring>,
    /// Actor, request id and client address recorded with every audit entry.
    pub audit_meta: crate::audit::EntryMeta,
    pub clock: Arc<dyn crate::Clock>,
    /// Outbound HTTP under the address policy (OIDC discovery).
    pub outbound: Arc<crate::net::Outbound>,
    /// The origin browsers use (OIDC redirect URIs).
    pub public_origin: String,
    /// Webhook settings (the secret rotation overlap).
    pub webhooks: crate::config::Webhooks,
    /// Sign-in and membership settings (invitation lifetime, re-authentication window).
    pub auth: Arc<crate::config::Auth>,
    /// Limits on what sends mail (invitations).
    pub auth_limits: Arc<crate::ratelimit::AuthLimits>,
    /// For a browser session: when it last passed a second-factor check.
    pub factor_verified_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether one statement may join a workspace's tables with the shared schema's (not on
    /// Citus): compiled reads answer `Record.assignee` only then.
    pub shared_joins: bool,
}

impl RequestState {
    /// The client's address (the one audit entries record), if the server knows it.
    pub fn client_ip(&self) -> Option<std::net::IpAddr> {
        self.audit_meta.client_ip.parse().ok()
    }

    /// Whether the caller's session passed a second-factor check within the
    /// re-authentication window.
    pub fn factor_fresh(&self) -> bool {
        self.factor_verified_at
            .is_some_and(|at| (self.clock.now() - at).num_seconds() < self.auth.reauth_window_secs)
    }
}

/// The `@requires` argument for a permission.
pub(crate) fn perm(p: crate::authz::Permission) -> String {
    p.as_str().to_owned()
}

/// The caller, for the work domain's visibility and edit checks.
pub(crate) fn viewer(ctx: &Context<'_>) -> Result<crate::authz::Viewer, ApiError> {
    Ok(state(ctx)?.principal.viewer())
}

pub(crate) fn state<'a>(ctx: &Context<'a>) -> Result<&'a RequestState, ApiError> {
    ctx.data::<RequestState>()
        .map_err(|_| ApiError::internal(&"request state missing"))
}

pub(crate) async fn tx<'a>(ctx: &Context<'a>) -> Result<MappedMutexGuard<'a, TenantTx>, ApiError> {
    state(ctx)?.tx.lock().await
}

pub(crate) fn page(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<&str>,
) -> Result<PageArgs, ApiError> {
    let l = &state(ctx)?.limits;
    Ok(PageArgs::parse(
        first,
        after,
        l.default_page_size,
        l.max_page_size,
    )?)
}

pub(crate) fn parse_id(id: &ID) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input("malformed id"))
}

pub(crate) fn opt_id(id: Option<&ID>) -> Result<Option<Uuid>, ApiError> {
    id.map(parse_id).transpose()
}
