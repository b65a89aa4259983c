//! The router: every route, and the request middleware around them.

use axum::Router;
use axum::http::HeaderValue;
use axum::routing::{get, post};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use super::state::AppState;
use super::{account, attachments, client_addr, console, exports, graphql, oidc, ops, signin};
use crate::observability::REQUEST_ID;

pub fn router(state: AppState) -> Router {
    let header = axum::http::HeaderName::from_static(REQUEST_ID);
    // Behind TLS, browsers are told to use nothing else (two years, as preload lists ask).
    let hsts = state
        .inner
        .auth
        .public_origin
        .starts_with("https://")
        .then(|| HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    Router::new()
        .route("/w/{slug}/graphql", get(graphql::tenant).post(graphql::tenant))
        .route("/w/{slug}/graphql/ws", get(graphql::live))
        .route("/graphql", get(graphql::global).post(graphql::global))
        .route("/auth/signup", post(account::signup))
        .route("/auth/verify-email", post(account::verify_email))
        .route("/auth/password-reset", post(account::reset_request))
        .route("/auth/password-reset/confirm", post(account::reset_confirm))
        .route("/auth/invitation", post(account::invitation))
        .route("/auth/signin", post(signin::signin))
        .route("/auth/signout", post(signin::signout))
        .route("/auth/mfa", post(signin::second_factor))
        .route("/auth/passkey/options", post(signin::passkey_options))
        .route("/auth/passkey", post(signin::passkey_signin))
        .route("/w/{slug}/attachments", axum::routing::post(attachments::upload))
        .route("/w/{slug}/attachments/{id}/content", get(attachments::content))
        .route("/blobs/{tenant}/{object}", get(attachments::blob))
        .route("/w/{slug}/export", get(exports::json))
        .route("/w/{slug}/audit/export", get(exports::audit))
        .route("/w/{slug}/export/{file}", get(exports::csv))
        .route("/w/{slug}/exports/{id}/content", get(exports::content))
        .route("/auth/oidc/{slug}/start", get(oidc::start))
        .route("/auth/oidc/{slug}/callback", get(oidc::callback))
        .route("/.well-known/tessera-audit-keys", get(ops::audit_keys))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ops::readyz))
        .route("/status", get(ops::status))
        .route("/metrics", get(ops::metrics))
        .merge(super::scim::routes())
        .fallback(console::fallback)
        .with_state(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            state,
            client_addr::resolve_client,
        ))
        .layer(axum::middleware::from_fn(crate::observability::log_requests))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let id = req
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                // The path only: query strings are not logged.
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            })
            // The request's own line is written by `observability::log_requests`.
            .on_request(())
            .on_response(()),
        )
        .layer(PropagateRequestIdLayer::new(header.clone()))
        .layer(SetRequestIdLayer::new(header, MakeRequestUuid))
        // Runs first: a client's id that is too long or oddly spelled is dropped, so the
        // layer above generates one instead of echoing and logging it.
        .layer(axum::middleware::map_request(
            crate::observability::drop_unusable_request_id,
        ))
        // Every answer: no MIME sniffing, and nothing cached unless a route says otherwise
        // (API answers carry per-caller data and one-time secrets).
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            hsts,
        ))
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
