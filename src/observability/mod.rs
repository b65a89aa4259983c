//! Logs, metrics and traces.
//!
//! Every request gets one JSON log line when it ends ([`log_requests`]): request id, method,
//! route template, tenant, actor, GraphQL operation, status and latency. Handlers fill in what
//! only they know (tenant, actor, operation) through the request's [`RequestLog`]
//! ([`RequestLog::current`]). Nothing from headers, bodies or query strings is logged, so tokens, cookies and
//! secrets never reach a log line.

pub mod metrics;
pub mod traces;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::Request;
use axum::middleware::Next;
use axum::response::Response;

/// The request id header: the client's value when it is well formed, else a generated UUID;
/// returned on the response and carried by every log line of the request.
pub const REQUEST_ID: &str = "x-request-id";

/// JSON logs on stderr (filtered by `TESSERA_LOG`), and OpenTelemetry traces when
/// `TESSERA_OTLP_ENDPOINT` is set (filtered on their own by `TESSERA_TRACE`, so quieter logs
/// do not thin the traces). The provider is returned to be flushed on exit.
pub fn init() -> Option<opentelemetry_sdk::trace::SdkTracerProvider> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = |var: &str| {
        tracing_subscriber::EnvFilter::try_from_env(var).unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("info,sqlx=warn,tokio_postgres=warn")
        })
    };
    let (provider, failed) = match std::env::var("TESSERA_OTLP_ENDPOINT") {
        Ok(url) if !url.trim().is_empty() => match traces::provider(url.trim()) {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(e)),
        },
        _ => (None, None),
    };
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::stderr)
                .with_filter(filter("TESSERA_LOG")),
        )
        .with(
            provider
                .as_ref()
                .map(|p| traces::layer(p).with_filter(filter("TESSERA_TRACE"))),
        )
        .init();
    if let Some(e) = failed {
        tracing::error!(error = %e, "OpenTelemetry traces are off");
    }
    provider
}

/// The longest client-supplied request id kept.
const MAX_REQUEST_ID: usize = 128;

/// Middleware: removes a client's `X-Request-Id` that is longer than 128 bytes or holds
/// anything but ASCII letters, digits and `-_.:` (so a generated one replaces it); such a value
/// would otherwise be echoed in the response and written to every log line of the request.
pub async fn drop_unusable_request_id(mut req: Request<Body>) -> Request<Body> {
    let usable = |v: &axum::http::HeaderValue| {
        let b = v.as_bytes();
        !b.is_empty()
            && b.len() <= MAX_REQUEST_ID
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c))
    };
    let values: Vec<_> = req.headers().get_all(REQUEST_ID).iter().collect();
    if values.len() > 1 || values.first().is_some_and(|v| !usable(v)) {
        req.headers_mut().remove(REQUEST_ID);
    }
    req
}

/// What a handler learned about its request, for the request's log line.
#[derive(Debug, Clone, Default)]
pub struct RequestLog(Arc<Mutex<Fields>>);

#[derive(Debug, Default)]
struct Fields {
    tenant: Option<String>,
    actor: Option<String>,
    operation: Option<String>,
}

impl RequestLog {
    fn with<R>(&self, f: impl FnOnce(&mut Fields) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The workspace (slug) the request acted in.
    pub fn tenant(&self, slug: &str) {
        self.with(|f| f.tenant = Some(slug.to_owned()));
    }

    /// The authenticated actor, as `token:<id>` or `user:<id>`.
    pub fn actor(&self, actor: String) {
        self.with(|f| f.actor = Some(actor));
    }

    /// The GraphQL operation (its metric label, so bounded and well-formed).
    pub fn operation(&self, name: String) {
        self.with(|f| f.operation = Some(name));
    }

    /// The log record of the request this task serves (a detached one outside a request).
    pub fn current() -> Self {
        CURRENT.try_with(Clone::clone).unwrap_or_default()
    }
}

tokio::task_local! {
    static CURRENT: RequestLog;
}

/// Middleware: the request's log line and latency metric.
pub async fn log_requests(req: Request<Body>, next: Next) -> Response {
    let started = Instant::now();
    let log = RequestLog::default();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let resp = CURRENT.scope(log.clone(), next.run(req)).await;
    let elapsed = started.elapsed();
    let status = resp.status().as_u16();
    metrics::http_request(&route, method.as_str(), status, elapsed);
    if status == 401 {
        metrics::auth_failure(&route);
    }
    let f = log.0.lock().unwrap_or_else(|p| p.into_inner());
    tracing::info!(
        target: "tessera::request",
        request_id = %request_id,
        method = %method,
        route = %route,
        tenant = f.tenant.as_deref().unwrap_or("-"),
        actor = f.actor.as_deref().unwrap_or("-"),
        operation = f.operation.as_deref().unwrap_or("-"),
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    resp
}
