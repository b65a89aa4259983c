//! Browser sign-in: `POST /auth/signup`, `POST /auth/signin`, `POST /auth/signout`,
//! `POST /auth/mfa` and the passkey sign-in. The session cookie and CSRF rules they set up
//! are in [`super::authn`].

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::authn::{
    check_origin, client, client_within_limit, cookie, identity_meta, lifetimes, record,
    session_any, session_cookie,
};
use super::state::AppState;
use crate::crypto::Secret;
use crate::graphql::errors::{ApiError, ErrorCode};
use crate::identity::PasswordError;
use crate::identity::events::Event;
use crate::identity::session::{self, Aal};
use crate::identity::{factors, passkeys};
use crate::tenancy::{self, Access};

/// Reads a JSON body for an auth endpoint (JSON only, bounded, Origin checked if sent).
pub(super) async fn json_body<T: for<'de> Deserialize<'de>>(
    state: &AppState,
    req: Request<Body>,
) -> Result<(HeaderMap, T), ApiError> {
    let (parts, body) = req.into_parts();
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send application/json",
        ));
    }
    if parts.headers.contains_key(header::ORIGIN) {
        check_origin(state, &parts.headers)?;
    }
    let bytes = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map_err(|_| ApiError::new(ErrorCode::PayloadTooLarge, "body too large"))?;
    let json: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| ApiError::new(ErrorCode::BadRequest, "malformed JSON body"))?;
    crate::graphql::input::check_json(&json)?;
    let value = serde_json::from_value(json).map_err(|_| {
        ApiError::bad_input("the body is missing a field or has one of the wrong type")
    })?;
    Ok((parts.headers, value))
}

pub(super) fn password_error(e: PasswordError) -> ApiError {
    match e {
        PasswordError::Busy => ApiError::new(ErrorCode::Unavailable, e.describe()),
        PasswordError::Internal => ApiError::internal(&"password hashing failed"),
        other => ApiError::bad_input(other.describe()),
    }
}

fn signed_in(
    state: &AppState,
    status: StatusCode,
    user_id: uuid::Uuid,
    token: &Secret<String>,
    aal: Aal,
) -> Result<Response, ApiError> {
    signed_in_with(state, status, user_id, token, aal, serde_json::Map::new())
}

/// The answer of a successful sign-in or sign-up: the session cookie, and a body naming the
/// user and the session's level, with `extra` fields.
pub(super) fn signed_in_with(
    state: &AppState,
    status: StatusCode,
    user_id: uuid::Uuid,
    token: &Secret<String>,
    aal: Aal,
    extra: serde_json::Map<String, serde_json::Value>,
) -> Result<Response, ApiError> {
    let max_age = i64::from(state.inner.auth.session_absolute_secs);
    let mut body = serde_json::json!({ "user": { "id": user_id }, "aal": aal.as_str() });
    if let Some(obj) = body.as_object_mut() {
        obj.extend(extra);
    }
    if aal == Aal::Pending {
        // The password was right; the session can do nothing until the second factor.
        body["secondFactorRequired"] = serde_json::Value::Bool(true);
    }
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, cookie(state, token.expose(), max_age)?);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[derive(Deserialize)]
struct SignIn {
    email: String,
    password: Secret<String>,
}

pub async fn signin(State(state): State<AppState>, req: Request<Body>) -> Response {
    signin_inner(&state, req)
        .await
        .unwrap_or_else(ApiError::into_http)
}

async fn signin_inner(state: &AppState, req: Request<Body>) -> Result<Response, ApiError> {
    let ext = req.extensions().clone();
    let (_, ip) = client(req.headers(), &ext);
    let limits = &state.inner.auth_limits;
    // Every attempt counts, per address and per account, before any hashing work.
    limits
        .signin_ip(&ip)
        .await
        .map_err(ApiError::rate_limited)?;
    let (headers, body): (_, SignIn) = json_body(state, req).await?;
    limits
        .signin_account(&body.email.trim().to_lowercase())
        .await
        .map_err(ApiError::rate_limited)?;
    let pool = &state.inner.pool;
    let found = session::password_of(pool, body.email.trim())
        .await
        .map_err(ApiError::from)?;
    let stored = found.as_ref().and_then(|(_, h)| h.as_deref());
    // The same work and the same answer whether the email is unknown or the password wrong.
    let ok = state
        .inner
        .passwords
        .verify(&body.password, stored)
        .await
        .map_err(password_error)?;
    let (ua, ip) = client(&headers, &ext);
    let known = found.as_ref().map(|(id, _)| *id);
    let Some(user_id) = known.filter(|_| ok) else {
        tracing::warn!(known_account = known.is_some(), "sign-in failed");
        if let Some(user_id) = known {
            let meta = identity_meta(&headers, &ip, user_id, None);
            let ev = Event::new(
                "auth.signin_failed",
                serde_json::json!({ "reason": "password" }),
            );
            record(state, &headers, user_id, &meta, &[ev]).await;
        }
        return Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "invalid email or password",
        ));
    };
    // A user with a second factor gets a pending session: it can only complete that factor.
    let mut conn = pool.acquire().await.map_err(ApiError::from)?;
    let aal = if factors::has_second_factor(&mut conn, user_id)
        .await
        .map_err(ApiError::from)?
    {
        Aal::Pending
    } else {
        Aal::Aal1
    };
    drop(conn);
    // Always a new session: a token planted before sign-in never becomes authenticated.
    let (session_id, token) = session::create(pool, user_id, aal, lifetimes(state), &ua, &ip)
        .await
        .map_err(ApiError::from)?;
    tracing::info!(user = %user_id, aal = aal.as_str(), "sign-in");
    let meta = identity_meta(&headers, &ip, user_id, Some(session_id));
    let ev = Event::new(
        "auth.signin",
        serde_json::json!({ "method": "password", "aal": aal.as_str() }),
    );
    record(state, &headers, user_id, &meta, &[ev]).await;
    signed_in(state, StatusCode::OK, user_id, &token, aal)
}

#[derive(Deserialize)]
struct SecondFactor {
    /// A TOTP code or a recovery code.
    code: Secret<String>,
}

/// `POST /auth/mfa`: completes (or refreshes) the second factor of the session in the
/// cookie with a TOTP or recovery code. On success the session is replaced by a new `aal2`
/// one (new token in the cookie; the old token stops working).
pub async fn second_factor(State(state): State<AppState>, req: Request<Body>) -> Response {
    second_factor_inner(&state, req)
        .await
        .unwrap_or_else(ApiError::into_http)
}

async fn second_factor_inner(state: &AppState, req: Request<Body>) -> Result<Response, ApiError> {
    let ext = req.extensions().clone();
    let headers = req.headers().clone();
    let (_, ip) = client(&headers, &ext);
    let info = session_any(state, &headers)
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    check_origin(state, &headers)?;
    let (_, body): (_, SecondFactor) = json_body(state, req).await?;
    // Every attempt counts, per account and per address, before any check.
    state
        .inner
        .auth_limits
        .factor_attempt(info.user_id, &ip)
        .await
        .map_err(ApiError::rate_limited)?;
    let pool = &state.inner.pool;
    let mut gtx = tenancy::begin_global(pool, Access::ReadWrite)
        .await
        .map_err(ApiError::from)?;
    gtx.set_user(info.user_id).await.map_err(ApiError::from)?;
    let now = u64::try_from(state.inner.clock.now().timestamp()).unwrap_or_default();
    let method = factors::check_code(
        gtx.conn(),
        &state.inner.keyring,
        info.user_id,
        body.code.expose(),
        now,
    )
    .await
    .map_err(ApiError::from)?;
    let meta = identity_meta(&headers, &ip, info.user_id, Some(info.session_id));
    let Some(method) = method else {
        gtx.rollback().await.map_err(ApiError::from)?;
        tracing::warn!(user = %info.user_id, "second factor refused");
        let ev = Event::new("auth.second_factor_failed", serde_json::json!({}));
        record(state, &headers, info.user_id, &meta, &[ev]).await;
        return Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "the second-factor code is not valid",
        ));
    };
    let (new_id, token) = session::step_up(gtx.conn(), info.session_id, lifetimes(state))
        .await
        .map_err(ApiError::from)?
        .ok_or_else(ApiError::unauthenticated)?;
    gtx.commit().await.map_err(ApiError::from)?;
    let meta = identity_meta(&headers, &ip, info.user_id, Some(new_id));
    let ev = Event::new(
        "auth.second_factor",
        serde_json::json!({ "method": method.as_str(), "replaced_session": info.session_id }),
    );
    record(state, &headers, info.user_id, &meta, &[ev]).await;
    signed_in(state, StatusCode::OK, info.user_id, &token, Aal::Aal2)
}

pub async fn signout(State(state): State<AppState>, req: Request<Body>) -> Response {
    let headers = req.headers().clone();
    if let Err(e) = check_origin(&state, &headers) {
        return e.into_http();
    }
    if let Some(Some(hash)) = session_cookie(&headers, state.inner.auth.dev_insecure_cookies)
        && let Ok(Some(info)) = session::validate(&state.inner.pool, &hash, lifetimes(&state)).await
        && let Err(e) = session::revoke(&state.inner.pool, info.session_id).await
    {
        return ApiError::from(e).into_http();
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(c) = cookie(&state, "", 0) {
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    resp
}

/// `POST /auth/passkey/options`: starts a passkey sign-in. With a session cookie (typically a
/// pending one, after the password) the user's own passkeys are offered; without one the
/// ceremony is discoverable (the authenticator picks the credential). Answers
/// `{"ceremonyId": ..., "options": <PublicKeyCredentialRequestOptions>}`.
pub async fn passkey_options(State(state): State<AppState>, req: Request<Body>) -> Response {
    passkey_options_inner(&state, req)
        .await
        .unwrap_or_else(ApiError::into_http)
}

async fn passkey_options_inner(state: &AppState, req: Request<Body>) -> Result<Response, ApiError> {
    client_within_limit(state, req.headers(), req.extensions()).await?;
    let headers = req.headers().clone();
    // A stale or malformed cookie must not block a fresh sign-in: it is simply ignored.
    let user = session_any(state, &headers)
        .await
        .ok()
        .flatten()
        .map(|s| s.user_id);
    let (_, _): (_, serde_json::Value) = json_body(state, req).await?;
    let mut gtx = tenancy::begin_global(&state.inner.pool, Access::ReadWrite)
        .await
        .map_err(ApiError::from)?;
    if let Some(user) = user {
        gtx.set_user(user).await.map_err(ApiError::from)?;
    }
    let (id, options) = passkeys::start_authentication(gtx.conn(), &state.inner.webauthn, user)
        .await
        .map_err(ApiError::from)?;
    gtx.commit().await.map_err(ApiError::from)?;
    let mut resp =
        axum::Json(serde_json::json!({ "ceremonyId": id, "options": options })).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasskeyAssertion {
    ceremony_id: uuid::Uuid,
    credential: webauthn_rs::prelude::PublicKeyCredential,
}

/// `POST /auth/passkey`: finishes a passkey sign-in. A user-verified passkey is a full
/// sign-in: a new `aal2` session replaces whatever session the browser had.
pub async fn passkey_signin(State(state): State<AppState>, req: Request<Body>) -> Response {
    passkey_signin_inner(&state, req)
        .await
        .unwrap_or_else(ApiError::into_http)
}

async fn passkey_signin_inner(state: &AppState, req: Request<Body>) -> Result<Response, ApiError> {
    let ext = req.extensions().clone();
    let (ua, ip) = client_within_limit(state, req.headers(), &ext).await?;
    let headers = req.headers().clone();
    let prior = session_any(state, &headers).await.ok().flatten();
    let (_, body): (_, PasskeyAssertion) = json_body(state, req).await?;
    let pool = &state.inner.pool;
    let mut gtx = tenancy::begin_global(pool, Access::ReadWrite)
        .await
        .map_err(ApiError::from)?;
    let Some(user_id) = passkeys::owner_of(gtx.conn(), &body.credential)
        .await
        .map_err(ApiError::from)?
    else {
        tracing::warn!("passkey sign-in with an unknown credential");
        return Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "the passkey was not accepted",
        ));
    };
    gtx.set_user(user_id).await.map_err(ApiError::from)?;
    let finished = passkeys::finish_authentication(
        gtx.conn(),
        &state.inner.webauthn,
        user_id,
        body.ceremony_id,
        &body.credential,
    )
    .await;
    if let Err(e) = finished {
        // The ceremony was consumed: keep that, so it cannot be retried.
        gtx.commit().await.map_err(ApiError::from)?;
        let meta = identity_meta(&headers, &ip, user_id, None);
        let ev = Event::new(
            "auth.signin_failed",
            serde_json::json!({ "reason": "passkey" }),
        );
        record(state, &headers, user_id, &meta, &[ev]).await;
        return Err(ApiError::from(e));
    }
    if let Some(prior) = prior {
        session::revoke_where(gtx.conn(), prior.user_id, Some(prior.session_id), None)
            .await
            .map_err(ApiError::from)?;
    }
    gtx.commit().await.map_err(ApiError::from)?;
    let (session_id, token) = session::create(pool, user_id, Aal::Aal2, lifetimes(state), &ua, &ip)
        .await
        .map_err(ApiError::from)?;
    let mut conn = pool.acquire().await.map_err(ApiError::from)?;
    session::factor_checked(&mut conn, session_id)
        .await
        .map_err(ApiError::from)?;
    drop(conn);
    tracing::info!(user = %user_id, "passkey sign-in");
    let meta = identity_meta(&headers, &ip, user_id, Some(session_id));
    let ev = Event::new(
        "auth.signin",
        serde_json::json!({ "method": "passkey", "aal": "aal2" }),
    );
    record(state, &headers, user_id, &meta, &[ev]).await;
    signed_in(state, StatusCode::OK, user_id, &token, Aal::Aal2)
}
