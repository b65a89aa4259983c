//! What a WebSocket connection hands its subscriptions: the fan-out, the workspace, and a
//! way back into the workspace as the subscriber (see `http::live`, which authenticates the
//! connection, and `tenant::live`, which serves `workspaceChanged`).

use std::sync::Arc;

use crate::authz::Viewer;
use crate::graphql::errors::ApiError;
use crate::tenancy::TenantTx;

/// Opens a read-only transaction in the connection's workspace as its subscriber, checking
/// the credentials again: refused once the session is revoked, the token revoked or the
/// member removed.
#[async_trait::async_trait]
pub trait Reenter: Send + Sync {
    async fn enter(&self) -> Result<(TenantTx, Viewer), ApiError>;
}

/// Connection data of a live connection, read by subscription resolvers.
#[derive(Clone)]
pub struct LiveSession {
    pub hub: Arc<crate::live::Hub>,
    pub tenant_id: uuid::Uuid,
    pub access: Arc<dyn Reenter>,
    pub clock: Arc<dyn crate::Clock>,
}
