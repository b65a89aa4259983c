//! Account routes outside any workspace: sign-up (optionally with an invitation), address
//! verification, password reset, and the preview of an invitation link.
//!
//! Links in mail carry their token in the URL fragment; the console posts it here as JSON, so
//! tokens never appear in a URL the server logs. These routes take JSON only and check the
//! `Origin` when one is sent, like the sign-in routes.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::authn::{client, client_within_limit, identity_meta, lifetimes, record};
use super::signin::{json_body, password_error, signed_in_with};
use super::state::AppState;
use crate::crypto::Secret;
use crate::graphql::errors::{ApiError, ErrorCode};
use crate::identity::account::{self, TokenPurpose, TokenUse};
use crate::identity::events::Event;
use crate::identity::session::{self, Aal};
use crate::members::{self, AcceptContext, InvitationStatus};
use crate::tenancy::{self, Access, Slug};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvitationRef {
    workspace: String,
    token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignUp {
    email: String,
    password: Secret<String>,
    display_name: Option<String>,
    /// Sign up to accept this invitation (to the same address).
    invitation: Option<InvitationRef>,
}

async fn handle(f: impl std::future::Future<Output = Result<Response, ApiError>>) -> Response {
    f.await.unwrap_or_else(ApiError::into_http)
}

/// `POST /auth/signup`: creates an account and signs it in (`aal1`). With `invitation`, the
/// address must be the invited one: holding the link proves it, so the address is verified
/// and the invitation accepted in the same transaction (unless the workspace needs a second
/// factor or its SSO first: then the answer's `invitation` says so and it stays pending).
/// Without, a verification link is mailed.
pub async fn signup(State(state): State<AppState>, req: Request<Body>) -> Response {
    handle(signup_inner(&state, req)).await
}

async fn signup_inner(state: &AppState, req: Request<Body>) -> Result<Response, ApiError> {
    if !state.inner.auth.signup_enabled {
        return Err(ApiError::forbidden("sign-up is disabled on this server"));
    }
    let ext = req.extensions().clone();
    let (_, ip) = client(req.headers(), &ext);
    state
        .inner
        .auth_limits
        .signup_ip(&ip)
        .await
        .map_err(ApiError::rate_limited)?;
    let (headers, body): (_, SignUp) = json_body(state, req).await?;
    let email = body.email.trim().to_owned();
    if !crate::identity::valid_email(&email) {
        return Err(ApiError::bad_input("a valid email address is required"));
    }
    let name = body
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(&email)
        .to_owned();
    if name.chars().count() > 200 {
        return Err(ApiError::bad_input(
            "display name must be at most 200 characters",
        ));
    }
    let hash = state
        .inner
        .passwords
        .hash(&body.password)
        .await
        .map_err(password_error)?;
    let now = state.inner.clock.now();
    let mut gtx = tenancy::begin_global(&state.inner.pool, Access::ReadWrite)
        .await
        .map_err(ApiError::from)?;
    // An invitation is checked before the account exists: a bad one creates nothing.
    let invitation = match &body.invitation {
        Some(inv) => {
            let slug = Slug::parse(inv.workspace.trim()).map_err(|_| not_found_invitation())?;
            let found = members::preview(gtx.conn(), &slug, &inv.token, now)
                .await
                .map_err(ApiError::from)?
                .ok_or_else(not_found_invitation)?;
            match found.status {
                InvitationStatus::Pending => {}
                InvitationStatus::Expired => {
                    return Err(members::MemberError::Invitation(members::Refusal::Expired).into());
                }
                InvitationStatus::Revoked => {
                    return Err(members::MemberError::Invitation(members::Refusal::Revoked).into());
                }
                InvitationStatus::Accepted => {
                    return Err(members::MemberError::Invitation(members::Refusal::Used).into());
                }
            }
            if !found.email.eq_ignore_ascii_case(&email) {
                return Err(members::MemberError::EmailMismatch.into());
            }
            Some((slug, inv.token.clone(), found))
        }
        None => None,
    };
    let user_id = session::signup(gtx.conn(), &email, &name, &hash)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Conflict,
                "an account with this email already exists: sign in, or reset its password",
            )
        })?;
    gtx.set_user(user_id).await.map_err(ApiError::from)?;
    let meta = identity_meta(&headers, &ip, user_id, None);
    let mut events = vec![Event::new("auth.signup", serde_json::json!({}))];
    let mut extra = serde_json::Map::new();
    match invitation {
        Some((slug, token, found)) => {
            account::mark_verified(gtx.conn(), user_id, &email)
                .await
                .map_err(ApiError::from)?;
            events.push(Event::new(
                "auth.email_verified",
                serde_json::json!({ "by": "invitation" }),
            ));
            let blocked = if found.sso_only {
                Some(ErrorCode::SsoRequired)
            } else if found.mfa_required {
                Some(ErrorCode::MfaRequired)
            } else {
                None
            };
            let mut outcome = serde_json::json!({ "workspace": slug.as_str(), "accepted": false });
            if let Some(code) = blocked {
                outcome["code"] = code.as_str().into();
            } else {
                let ctx = AcceptContext {
                    user_id,
                    aal2: false,
                    sso_tenant: None,
                    keyring: &state.inner.keyring,
                    meta: &meta,
                    now,
                };
                let joined = members::accept(&mut gtx, ctx, &slug, &token).await?;
                outcome["accepted"] = true.into();
                events.push(Event::new(
                    "membership.joined",
                    serde_json::json!({ "workspace": joined.slug, "role": joined.role }),
                ));
            }
            extra.insert("invitation".into(), outcome);
        }
        None => {
            account::send_verification(
                gtx.conn(),
                &state.inner.keyring,
                user_id,
                state.inner.auth.verification_ttl_hours,
                state.inner.clock.now(),
            )
            .await
            .map_err(ApiError::from)?;
        }
    }
    gtx.commit().await.map_err(ApiError::from)?;
    let (ua, ip) = client(&headers, &ext);
    let (session_id, token) = session::create(
        &state.inner.pool,
        user_id,
        Aal::Aal1,
        lifetimes(state),
        &ua,
        &ip,
    )
    .await
    .map_err(ApiError::from)?;
    tracing::info!(user = %user_id, "sign-up");
    let meta = identity_meta(&headers, &ip, user_id, Some(session_id));
    record(state, &headers, user_id, &meta, &events).await;
    signed_in_with(
        state,
        StatusCode::CREATED,
        user_id,
        &token,
        Aal::Aal1,
        extra,
    )
}

fn not_found_invitation() -> ApiError {
    members::MemberError::Invitation(members::Refusal::NotFound).into()
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

fn token_refused(found: &TokenUse) -> ApiError {
    match found {
        TokenUse::Expired => ApiError::new(
            ErrorCode::TokenExpired,
            "this link has expired: ask for a new one",
        ),
        TokenUse::Used => ApiError::new(ErrorCode::TokenUsed, "this link was used already"),
        TokenUse::Stale => ApiError::new(
            ErrorCode::TokenInvalid,
            "this link was sent to an address the account no longer has",
        ),
        TokenUse::Unknown | TokenUse::Ok { .. } => {
            ApiError::new(ErrorCode::TokenInvalid, "this link is not valid")
        }
    }
}

/// `POST /auth/verify-email` `{token}`: confirms an account's address with the link mailed
/// to it (single use, 24 hours). No session needed: the link may be opened anywhere.
pub async fn verify_email(State(state): State<AppState>, req: Request<Body>) -> Response {
    handle(verify_email_inner(&state, req)).await
}

async fn verify_email_inner(state: &AppState, req: Request<Body>) -> Result<Response, ApiError> {
    let ext = req.extensions().clone();
    let (_, ip) = client_within_limit(state, req.headers(), &ext).await?;
    let (headers, body): (_, TokenBody) = json_body(state, req).await?;
    let mut gtx = tenancy::begin_global(&state.inner.pool, Access::ReadWrite)
        .await
        .map_err(ApiError::from)?;
    let found = account::use_token(gtx.conn(), &body.token, TokenPurpose::VerifyEmail)
        .await
        .map_err(ApiError::from)?;
    let TokenUse::Ok { user_id, email } = found else {
        return Err(token_refused(&found));
    };
    account::mark_verified(gtx.conn(), user_id, &email)
        .await
        .map_err(ApiError::from)?;
    gtx.commit().await.map_err(ApiError::from)?;
    let meta = identity_meta(&headers, &ip, user_id, None);
    let ev = Event::new("auth.email_verified", serde_json::json!({ "by": "link" }));
    record(state, &headers, user_id, &meta, &[ev]).await;
    Ok(axum::Json(serde_json::json!({ "verified": true })).into_response())
}

#[derive(Deserialize)]
struct ResetRequest {
    email: String,
}

/// `POST /auth/password-reset` `{email}`: mails a reset link if an account that may sign in
/// with a password has this address. Always `202` with the same body, after the same work:
/// the answer says nothing about which addresses have accounts. Limited per client address
/// and per address asked for.
pub async fn reset_request(State(state): State<AppState>, req: Request<Body>) -> Response {
    handle(reset_request_inner(&state, req)).await
}

async fn reset_request_inner(state: &AppState, req: Request<Body>) -> Result<Response, ApiError> {
    let ext = req.extensions().clone();
    let (_, ip) = client(req.headers(), &ext);
    let (_, body): (HeaderMap, ResetRequest) = json_body(state, req).await?;
    let email = body.email.trim();
    if !crate::identity::valid_email(email) {
        return Err(ApiError::bad_input("a valid email address is required"));
    }
    state
        .inner
        .auth_limits
        .account_mail(email, &ip)
        .await
        .map_err(ApiError::rate_limited)?;
    let mut gtx = tenancy::begin_global(&state.inner.pool, Access::ReadWrite)
        .await
        .map_err(ApiError::from)?;
    account::request_reset(
        gtx.conn(),
        &state.inner.keyring,
        email,
        state.inner.auth.reset_ttl_minutes,
        state.inner.clock.now(),
    )
    .await
    .map_err(ApiError::from)?;
    gtx.commit().await.map_err(ApiError::from)?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({
            "message": "if an account has this address, a link to reset its password is on its way"
        })),
    )
        .into_response())
}

#[derive(Deserialize)]
struct ResetConfirm {
    token: String,
    password: Secret<String>,
}

/// `POST /auth/password-reset/confirm` `{token, password}`: sets the new password with the
/// mailed link (single use, 30 minutes), verifies the address and signs the account out
/// everywhere. Refused (`FORBIDDEN`) for an account that signs in only through SSO.
pub async fn reset_confirm(State(state): State<AppState>, req: Request<Body>) -> Response {
    handle(reset_confirm_inner(&state, req)).await
}

async fn reset_confirm_inner(state: &AppState, req: Request<Body>) -> Result<Response, ApiError> {
    let ext = req.extensions().clone();
    let (_, ip) = client_within_limit(state, req.headers(), &ext).await?;
    let (headers, body): (_, ResetConfirm) = json_body(state, req).await?;
    // The password is checked (and hashed) before the link is used up.
    let hash = state
        .inner
        .passwords
        .hash(&body.password)
        .await
        .map_err(password_error)?;
    let mut gtx = tenancy::begin_global(&state.inner.pool, Access::ReadWrite)
        .await
        .map_err(ApiError::from)?;
    let found = account::use_token(gtx.conn(), &body.token, TokenPurpose::ResetPassword)
        .await
        .map_err(ApiError::from)?;
    let TokenUse::Ok { user_id, .. } = found else {
        return Err(token_refused(&found));
    };
    if !account::finish_reset(gtx.conn(), user_id, &hash)
        .await
        .map_err(ApiError::from)?
    {
        return Err(ApiError::forbidden(
            "this account signs in through single sign-on: its password cannot be reset here",
        ));
    }
    gtx.commit().await.map_err(ApiError::from)?;
    let meta = identity_meta(&headers, &ip, user_id, None);
    let ev = Event::new(
        "auth.password_reset",
        serde_json::json!({ "sessions_revoked": "all" }),
    );
    record(state, &headers, user_id, &meta, &[ev]).await;
    Ok(axum::Json(serde_json::json!({ "reset": true })).into_response())
}

/// `POST /auth/invitation` `{workspace, token}`: what an invitation link offers, for the page
/// the link opens before anyone signs in: the workspace, the invited address and role, and
/// whether it is still pending. `INVITATION_NOT_FOUND` for an unknown token or one of another
/// workspace. It does not say whether the address has an account.
pub async fn invitation(State(state): State<AppState>, req: Request<Body>) -> Response {
    handle(invitation_inner(&state, req)).await
}

async fn invitation_inner(state: &AppState, req: Request<Body>) -> Result<Response, ApiError> {
    let ext = req.extensions().clone();
    client_within_limit(state, req.headers(), &ext).await?;
    let (_, body): (_, InvitationRef) = json_body(state, req).await?;
    let slug = Slug::parse(body.workspace.trim()).map_err(|_| not_found_invitation())?;
    let mut conn = state.inner.pool.acquire().await.map_err(ApiError::from)?;
    let found = members::preview(&mut conn, &slug, &body.token, state.inner.clock.now())
        .await
        .map_err(ApiError::from)?
        .ok_or_else(not_found_invitation)?;
    let status = match found.status {
        InvitationStatus::Pending => "PENDING",
        InvitationStatus::Expired => "EXPIRED",
        InvitationStatus::Revoked => "REVOKED",
        InvitationStatus::Accepted => "ACCEPTED",
    };
    Ok(axum::Json(serde_json::json!({
        "workspace": { "slug": found.workspace_slug, "name": found.workspace_name },
        "email": found.email,
        "role": found.role.to_uppercase(),
        "status": status,
        "expiresAt": found.expires_at,
        "ssoOnly": found.sso_only,
        "mfaRequired": found.mfa_required,
    }))
    .into_response())
}
