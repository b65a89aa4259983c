//! The web console, embedded in the binary: `web/dist` as built by `build.rs` (or a page
//! saying how to build it). Files under `/assets/` carry a content hash in their names and
//! are cached for a year; every other path a browser navigates to that no API route takes
//! gets `index.html`, uncached, and the client routes from there.
//!
//! Console responses carry a strict Content-Security-Policy (no inline script or style, no
//! framing, same-origin connections only), `Referrer-Policy`, `Permissions-Policy` and
//! `Cross-Origin-Opener-Policy`; `nosniff` and HSTS (behind TLS) are set for every response
//! by the router.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};

use crate::graphql::errors::ApiError;

static CONSOLE: Dir<'static> = include_dir!("$OUT_DIR/console");

/// The console's CSP: everything from this origin only, nothing inline, no frames, no
/// plugins, no `<base>`. `data:` images for QR codes.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// GraphiQL's page (`/w/{slug}/graphiql`, its own document): the same, except that styles
/// may be inline — its editor (Monaco) and dialogs inject `<style>` elements at run time —
/// and its stylesheet's fonts are `data:` URLs. Scripts stay same-origin files only, so
/// injected markup still cannot run code.
pub const GRAPHIQL_CSP: &str = "default-src 'self'; script-src 'self'; \
style-src 'self' 'unsafe-inline'; worker-src 'self'; img-src 'self' data:; font-src 'self' data:; \
connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const PERMISSIONS: &str = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), \
serial=(), hid=(), publickey-credentials-get=(self), \
publickey-credentials-create=(self)";

/// Whether the binary carries a built console (not the "how to build it" page).
pub fn built() -> bool {
    CONSOLE.get_dir("assets").is_some()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

fn page_headers(h: &mut HeaderMap, csp: &'static str) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        axum::http::HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static(PERMISSIONS),
    );
    h.insert(
        axum::http::HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

fn file_response(path: &str, cache: &'static str, head: bool) -> Option<Response> {
    page_response(path, cache, head, CSP)
}

fn page_response(
    path: &str,
    cache: &'static str,
    head: bool,
    csp: &'static str,
) -> Option<Response> {
    let file = CONSOLE.get_file(path)?;
    let body = if head {
        Body::empty()
    } else {
        Body::from(file.contents())
    };
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    page_headers(h, csp);
    Some(resp)
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// The router's fallback: a console file, `index.html` for a browser's navigation, and the
/// API's JSON 404 for everything else.
pub async fn fallback(req: Request) -> Response {
    let head = req.method() == Method::HEAD;
    if req.method() != Method::GET && !head {
        return ApiError::not_found().into_http();
    }
    let path = req.uri().path().trim_start_matches('/');
    if let Some(asset) = path.strip_prefix("assets/") {
        // Hashed names: a changed file gets a new name, so an old one never goes stale.
        return file_response(
            &format!("assets/{asset}"),
            "public, max-age=31536000, immutable",
            head,
        )
        .unwrap_or_else(|| ApiError::not_found().into_http());
    }
    // GraphiQL, for a browser's navigation to a workspace's `graphiql` page.
    if wants_html(req.headers())
        && path
            .strip_prefix("w/")
            .and_then(|rest| rest.strip_suffix("/graphiql"))
            .is_some_and(|slug| !slug.is_empty() && !slug.contains('/'))
        && let Some(resp) = page_response("graphiql.html", "no-cache", head, GRAPHIQL_CSP)
    {
        return resp;
    }
    if !path.is_empty()
        && !path.contains('/')
        && path != "index.html"
        && path != "graphiql.html"
        && let Some(resp) = file_response(path, "public, max-age=3600", head)
    {
        return resp;
    }
    if (path.is_empty() || wants_html(req.headers()))
        && let Some(resp) = file_response("index.html", "no-cache", head)
    {
        return resp;
    }
    ApiError::not_found().into_http()
}
