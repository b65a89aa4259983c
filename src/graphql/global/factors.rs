//! Second factors: TOTP, recovery codes and passkeys (browser sessions only).

use async_graphql::{Context, ID, Json, Object, Result, SimpleObject};
use uuid::Uuid;

use super::state::state;
use crate::authz::{Permission as P, requires};
use crate::graphql::context::perm;
use crate::graphql::errors::{ApiError, ErrorCode};
use crate::identity::{factors, passkeys, session};

#[derive(Default)]
pub struct FactorsQuery;

#[Object]
impl FactorsQuery {
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

#[derive(Default)]
pub struct FactorsMutation;

#[Object]
impl FactorsMutation {
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
