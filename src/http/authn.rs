//! Request authentication, shared by every route that acts for a caller: GraphQL (tenant and
//! global), attachments and their signed links, exports, and WebSocket subscriptions.
//!
//! A caller is an API token (`Authorization: Bearer tsr_...`) or a browser session (the
//! session cookie). A tenant request is authenticated inside its own tenant transaction
//! ([`authenticate`]): the slug is resolved, the credential looked up under the workspace's
//! Row-Level Security, and the workspace's policies (membership, SSO binding, SSO-only, MFA)
//! applied before any tenant data is touched.
//!
//! CSRF: cookie-authenticated writes must be JSON (HTML forms cannot send it, and a
//! cross-site `fetch` with JSON needs a CORS preflight we never grant) and must carry an
//! `Origin` that is this server's own or explicitly allowed. GET never mutates.

use axum::http::{HeaderMap, HeaderValue, header};

use super::state::AppState;
use crate::audit::EntryMeta;
use crate::authz::Actor;
use crate::graphql::errors::{ApiError, ErrorCode};
use crate::identity::events::{self, Event};
use crate::identity::session::{self, Aal, COOKIE, DEV_COOKIE};
use crate::identity::{PresentedToken, authenticate_in_tenant};
use crate::tenancy::{self, Access, Slug};

/// The session token hash from the request's cookie, when one is present and well formed.
pub fn session_cookie(headers: &HeaderMap, dev: bool) -> Option<Option<[u8; 32]>> {
    let name = if dev { DEV_COOKIE } else { COOKIE };
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=')
                && k == name
            {
                found = Some(session::parse(v.trim()));
            }
        }
    }
    found
}

/// Refuses a cookie-authenticated write whose `Origin` is foreign, or missing without the
/// browser's own word that the request is not cross-site: a link followed in the console (a
/// download through the signing proxy) sends no `Origin` but `Sec-Fetch-Site: same-origin`,
/// a header no page can set or forge; `none` is a user's own navigation (a bookmark).
pub fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let refuse = || ApiError::forbidden("cross-site request refused: the Origin is not allowed");
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        let fetch_site = headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        return match fetch_site {
            "same-origin" | "none" => Ok(()),
            _ => Err(refuse()),
        };
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let auth = &state.inner.auth;
    let own_https = format!("https://{host}");
    let own_http = format!("http://{host}");
    let allowed = (!host.is_empty()
        && (origin == own_https || (auth.dev_insecure_cookies && origin == own_http)))
        || auth.allowed_origins.iter().any(|o| o == origin);
    if allowed { Ok(()) } else { Err(refuse()) }
}

pub fn cookie(state: &AppState, token: &str, max_age: i64) -> Result<HeaderValue, ApiError> {
    let auth = &state.inner.auth;
    let (name, secure) = if auth.dev_insecure_cookies {
        (DEV_COOKIE, "")
    } else {
        (COOKIE, "Secure; ")
    };
    HeaderValue::from_str(&format!(
        "{name}={token}; HttpOnly; {secure}SameSite=Lax; Path=/; Max-Age={max_age}"
    ))
    .map_err(|_| ApiError::internal(&"bad cookie"))
}

pub fn lifetimes(state: &AppState) -> session::Lifetimes {
    let a = &state.inner.auth;
    session::Lifetimes {
        idle_secs: a.session_idle_secs,
        absolute_secs: a.session_absolute_secs,
    }
}

/// The caller's user agent and address, after counting the request against the per-address
/// limit of the unauthenticated account routes (sign-in, links from mail, SSO).
pub async fn client_within_limit(
    state: &AppState,
    headers: &HeaderMap,
    ext: &axum::http::Extensions,
) -> Result<(String, String), ApiError> {
    let (ua, ip) = client(headers, ext);
    state
        .inner
        .auth_limits
        .signin_ip(&ip)
        .await
        .map_err(ApiError::rate_limited)?;
    Ok((ua, ip))
}

pub fn client(headers: &HeaderMap, ext: &axum::http::Extensions) -> (String, String) {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (ua, client_ip(ext))
}

/// The client's address (`client_addr`: the peer's, or the one a trusted proxy forwards);
/// empty when the server was not given connection information.
pub fn client_ip(ext: &axum::http::Extensions) -> String {
    ext.get::<super::client_addr::ClientIp>()
        .map(|c| c.0.to_string())
        .unwrap_or_default()
}

/// Who did it, for identity events in the audit log.
pub fn identity_meta(
    headers: &HeaderMap,
    ip: &str,
    user_id: uuid::Uuid,
    session_id: Option<uuid::Uuid>,
) -> EntryMeta {
    EntryMeta {
        actor_type: "user",
        actor_id: session_id.map(|s| s.to_string()).unwrap_or_default(),
        actor_user: user_id.to_string(),
        request_id: headers
            .get(crate::observability::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        client_ip: ip.to_owned(),
    }
}

/// Records identity events of `user_id` (the account's log, the user's workspaces' chains).
pub async fn record(
    state: &AppState,
    headers: &HeaderMap,
    user_id: uuid::Uuid,
    meta: &EntryMeta,
    events: &[Event],
) {
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    events::record(
        &state.inner.pool,
        &state.inner.keyring,
        state.inner.clock.as_ref(),
        user_id,
        meta,
        user_agent,
        events,
    )
    .await;
}

/// Validates the session of a request: `Ok(None)` when there is no session cookie. A
/// session still owing its second factor is refused.
pub async fn session_of(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<session::SessionInfo>, ApiError> {
    match session_any(state, headers).await? {
        Some(info) if info.aal == Aal::Pending => Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "complete the second factor first (POST /auth/mfa)",
        )),
        other => Ok(other),
    }
}

/// Like [`session_of`], but also accepts a session that still owes its second factor.
pub async fn session_any(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<session::SessionInfo>, ApiError> {
    match session_cookie(headers, state.inner.auth.dev_insecure_cookies) {
        None => Ok(None),
        Some(None) => Err(ApiError::unauthenticated()),
        Some(Some(hash)) => session::validate(&state.inner.pool, &hash, lifetimes(state))
            .await
            .map_err(ApiError::from)?
            .map(Some)
            .ok_or_else(ApiError::unauthenticated),
    }
}

/// The request's caller, for logs, limits and idempotency keys.
pub(crate) fn actor_label(principal: &crate::authz::Principal) -> String {
    match &principal.actor {
        Actor::Token { token_id, .. } => format!("token:{token_id}"),
        Actor::Session { .. } => format!("user:{}", principal.user_id),
    }
}

/// Counts one request of an authenticated caller on a non-GraphQL route against the rate
/// limits, and names the tenant and actor in the request's log line.
pub(crate) async fn count_request(
    state: &AppState,
    tx: &tenancy::TenantTx,
    principal: &crate::authz::Principal,
    route: crate::ratelimit::Route,
) -> Result<(), ApiError> {
    let actor = actor_label(principal);
    let log = crate::observability::RequestLog::current();
    log.tenant(tx.tenant().slug.as_str());
    log.actor(actor.clone());
    state
        .inner
        .request_limits
        .take(tx.tenant_id(), tx.tenant().slug.as_str(), &actor, route, 1)
        .await?;
    Ok(())
}

/// Authenticates a tenant request (a bearer token, else a session cookie, with the CSRF rule
/// for cookie writes) and opens its transaction. Membership, the workspace's SSO binding,
/// SSO-only mode, the MFA policy and the IP allowlist are checked here, before any tenant
/// data is touched. `client` is the request's address ([`client_addr`]); `surface` names
/// the route in the refusal counter.
///
/// [`client_addr`]: super::client_addr
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    slug: &str,
    token: Option<&PresentedToken>,
    writes: bool,
    access: Access,
    client: Client,
) -> Result<(tenancy::TenantTx, crate::identity::Authenticated), ApiError> {
    // An invalid slug cannot name a workspace: the same answer as an unknown one.
    let slug = Slug::parse(slug).map_err(|_| ApiError::not_found())?;
    let pool = &state.inner.pool;
    // A bearer token, else a session cookie (checked before any tenant data is touched).
    let session = match token {
        Some(_) => None,
        None => {
            let info = session_of(state, headers)
                .await?
                .ok_or_else(ApiError::unauthenticated)?;
            if writes {
                check_origin(state, headers)?;
            }
            Some(info)
        }
    };
    // An unknown workspace gets the same answer as credentials that are not valid for it, so
    // workspace slugs cannot be enumerated. The credential is looked up in the same round trip
    // that begins the transaction and scopes it to the workspace.
    let entrant = match (token, &session) {
        (Some(token), _) => token.entrant(),
        (None, Some(info)) => tenancy::Entrant::Member(info.user_id),
        (None, None) => return Err(ApiError::unauthenticated()),
    };
    let (mut ttx, standing) = tenancy::enter(pool, &slug, access, entrant, client.ip)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(ApiError::unauthenticated)?;
    let auth = match (token, session) {
        (Some(_), _) => authenticate_in_tenant(&mut ttx, standing)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(ApiError::unauthenticated)?,
        (None, Some(info)) => {
            let role = crate::identity::member_role(standing.as_ref())
                .ok_or_else(ApiError::unauthenticated)?;
            // Checked on every request, after membership (so a workspace's policies are not
            // revealed to outsiders). A session from another workspace's SSO is not valid
            // here: the same answer as for a non-member.
            if info.sso_tenant.is_some_and(|t| t != ttx.tenant_id()) {
                return Err(ApiError::unauthenticated());
            }
            if ttx.sso_only() && info.sso_tenant != Some(ttx.tenant_id()) {
                return Err(ApiError::new(
                    ErrorCode::SsoRequired,
                    "this workspace accepts only sign-ins through its single sign-on",
                ));
            }
            // API tokens are not affected: minting one needs an aal2 session here.
            if ttx.mfa_required() && info.aal != crate::identity::session::Aal::Aal2 {
                return Err(ApiError::new(
                    ErrorCode::MfaRequired,
                    "this workspace requires a second factor: enroll one, then sign in with it",
                ));
            }
            crate::identity::Authenticated {
                principal: crate::authz::Principal::for_session(
                    info.user_id,
                    ttx.tenant_id(),
                    role,
                    info.session_id,
                    info.aal == crate::identity::session::Aal::Aal2,
                ),
                touch_pending: None,
                factor_verified_at: info.factor_verified_at,
            }
        }
        (None, None) => return Err(ApiError::unauthenticated()),
    };
    // After the credential (an outsider learns nothing of the workspace's policies), before
    // anything else: sessions and tokens alike.
    if !ttx.ip_allowed() {
        let actor = actor_label(&auth.principal);
        return Err(outside_allowlist(&ttx.tenant().slug, &actor, client));
    }
    Ok((ttx, auth))
}

/// Where a tenant request comes from, for the workspace's IP allowlist.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Client {
    /// The client's address ([`super::client_addr`]); `None` when the server was not given
    /// connection information, which a workspace with a list refuses.
    pub ip: Option<std::net::IpAddr>,
    /// The route family, for the refusal counter.
    pub surface: &'static str,
}

impl Client {
    pub(crate) fn of(ext: &axum::http::Extensions, surface: &'static str) -> Self {
        Self {
            ip: ext.get::<super::client_addr::ClientIp>().map(|c| c.0),
            surface,
        }
    }
}

/// The refusal of a request from outside a workspace's allowlist: logged and counted; the
/// message names the address the server saw, so that a person can tell their network
/// administrator (or spot a proxy that is not configured as trusted).
pub(crate) fn outside_allowlist(
    tenant: &dyn std::fmt::Display,
    actor: &str,
    client: Client,
) -> ApiError {
    let shown = client
        .ip
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    tracing::warn!(
        tenant = %tenant,
        actor,
        client = %shown,
        surface = client.surface,
        "request from outside the workspace's IP allowlist refused"
    );
    crate::observability::metrics::ip_refused(client.surface);
    ApiError::new(
        ErrorCode::IpNotAllowed,
        format!(
            "this workspace accepts requests only from its allowed networks, and your address \
             ({shown}) is not one of them: connect from an allowed network, or ask an owner \
             to add yours"
        ),
    )
}

/// What [`authorize`] reads of a request: its headers (credentials, `Origin`) and where it
/// comes from.
#[derive(Clone, Copy)]
pub(crate) struct Caller<'a> {
    pub headers: &'a axum::http::HeaderMap,
    pub client: Client,
}

/// [`authenticate`] for a non-GraphQL route that needs one permission: the bearer token or
/// the session cookie of the caller's headers, then `needed` (403 with `refusal` otherwise);
/// the request is counted on `route` (once per request: later checks of the same request
/// pass `None`).
pub(crate) async fn authorize(
    state: &AppState,
    Caller { headers, client }: Caller<'_>,
    slug: &str,
    access: Access,
    needed: crate::authz::Permission,
    refusal: &str,
    route: Option<crate::ratelimit::Route>,
) -> Result<(tenancy::TenantTx, crate::identity::Authenticated), ApiError> {
    let token = bearer(headers)?;
    let writes = access == Access::ReadWrite;
    let (tx, auth) =
        authenticate(state, headers, slug, token.as_ref(), writes, access, client).await?;
    if !auth.principal.has(needed) {
        return Err(ApiError::forbidden(refusal));
    }
    if let Some(route) = route {
        count_request(state, &tx, &auth.principal, route).await?;
    }
    Ok((tx, auth))
}

/// The bearer token of a request, if it sends one (malformed: unauthenticated).
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Result<Option<PresentedToken>, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| PresentedToken::from_authorization(v).ok_or_else(ApiError::unauthenticated))
        .transpose()
}
