//! The caller's account: who they are, their workspaces, sessions and password.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use uuid::Uuid;

use super::state::{password_error, state};
use crate::authz::{Permission as P, requires};
use crate::crypto::Secret;
use crate::graphql::context::perm;
use crate::graphql::errors::ApiError;
use crate::identity::session;

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
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

    /// Deleted workspaces the caller owns that can still be restored.
    async fn my_deleted_workspaces(&self, ctx: &Context<'_>) -> Result<Vec<DeletedWorkspace>> {
        let st = state(ctx)?;
        if st.session_id.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = st.tx.lock().await;
        let rows: Vec<DeletedWorkspace> = sqlx::query_as(
            "SELECT slug, name, deleted_at, purge_after FROM public.tessera_deleted_workspaces_of($1)",
        )
        .bind(st.user_id)
        .fetch_all(tx.conn())
        .await
        .map_err(ApiError::from)?;
        Ok(rows)
    }
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
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
        st.event(
            "auth.session_revoked",
            serde_json::json!({ "session": id }),
            false,
        );
        Ok(true)
    }

    /// Revokes every session of the caller except this one. Returns how many.
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn revoke_other_sessions(&self, ctx: &Context<'_>) -> Result<i32> {
        let st = state(ctx)?;
        let mut tx = st.tx.lock().await;
        let n = session::revoke_where(tx.conn(), st.user_id, None, st.session_id)
            .await
            .map_err(ApiError::from)?;
        st.event(
            "auth.sessions_revoked",
            serde_json::json!({ "count": n }),
            false,
        );
        Ok(n)
    }

    /// Changes the password (the current one is required, and a recent second factor when
    /// one is enrolled) and signs out every other session.
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
        second_factor: Option<String>,
    ) -> Result<bool> {
        let st = state(ctx)?;
        let (current, new) = (Secret::new(current_password), Secret::new(new_password));
        let mut tx = st.tx.lock().await;
        st.require_fresh_factor(&mut tx, second_factor.as_deref())
            .await?;
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
        let revoked = session::revoke_where(tx.conn(), st.user_id, None, st.session_id)
            .await
            .map_err(ApiError::from)?;
        st.event(
            "auth.password_changed",
            serde_json::json!({ "other_sessions_revoked": revoked }),
            false,
        );
        Ok(true)
    }

    /// Restores a deleted workspace the caller owns, before it is purged.
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn restore_workspace(&self, ctx: &Context<'_>, slug: String) -> Result<bool> {
        let st = state(ctx)?;
        let mut tx = st.tx.lock().await;
        let restored: Option<Uuid> =
            sqlx::query_scalar("SELECT public.tessera_restore_workspace($1, $2)")
                .bind(&slug)
                .bind(st.user_id)
                .fetch_one(tx.conn())
                .await
                .map_err(ApiError::from)?;
        if restored.is_none() {
            return Err(ApiError::not_found().into());
        }
        st.effect(|e| {
            e.workspace_events
                .push((slug, "workspace.restore", serde_json::json!({})))
        });
        Ok(true)
    }
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

/// A deleted workspace, restorable until `purgeAfter`.
#[derive(SimpleObject, sqlx::FromRow)]
pub struct DeletedWorkspace {
    pub slug: String,
    pub name: String,
    pub deleted_at: Option<chrono::DateTime<chrono::Utc>>,
    pub purge_after: Option<chrono::DateTime<chrono::Utc>>,
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
