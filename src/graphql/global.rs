//! The global endpoint `/graphql`: operations outside any workspace (`me`, my workspaces,
//! my sessions, my password).

use std::sync::Arc;

use async_graphql::{Context, ID, Json, Object, Result, SimpleObject};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::errors::{ApiError, ErrorCode};
use crate::authz::{Permission as P, requires};
use crate::crypto::Secret;
use crate::identity::events::Event;
use crate::identity::{factors, passkeys, session};
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
    fn effect(&self, f: impl FnOnce(&mut Effects)) {
        if let Ok(mut e) = self.effects.lock() {
            f(&mut e);
        }
    }

    fn event(&self, action: &'static str, payload: serde_json::Value, always: bool) {
        self.effect(|e| e.events.push((Event::new(action, payload), always)));
    }

    fn now_secs(&self) -> u64 {
        u64::try_from(self.clock.now().timestamp()).unwrap_or_default()
    }

    /// Demands a recent second-factor check when the user has a second factor: `code` (a
    /// TOTP or recovery code, counted against the attempt limits), or a check made by this
    /// session within the re-authentication window.
    async fn require_fresh_factor(
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

    /// The caller's passkeys (browser sessions only).
    async fn my_passkeys(&self, ctx: &Context<'_>) -> Result<Vec<PasskeyObj>> {
        let st = state(ctx)?;
        if st.session_id.is_none() {
            return Err(ApiError::forbidden("passkeys are managed from a browser session").into());
        }
        let mut tx = st.tx.lock().await;
        let rows = passkeys::list(tx.conn(), st.user_id).await?;
        Ok(rows.into_iter().map(PasskeyObj::from).collect())
    }

    /// The caller's second factors (browser sessions only).
    async fn my_second_factors(&self, ctx: &Context<'_>) -> Result<SecondFactors> {
        let st = state(ctx)?;
        if st.session_id.is_none() {
            return Err(
                ApiError::forbidden("second factors are managed from a browser session").into(),
            );
        }
        let mut tx = st.tx.lock().await;
        let s = factors::status(tx.conn(), st.user_id).await?;
        Ok(SecondFactors {
            totp: s.totp,
            passkeys: i32::try_from(s.passkeys).unwrap_or(i32::MAX),
            recovery_codes_left: i32::try_from(s.recovery_codes_left).unwrap_or(i32::MAX),
        })
    }
}

/// A deleted workspace, restorable until `purgeAfter`.
#[derive(SimpleObject, sqlx::FromRow)]
pub struct DeletedWorkspace {
    pub slug: String,
    pub name: String,
    pub deleted_at: Option<chrono::DateTime<chrono::Utc>>,
    pub purge_after: Option<chrono::DateTime<chrono::Utc>>,
}

/// The caller's second factors.
#[derive(SimpleObject)]
pub struct SecondFactors {
    pub totp: bool,
    pub passkeys: i32,
    pub recovery_codes_left: i32,
}

/// A registered passkey.
#[derive(SimpleObject)]
#[graphql(name = "Passkey")]
pub struct PasskeyObj {
    pub id: ID,
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<passkeys::PasskeyInfo> for PasskeyObj {
    fn from(p: passkeys::PasskeyInfo) -> Self {
        Self {
            id: ID(p.id.to_string()),
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

/// A newly registered passkey, with recovery codes (shown once) when the user had none.
#[derive(SimpleObject)]
pub struct PasskeyRegistered {
    pub passkey: PasskeyObj,
    pub recovery_codes: Vec<String>,
}

/// A TOTP enrollment to confirm with `confirmTotp`. Shown once.
#[derive(SimpleObject)]
pub struct TotpEnrollmentObj {
    /// The seed in base32, for manual entry.
    pub secret: String,
    /// The `otpauth://` URI.
    pub uri: String,
    /// The URI as a QR code, SVG.
    pub qr_svg: String,
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

    /// Starts enrolling TOTP: returns the seed (as text, URI and QR code), shown once.
    /// Confirm it with `confirmTotp` and a first code. Adding a factor to an account that has
    /// one needs a recent second factor.
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn begin_totp_enrollment(
        &self,
        ctx: &Context<'_>,
        second_factor: Option<String>,
    ) -> Result<TotpEnrollmentObj> {
        let st = state(ctx)?;
        let mut tx = st.tx.lock().await;
        st.require_fresh_factor(&mut tx, second_factor.as_deref())
            .await?;
        let user = crate::identity::get_user(tx.conn(), st.user_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(ApiError::unauthenticated)?;
        let e = factors::totp_begin(tx.conn(), &st.keyring, st.user_id, &user.email).await?;
        Ok(TotpEnrollmentObj {
            secret: e.secret_base32.expose().clone(),
            uri: e.uri.expose().clone(),
            qr_svg: e.qr_svg.expose().clone(),
        })
    }

    /// Confirms TOTP with a first code. The session becomes `aal2` (a new session token is
    /// set in the cookie). Returns ten recovery codes, shown once, when the user had none.
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn confirm_totp(&self, ctx: &Context<'_>, code: String) -> Result<Vec<String>> {
        let st = state(ctx)?;
        st.auth_limits
            .factor_attempt(st.user_id, &st.client_ip)
            .await
            .map_err(ApiError::rate_limited)?;
        let now = st.now_secs();
        let mut tx = st.tx.lock().await;
        let Some(codes) =
            factors::totp_confirm(tx.conn(), &st.keyring, st.user_id, &code, now).await?
        else {
            st.event(
                "auth.second_factor_failed",
                serde_json::json!({ "purpose": "totp_enrollment" }),
                true,
            );
            return Err(ApiError::forbidden("the code is not valid").into());
        };
        if let Some(sid) = st.session_id {
            let stepped = session::step_up(tx.conn(), sid, st.lifetimes)
                .await
                .map_err(ApiError::from)?
                .ok_or_else(ApiError::unauthenticated)?;
            st.effect(|e| e.new_session = Some(stepped));
        }
        st.event(
            "auth.totp_enrolled",
            serde_json::json!({ "recovery_codes_issued": codes.len() }),
            false,
        );
        Ok(codes.into_iter().map(|c| c.expose().clone()).collect())
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

    /// Starts registering a passkey (user verification required). Returns
    /// `{ceremonyId, options}`; pass `options` to `navigator.credentials.create` and the result
    /// to `finishPasskeyRegistration`. Adding a factor to an account that has one needs a
    /// recent second factor.
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn start_passkey_registration(
        &self,
        ctx: &Context<'_>,
        second_factor: Option<String>,
    ) -> Result<Json<serde_json::Value>> {
        let st = state(ctx)?;
        let mut tx = st.tx.lock().await;
        st.require_fresh_factor(&mut tx, second_factor.as_deref())
            .await?;
        let user = crate::identity::get_user(tx.conn(), st.user_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(ApiError::unauthenticated)?;
        let (id, options) = passkeys::start_registration(
            tx.conn(),
            &st.webauthn,
            st.user_id,
            &user.email,
            &user.display_name,
        )
        .await?;
        Ok(Json(
            serde_json::json!({ "ceremonyId": id, "options": options }),
        ))
    }

    /// Finishes a passkey registration. The session steps up to `aal2` (a new session token
    /// is set in the cookie); recovery codes are issued when the user had none.
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn finish_passkey_registration(
        &self,
        ctx: &Context<'_>,
        ceremony_id: ID,
        name: String,
        credential: Json<serde_json::Value>,
    ) -> Result<PasskeyRegistered> {
        let st = state(ctx)?;
        let ceremony = Uuid::parse_str(ceremony_id.as_str())
            .map_err(|_| ApiError::bad_input("malformed ceremonyId"))?;
        let credential: webauthn_rs::prelude::RegisterPublicKeyCredential =
            serde_json::from_value(credential.0).map_err(|_| {
                ApiError::bad_input("credential is not a WebAuthn registration response")
            })?;
        let mut tx = st.tx.lock().await;
        let info = passkeys::finish_registration(
            tx.conn(),
            &st.webauthn,
            st.user_id,
            ceremony,
            &name,
            &credential,
        )
        .await?;
        let codes = if factors::recovery_codes_left(tx.conn(), st.user_id).await? == 0 {
            factors::recovery_regenerate(tx.conn(), st.user_id).await?
        } else {
            Vec::new()
        };
        if let Some(sid) = st.session_id {
            let stepped = session::step_up(tx.conn(), sid, st.lifetimes)
                .await
                .map_err(ApiError::from)?
                .ok_or_else(ApiError::unauthenticated)?;
            st.effect(|e| e.new_session = Some(stepped));
        }
        st.event(
            "auth.passkey_added",
            serde_json::json!({ "passkey": info.id, "name": info.name }),
            false,
        );
        Ok(PasskeyRegistered {
            passkey: info.into(),
            recovery_codes: codes.into_iter().map(|c| c.expose().clone()).collect(),
        })
    }

    /// Renames one of the caller's passkeys.
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn rename_passkey(&self, ctx: &Context<'_>, id: ID, name: String) -> Result<PasskeyObj> {
        let st = state(ctx)?;
        let id = Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input("malformed id"))?;
        let mut tx = st.tx.lock().await;
        let info = passkeys::rename(tx.conn(), st.user_id, id, &name)
            .await?
            .ok_or_else(ApiError::not_found)?;
        Ok(info.into())
    }

    /// Deletes one of the caller's passkeys (needs a recent second factor).
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn delete_passkey(
        &self,
        ctx: &Context<'_>,
        id: ID,
        second_factor: Option<String>,
    ) -> Result<bool> {
        let st = state(ctx)?;
        let id = Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input("malformed id"))?;
        let mut tx = st.tx.lock().await;
        st.require_fresh_factor(&mut tx, second_factor.as_deref())
            .await?;
        if !passkeys::delete(tx.conn(), st.user_id, id).await? {
            return Err(ApiError::not_found().into());
        }
        factors::drop_orphan_recovery_codes(tx.conn(), st.user_id).await?;
        st.event(
            "auth.passkey_removed",
            serde_json::json!({ "passkey": id }),
            false,
        );
        Ok(true)
    }

    /// Removes TOTP (needs a recent second factor). Without any second factor left, the
    /// recovery codes go too.
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn disable_totp(&self, ctx: &Context<'_>, second_factor: Option<String>) -> Result<bool> {
        let st = state(ctx)?;
        let mut tx = st.tx.lock().await;
        st.require_fresh_factor(&mut tx, second_factor.as_deref())
            .await?;
        let removed = factors::totp_disable(tx.conn(), st.user_id).await?;
        if !removed {
            return Err(ApiError::not_found().into());
        }
        st.event("auth.totp_disabled", serde_json::json!({}), false);
        Ok(true)
    }

    /// Replaces the recovery codes with ten new ones, shown once (needs a recent second
    /// factor; only for users with a second factor).
    #[graphql(directive = requires::apply(perm(P::SelfManage)))]
    async fn regenerate_recovery_codes(
        &self,
        ctx: &Context<'_>,
        second_factor: Option<String>,
    ) -> Result<Vec<String>> {
        let st = state(ctx)?;
        let mut tx = st.tx.lock().await;
        if !factors::status(tx.conn(), st.user_id).await?.any() {
            return Err(ApiError::new(ErrorCode::Conflict, "enroll a second factor first").into());
        }
        st.require_fresh_factor(&mut tx, second_factor.as_deref())
            .await?;
        let codes = factors::recovery_regenerate(tx.conn(), st.user_id).await?;
        st.event(
            "auth.recovery_codes_regenerated",
            serde_json::json!({}),
            false,
        );
        Ok(codes.into_iter().map(|c| c.expose().clone()).collect())
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
