//! Attachments over HTTP.
//!
//! - `POST /w/{slug}/attachments?entityType=project&entityId=...&filename=...`: the body is
//!   the file, streamed to the store (never buffered whole) while its size is counted and its
//!   SHA-256 computed; `Content-Type` is recorded (made safe). The caller's right to edit the
//!   entity is checked before the first byte is read, and again before the metadata commits.
//! - `GET /w/{slug}/attachments/{id}/content`: the signing proxy. It authenticates, checks read
//!   access to the owning entity on every call, and answers `302` to a fresh signed URL.
//! - `GET /blobs/{tenant}/{object}?exp&ct&fn&sig`: serves a signed URL of the filesystem
//!   backend, as an attachment with the recorded type; anything unsigned, altered or expired
//!   is refused.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::authn::{Caller, Client, authorize};
use super::state::AppState;
use crate::audit::{self, EntryMeta, NewEntry};
use crate::authz::{Actor, Permission, Principal};
use crate::db;
use crate::graphql::errors::{ApiError, ErrorCode};
use crate::storage::links::{Holder, Refusal, Signed, Via};
use crate::storage::{
    Download, ObjectKey, ObjectMeta, StorageError, content_disposition, safe_content_type,
    safe_filename,
};
use crate::tenancy::Access;
use crate::work::attachments::{self, AttachedTo, NewAttachment};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadParams {
    entity_type: AttachedTo,
    entity_id: Uuid,
    filename: String,
}

pub(super) fn meta(headers: &HeaderMap, ext: &axum::http::Extensions, p: &Principal) -> EntryMeta {
    let (_, ip) = super::authn::client(headers, ext);
    let (actor_type, actor_id) = match &p.actor {
        Actor::Token { token_id, .. } => ("token", token_id.to_string()),
        Actor::Session { session_id, .. } => ("user", session_id.to_string()),
    };
    EntryMeta {
        actor_type,
        actor_id,
        actor_user: p.user_id.to_string(),
        request_id: headers
            .get(crate::observability::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        client_ip: ip,
    }
}

/// Appends the audit entry of a request made by `principal`, in the request's transaction.
pub(super) async fn audit_request(
    state: &AppState,
    tx: &mut crate::tenancy::TenantTx,
    headers: &HeaderMap,
    ext: &axum::http::Extensions,
    principal: &Principal,
    entry: NewEntry<'_>,
) -> Result<(), ApiError> {
    let tenant_id = tx.tenant_id();
    audit::append(
        tx.conn(),
        &state.inner.keyring,
        tenant_id,
        state.inner.clock.now(),
        &meta(headers, ext, principal),
        entry,
    )
    .await
    .map_err(ApiError::from)?;
    Ok(())
}

pub async fn upload(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    params: Result<Query<UploadParams>, axum::extract::rejection::QueryRejection>,
    req: Request<Body>,
) -> Response {
    let Ok(Query(params)) = params else {
        return ApiError::bad_input(
            "entityType (project, record or idea), entityId and filename are required",
        )
        .into_http();
    };
    upload_inner(&state, &slug, params, req)
        .await
        .unwrap_or_else(ApiError::into_http)
}

/// Authenticates and checks that the caller may attach to the entity.
async fn may_attach(
    state: &AppState,
    headers: &HeaderMap,
    client: Client,
    slug: &str,
    to: AttachedTo,
    id: Uuid,
    count: Option<crate::ratelimit::Route>,
) -> Result<(crate::tenancy::TenantTx, Principal), ApiError> {
    let (mut tx, auth) = authorize(
        state,
        Caller { headers, client },
        slug,
        Access::ReadWrite,
        Permission::WorkWrite,
        "attaching files needs work:write",
        count,
    )
    .await?;
    attachments::ensure_editable(&mut tx, auth.principal.viewer(), to, id)
        .await
        .map_err(ApiError::from)?;
    Ok((tx, auth.principal))
}

async fn upload_inner(
    state: &AppState,
    slug: &str,
    params: UploadParams,
    req: Request<Body>,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let client = Client::of(&parts.extensions, "attachments");
    let headers = parts.headers;
    let filename = safe_filename(&params.filename)
        .ok_or_else(|| ApiError::bad_input("a file name is required"))?;
    let content_type = safe_content_type(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    let max = state.inner.storage.max_upload_bytes;
    let too_large = || {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("attachments are limited to {max} bytes"),
        )
    };
    // Refused before any byte is read or stored: no right to edit, or a declared size
    // beyond the limit.
    let (tx, _) = may_attach(
        state,
        &headers,
        client,
        slug,
        params.entity_type,
        params.entity_id,
        Some(crate::ratelimit::Route::Upload),
    )
    .await?;
    let tenant_id = tx.tenant_id();
    tx.rollback().await.map_err(ApiError::from)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let key = ObjectKey::new(tenant_id);
    let digest = Arc::new(Mutex::new((Sha256::new(), 0u64)));
    let counted = digest.clone();
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(|e| StorageError::Body(e.to_string()))?;
        let mut d = counted
            .lock()
            .map_err(|_| StorageError::Body("hasher poisoned".into()))?;
        d.1 += chunk.len() as u64;
        if d.1 > max {
            return Err(StorageError::TooLarge);
        }
        d.0.update(&chunk);
        Ok(chunk)
    });
    let store = &state.inner.blobs;
    let object_meta = ObjectMeta {
        content_type: content_type.clone(),
        filename: filename.clone(),
    };
    match store.put(&key, &object_meta, Box::pin(stream)).await {
        Ok(()) => {}
        Err(StorageError::TooLarge) => return Err(too_large()),
        Err(StorageError::Body(e)) => {
            return Err(ApiError::bad_input(format!(
                "the upload was interrupted: {e}"
            )));
        }
        Err(e) => return Err(ApiError::internal(&e)),
    }
    let (sha256, size) = {
        let d = digest
            .lock()
            .map_err(|_| ApiError::internal(&"hasher poisoned"))?;
        let h: [u8; 32] = d.0.clone().finalize().into();
        (h, d.1)
    };
    // Record it, after checking the right to edit again (it may have changed meanwhile). On
    // any failure the stored object goes.
    let recorded = async {
        let (mut tx, principal) = may_attach(
            state,
            &headers,
            client,
            slug,
            params.entity_type,
            params.entity_id,
            None,
        )
        .await?;
        let id = Uuid::now_v7();
        let a = attachments::insert(
            &mut tx,
            NewAttachment {
                id,
                to: params.entity_type,
                entity_id: params.entity_id,
                filename: &filename,
                content_type: &content_type,
                size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
                sha256,
                object_key: &key.as_string(),
                uploaded_by: principal.user_id,
            },
        )
        .await
        .map_err(ApiError::from)?;
        audit_request(
            state,
            &mut tx,
            &headers,
            &parts.extensions,
            &principal,
            NewEntry {
                action: "attachment.upload",
                target_type: "Attachment",
                target_id: id.to_string(),
                payload: serde_json::json!({
                    "entity_type": params.entity_type.as_str(), "entity_id": params.entity_id,
                    "filename": a.filename, "content_type": a.content_type,
                    "size_bytes": a.size_bytes, "sha256": hex::encode(&a.sha256),
                }),
            },
        )
        .await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok::<_, ApiError>(a)
    }
    .await;
    let a = match recorded {
        Ok(a) => a,
        Err(e) => {
            let _ = store.delete(&key).await;
            return Err(e);
        }
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(serde_json::json!({
            "id": a.id,
            "filename": a.filename,
            "contentType": a.content_type,
            "size": a.size_bytes,
            "sha256": hex::encode(&a.sha256),
            "contentUrl": format!("/w/{slug}/attachments/{}/content", a.id),
        })),
    )
        .into_response())
}

pub async fn content(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
) -> Response {
    let client = Client::of(&ext, "attachments");
    content_inner(&state, &slug, &id, &headers, client)
        .await
        .unwrap_or_else(ApiError::into_http)
}

async fn content_inner(
    state: &AppState,
    slug: &str,
    id: &str,
    headers: &HeaderMap,
    client: Client,
) -> Result<Response, ApiError> {
    let (mut tx, auth) = authorize(
        state,
        Caller { headers, client },
        slug,
        Access::ReadOnly,
        Permission::WorkspaceRead,
        "reading needs workspace:read",
        Some(crate::ratelimit::Route::Download),
    )
    .await?;
    let id = Uuid::parse_str(id).map_err(|_| ApiError::not_found())?;
    // Every read checks access to the owning entity again.
    let a = attachments::get(&mut tx, auth.principal.viewer(), id)
        .await
        .map_err(ApiError::from)?;
    tx.commit().await.map_err(ApiError::from)?;
    let holder = holder_of(&auth.principal);
    signed_redirect(state, &a.object_key, a.content_type, a.filename, &holder).await
}

/// Who a link is issued to: the principal's user, through its token or session.
pub(super) fn holder_of(p: &crate::authz::Principal) -> Holder {
    Holder {
        user: p.user_id,
        via: match &p.actor {
            crate::authz::Actor::Token { token_id, .. } => Via::Token(*token_id),
            crate::authz::Actor::Session { session_id, .. } => Via::Session(*session_id),
        },
    }
}

/// How long the store's own presigned URL lives after `/blobs` checked a link's holder: long
/// enough for the redirect to be followed, too short to pass around.
const PRESIGNED_TTL_SECS: u64 = 10;

/// `302` to a fresh link, signed by this server for `holder`, to the object at `object_key`,
/// valid for `storage.url_ttl_secs`, that serves it as an attachment with this type and name.
pub(super) async fn signed_redirect(
    state: &AppState,
    object_key: &str,
    content_type: String,
    filename: String,
    holder: &Holder,
) -> Result<Response, ApiError> {
    let key =
        ObjectKey::parse(object_key).ok_or_else(|| ApiError::internal(&"malformed object key"))?;
    let secs = state.inner.storage.url_ttl_secs.max(1);
    let download = Download {
        content_type,
        filename,
        expires_at: state.inner.clock.now() + chrono::Duration::seconds(secs),
        ttl: std::time::Duration::from_secs(secs.unsigned_abs()),
    };
    redirect(&state.inner.links.sign(&key, &download, holder))
}

fn redirect(url: &str) -> Result<Response, ApiError> {
    let mut resp = StatusCode::FOUND.into_response();
    resp.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(url).map_err(|_| ApiError::internal(&"bad URL"))?,
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

pub async fn blob(
    State(state): State<AppState>,
    Path((tenant, object)): Path<(String, String)>,
    query: Result<Query<Signed>, axum::extract::rejection::QueryRejection>,
    ext: axum::http::Extensions,
) -> Response {
    let client = Client::of(&ext, "blobs");
    blob_inner(&state, &tenant, &object, query.ok().map(|q| q.0), client)
        .await
        .unwrap_or_else(ApiError::into_http)
}

async fn blob_inner(
    state: &AppState,
    tenant: &str,
    object: &str,
    query: Option<Signed>,
    client: Client,
) -> Result<Response, ApiError> {
    let denied = || ApiError::forbidden("this link is not valid");
    let key = ObjectKey::parse(&format!("{tenant}/{object}")).ok_or_else(denied)?;
    let q = query.ok_or_else(denied)?;
    let holder = match state.inner.links.verify(&key, &q, state.inner.clock.now()) {
        Ok(h) => h,
        Err(Refusal::BadSignature) => return Err(denied()),
        Err(Refusal::Expired) => return Err(ApiError::forbidden("this link has expired")),
    };
    // The holder must still be entitled: a member, through a token or session still valid;
    // and the link is followed from an address the workspace's allowlist admits, whoever
    // holds it (the link travels; the network rule stays).
    let (token, session) = match holder.via {
        Via::Token(t) => (Some(t), None),
        Via::Session(s) => (None, Some(s)),
    };
    let (valid, inside): (bool, bool) = db::query_as(
        "SELECT public.tessera_link_holder_valid($1, $2, $3, $4), \
                public.tessera_link_client_allowed($1, $5::inet)",
    )
    .bind(key.tenant)
    .bind(holder.user)
    .bind(token)
    .bind(session)
    .bind(client.ip.map(|ip| ip.to_canonical().to_string()))
    .fetch_one(&mut *state.inner.pool.acquire().await.map_err(ApiError::from)?)
    .await
    .map_err(ApiError::from)?;
    if !valid {
        tracing::info!(user = %holder.user, "signed link of a holder no longer entitled refused");
        return Err(ApiError::forbidden(
            "this link was issued to access that has ended",
        ));
    }
    if !inside {
        let actor = format!("user:{}", holder.user);
        return Err(super::authn::outside_allowlist(&key.tenant, &actor, client));
    }
    let Some(fs) = state.inner.fs_blobs.as_ref() else {
        // The object is in S3: a presigned URL that lives only long enough to be followed.
        let download = Download {
            content_type: safe_content_type(Some(&q.ct)),
            filename: q.filename.clone(),
            expires_at: state.inner.clock.now() + chrono::Duration::seconds(10),
            ttl: std::time::Duration::from_secs(PRESIGNED_TTL_SECS),
        };
        let url = state
            .inner
            .blobs
            .presigned_url(&key, &download)
            .await
            .map_err(|e| ApiError::internal(&e))?
            .ok_or_else(ApiError::not_found)?;
        return redirect(&url);
    };
    let path = fs.path(&key);
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ApiError::not_found()),
        Err(e) => return Err(ApiError::internal(&e)),
    };
    let len = file.metadata().await.map(|m| m.len()).ok();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    let value = |s: &str| HeaderValue::from_str(s).map_err(|_| ApiError::internal(&"bad header"));
    // The signed content type (made safe at upload) is forced; browsers may not sniff, and
    // nothing in the response can run as a page of this origin.
    h.insert(
        header::CONTENT_TYPE,
        value(&safe_content_type(Some(&q.ct)))?,
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        value(&content_disposition(&q.filename))?,
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Some(len) = len {
        h.insert(header::CONTENT_LENGTH, value(&len.to_string())?);
    }
    Ok(resp)
}
