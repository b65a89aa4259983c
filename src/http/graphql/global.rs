//! `/graphql`: operations outside any workspace (the caller's account, sessions, factors,
//! workspaces), in one transaction scoped to the caller.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Method, Request, header};
use axum::response::Response;
use tokio::sync::Mutex;

use super::transport::{check_transport, negotiate, respond, wants_graphql_response};
use crate::authz::RequiresGuard;
use crate::graphql::GlobalState;
use crate::graphql::errors::{ApiError, ErrorCode};
use crate::graphql::global::Effects;
use crate::http::authn;
use crate::http::state::AppState;
use crate::identity::authenticate_global;
use crate::tenancy::{self, Access, Slug};

/// `POST|GET /graphql`: non-tenant operations, within `limits.request_timeout_secs`.
pub async fn global(State(state): State<AppState>, req: Request<Body>) -> Response {
    let graphql_response = wants_graphql_response(req.headers());
    let timeout = std::time::Duration::from_secs(state.inner.limits.request_timeout_secs);
    let (resp, request_error) = match tokio::time::timeout(timeout, global_inner(&state, req)).await
    {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => (e.into_http(), false),
        Err(_) => (
            ApiError::new(ErrorCode::Timeout, "the request took too long").into_http(),
            false,
        ),
    };
    negotiate(resp, graphql_response, request_error)
}

async fn global_inner(state: &AppState, req: Request<Body>) -> Result<(Response, bool), ApiError> {
    let log = crate::observability::RequestLog::current();
    let headers = req.headers().clone();
    let (_, client_ip) = authn::client(&headers, req.extensions());
    let is_post = req.method() == Method::POST;
    let transport = check_transport(state, &state.inner.global_schema.guard, req).await?;
    if transport.batch {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "batches are served on /w/{slug}/graphql only",
        ));
    }
    let token = transport.token;
    let Some(checked) = transport.items.into_iter().next() else {
        return Err(ApiError::new(ErrorCode::BadRequest, "no operation"));
    };
    log.operation(checked.label.clone());
    let session = match &token {
        Some(_) => None,
        None => authn::session_of(state, &headers).await?,
    };
    if session.is_some() && is_post {
        authn::check_origin(state, &headers)?;
    }
    let mut gtx = tenancy::begin_global(&state.inner.pool, checked.access)
        .await
        .map_err(ApiError::from)?;
    // A token sees only its own workspace; a browser session sees all of its user's.
    let (tenant_id, user_id) = match (&token, session) {
        (Some(token), _) => {
            let (_, tenant_id, user_id) = authenticate_global(gtx.conn(), token)
                .await
                .map_err(ApiError::from)?
                .ok_or_else(ApiError::unauthenticated)?;
            (Some(tenant_id), user_id)
        }
        // A session from a workspace's SSO sees only that workspace.
        (None, Some(info)) => (info.sso_tenant, info.user_id),
        (None, None) => return Err(ApiError::unauthenticated()),
    };
    gtx.set_user(user_id).await.map_err(ApiError::from)?;
    log.actor(format!("user:{user_id}"));
    state
        .inner
        .request_limits
        .take_account(user_id, checked.cost)
        .await?;
    let gtx = Arc::new(Mutex::new(gtx));
    // Self-service (sessions, password, factors, restoring workspaces) acts on the whole
    // account, so it is for browser sessions signed in to the account itself. Tokens get
    // nothing here, and neither does a session from a workspace's SSO: that workspace's
    // provider must not be able to add a passkey or factor to an account it does not own.
    let permissions = if session.is_some_and(|s| s.sso_tenant.is_none()) {
        crate::authz::PermissionSet::of(&[crate::authz::Permission::SelfManage])
    } else {
        crate::authz::PermissionSet::default()
    };
    // Nothing has run yet: dropping the transaction rolls it back.
    RequiresGuard::check(checked.needs, permissions)?;
    let effects = Arc::new(std::sync::Mutex::new(Effects::default()));
    let request = checked.request.data(permissions).data(GlobalState {
        user_id,
        token_tenant: tenant_id,
        session_id: session.map(|s| s.session_id),
        session,
        passwords: state.inner.passwords.clone(),
        tx: gtx.clone(),
        keyring: state.inner.keyring.clone(),
        auth_limits: state.inner.auth_limits.clone(),
        clock: state.inner.clock.clone(),
        client_ip: client_ip.clone(),
        reauth_window_secs: state.inner.auth.reauth_window_secs,
        lifetimes: authn::lifetimes(state),
        auth: state.inner.auth.clone(),
        audit_meta: authn::identity_meta(
            &headers,
            &client_ip,
            user_id,
            session.map(|s| s.session_id),
        ),
        tenant_version: state.inner.expected_migrations.1,
        webauthn: state.inner.webauthn.clone(),
        effects: effects.clone(),
    });
    let response = state.inner.global_schema.schema.execute(request).await;
    let mut committed = false;
    if let Ok(tx) = Arc::try_unwrap(gtx) {
        let tx = tx.into_inner();
        if response.is_ok() {
            tx.commit().await.map_err(ApiError::from)?;
            committed = true;
        } else {
            tx.rollback().await.map_err(ApiError::from)?;
        }
    }
    let effects = effects
        .lock()
        .map(|mut e| std::mem::take(&mut *e))
        .unwrap_or_default();
    let new_session = effects.new_session.filter(|_| committed);
    let events: Vec<_> = effects
        .events
        .into_iter()
        .filter(|(_, always)| committed || *always)
        .map(|(e, _)| e)
        .collect();
    let acting_session = new_session
        .as_ref()
        .map(|(id, _)| *id)
        .or(session.map(|s| s.session_id));
    let meta = authn::identity_meta(&headers, &client_ip, user_id, acting_session);
    authn::record(state, &headers, user_id, &meta, &events).await;
    if committed {
        for (slug, action, payload) in effects.workspace_events {
            let appended = async {
                let slug = Slug::parse(&slug).map_err(|_| "bad slug".to_owned())?;
                let mut tx = tenancy::begin(&state.inner.pool, &slug, Access::ReadWrite)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or("workspace not active")?;
                let tenant_id = tx.tenant_id();
                crate::audit::append(
                    tx.conn(),
                    &state.inner.keyring,
                    tenant_id,
                    state.inner.clock.now(),
                    &meta,
                    crate::audit::NewEntry {
                        action,
                        target_type: "Workspace",
                        target_id: tenant_id.to_string(),
                        payload,
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
                tx.commit().await.map_err(|e| e.to_string())
            }
            .await;
            if let Err(e) = appended {
                tracing::error!(error = %e, "workspace audit append failed");
            }
        }
    }
    let (mut resp, request_error) = respond(response)?;
    if let Some((_, token)) = new_session {
        let max_age = i64::from(state.inner.auth.session_absolute_secs);
        resp.headers_mut().insert(
            header::SET_COOKIE,
            authn::cookie(state, token.expose(), max_age)?,
        );
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok((resp, request_error))
}
