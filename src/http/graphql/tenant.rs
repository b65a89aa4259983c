//! `/w/{slug}/graphql`: a tenant operation (or a batch), each in one transaction scoped to
//! the workspace, committed when every field succeeded and rolled back otherwise.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::DataLoader;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method, Request};
use axum::response::Response;

use super::transport::{
    Checked, check_transport, json_bytes, negotiate, response_body, wants_graphql_response,
};
use crate::audit::EntryMeta;
use crate::authz::{Actor, RequiresGuard};
use crate::db;
use crate::graphql::audit::AuditVariables;
use crate::graphql::errors::{ApiError, ErrorCode, ensure_codes};
use crate::graphql::{RawAnswers, RequestState, TxCell};
use crate::http::authn::{actor_label, authenticate};
use crate::http::state::AppState;
use crate::identity::touch_last_used;
use crate::tenancy::{self, Access};

/// How long a deleted workspace stays restorable.
pub const DELETED_KEPT_DAYS: i32 = 7;

/// `POST|GET /w/{slug}/graphql`.
///
/// A batch (a JSON array) runs its operations one after another, each in its own
/// transaction, and answers an array in the same order. The whole batch is counted against
/// the rate limits before the first operation runs.
///
/// The whole request, checks before authentication included, runs within
/// `limits.request_timeout_secs` (504 `TIMEOUT` beyond; the transaction rolls back).
pub async fn tenant(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    req: Request<Body>,
) -> Response {
    let graphql_response = wants_graphql_response(req.headers());
    let timeout = Duration::from_secs(state.inner.limits.request_timeout_secs);
    let (resp, request_error) =
        match tokio::time::timeout(timeout, tenant_inner(&state, &slug, req)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => (e.into_http(), false),
            Err(_) => (timed_out().into_http(), false),
        };
    negotiate(resp, graphql_response, request_error)
}

fn timed_out() -> ApiError {
    ApiError::new(ErrorCode::Timeout, "the request took too long")
}

/// Answers the request, and whether it is a request error (see [`negotiate`]).
async fn tenant_inner(
    state: &AppState,
    slug: &str,
    req: Request<Body>,
) -> Result<(Response, bool), ApiError> {
    let log = crate::observability::RequestLog::current();
    let request_id = req
        .headers()
        .get(crate::observability::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let client_ip = crate::http::authn::client_ip(req.extensions());
    let client = crate::http::authn::Client::of(req.extensions(), "graphql");
    let headers = req.headers().clone();
    let is_post = req.method() == Method::POST;
    let key = crate::graphql::idempotency::key_of(&headers)?;
    let transport = check_transport(state, &state.inner.tenant_schema.guard, req).await?;
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
    let mut request_error = false;
    for (i, checked) in transport.items.into_iter().enumerate() {
        let (ttx, auth) = authenticate(
            state,
            &headers,
            slug,
            transport.token.as_ref(),
            is_post,
            checked.access,
            client,
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
        let done = execute(state, ttx, auth, checked, meta, keyed).await?;
        replayed |= done.replayed;
        request_error = done.request_error && !transport.batch;
        bodies.push(done.body);
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
    Ok((resp, request_error))
}

/// One operation's answer.
struct Executed {
    body: Vec<u8>,
    /// Replayed from an earlier request with the same `Idempotency-Key`.
    replayed: bool,
    /// Only errors raised before execution (see [`negotiate`]).
    request_error: bool,
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
) -> Result<Executed, ApiError> {
    let started = std::time::Instant::now();
    if let Some(keyed) = &keyed {
        let tenant = ttx.tenant_id();
        if let Some(stored) = keyed
            .claim(ttx.conn(), &state.inner.keyring, tenant)
            .await?
        {
            ttx.rollback().await.map_err(ApiError::from)?;
            return Ok(Executed {
                body: stored,
                replayed: true,
                request_error: false,
            });
        }
    }
    if checked.single_field && keyed.is_none() {
        // A read of one root field: when compiled, its one statement is the last.
        ttx.end_with_next();
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
    // Compiled answers written as JSON, spliced into the body once it is serialized.
    let raw = Arc::new(RawAnswers::default());
    let request = checked
        .request
        .data(raw.clone())
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
            auth: state.inner.auth.clone(),
            auth_limits: state.inner.auth_limits.clone(),
            factor_verified_at: auth.factor_verified_at,
            shared_joins: state.inner.shared_joins,
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
            return Err(timed_out());
        }
    };
    ensure_codes(&mut response.errors);
    crate::observability::metrics::graphql_operation(
        &checked.label,
        kind,
        response.is_ok(),
        started.elapsed(),
    );
    let mut answer = None;
    if let Some(tx) = tx {
        if state.inner.limits.report_statement_count {
            response.extensions.insert(
                "tessera".to_owned(),
                async_graphql::Value::from_json(serde_json::json!({
                    "statements": tx.statements(),
                    "compiled": tx.compiled_reads(),
                }))
                .unwrap_or_default(),
            );
        }
        let (body, request_error) = response_body(&response)?;
        let body = raw.splice(body);
        if tx.is_finished() {
            // Committed with its last statement: the connection goes back to the pool.
            drop(tx);
        } else if tx.access() != Access::ReadWrite && keyed.is_none() {
            // A read-only transaction changes nothing, so how it ends cannot change the
            // answer: the answer goes out without waiting for COMMIT's round trip. The
            // connection returns to the pool once COMMIT completes (`TxConn`: rolled back, or
            // closed, if this task never finishes).
            tokio::spawn(async move {
                if let Err(e) = tx.commit().await {
                    tracing::debug!(error = %e, "a read-only transaction's COMMIT failed");
                }
            });
        } else if response.is_ok() {
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
        answer = Some((body, request_error));
    }
    let (body, request_error) = match answer {
        Some(a) => a,
        None => response_body(&response).map(|(body, e)| (raw.splice(body), e))?,
    };
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
                && db::query("SET LOCAL synchronous_commit TO off")
                    .execute(tx.conn())
                    .await
                    .is_ok()
            {
                let _ = tx.commit().await;
            }
        });
    }
    Ok(Executed {
        body,
        replayed: false,
        request_error,
    })
}
