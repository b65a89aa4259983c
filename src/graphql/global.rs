//! The global endpoint `/graphql`: operations outside any workspace (`me`, my workspaces,
//! my sessions, my password).

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::errors::ApiError;
use crate::authz::{Permission as P, requires};
use crate::crypto::Secret;
use crate::identity::session;
use crate::tenancy::GlobalTx;

/// Per-request data of a global request: the user and the transaction scoped to them.
#[derive(Clone)]
pub struct GlobalState {
    pub user_id: Uuid,
    /// Set when the caller is an API token: it may only learn about its own workspace.
    pub token_tenant: Option<Uuid>,
    /// Set when the caller is a browser session.
    pub session_id: Option<Uuid>,
    pub passwords: crate::identity::Passwords,
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

    /// The caller's live sessions. Empty for API tokens.
    async fn my_sessions(&self, ctx: &Context<'_>) -> Result<Vec<SessionInfo>> {
        let st = state(ctx)?;
        if st.session_id.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = st.tx.lock().await;
        let rows = session::list(tx.conn(), st.user_id)
            .await
            .map_err(ApiError::from)?;
        Ok(rows
            .into_iter()
            .map(|r| SessionInfo {
                current: Some(r.id) == st.session_id,
                id: ID(r.id.to_string()),
                aal: r.aal,
                created_at: r.created_at,
                last_seen_at: r.last_seen_at,
                user_agent: r.user_agent,
                ip: r.ip,
            })
            .collect())
    }
}

/// One of the caller's live sessions (devices).
#[derive(SimpleObject)]
pub struct SessionInfo {
    pub id: ID,
    pub aal: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_seen_at: chrono::DateTime<chrono::Utc>,
    pub user_agent: String,
    pub ip: String,
    /// The session making this request.
    pub current: bool,
}

fn perm(p: P) -> String {
    p.as_str().to_owned()
}

/// Self-service mutations of the global endpoint: browser sessions only.
pub struct GlobalMutation;

#[Object(name = "Mutation")]
impl GlobalMutation {
    /// Revokes one of the caller's sessions; it stops working on the next request.
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let st = state(ctx)?;
        let id = Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input("malformed id"))?;
        let mut tx = st.tx.lock().await;
        let n = session::revoke_where(tx.conn(), st.user_id, Some(id), None)
            .await
            .map_err(ApiError::from)?;
        if n == 0 {
            return Err(ApiError::not_found().into());
        }
        Ok(true)
    }

    /// Revokes every session of the caller except this one. Returns how many.
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn revoke_other_sessions(&self, ctx: &Context<'_>) -> Result<i32> {
        let st = state(ctx)?;
        let mut tx = st.tx.lock().await;
        Ok(
            session::revoke_where(tx.conn(), st.user_id, None, st.session_id)
                .await
                .map_err(ApiError::from)?,
        )
    }

    /// Changes the password (the current one is required) and signs out every other session.
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> Result<bool> {
        let st = state(ctx)?;
        let (current, new) = (Secret::new(current_password), Secret::new(new_password));
        let mut tx = st.tx.lock().await;
        let stored = session::password_hash_of(tx.conn(), st.user_id)
            .await
            .map_err(ApiError::from)?;
        let ok = st
            .passwords
            .verify(&current, stored.as_deref())
            .await
            .map_err(password_error)?;
        if !ok {
            return Err(ApiError::forbidden("the current password is not correct").into());
        }
        let hash = st.passwords.hash(&new).await.map_err(password_error)?;
        session::set_password(tx.conn(), st.user_id, &hash)
            .await
            .map_err(ApiError::from)?;
        session::revoke_where(tx.conn(), st.user_id, None, st.session_id)
            .await
            .map_err(ApiError::from)?;
        Ok(true)
    }
}

fn password_error(e: crate::identity::PasswordError) -> ApiError {
    use crate::identity::PasswordError as E;
    match e {
        E::Busy => ApiError::new(super::errors::ErrorCode::Unavailable, e.describe()),
        E::Internal => ApiError::internal(&"password hashing failed"),
        other => ApiError::bad_input(other.describe()),
    }
}
