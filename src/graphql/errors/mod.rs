//! The one place that maps errors to GraphQL `extensions.code` and HTTP status.
//!
//! `ApiError` deliberately does not implement `Display`: async-graphql converts any
//! `Display` error into a code-less error with its message, so a missing conversion would
//! silently leak an internal message. Without `Display`, it does not compile instead.
//! Internal causes are logged (with the request's span, which carries the request id) and
//! replaced by a generic message.

mod domain;

use crate::db;
use async_graphql::{ErrorExtensionValues, Pos, ServerError};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    Internal,
    BadRequest,
    QueryTooLarge,
    QueryTooDeep,
    PayloadTooLarge,
    UnsupportedMediaType,
    MethodNotAllowed,
    Timeout,
    Unavailable,
    RateLimited,
    /// The workspace requires a second factor and the session has none (`aal1`).
    MfaRequired,
    /// The operation needs a recent second-factor check (pass a code or step up again).
    SecondFactorRequired,
    /// The workspace accepts only sign-ins through its own SSO.
    SsoRequired,
    /// The thing existed and was removed for good (an expired export).
    Gone,
    /// The operation uses more aliases than `limits.max_aliases`.
    TooManyAliases,
    /// The document, fragments expanded, or the operation's weighted complexity, is over
    /// `limits.max_complexity`.
    QueryTooComplex,
    /// A persisted-query hash this server does not know: send the query with it once.
    PersistedQueryNotFound,
    /// Persisted queries are off (`limits.apq_entries = 0`).
    PersistedQueryNotSupported,
    /// A request with this `Idempotency-Key` is still running: retry shortly.
    IdempotencyInProgress,
    /// This `Idempotency-Key` was used with a different request body.
    IdempotencyKeyReused,
    /// A batch holds more operations than `limits.max_batch`.
    BatchTooLarge,
    /// A workspace with this slug exists.
    SlugTaken,
    /// The slug is reserved (`admin`, `api`, ...).
    SlugReserved,
    /// The slug is not 3 to 40 lowercase letters, digits or `_`, starting with a letter.
    SlugInvalid,
    /// No such invitation: an unknown token, or one of another workspace.
    InvitationNotFound,
    InvitationExpired,
    InvitationRevoked,
    /// The invitation was accepted already.
    InvitationUsed,
    /// The invitation was sent to another address than the signed-in account's.
    InvitationEmailMismatch,
    /// The address already belongs to a member.
    AlreadyMember,
    /// The workspace would be left without an owner.
    LastOwner,
    /// The account's address is not verified yet.
    EmailNotVerified,
    /// A verification or reset link that is unknown or malformed.
    TokenInvalid,
    TokenExpired,
    /// A verification or reset link that was used already.
    TokenUsed,
    /// The operator froze the workspace (every request, or writes).
    WorkspaceFrozen,
    /// The client's address is outside the workspace's IP allowlist.
    IpNotAllowed,
    /// The new IP allowlist would not admit the address it is being saved from.
    WouldLockOut,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::Internal => "INTERNAL",
            Self::BadRequest => "BAD_REQUEST",
            Self::QueryTooLarge => "QUERY_TOO_LARGE",
            Self::QueryTooDeep => "QUERY_TOO_DEEP",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Timeout => "TIMEOUT",
            Self::Unavailable => "UNAVAILABLE",
            Self::RateLimited => "RATE_LIMITED",
            Self::MfaRequired => "MFA_REQUIRED",
            Self::SecondFactorRequired => "SECOND_FACTOR_REQUIRED",
            Self::SsoRequired => "SSO_REQUIRED",
            Self::Gone => "GONE",
            Self::TooManyAliases => "TOO_MANY_ALIASES",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::PersistedQueryNotSupported => "PERSISTED_QUERY_NOT_SUPPORTED",
            Self::IdempotencyInProgress => "IDEMPOTENCY_IN_PROGRESS",
            Self::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Self::BatchTooLarge => "BATCH_TOO_LARGE",
            Self::SlugTaken => "SLUG_TAKEN",
            Self::SlugReserved => "SLUG_RESERVED",
            Self::SlugInvalid => "SLUG_INVALID",
            Self::InvitationNotFound => "INVITATION_NOT_FOUND",
            Self::InvitationExpired => "INVITATION_EXPIRED",
            Self::InvitationRevoked => "INVITATION_REVOKED",
            Self::InvitationUsed => "INVITATION_USED",
            Self::InvitationEmailMismatch => "INVITATION_EMAIL_MISMATCH",
            Self::AlreadyMember => "ALREADY_MEMBER",
            Self::LastOwner => "LAST_OWNER",
            Self::EmailNotVerified => "EMAIL_NOT_VERIFIED",
            Self::TokenInvalid => "TOKEN_INVALID",
            Self::TokenExpired => "TOKEN_EXPIRED",
            Self::TokenUsed => "TOKEN_USED",
            Self::WorkspaceFrozen => "WORKSPACE_FROZEN",
            Self::IpNotAllowed => "IP_NOT_ALLOWED",
            Self::WouldLockOut => "WOULD_LOCK_OUT",
        }
    }

    /// Status for errors raised before GraphQL execution (auth, routing, transport).
    pub fn http_status(self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadUserInput
            | Self::BadRequest
            | Self::QueryTooDeep
            | Self::TooManyAliases
            | Self::QueryTooComplex => StatusCode::BAD_REQUEST,
            Self::Conflict | Self::IdempotencyInProgress => StatusCode::CONFLICT,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BatchTooLarge | Self::SlugReserved | Self::SlugInvalid | Self::TokenInvalid => {
                StatusCode::BAD_REQUEST
            }
            Self::SlugTaken
            | Self::InvitationUsed
            | Self::AlreadyMember
            | Self::LastOwner
            | Self::TokenUsed => StatusCode::CONFLICT,
            Self::InvitationNotFound => StatusCode::NOT_FOUND,
            Self::InvitationExpired | Self::InvitationRevoked | Self::TokenExpired => {
                StatusCode::GONE
            }
            Self::InvitationEmailMismatch | Self::EmailNotVerified => StatusCode::FORBIDDEN,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::QueryTooLarge | Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Gone => StatusCode::GONE,
            // As the protocol's clients expect: a GraphQL error they retry with the query.
            Self::PersistedQueryNotFound | Self::PersistedQueryNotSupported => StatusCode::OK,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::MfaRequired | Self::SecondFactorRequired | Self::SsoRequired => {
                StatusCode::FORBIDDEN
            }
            Self::WorkspaceFrozen => StatusCode::LOCKED,
            Self::IpNotAllowed => StatusCode::FORBIDDEN,
            Self::WouldLockOut => StatusCode::BAD_REQUEST,
        }
    }
}

/// An error safe to show a client: a stable code and a message written for the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    message: String,
    /// Seconds a client should wait before retrying (`Retry-After`).
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 429 `RATE_LIMITED` with a `Retry-After` of `wait` (rounded up to whole seconds).
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self {
            code: ErrorCode::RateLimited,
            message: "too many attempts; retry later".into(),
            retry_after: Some(secs.max(1)),
        }
    }

    /// The same error with another client-facing message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// 409 `IDEMPOTENCY_IN_PROGRESS` with `Retry-After: 1`.
    pub fn idempotency_in_progress() -> Self {
        Self {
            code: ErrorCode::IdempotencyInProgress,
            message: "a request with this Idempotency-Key is still running; retry shortly".into(),
            retry_after: Some(1),
        }
    }

    /// 503 `UNAVAILABLE` with `Retry-After: 1`: the server is at capacity.
    pub fn busy() -> Self {
        Self {
            code: ErrorCode::Unavailable,
            message: "the server is busy; retry shortly".into(),
            retry_after: Some(1),
        }
    }

    /// 503 `UNAVAILABLE` with `Retry-After: 2`: the database cannot be reached right now.
    pub fn unavailable() -> Self {
        Self {
            code: ErrorCode::Unavailable,
            message: "the database is unavailable; retry shortly".into(),
            retry_after: Some(2),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "not found")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadUserInput, message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "authentication required")
    }

    /// Logs `cause` and returns an opaque internal error.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::Internal, "internal error")
    }

    fn extensions(&self) -> ErrorExtensionValues {
        let mut ext = ErrorExtensionValues::default();
        ext.set("code", self.code.as_str());
        ext
    }

    pub fn into_server_error(self, pos: Pos) -> ServerError {
        let mut err = ServerError::new(self.message.clone(), Some(pos));
        err.extensions = Some(self.extensions());
        err
    }

    /// A GraphQL-shaped JSON error response with the code's HTTP status.
    pub fn into_http(self) -> Response {
        let status = self.code.http_status();
        let body = serde_json::json!({
            "errors": [{ "message": self.message, "extensions": { "code": self.code.as_str() } }]
        });
        let mut resp = (status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        resp
    }
}

/// Handlers may return `Result<_, ApiError>`: the error becomes its HTTP answer.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.into_http()
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        let extensions = Some(e.extensions());
        async_graphql::Error {
            message: e.message,
            source: None,
            extensions,
        }
    }
}

impl From<db::Error> for ApiError {
    fn from(e: db::Error) -> Self {
        match e {
            // Every pooled connection stayed busy for `pool_acquire_timeout_secs`: a clear 503
            // the client can retry, never a hang or a 500.
            e if db::pool_timed_out(&e) => {
                tracing::warn!("database pool exhausted");
                crate::observability::metrics::pool_timeout();
                Self::busy()
            }
            // The operator froze the workspace (see `tessera tenant freeze`).
            e if db::sqlstate(&e).as_deref() == Some("TF001") => {
                let (message, detail) = db::message_and_detail(&e).unwrap_or_default();
                let reason = detail
                    .filter(|r| !r.is_empty())
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                let what = if message.contains("(writes)") {
                    "this workspace is read-only for now: its operator froze changes"
                } else {
                    "this workspace is frozen by its operator"
                };
                Self::new(ErrorCode::WorkspaceFrozen, format!("{what}{reason}"))
            }
            // The database is down or restarting: the request did nothing (its transaction
            // cannot have committed), and it is the server's state, not the client's mistake.
            e if db::connection_lost(&e) => {
                tracing::warn!(error = %e, "database unavailable");
                Self::unavailable()
            }
            other => Self::internal(&other),
        }
    }
}

/// Whether async-graphql raised `err` while coercing a field's arguments: its input-value
/// errors carry no source (a resolver's `?` on a foreign error always does) and say what was
/// wrong in one of a few fixed forms.
fn is_input_coercion(err: &ServerError) -> bool {
    const FORMS: [&str; 4] = [
        "Failed to parse \"",
        "Expected input type \"",
        "Invalid value for argument",
        "Variable ",
    ];
    err.source.is_none()
        && (FORMS.iter().any(|f| err.message.starts_with(f))
            || err.message.contains("(occurred while parsing \""))
}

/// Whether `err` was raised before execution began: parse, validation and limit errors (no
/// path), and variable or argument coercion. A response of only such errors is a request
/// error in GraphQL-over-HTTP terms.
pub fn raised_before_execution(err: &ServerError) -> bool {
    err.path.is_empty() || is_input_coercion(err)
}

/// Gives every error a code. async-graphql's own errors (parse, validation, limits) have
/// no path and keep their message. An error raised inside a resolver without a code came
/// through a generic `Display` conversion and may carry an internal message: it is logged
/// and replaced by an opaque INTERNAL error (fail closed on information, too).
pub fn ensure_codes(errors: &mut [ServerError]) {
    for err in errors {
        let has_code = err
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if !has_code && is_input_coercion(err) {
            // A variable or argument of the wrong type, a required one left out: the client's
            // mistake, found by async-graphql while reading the field's arguments.
            let mut ext = err.extensions.take().unwrap_or_default();
            ext.set("code", ErrorCode::BadUserInput.as_str());
            err.extensions = Some(ext);
        } else if !has_code && !err.path.is_empty() {
            tracing::error!(error = %err.message, "uncoded resolver error");
            err.message = "internal error".to_owned();
            let mut ext = ErrorExtensionValues::default();
            ext.set("code", ErrorCode::Internal.as_str());
            err.extensions = Some(ext);
        } else if !has_code {
            let code = if err.message.contains("too complex") {
                ErrorCode::QueryTooComplex
            } else if err.message.contains("too deep") {
                ErrorCode::QueryTooDeep
            } else {
                ErrorCode::BadRequest
            };
            let mut ext = err.extensions.take().unwrap_or_default();
            ext.set("code", code.as_str());
            err.extensions = Some(ext);
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every code `ErrorCode::as_str` can answer is documented in `docs/errors.md`.
    #[test]
    fn every_code_is_documented() {
        let source = include_str!("mod.rs");
        let doc = include_str!("../../../docs/errors.md");
        let codes: Vec<&str> = source
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Self::"))
            .filter_map(|l| l.split_once(" => \"").map(|(_, rest)| rest))
            .filter_map(|rest| rest.strip_suffix("\","))
            .collect();
        assert!(codes.len() > 30, "found only {codes:?}");
        for code in codes {
            assert!(
                doc.contains(&format!("| `{code}` |")),
                "{code} is not in docs/errors.md"
            );
        }
    }
}
