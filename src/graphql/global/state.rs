//! What a global request carries: the caller, their transaction, and the side effects the
//! HTTP layer applies once the transaction ended.

use std::sync::Arc;

use async_graphql::{Context, Result};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::crypto::Secret;
use crate::graphql::errors::{ApiError, ErrorCode};
use crate::identity::events::Event;
use crate::identity::{factors, session};
use crate::tenancy::GlobalTx;

/// Per-request data of a global request: the user and the transaction scoped to them.
#[derive(Clone)]
pub struct GlobalState {
    pub user_id: Uuid,
    /// Set when the caller is an API token: it may only learn about its own workspace.
    pub token_tenant: Option<Uuid>,
    /// Set when the caller is a browser session.
    pub session_id: Option<Uuid>,
    pub session: Option<session::SessionInfo>,
    pub passwords: crate::identity::Passwords,
    pub tx: Arc<Mutex<GlobalTx>>,
    pub keyring: Arc<crate::crypto::Keyring>,
    pub auth_limits: Arc<crate::ratelimit::AuthLimits>,
    pub clock: Arc<dyn crate::Clock>,
    pub client_ip: String,
    pub reauth_window_secs: i64,
    pub lifetimes: session::Lifetimes,
    pub webauthn: Arc<webauthn_rs::prelude::Webauthn>,
    /// What the HTTP layer does after the transaction ends.
    pub effects: Arc<std::sync::Mutex<Effects>>,
    /// Sign-in and membership settings (token lifetimes).
    pub auth: Arc<crate::config::Auth>,
    /// Actor, request id and client address of entries this request appends to a
    /// workspace's chain (creating or joining it).
    pub audit_meta: crate::audit::EntryMeta,
    /// The tenant schema version this binary provisions workspaces at.
    pub tenant_version: i32,
}

/// Side effects of a global request, applied by the HTTP layer once the transaction ended.
#[derive(Default)]
pub struct Effects {
    /// Identity events for the audit log; `true`: record it even when the request rolled
    /// back (failed checks must leave a trace).
    pub events: Vec<(Event, bool)>,
    /// A session that replaced the caller's (step-up): its token goes into the cookie, if
    /// the transaction committed.
    pub new_session: Option<(Uuid, Secret<String>)>,
    /// Entries for a workspace's own chain: (slug, action, payload), appended once the
    /// transaction committed.
    pub workspace_events: Vec<(String, &'static str, serde_json::Value)>,
}

impl GlobalState {
    pub(crate) fn effect(&self, f: impl FnOnce(&mut Effects)) {
        if let Ok(mut e) = self.effects.lock() {
            f(&mut e);
        }
    }

    pub(crate) fn event(&self, action: &'static str, payload: serde_json::Value, always: bool) {
        self.effect(|e| e.events.push((Event::new(action, payload), always)));
    }

    pub(crate) fn now_secs(&self) -> u64 {
        u64::try_from(self.clock.now().timestamp()).unwrap_or_default()
    }

    /// Demands a recent second-factor check when the user has a second factor: `code` (a
    /// TOTP or recovery code, counted against the attempt limits), or a check made by this
    /// session within the re-authentication window.
    pub(crate) async fn require_fresh_factor(
        &self,
        tx: &mut GlobalTx,
        code: Option<&str>,
    ) -> Result<(), ApiError> {
        if !factors::status(tx.conn(), self.user_id).await?.any() {
            return Ok(());
        }
        if let Some(code) = code {
            self.auth_limits
                .factor_attempt(self.user_id, &self.client_ip)
                .await
                .map_err(ApiError::rate_limited)?;
            let now = self.now_secs();
            if let Some(method) =
                factors::check_code(tx.conn(), &self.keyring, self.user_id, code, now).await?
            {
                if let Some(sid) = self.session_id {
                    session::factor_checked(tx.conn(), sid).await?;
                }
                self.event(
                    "auth.second_factor",
                    serde_json::json!({ "method": method.as_str(), "purpose": "confirmation" }),
                    false,
                );
                return Ok(());
            }
            tracing::warn!(user = %self.user_id, "second factor refused");
            self.event("auth.second_factor_failed", serde_json::json!({}), true);
            return Err(ApiError::forbidden("the second-factor code is not valid"));
        }
        let fresh = self
            .session
            .and_then(|s| s.factor_verified_at)
            .is_some_and(|at| (self.clock.now() - at).num_seconds() < self.reauth_window_secs);
        if fresh {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::SecondFactorRequired,
                "confirm with a current second-factor code (argument `secondFactor`)",
            ))
        }
    }
}

pub(crate) fn state<'a>(ctx: &Context<'a>) -> Result<&'a GlobalState, ApiError> {
    ctx.data::<GlobalState>()
        .map_err(|_| ApiError::internal(&"global state missing"))
}

pub(crate) fn password_error(e: crate::identity::PasswordError) -> ApiError {
    use crate::identity::PasswordError as E;
    match e {
        E::Busy => ApiError::new(ErrorCode::Unavailable, e.describe()),
        E::Internal => ApiError::internal(&"password hashing failed"),
        other => ApiError::bad_input(other.describe()),
    }
}
