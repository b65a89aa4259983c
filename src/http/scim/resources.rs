//! `/scim/v2/{slug}/Users` and `/Groups`: list, get, create, replace, patch and delete, one
//! set of handlers over a resource type's store (`scim::store::Store`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::request::{
    Ext, ListParams, QueryOf, Shape, answer, body_json, commit, created, list_response, open,
    query, resource_id,
};
use crate::http::state::AppState;
use crate::scim::error::ScimError;
use crate::scim::patch as scim_patch;
use crate::scim::store::Store;
use crate::tenancy::Access;

fn missing<S: Store>() -> ScimError {
    ScimError::not_found(S::KIND.name())
}

pub(super) async fn list<S: Store>(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    params: QueryOf<ListParams>,
    headers: HeaderMap,
    ext: Ext,
) -> Result<Response, ScimError> {
    let p = query(params)?;
    let (start, count, filter) = p.page(S::KIND)?;
    let mut s = open(&st, &slug, &headers, &ext, Access::ReadOnly).await?;
    let (total, rows) = S::list(&mut s.tx, filter.as_ref(), start - 1, count).await?;
    s.tx.commit().await?;
    let shape = p.projection(S::KIND);
    let resources = rows
        .iter()
        .map(|r| shape.apply(S::resource(r, &s.base)))
        .collect();
    Ok(list_response(total, start, resources))
}

pub(super) async fn get<S: Store>(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    shape: QueryOf<Shape>,
    headers: HeaderMap,
    ext: Ext,
) -> Result<Response, ScimError> {
    let shape = query(shape)?.projection(S::KIND);
    let id = resource_id(S::KIND, &id)?;
    let mut s = open(&st, &slug, &headers, &ext, Access::ReadOnly).await?;
    let row = S::get(&mut s.tx, id).await?.ok_or_else(missing::<S>)?;
    s.tx.commit().await?;
    Ok(answer(
        StatusCode::OK,
        &shape.apply(S::resource(&row, &s.base)),
    ))
}

pub(super) async fn create<S: Store>(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ext: Ext,
    body: Bytes,
) -> Result<Response, ScimError> {
    let input = S::parse(&body_json(&body)?)?;
    let mut s = open(&st, &slug, &headers, &ext, Access::ReadWrite).await?;
    let out = S::create(&mut s.tx, &input, st.inner.clock.now()).await?;
    let row = S::written(&out)
        .cloned()
        .ok_or_else(|| ScimError::internal(&"nothing was created"))?;
    let (base, audit) = (s.base.clone(), S::audit(None, &out));
    let action = format!("scim.create{}", S::KIND.name());
    commit(&st, s, &action, (S::TARGET, S::target_id(&row)), audit).await?;
    Ok(created(&S::resource(&row, &base)))
}

/// PUT and PATCH: the new attributes, validated like a creation, replace the stored ones.
async fn write<S: Store>(
    st: &AppState,
    (slug, id): (&str, &str),
    headers: &HeaderMap,
    ext: &Ext,
    new: impl FnOnce(&S::Row) -> Result<Value, ScimError>,
    verb: &str,
) -> Result<Response, ScimError> {
    let id = resource_id(S::KIND, id)?;
    let mut s = open(st, slug, headers, ext, Access::ReadWrite).await?;
    let before = S::get(&mut s.tx, id).await?.ok_or_else(missing::<S>)?;
    let input = S::parse(&new(&before)?)?;
    let out = S::replace(&mut s.tx, &before, &input, st.inner.clock.now()).await?;
    let row = S::written(&out)
        .cloned()
        .ok_or_else(|| ScimError::internal(&"nothing was updated"))?;
    let (base, audit) = (s.base.clone(), S::audit(Some(&before), &out));
    let action = format!("scim.{verb}{}", S::KIND.name());
    commit(st, s, &action, (S::TARGET, S::target_id(&row)), audit).await?;
    Ok(answer(StatusCode::OK, &S::resource(&row, &base)))
}

pub(super) async fn replace<S: Store>(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    ext: Ext,
    body: Bytes,
) -> Result<Response, ScimError> {
    let body = body_json(&body)?;
    let new = |_: &S::Row| Ok(body);
    write::<S>(&st, (&slug, &id), &headers, &ext, new, "replace").await
}

pub(super) async fn patch<S: Store>(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    ext: Ext,
    body: Bytes,
) -> Result<Response, ScimError> {
    let body = body_json(&body)?;
    let new = |before: &S::Row| scim_patch::apply(S::PATCH, &S::writable(before), &body);
    write::<S>(&st, (&slug, &id), &headers, &ext, new, "patch").await
}

pub(super) async fn delete<S: Store>(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    ext: Ext,
) -> Result<Response, ScimError> {
    let id = resource_id(S::KIND, &id)?;
    let mut s = open(&st, &slug, &headers, &ext, Access::ReadWrite).await?;
    let before = S::get(&mut s.tx, id).await?.ok_or_else(missing::<S>)?;
    let out = S::delete(&mut s.tx, &before).await?;
    let audit = S::audit(Some(&before), &out);
    let action = format!("scim.delete{}", S::KIND.name());
    commit(&st, s, &action, (S::TARGET, S::target_id(&before)), audit).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
