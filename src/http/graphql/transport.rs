//! Everything before authentication: method, media type, body and query size, bracket
//! nesting, persisted queries, parsing, and the document's expanded size. None of it looks
//! at a credential, and all of it is linear in the request's size.

use async_graphql::parser::types::{DocumentOperations, OperationType};
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, header};
use axum::response::{IntoResponse, Response};

use crate::authz::RequiresGuard;
use crate::graphql::errors::{ApiError, ErrorCode, ensure_codes};
use crate::graphql::preflight;
use crate::http::authn::bearer;
use crate::http::state::AppState;
use crate::identity::PresentedToken;
use crate::tenancy::Access;

/// A parsed, checked GraphQL operation: whether it mutates, what it counts for rate limits,
/// and its metric label.
pub(super) struct Checked {
    pub(super) request: async_graphql::Request,
    pub(super) access: Access,
    pub(super) cost: u32,
    /// The operation selects one root field (aliases and fragments counted): its statement,
    /// when compiled, is the transaction's last.
    pub(super) single_field: bool,
    pub(super) label: String,
    /// What the guard requires of the caller before the operation may run.
    pub(super) needs: crate::authz::PermissionSet,
}

/// One HTTP request's operations (one, or a batch) and its credentials.
pub(super) struct Transport {
    pub(super) items: Vec<Checked>,
    /// A JSON array was sent (answered with an array).
    pub(super) batch: bool,
    pub(super) token: Option<PresentedToken>,
    /// The body as sent (POST): what an `Idempotency-Key` is bound to.
    pub(super) body: axum::body::Bytes,
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
pub(super) async fn check_transport(
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
/// aliases; then which operation it selects, and what that counts. Queries and mutations
/// only: subscriptions are served over the WebSocket endpoint (see [`super::live`]).
fn check_operation(
    state: &AppState,
    guard: &RequiresGuard,
    raw: RawBody,
) -> Result<Checked, ApiError> {
    let (checked, ty) = prepare(state, guard, raw)?;
    let access = match ty {
        OperationType::Query => Access::ReadOnly,
        OperationType::Mutation => Access::ReadWrite,
        OperationType::Subscription => {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "subscriptions are not served over HTTP: use the WebSocket endpoint /w/<slug>/graphql/ws",
            ));
        }
    };
    Ok(Checked { access, ..checked })
}

/// The same checks for an operation sent over the WebSocket endpoint, which serves
/// subscriptions only. Returns the request, ready to run, and what the guard requires.
pub(super) fn check_subscription(
    state: &AppState,
    guard: &RequiresGuard,
    request: async_graphql::Request,
) -> Result<(async_graphql::Request, crate::authz::PermissionSet), ApiError> {
    let json = |v: serde_json::Result<serde_json::Value>| {
        v.map_err(|_| ApiError::new(ErrorCode::BadRequest, "the request does not encode"))
    };
    let raw = RawBody {
        query: Some(request.query),
        operation_name: request.operation_name,
        variables: Some(json(serde_json::to_value(&request.variables))?),
        extensions: Some(json(serde_json::to_value(&request.extensions))?)
            .filter(|e| e.as_object().is_some_and(|o| !o.is_empty())),
    };
    let (checked, ty) = prepare(state, guard, raw)?;
    if ty != OperationType::Subscription {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "this endpoint serves subscriptions: send queries and mutations over HTTP to /w/<slug>/graphql",
        ));
    }
    Ok((checked.request, checked.needs))
}

/// Everything [`check_operation`] checks but the operation's type, which it returns.
fn prepare(
    state: &AppState,
    guard: &RequiresGuard,
    raw: RawBody,
) -> Result<(Checked, OperationType), ApiError> {
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
        crate::graphql::input::check_json(&vars)?;
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
    // Every string of the request passes one check: its literals here, its variables above.
    crate::graphql::input::check_document(doc)?;
    let needs = guard.required(doc, op)?;
    let cost = u32::try_from(shape.root_fields.max(1)).unwrap_or(u32::MAX);
    let label = crate::observability::metrics::operation_label(name);
    let ty = op.ty;
    Ok((
        Checked {
            request,
            access: Access::ReadOnly,
            cost,
            single_field: shape.root_fields == 1,
            label,
            needs,
        },
        ty,
    ))
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

/// A finished GraphQL response as a JSON answer, and whether it is a request error.
pub(super) fn respond(mut resp: async_graphql::Response) -> Result<(Response, bool), ApiError> {
    ensure_codes(&mut resp.errors);
    let (body, request_error) = response_body(&resp)?;
    Ok((json_bytes(body), request_error))
}

/// The GraphQL-over-HTTP media type. A client that accepts it gets it, and status codes by
/// that specification: a request error (the document does not parse or validate, a variable
/// does not coerce) is a 400, not a 200.
pub(super) const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// Whether the client asked for `application/graphql-response+json`.
pub(super) fn wants_graphql_response(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            t.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(GRAPHQL_RESPONSE))
        })
}

/// Serializes a GraphQL response. A request error (see [`is_request_error`]) carries no
/// `data`: nothing was executed.
pub(super) fn response_body(resp: &async_graphql::Response) -> Result<(Vec<u8>, bool), ApiError> {
    let request_error = is_request_error(resp);
    let body = if request_error {
        #[derive(serde::Serialize)]
        struct Errors<'a> {
            errors: &'a [async_graphql::ServerError],
            #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
            extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
        }
        serde_json::to_vec(&Errors {
            errors: &resp.errors,
            extensions: &resp.extensions,
        })
    } else {
        serde_json::to_vec(resp)
    };
    Ok((body.map_err(|e| ApiError::internal(&e))?, request_error))
}

/// A response that holds no data and only errors raised before execution: parsing,
/// validation, limits, variable coercion.
fn is_request_error(resp: &async_graphql::Response) -> bool {
    resp.data == async_graphql::Value::Null
        && !resp.errors.is_empty()
        && resp
            .errors
            .iter()
            .all(crate::graphql::errors::raised_before_execution)
}

/// Gives a finished answer the media type the client asked for, and for
/// `application/graphql-response+json` a request error's 400.
pub(super) fn negotiate(
    mut resp: Response,
    graphql_response: bool,
    request_error: bool,
) -> Response {
    if graphql_response {
        if request_error && resp.status() == axum::http::StatusCode::OK {
            *resp.status_mut() = axum::http::StatusCode::BAD_REQUEST;
        }
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/graphql-response+json; charset=utf-8"),
        );
    }
    resp
}

/// A response body that is JSON already.
pub(super) fn json_bytes(body: Vec<u8>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}
