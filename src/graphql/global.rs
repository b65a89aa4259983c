//! The global endpoint `/graphql`: operations outside any workspace (`me`, my workspaces).

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::errors::ApiError;
use crate::tenancy::GlobalTx;

/// Per-request data of a global request: the user and the transaction scoped to them.
#[derive(Clone)]
pub struct GlobalState {
    pub user_id: Uuid,
    /// Set when the caller is an API token: it may only learn about its own workspace.
    pub token_tenant: Option<Uuid>,
    pub tx: Arc<Mutex<GlobalTx>>,
}

#[derive(SimpleObject)]
pub struct Me {
    pub id: ID,
    pub email: String,
    pub display_name: String,
}

#[derive(SimpleObject)]
pub struct Workspace {
    pub slug: String,
    pub name: String,
    /// The caller's role there.
    pub role: String,
}

pub struct GlobalQuery;

fn state<'a>(ctx: &Context<'a>) -> Result<&'a GlobalState, ApiError> {
    ctx.data::<GlobalState>()
        .map_err(|_| ApiError::internal(&"global state missing"))
}

#[Object]
impl GlobalQuery {
    /// The authenticated user.
    async fn me(&self, ctx: &Context<'_>) -> Result<Me> {
        let st = state(ctx)?;
        let mut tx = st.tx.lock().await;
        let user = crate::identity::get_user(tx.conn(), st.user_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(ApiError::unauthenticated)?;
        Ok(Me {
            id: ID(user.id.to_string()),
            email: user.email,
            display_name: user.display_name,
        })
    }

    /// Workspaces the caller belongs to. An API token sees only its own workspace.
    async fn workspaces(&self, ctx: &Context<'_>) -> Result<Vec<Workspace>> {
        let st = state(ctx)?;
        let mut tx = st.tx.lock().await;
        let rows = crate::identity::workspaces_of(tx.conn(), st.user_id, st.token_tenant)
            .await
            .map_err(ApiError::from)?;
        Ok(rows
            .into_iter()
            .map(|(slug, name, role)| Workspace { slug, name, role })
            .collect())
    }
}
