//! Errors in the SCIM format (RFC 7644 §3.12): an HTTP status, a `scimType` where the RFC
//! names one, and a detail a provider's administrator can act on.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::db;
use crate::graphql::errors::{ApiError, ErrorCode};

/// The media type of every SCIM answer.
pub const SCIM_JSON: &str = "application/scim+json";

/// A SCIM error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 with a `scimType` (`invalidValue`, `invalidSyntax`, `invalidFilter`, `invalidPath`,
    /// `noTarget`, `mutability`, `tooMany`).
    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, format!("{what} not found"))
    }

    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            None,
            "a valid SCIM token of this workspace is required (Authorization: Bearer tsc_…)",
        )
    }

    /// A failure whose cause is logged, not shown.
    pub fn internal(e: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %e, "SCIM request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "the server could not complete the request; nothing was changed",
        )
    }
}

impl From<ApiError> for ScimError {
    fn from(e: ApiError) -> Self {
        let status = match e.code {
            // A GraphQL-only status: SCIM clients understand plain 400/401/403/404/409/5xx.
            ErrorCode::PersistedQueryNotFound | ErrorCode::PersistedQueryNotSupported => {
                StatusCode::BAD_REQUEST
            }
            code => code.http_status(),
        };
        let scim_type = match e.code {
            ErrorCode::BadUserInput => Some("invalidValue"),
            ErrorCode::Conflict => Some("uniqueness"),
            _ => None,
        };
        Self::new(status, scim_type, e.message().to_owned())
    }
}

impl From<db::Error> for ScimError {
    fn from(e: db::Error) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = t.into();
        }
        let mut resp = (self.status, body.to_string()).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        resp
    }
}
