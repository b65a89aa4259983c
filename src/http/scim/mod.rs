//! `/scim/v2/{slug}/…`: the workspace's SCIM 2.0 service provider (docs/scim.md): discovery
//! here, `Users` in `users`, `Groups` in `groups`.
//!
//! Every request: a SCIM token of this workspace (`tsc_…`, checked before the workspace is
//! entered; one of another workspace is unknown here), the workspace entered as the server
//! with the client's address checked against its IP allowlist, the request counted against
//! the workspace's rate limits, and every change appended to the audit chain with actor type
//! `scim` (the token's id) in the change's own transaction.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;

use super::state::AppState;
use crate::scim::error::ScimError;
use crate::scim::groups::Groups;
use crate::scim::users::Users;
use crate::scim::{Kind, discovery};
use crate::tenancy::Access;
use request::{Ext, answer, open};

mod request;
mod resources;

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
        .route(
            "/scim/v2/{slug}/Users",
            get(resources::list::<Users>).post(resources::create::<Users>),
        )
        .route(
            "/scim/v2/{slug}/Users/{id}",
            get(resources::get::<Users>)
                .put(resources::replace::<Users>)
                .patch(resources::patch::<Users>)
                .delete(resources::delete::<Users>),
        )
        .route(
            "/scim/v2/{slug}/Groups",
            get(resources::list::<Groups>).post(resources::create::<Groups>),
        )
        .route(
            "/scim/v2/{slug}/Groups/{id}",
            get(resources::get::<Groups>)
                .put(resources::replace::<Groups>)
                .patch(resources::patch::<Groups>)
                .delete(resources::delete::<Groups>),
        )
        .route("/scim/v2/{slug}/.search", axum::routing::post(search))
        .route("/scim/v2/{slug}/{*rest}", axum::routing::any(unknown))
}

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
    let all = [Kind::User, Kind::Group].map(|k| discovery::resource_type(&s.base, k));
    Ok(answer(StatusCode::OK, &discovery::list(all.into())))
}

async fn resource_type(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    ext: Ext,
) -> Result<Response, ScimError> {
    let s = open(&st, &slug, &headers, &ext, Access::ReadOnly).await?;
    let kind = discovery::kind_of(&id).ok_or_else(|| ScimError::not_found("ResourceType"))?;
    Ok(answer(
        StatusCode::OK,
        &discovery::resource_type(&s.base, kind),
    ))
}

async fn schemas(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ext: Ext,
) -> Result<Response, ScimError> {
    let s = open(&st, &slug, &headers, &ext, Access::ReadOnly).await?;
    let all = [Kind::User, Kind::Group].map(|k| discovery::schema(&s.base, k));
    Ok(answer(StatusCode::OK, &discovery::list(all.into())))
}

async fn schema(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    ext: Ext,
) -> Result<Response, ScimError> {
    let s = open(&st, &slug, &headers, &ext, Access::ReadOnly).await?;
    let kind = discovery::kind_of(&id).ok_or_else(|| ScimError::not_found("Schema"))?;
    Ok(answer(StatusCode::OK, &discovery::schema(&s.base, kind)))
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
        "searching with POST /.search is not supported: use GET /Users?filter=… or GET /Groups?filter=…",
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
            "/{rest} is not a SCIM endpoint of this server (Users, Groups, ServiceProviderConfig, ResourceTypes, Schemas)"
        ),
    ))
}
