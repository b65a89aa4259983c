//! `GET /w/{slug}/graphql/ws`: subscriptions over the `graphql-transport-ws` protocol.
//!
//! - **Authentication at `connection_init`**, as for HTTP: an API token in the payload
//!   (`{"authorization": "Bearer tsr_…"}`), else the session cookie sent with the upgrade,
//!   whose `Origin` must be allowed (a page on another site cannot open a socket with the
//!   visitor's cookie). Refused: closed with 4403 and the error code in the reason. No
//!   `connection_init` within [`INIT_TIMEOUT`]: 4408.
//! - **Subscriptions only**, each through the same checks as an HTTP operation (size,
//!   nesting, expanded size, string inputs, the `@requires` guard); queries and mutations
//!   go over HTTP, where each runs in its one transaction.
//! - **Isolation**: what a subscription delivers is decided inside the workspace as the
//!   subscriber (see `graphql::tenant::live`).
//! - **Revocation**: a connection re-checks its credentials when its session is revoked,
//!   when its workspace's membership, roles, tokens or sign-in policy change, and every
//!   `limits.live_recheck_secs`; once they fail it closes with 4403.
//! - **Limits**: `limits.live_connections_per_user` connections per user across the
//!   server, `limits.live_subscriptions_per_connection` subscriptions per connection, and
//!   messages no larger than `limits.max_body_bytes`. An upgrade is not counted against the
//!   per-address sign-in limit: the consoles of an office behind one address would use it
//!   up and lock its people out of signing in; a socket that does not authenticate within
//!   [`INIT_TIMEOUT`] is closed, and authentication costs what an HTTP request's does.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_graphql::http::{WebSocketProtocols, WsMessage};
use async_graphql::{Data, Executor, Request, Response};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response as HttpResponse};
use futures_util::stream::{self, BoxStream, StreamExt};
use futures_util::{SinkExt, future};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::transport::check_subscription;
use crate::authz::{Actor, PermissionSet, RequiresGuard, Viewer};
use crate::graphql::errors::{ApiError, ErrorCode};
use crate::graphql::live::{LiveSession, Reenter};
use crate::http::authn::authenticate;
use crate::http::state::AppState;
use crate::identity::PresentedToken;
use crate::live::Signal;
use crate::tenancy::{Access, TenantTx};

/// The only subprotocol served.
const PROTOCOL: &str = "graphql-transport-ws";
/// How long a socket may stay open without `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// A close code and reason for the client.
type Closing = (u16, String);

/// `GET /w/{slug}/graphql/ws`.
pub async fn live(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> HttpResponse {
    let (mut parts, _) = req.into_parts();
    let client = crate::http::authn::Client::of(&parts.extensions, "live");
    let offered = headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == PROTOCOL);
    let upgrade =
        match <WebSocketUpgrade as axum::extract::FromRequestParts<AppState>>::from_request_parts(
            &mut parts, &state,
        )
        .await
        {
            Ok(u) if offered => u,
            _ => {
                return ApiError::new(
                    ErrorCode::BadRequest,
                    format!("open a WebSocket with the {PROTOCOL} subprotocol"),
                )
                .into_http();
            }
        };
    let limits = &state.inner.limits;
    upgrade
        .protocols([PROTOCOL])
        .max_message_size(limits.max_body_bytes)
        .max_frame_size(limits.max_body_bytes)
        .on_upgrade(move |socket| serve(state, slug, headers, client, socket))
        .into_response()
}

/// The credentials a connection was opened with, checked again on demand.
struct Credentials {
    state: AppState,
    slug: String,
    /// The upgrade request's headers: cookie, `Origin`, `Host`.
    headers: HeaderMap,
    token: Option<PresentedToken>,
    /// The upgrade request's client address, for the workspace's IP allowlist.
    client: crate::http::authn::Client,
}

impl Credentials {
    async fn authenticate(&self) -> Result<(TenantTx, crate::identity::Authenticated), ApiError> {
        // A session must come from an allowed origin, as for a write over HTTP.
        let session = self.token.is_none();
        authenticate(
            &self.state,
            &self.headers,
            &self.slug,
            self.token.as_ref(),
            session,
            Access::ReadOnly,
            self.client,
        )
        .await
    }
}

#[async_trait::async_trait]
impl Reenter for Credentials {
    async fn enter(&self) -> Result<(TenantTx, Viewer), ApiError> {
        let (tx, auth) = self.authenticate().await?;
        Ok((tx, auth.principal.viewer()))
    }
}

/// An authenticated connection, as its watcher sees it.
struct Opened {
    credentials: Arc<Credentials>,
    tenant_id: Uuid,
    user_id: Uuid,
    session_id: Option<Uuid>,
    _permit: crate::live::ConnectionPermit,
}

/// Shared by the socket loop, the `connection_init` handler and the watcher.
#[derive(Default)]
struct Connection {
    opened: OnceLock<Opened>,
    /// Why the connection is being closed, when the server closes it.
    closing: Mutex<Option<Closing>>,
    cancel: CancellationToken,
}

impl Connection {
    fn close(&self, code: u16, reason: String) {
        let mut closing = self
            .closing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        closing.get_or_insert((code, reason));
        self.cancel.cancel();
    }

    fn closing(&self) -> Option<Closing> {
        self.closing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// A close reason fits in 123 bytes.
fn reason(e: &ApiError) -> String {
    let mut r = format!("{}: {}", e.code.as_str(), e.message());
    if r.len() > 123 {
        let mut end = 120;
        while !r.is_char_boundary(end) {
            end -= 1;
        }
        r.truncate(end);
        r.push('…');
    }
    r
}

async fn serve(
    state: AppState,
    slug: String,
    headers: HeaderMap,
    client: crate::http::authn::Client,
    socket: WebSocket,
) {
    crate::observability::metrics::live_connection(1);
    let conn = Arc::new(Connection::default());
    let (mut sink, source) = socket.split();
    let incoming = source
        .take_while(|m| future::ready(matches!(m, Ok(m) if !matches!(m, Message::Close(_)))))
        .filter_map(|m| {
            future::ready(match m {
                Ok(Message::Text(t)) => Some(t.as_str().as_bytes().to_vec()),
                Ok(Message::Binary(b)) => Some(b.to_vec()),
                _ => None,
            })
        })
        .take_until(conn.cancel.clone().cancelled_owned());
    let executor = LiveExecutor {
        state: state.clone(),
    };
    let init = {
        let (state, conn) = (state.clone(), conn.clone());
        move |payload: serde_json::Value| async move {
            open(&state, &slug, headers, client, payload, &conn)
                .await
                .map_err(|e| {
                    let code = if e.code == ErrorCode::RateLimited {
                        4429
                    } else {
                        4403
                    };
                    conn.close(code, reason(&e));
                    async_graphql::Error::new(e.message().to_owned())
                })
        }
    };
    let protocol =
        async_graphql::http::WebSocket::new(executor, incoming, WebSocketProtocols::GraphQLWS)
            .on_connection_init(init);
    let mut protocol = std::pin::pin!(protocol);
    let watcher = tokio::spawn(watch(state, conn.clone()));
    let mut sent_close = false;
    while let Some(msg) = protocol.next().await {
        let out = match msg {
            WsMessage::Text(t) => Message::Text(t.into()),
            WsMessage::Close(code, text) => {
                // A refused `connection_init` closes with the code chosen in `open`.
                let (code, text) = conn.closing().unwrap_or((code, text));
                sent_close = true;
                Message::Close(Some(CloseFrame {
                    code,
                    reason: text.into(),
                }))
            }
        };
        if sink.send(out).await.is_err() || sent_close {
            break;
        }
    }
    watcher.abort();
    if !sent_close && let Some((code, text)) = conn.closing() {
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: text.into(),
            })))
            .await;
    }
    let _ = sink.close().await;
    crate::observability::metrics::live_connection(-1);
}

/// `connection_init`: authenticates, counts the connection against its user's limit, and
/// hands subscriptions what they need.
async fn open(
    state: &AppState,
    slug: &str,
    headers: HeaderMap,
    client: crate::http::authn::Client,
    payload: serde_json::Value,
    conn: &Connection,
) -> Result<Data, ApiError> {
    let token = match payload
        .get("authorization")
        .or_else(|| payload.get("Authorization"))
    {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(v)) => {
            Some(PresentedToken::from_authorization(v).ok_or_else(ApiError::unauthenticated)?)
        }
        Some(_) => {
            return Err(ApiError::bad_input(
                "connection_init: authorization must be a string (\"Bearer …\")",
            ));
        }
    };
    let credentials = Arc::new(Credentials {
        state: state.clone(),
        slug: slug.to_owned(),
        headers,
        token,
        client,
    });
    let (tx, auth) = credentials.authenticate().await?;
    let tenant_id = tx.tenant_id();
    let _ = tx.rollback().await;
    let principal = auth.principal;
    let limits = &state.inner.limits;
    let permit = state
        .inner
        .live
        .admit(principal.user_id, limits.live_connections_per_user)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "too many live connections: at most {} per user",
                    limits.live_connections_per_user
                ),
            )
        })?;
    let session_id = match principal.actor {
        Actor::Session { session_id, .. } => Some(session_id),
        Actor::Token { .. } => None,
    };
    let opened = Opened {
        credentials: credentials.clone(),
        tenant_id,
        user_id: principal.user_id,
        session_id,
        _permit: permit,
    };
    if conn.opened.set(opened).is_err() {
        return Err(ApiError::bad_input("connection_init was already sent"));
    }
    let mut data = Data::default();
    data.insert(LiveSession {
        hub: state.inner.live.clone(),
        tenant_id,
        access: credentials,
        clock: state.inner.clock.clone(),
    });
    data.insert(principal.permissions());
    data.insert(SubscriptionCount::default());
    Ok(data)
}

/// Closes the connection when `connection_init` does not come in time, and when its
/// credentials stop holding.
async fn watch(state: AppState, conn: Arc<Connection>) {
    let mut signals = state.inner.live.subscribe();
    let deadline = tokio::time::Instant::now() + INIT_TIMEOUT;
    let opened = loop {
        if let Some(o) = conn.opened.get() {
            break o;
        }
        if tokio::time::Instant::now() >= deadline {
            conn.close(4408, "Connection initialisation timeout".to_owned());
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let every = Duration::from_secs(state.inner.limits.live_recheck_secs.max(1));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        let recheck = tokio::select! {
            _ = conn.cancel.cancelled() => return,
            _ = ticks.tick() => true,
            signal = signals.recv() => match signal {
                Ok(Signal::Change(c)) => c.tenant == opened.tenant_id && c.may_revoke_access(),
                Ok(Signal::Revoked(r)) => {
                    r.user == Some(opened.user_id)
                        || (r.session.is_some() && r.session == opened.session_id)
                }
                Ok(Signal::Resync) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
        };
        if !recheck {
            continue;
        }
        match opened.credentials.authenticate().await {
            Ok((tx, _)) => {
                let _ = tx.rollback().await;
            }
            // The database being briefly away is not a revocation: the next check decides.
            Err(e) if matches!(e.code, ErrorCode::Internal | ErrorCode::Unavailable) => {}
            Err(e) => {
                crate::observability::metrics::live_revoked();
                conn.close(4403, reason(&e));
                return;
            }
        }
    }
}

/// The connection's running subscriptions, against `limits.live_subscriptions_per_connection`.
#[derive(Default, Clone)]
struct SubscriptionCount(Arc<std::sync::atomic::AtomicUsize>);

struct Counted(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Runs subscriptions through the same checks as HTTP operations; refuses anything else.
#[derive(Clone)]
struct LiveExecutor {
    state: AppState,
}

impl LiveExecutor {
    fn start(&self, request: Request, data: Option<&Data>) -> Result<(Request, Counted), ApiError> {
        let i = &self.state.inner;
        let guard: &RequiresGuard = &i.tenant_schema.guard;
        let (request, needs) = check_subscription(&self.state, guard, request)?;
        let held = data
            .and_then(|d| d.get(&std::any::TypeId::of::<PermissionSet>()))
            .and_then(|p| p.downcast_ref::<PermissionSet>())
            .copied()
            .unwrap_or_default();
        RequiresGuard::check(needs, held)?;
        let count = data
            .and_then(|d| d.get(&std::any::TypeId::of::<SubscriptionCount>()))
            .and_then(|c| c.downcast_ref::<SubscriptionCount>())
            .cloned()
            .ok_or_else(ApiError::unauthenticated)?;
        let max = i.limits.live_subscriptions_per_connection;
        let taken = count
            .0
            .fetch_update(
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
                |n| (n < max).then_some(n + 1),
            )
            .is_ok();
        if !taken {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                format!("too many subscriptions: at most {max} per connection"),
            ));
        }
        Ok((request, Counted(count.0)))
    }
}

impl Executor for LiveExecutor {
    async fn execute(&self, _request: Request) -> Response {
        refused(ApiError::new(
            ErrorCode::BadRequest,
            "this endpoint serves subscriptions only",
        ))
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        match (self.start(request, session_data.as_deref()), session_data) {
            (Ok((request, counted)), Some(data)) => self
                .state
                .inner
                .tenant_schema
                .queries
                .execute_stream_with_session_data(request, data)
                .map(move |mut r| {
                    // Held as long as the stream runs.
                    let _held = &counted;
                    crate::graphql::errors::ensure_codes(&mut r.errors);
                    r
                })
                .boxed(),
            (Err(e), _) => stream::once(future::ready(refused(e))).boxed(),
            (Ok(_), None) => {
                stream::once(future::ready(refused(ApiError::unauthenticated()))).boxed()
            }
        }
    }
}

fn refused(e: ApiError) -> Response {
    Response::from_errors(vec![e.into_server_error(async_graphql::Pos::default())])
}
