//! The caller's account: who they are, their workspaces, sessions and password.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use uuid::Uuid;

use super::state::{password_error, state};
use crate::authz::{Permission as P, requires};
use crate::crypto::Secret;
use crate::db;
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
        let verified = crate::identity::account::email_verified(tx.conn(), st.user_id)
            .await
            .map_err(ApiError::from)?;
        Ok(Me {
            id: ID(user.id.to_string()),
            email: user.email,
            display_name: user.display_name,
            email_verified: verified,
        })
    }

    /// The authenticated user (the same as `me`).
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Me> {
        self.me(ctx).await
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
        let rows: Vec<DeletedWorkspace> = db::query_as(
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
    /// Mails a new address-verification link (24 hours, single use). False when the address is
    /// verified already. Limited per address and per client address (`RATE_LIMITED`).
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn resend_verification(&self, ctx: &Context<'_>) -> Result<bool> {
        let st = state(ctx)?;
        let mut tx = st.tx.lock().await;
        let user = crate::identity::get_user(tx.conn(), st.user_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(ApiError::unauthenticated)?;
        st.auth_limits
            .account_mail(&user.email, &st.client_ip)
            .await
            .map_err(ApiError::rate_limited)?;
        let sent = crate::identity::account::send_verification(
            tx.conn(),
            &st.keyring,
            st.user_id,
            st.auth.verification_ttl_hours,
            st.clock.now(),
        )
        .await
        .map_err(ApiError::from)?;
        Ok(sent)
    }

    /// Checks a current authenticator or recovery code and records it on this session, for
    /// what needs a recent second factor (transferring a workspace's ownership). Counted
    /// against the second-factor attempt limits.
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn verify_second_factor(&self, ctx: &Context<'_>, code: String) -> Result<bool> {
        let st = state(ctx)?;
        let mut tx = st.tx.lock().await;
        let has_factor = crate::identity::factors::status(tx.conn(), st.user_id)
            .await?
            .any();
        if !has_factor {
            return Err(ApiError::new(
                crate::graphql::errors::ErrorCode::SecondFactorRequired,
                "enroll an authenticator or a passkey first",
            )
            .into());
        }
        st.require_fresh_factor(&mut tx, Some(&code)).await?;
        Ok(true)
    }

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
            db::query_scalar("SELECT public.tessera_restore_workspace($1, $2)")
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

/// The signed-in account.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Me {
    pub id: ID,
    pub email: String,
    pub display_name: String,
    /// The address was confirmed (by a link sent to it, an invitation, a reset, or an
    /// identity provider).
    pub email_verified: bool,
}

#[async_graphql::ComplexObject]
impl Me {
    /// The account's security log, newest first: sign-ups, sign-ins (and failed ones),
    /// verification, password changes and resets, second factors, sessions revoked.
    /// `before`: the id of the last entry of the previous page. Browser sessions only.
    async fn security_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50, validator(minimum = 1, maximum = 200))] first: i32,
        before: Option<ID>,
    ) -> Result<Vec<SecurityEvent>> {
        let st = state(ctx)?;
        if st.session_id.is_none() {
            return Err(ApiError::forbidden("the security log is for browser sessions").into());
        }
        let before = before
            .map(|b| Uuid::parse_str(b.as_str()))
            .transpose()
            .map_err(|_| ApiError::bad_input("malformed id"))?;
        let mut tx = st.tx.lock().await;
        let rows =
            crate::identity::account::events(tx.conn(), st.user_id, i64::from(first), before)
                .await
                .map_err(ApiError::from)?;
        Ok(rows
            .into_iter()
            .map(|e| SecurityEvent {
                id: ID(e.id.to_string()),
                at: e.at,
                action: e.action,
                ip: e.ip,
                user_agent: e.user_agent,
                details: async_graphql::Json(e.details),
            })
            .collect())
    }
}

/// One entry of the account's security log.
#[derive(SimpleObject)]
pub struct SecurityEvent {
    pub id: ID,
    pub at: chrono::DateTime<chrono::Utc>,
    /// `auth.signin`, `auth.signin_failed`, `auth.password_changed`, `auth.password_reset`, ...
    pub action: String,
    pub ip: String,
    pub user_agent: String,
    pub details: async_graphql::Json<serde_json::Value>,
}

#[derive(SimpleObject)]
pub struct Workspace {
    pub slug: String,
    pub name: String,
    /// The caller's role there.
    pub role: String,
}

/// A deleted workspace, restorable until `purgeAfter`.
#[derive(SimpleObject, db::FromRow)]
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
