//! `/scim/v2/{slug}/…`: the workspace's SCIM 2.0 service provider (docs/scim.md).
//!
//! Every request: a SCIM token of this workspace (`tsc_…`, checked before the workspace is
//! entered; one of another workspace is unknown here), the workspace entered as the server
//! with the client's address checked against its IP allowlist, the request counted against
//! the workspace's rate limits, and every change appended to the audit chain with actor type
//! `scim` (the token's id) in the change's own transaction.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use uuid::Uuid;

use super::authn::{Client, outside_allowlist};
use super::state::AppState;
use crate::audit::{EntryMeta, NewEntry};
use crate::scim::error::{SCIM_JSON, ScimError};
use crate::scim::{discovery, filter, patch, project, resource, users};
use crate::tenancy::{self, Access, Slug, TenantTx};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/{slug}/ServiceProviderConfig",
            get(service_provider_config),
        )
        .route("/scim/v2/{slug}/ResourceTypes", get(resource_types))
        .route("/scim/v2/{slug}/ResourceTypes/{id}", get(resource_type))
        .route("/scim/v2/{slug}/Schemas", get(schemas))
        .route("/scim/v2/{slug}/Schemas/{id}", get(schema))
        .route("/scim/v2/{slug}/Users", get(list_users).post(create_user))
        .route(
            "/scim/v2/{slug}/Users/{id}",
            get(get_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/scim/v2/{slug}/.search", axum::routing::post(search))
        .route("/scim/v2/{slug}/{*rest}", axum::routing::any(unknown))
}

/// An authenticated SCIM request inside its workspace transaction.
struct Scim {
    tx: TenantTx,
    /// The workspace's SCIM base URL (`…/scim/v2/<slug>`), for `location`.
    base: String,
    meta: EntryMeta,
}

async fn open(
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
    let token: Option<Uuid> = sqlx::query_scalar("SELECT public.tessera_scim_token_check($1, $2)")
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
            client_ip: super::authn::client_ip(ext),
        },
    })
}

fn answer(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    resp
}

fn body_json(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("the body is not JSON: {e}")))
}

fn user_id(id: &str) -> Result<Uuid, ScimError> {
    Uuid::parse_str(id).map_err(|_| ScimError::not_found("User"))
}

/// Appends the change's audit entry and commits.
async fn commit(
    state: &AppState,
    mut s: Scim,
    action: &str,
    target: String,
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
            target_type: "Member",
            target_id: target,
            payload,
        },
    )
    .await
    .map_err(|e| ScimError::internal(&e))?;
    s.tx.commit().await?;
    Ok(())
}

/// What an audit entry says of a User write.
fn payload(before: Option<&resource::UserRow>, out: &users::Outcome) -> Value {
    let view = |r: &resource::UserRow| {
        json!({ "id": r.id, "userName": r.user_name, "externalId": r.external_id,
                "active": r.active, "attributes": r.attributes })
    };
    json!({
        "before": before.map(view),
        "after": out.row.as_ref().map(view),
        "membership": match out.membership { Some(true) => "added", Some(false) => "removed", None => "unchanged" },
        "removal": out.removal,
    })
}

type Ext = axum::http::Extensions;

async fn service_provider_config(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ext: Ext,
) -> Result<Response, ScimError> {
    let s = open(&st, &slug, &headers, &ext, Access::ReadOnly).await?;
    Ok(answer(
        StatusCode::OK,
        &discovery::service_provider_config(&s.base),
    ))
}

async fn resource_types(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ext: Ext,
) -> Result<Response, ScimError> {
    let s = open(&st, &slug, &headers, &ext, Access::ReadOnly).await?;
    Ok(answer(
        StatusCode::OK,
        &discovery::list(vec![discovery::user_resource_type(&s.base)]),
    ))
}

async fn resource_type(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    ext: Ext,
) -> Result<Response, ScimError> {
    let s = open(&st, &slug, &headers, &ext, Access::ReadOnly).await?;
    if id != "User" {
        return Err(ScimError::not_found("ResourceType"));
    }
    Ok(answer(
        StatusCode::OK,
        &discovery::user_resource_type(&s.base),
    ))
}

async fn schemas(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ext: Ext,
) -> Result<Response, ScimError> {
    let s = open(&st, &slug, &headers, &ext, Access::ReadOnly).await?;
    Ok(answer(
        StatusCode::OK,
        &discovery::list(vec![discovery::user_schema(&s.base)]),
    ))
}

async fn schema(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    ext: Ext,
) -> Result<Response, ScimError> {
    let s = open(&st, &slug, &headers, &ext, Access::ReadOnly).await?;
    if id != resource::USER_SCHEMA {
        return Err(ScimError::not_found("Schema"));
    }
    Ok(answer(StatusCode::OK, &discovery::user_schema(&s.base)))
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListParams {
    filter: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Shape {
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

async fn list_users(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    ext: Ext,
) -> Result<Response, ScimError> {
    let Query(p) = params.map_err(|e| ScimError::bad("invalidValue", e.body_text()))?;
    let mut s = open(&st, &slug, &headers, &ext, Access::ReadOnly).await?;
    let compiled = p
        .filter
        .as_deref()
        .map(|f| filter::compile(f, 1))
        .transpose()?;
    // RFC 7644 §3.4.2.4: a startIndex below 1 is 1; a negative count is 0.
    let start = p.start_index.unwrap_or(1).max(1);
    let count = p.count.unwrap_or(100).clamp(0, discovery::MAX_PAGE);
    let (total, rows) = users::list(&mut s.tx, compiled.as_ref(), start - 1, count).await?;
    let shape = project::Projection::new(p.attributes.as_deref(), p.excluded_attributes.as_deref());
    let resources: Vec<Value> = rows
        .iter()
        .map(|r| shape.apply(r.resource(&s.base)))
        .collect();
    s.tx.commit().await?;
    Ok(answer(
        StatusCode::OK,
        &json!({
            "schemas": [discovery::LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    ))
}

async fn get_user(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    shape: Result<Query<Shape>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    ext: Ext,
) -> Result<Response, ScimError> {
    let Query(shape) = shape.map_err(|e| ScimError::bad("invalidValue", e.body_text()))?;
    let mut s = open(&st, &slug, &headers, &ext, Access::ReadOnly).await?;
    let row = users::get(&mut s.tx, user_id(&id)?)
        .await?
        .ok_or_else(|| ScimError::not_found("User"))?;
    s.tx.commit().await?;
    let shape = project::Projection::new(
        shape.attributes.as_deref(),
        shape.excluded_attributes.as_deref(),
    );
    Ok(answer(StatusCode::OK, &shape.apply(row.resource(&s.base))))
}

async fn create_user(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ext: Ext,
    body: Bytes,
) -> Result<Response, ScimError> {
    let input = resource::UserInput::parse(&body_json(&body)?)?;
    let mut s = open(&st, &slug, &headers, &ext, Access::ReadWrite).await?;
    let out = users::create(&mut s.tx, &input, st.inner.clock.now()).await?;
    let row = out
        .row
        .clone()
        .ok_or_else(|| ScimError::internal(&"no row created"))?;
    let (base, audit) = (s.base.clone(), payload(None, &out));
    commit(&st, s, "scim.createUser", row.user_id.to_string(), audit).await?;
    let body = row.resource(&base);
    let mut resp = answer(StatusCode::CREATED, &body);
    if let Some(loc) = body["meta"]["location"]
        .as_str()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

/// PUT and PATCH: the new attributes, validated like a creation, replace the stored ones.
async fn write_user(
    st: &AppState,
    (slug, id): (&str, &str),
    headers: &HeaderMap,
    ext: &Ext,
    new: impl FnOnce(&resource::UserRow) -> Result<Value, ScimError>,
    action: &str,
) -> Result<Response, ScimError> {
    let id = user_id(id)?;
    let mut s = open(st, slug, headers, ext, Access::ReadWrite).await?;
    let before = users::get(&mut s.tx, id)
        .await?
        .ok_or_else(|| ScimError::not_found("User"))?;
    let input = resource::UserInput::parse(&new(&before)?)?;
    let out = users::replace(&mut s.tx, &before, &input, st.inner.clock.now()).await?;
    let row = out
        .row
        .clone()
        .ok_or_else(|| ScimError::internal(&"no row updated"))?;
    let (base, audit) = (s.base.clone(), payload(Some(&before), &out));
    commit(st, s, action, row.user_id.to_string(), audit).await?;
    Ok(answer(StatusCode::OK, &row.resource(&base)))
}

async fn replace_user(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    ext: Ext,
    body: Bytes,
) -> Result<Response, ScimError> {
    let body = body_json(&body)?;
    write_user(
        &st,
        (&slug, &id),
        &headers,
        &ext,
        |_| Ok(body),
        "scim.replaceUser",
    )
    .await
}

async fn patch_user(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    ext: Ext,
    body: Bytes,
) -> Result<Response, ScimError> {
    let body = body_json(&body)?;
    write_user(
        &st,
        (&slug, &id),
        &headers,
        &ext,
        |before| patch::apply(&before.writable(), &body),
        "scim.patchUser",
    )
    .await
}

async fn delete_user(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    ext: Ext,
) -> Result<Response, ScimError> {
    let id = user_id(&id)?;
    let mut s = open(&st, &slug, &headers, &ext, Access::ReadWrite).await?;
    let before = users::get(&mut s.tx, id)
        .await?
        .ok_or_else(|| ScimError::not_found("User"))?;
    let out = users::delete(&mut s.tx, &before).await?;
    let audit = payload(Some(&before), &out);
    commit(&st, s, "scim.deleteUser", before.user_id.to_string(), audit).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /.search` across resource types is not offered (RFC 7644 §3.4.3 lets a server say so).
async fn search(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ext: Ext,
) -> Result<Response, ScimError> {
    open(&st, &slug, &headers, &ext, Access::ReadOnly).await?;
    Err(ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        "searching with POST /.search is not supported: use GET /Users?filter=…",
    ))
}

async fn unknown(
    State(st): State<AppState>,
    Path((slug, rest)): Path<(String, String)>,
    headers: HeaderMap,
    ext: Ext,
) -> Result<Response, ScimError> {
    open(&st, &slug, &headers, &ext, Access::ReadOnly).await?;
    Err(ScimError::new(
        StatusCode::NOT_FOUND,
        None,
        format!(
            "/{rest} is not a SCIM endpoint of this server (Users, ServiceProviderConfig, ResourceTypes, Schemas)"
        ),
    ))
}
