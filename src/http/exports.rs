//! Workspace exports (`export:run`), each audited before it starts and streamed from one
//! snapshot transaction:
//!
//! - `GET /w/{slug}/export`: the whole workspace as one JSON document with a manifest
//!   (`crate::export`).
//! - `GET /w/{slug}/export/{entity}.csv`: one entity type as CSV, produced by PostgreSQL's
//!   `COPY ... TO STDOUT`. Text that a spreadsheet would evaluate as a formula (starting with
//!   `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'`.
//! - `GET /w/{slug}/audit/export?from&to&format&action`: the audit entries of a time range
//!   (`audit:read`), JSON Lines with the hashes and checkpoints that let them be checked
//!   against the chain, or CSV (formulas defused); see `crate::audit::export`.
//! - `GET /w/{slug}/exports/{id}/content`: the signing proxy of a background export
//!   (`startExport`): checks `export:run` again, records the download, and answers `302` to a
//!   fresh short-lived signed link to the file in the attachment store.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use super::attachments::audit_request;
use super::authn::{Caller, Client, authenticate, authorize, bearer};
use super::state::AppState;
use crate::audit::NewEntry;
use crate::authz::Permission;
use crate::export::job::Status;
use crate::graphql::errors::{ApiError, ErrorCode};
use crate::tenancy::{Access, CopyError, TenantTx};

/// A text column, defused against spreadsheet formula injection.
fn text(col: &str) -> String {
    format!("CASE WHEN {col} ~ '^[=+@\\t\\r-]' THEN '''' || {col} ELSE {col} END AS {col}")
}

/// The query of one entity type's CSV, or `None` for an unknown type.
fn query(entity: &str) -> Option<String> {
    let q = match entity {
        "teams" => format!(
            "SELECT id, {}, visibility, archived_at, created_at FROM teams ORDER BY id",
            text("name")
        ),
        "members" => format!(
            "SELECT u.id AS user_id, {}, {}, m.role, m.created_at AS joined_at
             FROM public.memberships m JOIN public.users u ON u.id = m.user_id
             WHERE m.tenant_id = public.tessera_tenant_of(current_user) ORDER BY u.id",
            text("u.email").replace("AS u.email", "AS email"),
            text("u.display_name").replace("AS u.display_name", "AS display_name")
        ),
        "goals" => format!(
            "SELECT id, {}, {}, archived_at, created_at FROM goals ORDER BY id",
            text("title"),
            text("description")
        ),
        "projects" => format!(
            "SELECT id, team_id, goal_id, {}, {}, archived_at, created_at, updated_at
             FROM projects ORDER BY id",
            text("name"),
            text("description")
        ),
        "records" => format!(
            "SELECT id, project_id, {}, {}, status, assignee_id, fields, archived_at, created_at, updated_at
             FROM records ORDER BY id",
            text("title"),
            text("body")
        ),
        "ideas" => format!(
            "SELECT id, {}, {}, promoted_project_id, archived_at, created_at FROM ideas ORDER BY id",
            text("title"),
            text("body")
        ),
        "attachments" => format!(
            "SELECT id, entity_type, entity_id, {}, content_type, size_bytes,
                    encode(sha256, 'hex') AS sha256, uploaded_by, created_at
             FROM attachments ORDER BY id",
            text("filename")
        ),
        _ => return None,
    };
    Some(format!("COPY ({q}) TO STDOUT WITH (FORMAT csv, HEADER)"))
}

/// What an export needs and how the audit chain names it.
struct Kind {
    needs: Permission,
    action: &'static str,
}

const WORKSPACE_EXPORT: Kind = Kind {
    needs: Permission::ExportRun,
    action: "workspace.export",
};

/// Authorizes an export, records it in the audit chain, and opens the snapshot it reads.
async fn begin_export(
    state: &AppState,
    slug: &str,
    headers: &HeaderMap,
    ext: &axum::http::Extensions,
    kind: Kind,
    what: serde_json::Value,
) -> Result<TenantTx, ApiError> {
    let token = bearer(headers)?;
    let client = Client::of(ext, "exports");
    let (mut tx, auth) = authenticate(
        state,
        headers,
        slug,
        token.as_ref(),
        false,
        Access::ReadWrite,
        client,
    )
    .await?;
    if !auth.principal.has(kind.needs) {
        return Err(ApiError::forbidden(format!(
            "this export needs {}",
            kind.needs.as_str()
        )));
    }
    super::authn::count_request(state, &tx, &auth.principal, crate::ratelimit::Route::Export)
        .await?;
    let tenant_id = tx.tenant_id();
    audit_request(
        state,
        &mut tx,
        headers,
        ext,
        &auth.principal,
        NewEntry {
            action: kind.action,
            target_type: "Workspace",
            target_id: tenant_id.to_string(),
            payload: what,
        },
    )
    .await?;
    tx.commit().await.map_err(ApiError::from)?;
    let (snapshot, _) = authenticate(
        state,
        headers,
        slug,
        token.as_ref(),
        false,
        Access::Snapshot,
        client,
    )
    .await?;
    Ok(snapshot)
}

/// A download streamed from what a background task writes into `reader`.
fn download(
    reader: tokio::io::DuplexStream,
    content_type: &'static str,
    filename: &str,
) -> Result<Response, ApiError> {
    let mut resp = Response::new(Body::from_stream(tokio_util::io::ReaderStream::new(reader)));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
            .map_err(|_| ApiError::internal(&"bad header"))?,
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

pub async fn json(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
) -> Result<Response, ApiError> {
    let (state, slug, headers, ext) = (&state, slug.as_str(), &headers, &ext);
    let what =
        serde_json::json!({ "format": crate::export::FORMAT, "version": crate::export::VERSION });
    let mut snapshot = begin_export(state, slug, headers, ext, WORKSPACE_EXPORT, what).await?;
    let (mut writer, reader) = tokio::io::duplex(64 * 1024);
    let keyring = state.inner.keyring.clone();
    tokio::spawn(async move {
        // A failure midway truncates the document: its manifest is then missing, which a
        // reader detects.
        if let Err(e) = crate::export::write(&mut snapshot, &keyring, &mut writer).await {
            tracing::error!(error = %e, "export failed");
        }
        let _ = snapshot.rollback().await;
    });
    download(reader, "application/json", &format!("{slug}-export.json"))
}

pub async fn csv(
    State(state): State<AppState>,
    Path((slug, file)): Path<(String, String)>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
) -> Result<Response, ApiError> {
    let (state, slug, file, headers, ext) = (&state, slug.as_str(), file.as_str(), &headers, &ext);
    let entity = file.strip_suffix(".csv").unwrap_or(file);
    let copy = query(entity).ok_or_else(ApiError::not_found)?;
    let what = serde_json::json!({ "format": "csv", "entity": entity });
    let mut snapshot = begin_export(state, slug, headers, ext, WORKSPACE_EXPORT, what).await?;
    let (mut writer, reader) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        match snapshot.copy_out(&copy, &mut writer).await {
            Ok(_) => {}
            // The client went away; the COPY was drained, the connection is clean.
            Err(CopyError::Write(e)) => tracing::info!(error = %e, "CSV export abandoned"),
            Err(CopyError::Db(e)) => tracing::error!(error = %e, "CSV export failed"),
        }
        let _ = snapshot.rollback().await;
    });
    download(
        reader,
        "text/csv; charset=utf-8",
        &format!("{slug}-{entity}.csv"),
    )
}

pub async fn content(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
) -> Result<Response, ApiError> {
    let (state, slug, id, headers, ext) = (&state, slug.as_str(), id.as_str(), &headers, &ext);
    let (mut tx, auth) = authorize(
        state,
        Caller {
            headers,
            client: Client::of(ext, "exports"),
        },
        slug,
        Access::ReadWrite,
        Permission::ExportRun,
        "exports need export:run",
        Some(crate::ratelimit::Route::Download),
    )
    .await?;
    let id = uuid::Uuid::parse_str(id).map_err(|_| ApiError::not_found())?;
    let export = crate::export::job::get(&mut tx, id)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(ApiError::not_found)?;
    let expired = export
        .expires_at
        .is_some_and(|at| at <= state.inner.clock.now());
    let object_key = match (export.status, export.object_key) {
        (Status::Done, Some(k)) if !expired => k,
        (Status::Done, _) => return Err(ApiError::new(ErrorCode::Gone, "this export has expired")),
        (Status::Expired, _) => {
            return Err(ApiError::new(ErrorCode::Gone, "this export has expired"));
        }
        (Status::Failed, _) => return Err(ApiError::new(ErrorCode::Gone, "this export failed")),
        _ => {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "this export is not finished yet",
            ));
        }
    };
    audit_request(
        state,
        &mut tx,
        headers,
        ext,
        &auth.principal,
        NewEntry {
            action: "workspace.export.download",
            target_type: "Export",
            target_id: id.to_string(),
            payload: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await.map_err(ApiError::from)?;
    let filename = format!(
        "{slug}-export-{}.json",
        export.created_at.format("%Y%m%dT%H%M%SZ")
    );
    let holder = super::attachments::holder_of(&auth.principal);
    super::attachments::signed_redirect(
        state,
        &object_key,
        "application/json".into(),
        filename,
        &holder,
    )
    .await
}

#[derive(serde::Deserialize)]
pub struct AuditRange {
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
    /// `json` (JSON Lines, the default) or `csv`.
    format: Option<String>,
    /// Actions to keep, comma-separated (empty: all).
    action: Option<String>,
}

/// `GET /w/{slug}/audit/export`: the audit entries of a time range.
pub async fn audit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    range: Result<axum::extract::Query<AuditRange>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
) -> Result<Response, ApiError> {
    let axum::extract::Query(range) = range.map_err(|_| {
        ApiError::bad_input(
            "from and to are RFC 3339 times (2026-12-01T00:00:00Z); format is json or csv",
        )
    })?;
    let format = match range.format.as_deref().unwrap_or("json") {
        "json" => crate::audit::Format::JsonLines,
        "csv" => crate::audit::Format::Csv,
        _ => return Err(ApiError::bad_input("format is json or csv")),
    };
    if let (Some(from), Some(to)) = (range.from, range.to)
        && from > to
    {
        return Err(ApiError::bad_input("the range ends before it starts"));
    }
    let filter = crate::audit::Filter {
        from: range.from,
        to: range.to,
        actions: range
            .action
            .iter()
            .flat_map(|a| a.split(','))
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
        ..crate::audit::Filter::default()
    };
    let what = serde_json::json!({
        "format": if format == crate::audit::Format::Csv { "csv" } else { "jsonl" },
        "from": filter.from, "to": filter.to, "actions": filter.actions,
    });
    let kind = Kind {
        needs: Permission::AuditRead,
        action: "audit.export",
    };
    let mut snapshot = begin_export(&state, &slug, &headers, &ext, kind, what).await?;
    let (mut writer, reader) = tokio::io::duplex(64 * 1024);
    let keyring = state.inner.keyring.clone();
    tokio::spawn(async move {
        let tenant_id = snapshot.tenant_id();
        let written = crate::audit::export(
            snapshot.conn(),
            &keyring,
            tenant_id,
            &filter,
            format,
            &mut writer,
        )
        .await;
        if let Err(e) = written {
            // A truncated JSON Lines export lacks its checkpoint lines; readers detect it.
            tracing::info!(error = %e, "audit export ended early");
        }
        let _ = snapshot.rollback().await;
    });
    let (content_type, ext_name) = match format {
        crate::audit::Format::Csv => ("text/csv; charset=utf-8", "csv"),
        crate::audit::Format::JsonLines => ("application/jsonl", "jsonl"),
    };
    download(reader, content_type, &format!("{slug}-audit.{ext_name}"))
}
