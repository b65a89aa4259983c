//! GraphQL over HTTP, with the tenant middleware.
//!
//! Order matters: transport checks (method, content type, body size, bracket depth) run
//! before any parser; then the slug is validated and resolved, the token authenticated
//! and the membership checked inside the tenant transaction, before any resolver runs.
//! The whole request runs in that one transaction: committed when every field succeeded,
//! rolled back otherwise.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::DataLoader;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method, Request, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::Mutex;

use super::AppState;
use crate::audit::EntryMeta;
use crate::authz::{Actor, RequiresGuard};
use crate::graphql::audit::AuditVariables;
use crate::graphql::errors::{ApiError, ErrorCode, ensure_codes};
use crate::graphql::global::Effects;
use crate::graphql::{GlobalState, RequestState, TxCell, preflight};
use crate::identity::{
    PresentedToken, authenticate_global, authenticate_in_tenant, touch_last_used,
};
use crate::tenancy::{self, Access, Slug};

/// How long a deleted workspace stays restorable.
pub const DELETED_KEPT_DAYS: i32 = 7;

/// A parsed, checked GraphQL operation: whether it mutates, what it counts for rate limits,
/// and its metric label.
struct Checked {
    request: async_graphql::Request,
    access: Access,
    cost: u32,
    label: String,
    /// What the guard requires of the caller before the operation may run.
    needs: crate::authz::PermissionSet,
}

/// One HTTP request's operations (one, or a batch) and its credentials.
struct Transport {
    items: Vec<Checked>,
    /// A JSON array was sent (answered with an array).
    batch: bool,
    token: Option<PresentedToken>,
    /// The body as sent (POST): what an `Idempotency-Key` is bound to.
    body: axum::body::Bytes,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

fn is_json(req: &Request<Body>) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v == "application/graphql-response+json")
}

/// Everything before authentication: method, media type, size, batch size, nesting, parse.
async fn check_transport(
    state: &AppState,
    guard: &RequiresGuard,
    req: Request<Body>,
) -> Result<Transport, ApiError> {
    let limits = &state.inner.limits;
    let method = req.method().clone();
    let token = bearer(req.headers())?;
    if method == Method::GET {
        let raw = req.uri().query().unwrap_or("");
        let params: GetParams = serde_urlencoded_from(raw)?;
        let extensions = params
            .extensions
            .as_deref()
            .map(serde_json::from_str::<serde_json::Value>)
            .transpose()
            .map_err(|_| ApiError::new(ErrorCode::BadRequest, "extensions must be JSON"))?;
        let variables = params
            .variables
            .as_deref()
            .map(serde_json::from_str::<serde_json::Value>)
            .transpose()
            .map_err(|_| ApiError::new(ErrorCode::BadRequest, "variables must be a JSON object"))?;
        let checked = check_operation(
            state,
            guard,
            RawBody {
                query: params.query,
                operation_name: params.operation_name,
                variables,
                extensions,
            },
        )?;
        if checked.access == Access::ReadWrite {
            return Err(ApiError::new(
                ErrorCode::MethodNotAllowed,
                "mutations must be sent with POST",
            ));
        }
        return Ok(Transport {
            items: vec![checked],
            batch: false,
            token,
            body: Default::default(),
        });
    }
    if method != Method::POST {
        return Err(ApiError::new(
            ErrorCode::MethodNotAllowed,
            "use GET or POST",
        ));
    }
    if !is_json(&req) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send GraphQL requests as application/json",
        ));
    }
    let body = axum::body::to_bytes(req.into_body(), limits.max_body_bytes)
        .await
        .map_err(|_| {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the body is larger than {} bytes", limits.max_body_bytes),
            )
        })?;
    let batch = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    // Query texts are checked before serde builds anything from them.
    let raws: Vec<RawBody> = if batch {
        let raws: Vec<RawBody> = serde_json::from_slice(&body).map_err(|_| {
            ApiError::new(
                ErrorCode::BadRequest,
                "a batch must be a JSON array of GraphQL request objects",
            )
        })?;
        if raws.is_empty() || raws.len() > limits.max_batch {
            return Err(ApiError::new(
                ErrorCode::BatchTooLarge,
                format!(
                    "a batch holds 1 to {} operations (limits.max_batch)",
                    limits.max_batch
                ),
            ));
        }
        raws
    } else {
        vec![serde_json::from_slice(&body).map_err(|_| {
            ApiError::new(
                ErrorCode::BadRequest,
                "the body must be one JSON GraphQL request object",
            )
        })?]
    };
    let items = raws
        .into_iter()
        .map(|raw| check_operation(state, guard, raw))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Transport {
        items,
        batch,
        token,
        body,
    })
}

/// One operation of a request: size and nesting of its text, persisted query, parse,
/// aliases; then which operation it selects, and what that counts.
fn check_operation(
    state: &AppState,
    guard: &RequiresGuard,
    raw: RawBody,
) -> Result<Checked, ApiError> {
    let limits = &state.inner.limits;
    if let Some(q) = &raw.query {
        preflight::check(q, limits.max_query_bytes, limits.max_nesting)?;
    }
    let query = state
        .inner
        .apq
        .resolve(raw.query, raw.extensions.as_ref())?;
    let mut request = async_graphql::Request::new(query);
    if let Some(op) = raw.operation_name {
        request = request.operation_name(op);
    }
    if let Some(vars) = raw.variables {
        if !vars.is_object() && !vars.is_null() {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "variables must be a JSON object",
            ));
        }
        request = request.variables(async_graphql::Variables::from_json(vars));
    }
    let op_name = request.operation_name.clone();
    let parsed = state
        .inner
        .documents
        .parse(&request.query)
        .map_err(|e| ApiError::new(ErrorCode::BadRequest, e.to_string()))?;
    request.set_parsed_query(parsed);
    let doc = request
        .parsed_query()
        .map_err(|e| ApiError::new(ErrorCode::BadRequest, e.message))?;
    let (name, op) = match (&doc.operations, op_name.as_deref()) {
        (DocumentOperations::Single(op), _) => (None, Some(&op.node)),
        (DocumentOperations::Multiple(ops), Some(name)) => {
            (Some(name), ops.get(name).map(|o| &o.node))
        }
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops
            .iter()
            .next()
            .map(|(n, o)| (Some(n.as_str()), Some(&o.node)))
            .unwrap_or((None, None)),
        (DocumentOperations::Multiple(_), None) => (None, None),
    };
    let Some(op) = op else {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "operationName does not select an operation",
        ));
    };
    // Before any other walk of the document: its size with fragments expanded, computed in
    // linear time, must be within the complexity limit.
    let shape = preflight::analyze(doc, op, limits.max_complexity, limits.max_aliases)?;
    let needs = guard.required(doc, op)?;
    let cost = u32::try_from(shape.root_fields.max(1)).unwrap_or(u32::MAX);
    let label = crate::observability::metrics::operation_label(name);
    let access = match op.ty {
        OperationType::Query => Access::ReadOnly,
        OperationType::Mutation => Access::ReadWrite,
        OperationType::Subscription => {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "subscriptions are not served over HTTP",
            ));
        }
    };
    Ok(Checked {
        request,
        access,
        cost,
        label,
        needs,
    })
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBody {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<serde_json::Value>,
    extensions: Option<serde_json::Value>,
}

fn serde_urlencoded_from(raw: &str) -> Result<GetParams, ApiError> {
    axum::extract::Query::<GetParams>::try_from_uri(
        &format!("/?{raw}")
            .parse()
            .map_err(|_| ApiError::new(ErrorCode::BadRequest, "malformed query string"))?,
    )
    .map(|q| q.0)
    .map_err(|_| {
        ApiError::new(
            ErrorCode::BadRequest,
            "GET requests need a `query` parameter",
        )
    })
}

fn respond(mut resp: async_graphql::Response) -> Response {
    ensure_codes(&mut resp.errors);
    axum::Json(resp).into_response()
}

/// A response body that is JSON already.
fn json_bytes(body: Vec<u8>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The request's caller, for logs, limits and idempotency keys.
fn actor_label(principal: &crate::authz::Principal) -> String {
    match &principal.actor {
        Actor::Token { token_id, .. } => format!("token:{token_id}"),
        Actor::Session { .. } => format!("user:{}", principal.user_id),
    }
}

/// Counts one request of an authenticated caller on a non-GraphQL route against the rate
/// limits, and names the tenant and actor in the request's log line.
pub(super) async fn count_request(
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

/// `POST|GET /w/{slug}/graphql`.
///
/// A batch (a JSON array) runs its operations one after another, each in its own
/// transaction, and answers an array in the same order. The whole batch is counted against
/// the rate limits before the first operation runs.
pub async fn tenant(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    req: Request<Body>,
) -> Result<Response, ApiError> {
    let log = crate::observability::RequestLog::current();
    let request_id = req
        .headers()
        .get(super::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let client_ip = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let headers = req.headers().clone();
    let is_post = req.method() == Method::POST;
    let key = crate::graphql::idempotency::key_of(&headers)?;
    let transport = check_transport(&state, &state.inner.tenant_schema.guard, req).await?;
    if transport.batch && key.is_some() {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "Idempotency-Key applies to one operation: send keyed mutations one per request",
        ));
    }
    let cost = transport
        .items
        .iter()
        .fold(0u32, |n, c| n.saturating_add(c.cost));
    let labels: Vec<String> = transport.items.iter().map(|c| c.label.clone()).collect();
    log.operation(labels.join(","));
    let mut bodies = Vec::with_capacity(transport.items.len());
    let mut replayed = false;
    for (i, checked) in transport.items.into_iter().enumerate() {
        let (ttx, auth) = authenticate(
            &state,
            &headers,
            &slug,
            transport.token.as_ref(),
            is_post,
            checked.access,
        )
        .await?;
        let actor = actor_label(&auth.principal);
        if i == 0 {
            log.tenant(ttx.tenant().slug.as_str());
            log.actor(actor.clone());
            state
                .inner
                .request_limits
                .take(
                    ttx.tenant_id(),
                    ttx.tenant().slug.as_str(),
                    &actor,
                    crate::ratelimit::Route::GraphQl,
                    cost,
                )
                .await?;
        }
        RequiresGuard::check(checked.needs, auth.principal.permissions())?;
        let keyed = key
            .clone()
            .filter(|_| checked.access == Access::ReadWrite)
            .map(|k| crate::graphql::idempotency::Keyed::new(actor, k, &transport.body));
        let meta = EntryMeta {
            actor_type: match &auth.principal.actor {
                Actor::Token { .. } => "token",
                Actor::Session { .. } => "user",
            },
            actor_id: match &auth.principal.actor {
                Actor::Token { token_id, .. } => token_id.to_string(),
                Actor::Session { session_id, .. } => session_id.to_string(),
            },
            actor_user: auth.principal.user_id.to_string(),
            request_id: request_id.clone(),
            client_ip: client_ip.clone(),
        };
        let (body, was_replayed) = execute(&state, ttx, auth, checked, meta, keyed).await?;
        replayed |= was_replayed;
        bodies.push(body);
    }
    let mut resp = if transport.batch {
        let mut out = Vec::with_capacity(bodies.iter().map(|b| b.len() + 1).sum::<usize>() + 2);
        out.push(b'[');
        for (i, b) in bodies.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b);
        }
        out.push(b']');
        json_bytes(out)
    } else {
        json_bytes(bodies.pop().unwrap_or_default())
    };
    if replayed {
        crate::observability::metrics::idempotent_replay();
        resp.headers_mut().insert(
            crate::graphql::idempotency::REPLAYED,
            HeaderValue::from_static("true"),
        );
    }
    Ok(resp)
}

/// Runs one operation in its transaction: committed when every field succeeded (with its
/// idempotency record, if keyed), rolled back otherwise. Returns the response body and
/// whether it was replayed from an earlier request with the same key.
async fn execute(
    state: &AppState,
    mut ttx: tenancy::TenantTx,
    auth: crate::identity::Authenticated,
    checked: Checked,
    audit_meta: EntryMeta,
    keyed: Option<crate::graphql::idempotency::Keyed>,
) -> Result<(Vec<u8>, bool), ApiError> {
    let started = std::time::Instant::now();
    if let Some(keyed) = &keyed {
        let tenant = ttx.tenant_id();
        if let Some(stored) = keyed
            .claim(ttx.conn(), &state.inner.keyring, tenant)
            .await?
        {
            ttx.rollback().await.map_err(ApiError::from)?;
            return Ok((stored, true));
        }
    }
    let pool = &state.inner.pool;
    let slug = ttx.tenant().slug.clone();
    let viewer = auth.principal.viewer();
    let cell = Arc::new(TxCell::new(ttx));
    let batches = crate::graphql::loaders::BatchTasks::default();
    let loaders = DataLoader::new(
        crate::graphql::loaders::Loaders {
            tx: cell.clone(),
            viewer,
        },
        batches.spawner(),
    )
    .delay(Duration::ZERO);
    let variables = AuditVariables(checked.request.variables.clone());
    let kind = match checked.access {
        Access::ReadWrite => "mutation",
        _ => "query",
    };
    let request = checked
        .request
        .data(auth.principal.permissions())
        .data(variables)
        .data(RequestState {
            tx: cell.clone(),
            principal: auth.principal,
            limits: state.inner.limits.clone(),
            keyring: state.inner.keyring.clone(),
            audit_meta,
            clock: state.inner.clock.clone(),
            outbound: state.inner.outbound.clone(),
            public_origin: state.inner.auth.public_origin.clone(),
            webhooks: state.inner.webhooks.clone(),
        })
        .data(loaders);
    let timeout = Duration::from_secs(state.inner.limits.request_timeout_secs);
    let schema = match checked.access {
        Access::ReadWrite => &state.inner.tenant_schema.mutations,
        Access::ReadOnly | Access::Snapshot => &state.inner.tenant_schema.queries,
    };
    let response = tokio::time::timeout(timeout, batches.run(schema.execute(request))).await;
    let tx = cell.take().await;
    let mut response = match response {
        Ok(r) => r,
        Err(_) => {
            if let Some(tx) = tx {
                let _ = tx.rollback().await;
            }
            return Err(ApiError::new(
                ErrorCode::Timeout,
                "the request took too long",
            ));
        }
    };
    ensure_codes(&mut response.errors);
    crate::observability::metrics::graphql_operation(
        &checked.label,
        kind,
        response.is_ok(),
        started.elapsed(),
    );
    let mut body = Vec::new();
    if let Some(tx) = tx {
        if state.inner.limits.report_statement_count {
            response.extensions.insert(
                "tessera".to_owned(),
                async_graphql::Value::from_json(
                    serde_json::json!({ "statements": tx.statements() }),
                )
                .unwrap_or_default(),
            );
        }
        body = serde_json::to_vec(&response).map_err(|e| ApiError::internal(&e))?;
        if response.is_ok() {
            let mut tx = tx;
            if let Some(keyed) = &keyed {
                let tenant = tx.tenant_id();
                keyed
                    .store(tx.conn(), &state.inner.keyring, tenant, &body)
                    .await?;
            }
            tx.finish_delete(DELETED_KEPT_DAYS)
                .await
                .map_err(ApiError::from)?;
            tx.commit().await.map_err(ApiError::from)?;
        } else {
            tx.rollback().await.map_err(ApiError::from)?;
        }
    }
    if body.is_empty() {
        body = serde_json::to_vec(&response).map_err(|e| ApiError::internal(&e))?;
    }
    if let Some(token_id) = auth.touch_pending {
        // Read-only requests cannot write `last_used_at`; record it beside the request,
        // without waiting for the WAL flush: a crash may lose the last moments of a
        // once-a-minute timestamp, while waiting would cost a disk flush for the first use
        // of each token in a minute — nearly every request when traffic is spread over
        // thousands of workspaces.
        let (pool, slug) = (pool.clone(), slug.clone());
        tokio::spawn(async move {
            if let Ok(Some(mut tx)) = tenancy::begin(&pool, &slug, Access::ReadWrite).await
                && touch_last_used(&mut tx, token_id).await.is_ok()
                && sqlx::query("SET LOCAL synchronous_commit TO off")
                    .execute(tx.conn())
                    .await
                    .is_ok()
            {
                let _ = tx.commit().await;
            }
        });
    }
    Ok((body, false))
}

/// Authenticates a tenant request (a bearer token, else a session cookie, with the CSRF rule
/// for cookie writes) and opens its transaction. Membership, the workspace's SSO binding,
/// SSO-only mode and the MFA policy are checked here, before any tenant data is touched.
pub(super) async fn authenticate(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    slug: &str,
    token: Option<&PresentedToken>,
    writes: bool,
    access: Access,
) -> Result<(tenancy::TenantTx, crate::identity::Authenticated), ApiError> {
    // An invalid slug cannot name a workspace: the same answer as an unknown one.
    let slug = Slug::parse(slug).map_err(|_| ApiError::not_found())?;
    let pool = &state.inner.pool;
    // A bearer token, else a session cookie (checked before any tenant data is touched).
    let session = match token {
        Some(_) => None,
        None => {
            let info = super::auth::session_of(state, headers)
                .await?
                .ok_or_else(ApiError::unauthenticated)?;
            if writes {
                super::auth::check_origin(state, headers)?;
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
    let (mut ttx, standing) = tenancy::enter(pool, &slug, access, entrant)
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
            }
        }
        (None, None) => return Err(ApiError::unauthenticated()),
    };
    Ok((ttx, auth))
}

/// [`authenticate`] for a non-GraphQL route that needs one permission: the bearer token or
/// the session cookie of `headers`, then `needed` (403 with `refusal` otherwise); the request
/// is counted on `route` (once per request: later checks of the same request pass `None`).
pub(super) async fn authorize(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    slug: &str,
    access: Access,
    needed: crate::authz::Permission,
    refusal: &str,
    route: Option<crate::ratelimit::Route>,
) -> Result<(tenancy::TenantTx, crate::identity::Authenticated), ApiError> {
    let token = bearer(headers)?;
    let writes = access == Access::ReadWrite;
    let (tx, auth) = authenticate(state, headers, slug, token.as_ref(), writes, access).await?;
    if !auth.principal.has(needed) {
        return Err(ApiError::forbidden(refusal));
    }
    if let Some(route) = route {
        count_request(state, &tx, &auth.principal, route).await?;
    }
    Ok((tx, auth))
}

/// The bearer token of a request, if it sends one (malformed: unauthenticated).
pub(super) fn bearer(headers: &axum::http::HeaderMap) -> Result<Option<PresentedToken>, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| PresentedToken::from_authorization(v).ok_or_else(ApiError::unauthenticated))
        .transpose()
}

/// `POST|GET /graphql`: non-tenant operations.
pub async fn global(State(state): State<AppState>, req: Request<Body>) -> Response {
    match global_inner(&state, req).await {
        Ok(resp) => resp,
        Err(e) => e.into_http(),
    }
}

async fn global_inner(state: &AppState, req: Request<Body>) -> Result<Response, ApiError> {
    let log = crate::observability::RequestLog::current();
    let headers = req.headers().clone();
    let (_, client_ip) = super::auth::client(&headers, req.extensions());
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
        None => super::auth::session_of(state, &headers).await?,
    };
    if session.is_some() && is_post {
        super::auth::check_origin(state, &headers)?;
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
        lifetimes: super::auth::lifetimes(state),
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
    let meta = super::auth::identity_meta(&headers, &client_ip, user_id, acting_session);
    super::auth::record(state, user_id, &meta, &events).await;
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
    let mut resp = respond(response);
    if let Some((_, token)) = new_session {
        let max_age = i64::from(state.inner.auth.session_absolute_secs);
        resp.headers_mut().insert(
            header::SET_COOKIE,
            super::auth::cookie(state, token.expose(), max_age)?,
        );
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(resp)
}
