//! What every SCIM request shares: authentication and entry into the workspace (`open`),
//! the answer's media type, list parameters and pages, and the audited commit.

use axum::body::Bytes;
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{EntryMeta, NewEntry};
use crate::db;
use crate::http::authn::{Client, outside_allowlist};
use crate::http::state::AppState;
use crate::scim::error::{SCIM_JSON, ScimError};
use crate::scim::{Kind, discovery};
use crate::tenancy::{self, Access, Slug, TenantTx};

/// An authenticated SCIM request inside its workspace transaction.
pub(super) struct Scim {
    pub(super) tx: TenantTx,
    /// The workspace's SCIM base URL (`…/scim/v2/<slug>`), for `location`.
    pub(super) base: String,
    meta: EntryMeta,
}

pub(super) async fn open(
    state: &AppState,
    slug: &str,
    headers: &HeaderMap,
    ext: &axum::http::Extensions,
    access: Access,
) -> Result<Scim, ScimError> {
    let hash = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::scim::tokens::presented)
        .ok_or_else(ScimError::unauthorized)?;
    let slug = Slug::parse(slug).map_err(|_| ScimError::unauthorized())?;
    let pool = &state.inner.pool;
    let token: Option<Uuid> = db::query_scalar("SELECT public.tessera_scim_token_check($1, $2)")
        .bind(slug.as_str())
        .bind(hash.as_slice())
        .fetch_one(&mut *pool.acquire().await.map_err(ScimError::from)?)
        .await?;
    let token = token.ok_or_else(ScimError::unauthorized)?;
    let client = Client::of(ext, "scim");
    let (tx, _) = tenancy::enter(pool, &slug, access, tenancy::Entrant::System, client.ip)
        .await
        .map_err(ScimError::from)?
        .ok_or_else(ScimError::unauthorized)?;
    let actor = format!("scim:{token}");
    if !tx.ip_allowed() {
        return Err(outside_allowlist(&slug, &actor, client).into());
    }
    let log = crate::observability::RequestLog::current();
    log.tenant(slug.as_str());
    log.actor(actor.clone());
    state
        .inner
        .request_limits
        .take(
            tx.tenant_id(),
            slug.as_str(),
            &actor,
            crate::ratelimit::Route::Scim,
            1,
        )
        .await
        .map_err(|r| ScimError::from(crate::graphql::errors::ApiError::from(r)))?;
    Ok(Scim {
        tx,
        base: format!("{}/scim/v2/{slug}", state.inner.auth.public_origin),
        meta: EntryMeta {
            actor_type: "scim",
            actor_id: token.to_string(),
            actor_user: String::new(),
            request_id: headers
                .get(crate::observability::REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            client_ip: crate::http::authn::client_ip(ext),
        },
    })
}

pub(super) fn answer(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    resp
}

pub(super) fn body_json(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("the body is not JSON: {e}")))
}

/// The id in a resource's path; one that is no UUID names no resource of `kind`.
pub(super) fn resource_id(kind: Kind, id: &str) -> Result<Uuid, ScimError> {
    Uuid::parse_str(id).map_err(|_| ScimError::not_found(kind.name()))
}

/// `filter`, `startIndex`, `count`, `attributes`, `excludedAttributes` of a list.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListParams {
    filter: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

impl ListParams {
    /// The offset and page size (RFC 7644 §3.4.2.4: a startIndex below 1 is 1; a negative
    /// count is 0) and the compiled filter.
    pub(super) fn page(
        &self,
        kind: Kind,
    ) -> Result<(i64, i64, Option<crate::scim::filter::Compiled>), ScimError> {
        let compiled = self
            .filter
            .as_deref()
            .map(|f| crate::scim::filter::compile(kind, f, 1))
            .transpose()?;
        let start = self.start_index.unwrap_or(1).max(1);
        let count = self.count.unwrap_or(100).clamp(0, discovery::MAX_PAGE);
        Ok((start, count, compiled))
    }

    pub(super) fn projection(&self, kind: Kind) -> crate::scim::project::Projection {
        crate::scim::project::Projection::new(
            kind,
            self.attributes.as_deref(),
            self.excluded_attributes.as_deref(),
        )
    }
}

/// `attributes` and `excludedAttributes` of a single resource.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Shape {
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

impl Shape {
    pub(super) fn projection(&self, kind: Kind) -> crate::scim::project::Projection {
        crate::scim::project::Projection::new(
            kind,
            self.attributes.as_deref(),
            self.excluded_attributes.as_deref(),
        )
    }
}

pub(super) type QueryOf<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

pub(super) fn query<T>(q: QueryOf<T>) -> Result<T, ScimError> {
    q.map(|Query(q)| q)
        .map_err(|e| ScimError::bad("invalidValue", e.body_text()))
}

/// A ListResponse page.
pub(super) fn list_response(total: i64, start: i64, resources: Vec<Value>) -> Response {
    answer(
        StatusCode::OK,
        &json!({
            "schemas": [discovery::LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}

/// A created resource: 201 with its `Location`.
pub(super) fn created(body: &Value) -> Response {
    let mut resp = answer(StatusCode::CREATED, body);
    if let Some(loc) = body["meta"]["location"]
        .as_str()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}

/// Appends the change's audit entry (target `target_type` `target`) and commits.
pub(super) async fn commit(
    state: &AppState,
    mut s: Scim,
    action: &str,
    (target_type, target): (&str, String),
    payload: Value,
) -> Result<(), ScimError> {
    let tenant = s.tx.tenant_id();
    crate::audit::append(
        s.tx.conn(),
        &state.inner.keyring,
        tenant,
        state.inner.clock.now(),
        &s.meta,
        NewEntry {
            action,
            target_type,
            target_id: target,
            payload,
        },
    )
    .await
    .map_err(|e| ScimError::internal(&e))?;
    s.tx.commit().await?;
    Ok(())
}

pub(super) type Ext = axum::http::Extensions;
