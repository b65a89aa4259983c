//! `GET /auth/oidc/{slug}/start` and `GET /auth/oidc/{slug}/callback`: a workspace's OIDC
//! single sign-on (see `identity::sso`). The flow is bound to the browser that started it by
//! a short-lived `__Host-` cookie, so a code and state captured elsewhere cannot complete a
//! sign-in in another browser (login CSRF).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::authn::{client_within_limit, cookie, identity_meta, lifetimes, record};
use super::state::AppState;
use crate::graphql::errors::{ApiError, ErrorCode};
use crate::identity::events::Event;
use crate::identity::{session, sso};
use crate::tenancy::{self, Access, Slug, TenantTx};

const BINDING_COOKIE: &str = "__Host-tessera_oidc";
const DEV_BINDING_COOKIE: &str = "tessera_oidc";

fn binding_cookie_name(state: &AppState) -> &'static str {
    if state.inner.auth.dev_insecure_cookies {
        DEV_BINDING_COOKIE
    } else {
        BINDING_COOKIE
    }
}

fn binding_cookie(state: &AppState, value: &str, max_age: i32) -> Result<HeaderValue, ApiError> {
    let secure = if state.inner.auth.dev_insecure_cookies {
        ""
    } else {
        "Secure; "
    };
    HeaderValue::from_str(&format!(
        "{}={value}; HttpOnly; {secure}SameSite=Lax; Path=/; Max-Age={max_age}",
        binding_cookie_name(state)
    ))
    .map_err(|_| ApiError::internal(&"bad cookie"))
}

fn read_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

async fn workspace(state: &AppState, slug: &str) -> Result<TenantTx, ApiError> {
    let slug = Slug::parse(slug).map_err(|_| ApiError::not_found())?;
    tenancy::begin(&state.inner.pool, &slug, Access::ReadWrite)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(ApiError::not_found)
}

pub async fn start(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
) -> Response {
    start_inner(&state, &slug, &headers, &ext)
        .await
        .unwrap_or_else(ApiError::into_http)
}

async fn start_inner(
    state: &AppState,
    slug: &str,
    headers: &HeaderMap,
    ext: &axum::http::Extensions,
) -> Result<Response, ApiError> {
    client_within_limit(state, headers, ext).await?;
    let mut tx = workspace(state, slug).await?;
    let cfg = sso::config(&mut tx)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(ApiError::not_found)?;
    tx.commit().await.map_err(ApiError::from)?;
    let origin = &state.inner.auth.public_origin;
    let started = sso::authorize(&cfg, &state.inner.outbound, origin, slug)
        .await
        .map_err(ApiError::from)?;
    let mut tx = workspace(state, slug).await?;
    sso::record_flow(&mut tx, &started)
        .await
        .map_err(ApiError::from)?;
    tx.commit().await.map_err(ApiError::from)?;
    let location = HeaderValue::from_str(&started.authorize_url)
        .map_err(|_| ApiError::internal(&"bad authorization URL"))?;
    let mut resp = StatusCode::SEE_OTHER.into_response();
    resp.headers_mut().insert(header::LOCATION, location);
    resp.headers_mut().insert(
        header::SET_COOKIE,
        binding_cookie(state, started.browser_binding.expose(), sso::FLOW_TTL_SECS)?,
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[derive(Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn callback(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(params): Query<CallbackParams>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
) -> Response {
    callback_inner(&state, &slug, params, &headers, &ext)
        .await
        .unwrap_or_else(ApiError::into_http)
}

async fn callback_inner(
    state: &AppState,
    slug: &str,
    params: CallbackParams,
    headers: &HeaderMap,
    ext: &axum::http::Extensions,
) -> Result<Response, ApiError> {
    let (ua, ip) = client_within_limit(state, headers, ext).await?;
    let refused = || ApiError::new(ErrorCode::Unauthenticated, "the sign-in was refused");
    if let Some(error) = params.error {
        tracing::warn!(error = %error.chars().take(100).collect::<String>(), "identity provider returned an error");
        return Err(refused());
    }
    let (Some(code), Some(flow_state)) = (params.code, params.state) else {
        return Err(ApiError::bad_input("code and state are required"));
    };
    if code.len() > 2048 || flow_state.len() > 512 {
        return Err(ApiError::bad_input("code or state too long"));
    }
    let binding = read_cookie(headers, binding_cookie_name(state));
    // Take the flow (once) and commit that, whatever happens next.
    let mut tx = workspace(state, slug).await?;
    let tenant_id = tx.tenant_id();
    let taken = sso::take_flow(&mut tx, &state.inner.keyring, &flow_state, binding).await;
    tx.commit().await.map_err(ApiError::from)?;
    let flow = taken.map_err(ApiError::from)?;
    let origin = &state.inner.auth.public_origin;
    let claims = sso::exchange(&flow, &state.inner.outbound, origin, slug, &code)
        .await
        .map_err(ApiError::from)?;
    let mut tx = workspace(state, slug).await?;
    let jit_role = sso::config(&mut tx)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(ApiError::not_found)?
        .jit_role;
    let now = state.inner.clock.now();
    let (user_id, linked) = sso::link(&mut tx, jit_role.as_deref(), &claims, now)
        .await
        .map_err(ApiError::from)?;
    if linked == sso::Linked::Invited {
        // Joined through its identity provider: in the workspace's chain like any acceptance.
        let changes = tx.take_changes();
        let meta = identity_meta(headers, &ip, user_id, None);
        crate::audit::append(
            tx.conn(),
            &state.inner.keyring,
            tenant_id,
            now,
            &meta,
            crate::audit::NewEntry {
                action: "invitation.accept",
                target_type: "Member",
                target_id: user_id.to_string(),
                payload: serde_json::json!({ "via": "sso", "changes": changes }),
            },
        )
        .await
        .map_err(ApiError::from)?;
    }
    tx.commit().await.map_err(ApiError::from)?;
    let pool = &state.inner.pool;
    let (session_id, token) =
        session::create_sso(pool, user_id, tenant_id, lifetimes(state), &ua, &ip)
            .await
            .map_err(ApiError::from)?;
    tracing::info!(user = %user_id, workspace = %slug, "SSO sign-in");
    let meta = identity_meta(headers, &ip, user_id, Some(session_id));
    let ev = Event::new(
        "auth.signin",
        serde_json::json!({
            "method": "sso", "workspace": slug, "issuer": claims.issuer, "linked": linked.as_str()
        }),
    );
    record(state, headers, user_id, &meta, &[ev]).await;
    let max_age = i64::from(state.inner.auth.session_absolute_secs);
    let mut resp = StatusCode::SEE_OTHER.into_response();
    let h = resp.headers_mut();
    h.insert(header::LOCATION, HeaderValue::from_static("/"));
    h.append(header::SET_COOKIE, cookie(state, token.expose(), max_age)?);
    h.append(header::SET_COOKIE, binding_cookie(state, "", 0)?);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
