//! Invitations: a workspace invites an address with a role and teams; the invitee accepts
//! with the token mailed to that address.
//!
//! The token (`tsi_`, 256 random bits) is stored only as its SHA-256, expires, works once, and
//! is looked up together with the workspace it names: a token of another workspace finds what
//! an unknown one finds. Resending rotates it (the previous link stops working). Acceptance
//! needs a signed-in account whose verified address is the invited one (case-insensitive), and
//! meets the workspace's policies at that moment: `aal2` where it requires a second factor;
//! through its identity provider where it is SSO-only ([`sso_accept`]).

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{Manager, MemberError, Refusal};
use crate::audit::{self, EntryMeta, NewEntry};
use crate::authz::Role;
use crate::crypto::Keyring;
use crate::db;
use crate::identity::opaque;
use crate::mail::{self, Mail};
use crate::tenancy::{GlobalTx, Slug, TenantTx};

/// Prefix of invitation tokens.
pub const INVITATION_PREFIX: &str = "tsi_";

/// An invitation as the workspace's managers see it (never its token).
#[derive(Debug, Clone, db::FromRow)]
pub struct Invitation {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub team_ids: Vec<Uuid>,
    pub invited_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub sent_count: i32,
    pub last_sent_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_by: Option<Uuid>,
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    Pending,
    Expired,
    Revoked,
    Accepted,
}

impl Invitation {
    pub fn status(&self, now: DateTime<Utc>) -> InvitationStatus {
        status_of(self.accepted_at, self.revoked_at, self.expires_at, now)
    }
}

fn status_of(
    accepted: Option<DateTime<Utc>>,
    revoked: Option<DateTime<Utc>>,
    expires: DateTime<Utc>,
    now: DateTime<Utc>,
) -> InvitationStatus {
    match (accepted, revoked) {
        (Some(_), _) => InvitationStatus::Accepted,
        (None, Some(_)) => InvitationStatus::Revoked,
        (None, None) if expires <= now => InvitationStatus::Expired,
        (None, None) => InvitationStatus::Pending,
    }
}

const COLS: &str = "id, email, role, team_ids, invited_by, created_at, expires_at, sent_count, \
                    last_sent_at, revoked_at, accepted_at, accepted_by";

/// What an invitation offers.
#[derive(Debug, Clone, Copy)]
pub struct NewInvitation<'a> {
    pub email: &'a str,
    pub role: Role,
    pub team_ids: &'a [Uuid],
}

/// Invites an address: the row, its token, and the mail, in the request's transaction.
pub async fn invite(
    tx: &mut TenantTx,
    keyring: &Keyring,
    by: &Manager,
    new: NewInvitation<'_>,
    ttl_hours: i64,
    now: DateTime<Utc>,
) -> Result<Invitation, MemberError> {
    let email = new.email.trim();
    if !crate::identity::valid_email(email) {
        return Err(MemberError::Invalid(
            "a valid email address is required".into(),
        ));
    }
    by.may_grant(new.role)?;
    check_teams(tx, new.team_ids).await?;
    let member: bool = db::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM public.memberships m JOIN public.users u ON u.id = m.user_id
                        WHERE m.tenant_id = $1 AND lower(u.email) = lower($2))",
    )
    .bind(tx.tenant_id())
    .bind(email)
    .fetch_one(tx.conn())
    .await?;
    if member {
        return Err(MemberError::AlreadyMember);
    }
    // A pending invitation that expired makes way for the new one; a live one is resent instead.
    let pending: Option<(Uuid, DateTime<Utc>)> = db::query_as(
        "SELECT id, expires_at FROM public.invitations
         WHERE tenant_id = $1 AND lower(email) = lower($2) AND revoked_at IS NULL
           AND accepted_at IS NULL
         FOR UPDATE",
    )
    .bind(tx.tenant_id())
    .bind(email)
    .fetch_optional(tx.conn())
    .await?;
    if let Some((old, expires)) = pending {
        if expires > now {
            return Err(MemberError::AlreadyInvited);
        }
        db::query("UPDATE public.invitations SET revoked_at = $2, revoked_by = $3 WHERE id = $1")
            .bind(old)
            .bind(now)
            .bind(by.user_id)
            .execute(tx.conn())
            .await?;
    }
    let (token, hash) = opaque::generate(INVITATION_PREFIX);
    let expires_at = now + Duration::hours(ttl_hours.clamp(1, 24 * 90));
    let inv: Invitation = db::query_as(&format!(
        "INSERT INTO public.invitations (id, tenant_id, email, role, team_ids, token_hash, invited_by,
                                         created_at, expires_at, last_sent_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8)
         RETURNING {COLS}"
    ))
    .bind(Uuid::now_v7())
    .bind(tx.tenant_id())
    .bind(email)
    .bind(new.role.as_str())
    .bind(new.team_ids)
    .bind(&hash[..])
    .bind(by.user_id)
    .bind(now)
    .bind(expires_at)
    .fetch_one(tx.conn())
    .await?;
    send(tx, keyring, &inv, by.user_id, token.expose()).await?;
    tx.note_change(serde_json::json!({
        "entity": "invitation", "id": inv.id,
        "after": { "email": inv.email, "role": inv.role, "teams": inv.team_ids, "expires_at": inv.expires_at },
    }));
    Ok(inv)
}

/// Teams must exist in the workspace and not be archived.
async fn check_teams(tx: &mut TenantTx, team_ids: &[Uuid]) -> Result<(), MemberError> {
    if team_ids.len() > 50 {
        return Err(MemberError::Invalid("at most 50 teams".into()));
    }
    let found: i64 =
        db::query_scalar("SELECT count(*) FROM teams WHERE id = ANY($1) AND archived_at IS NULL")
            .bind(team_ids)
            .fetch_one(tx.conn())
            .await?;
    let mut distinct = team_ids.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if usize::try_from(found).unwrap_or(0) != distinct.len() {
        return Err(MemberError::Invalid("a team does not exist".into()));
    }
    Ok(())
}

/// Queues the invitation mail with `token`.
async fn send(
    tx: &mut TenantTx,
    keyring: &Keyring,
    inv: &Invitation,
    inviter: Uuid,
    token: &str,
) -> Result<(), MemberError> {
    let inviter_name: Option<String> =
        db::query_scalar("SELECT display_name FROM public.users WHERE id = $1")
            .bind(inviter)
            .fetch_optional(tx.conn())
            .await?;
    let mail = Mail::Invitation {
        workspace_name: tx.tenant().name.clone(),
        workspace_slug: tx.tenant().slug.as_str().to_owned(),
        inviter_name: inviter_name.unwrap_or_else(|| "A member".into()),
        role: inv.role.clone(),
        token: token.to_owned(),
        expires_at: inv.expires_at,
    };
    mail::enqueue(tx.conn(), keyring, &inv.email, &mail).await?;
    Ok(())
}

/// The workspace's invitations, newest first.
pub async fn list(tx: &mut TenantTx, first: i64) -> Result<Vec<Invitation>, MemberError> {
    Ok(db::query_as(&format!(
        "SELECT {COLS} FROM public.invitations WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT $2"
    ))
    .bind(tx.tenant_id())
    .bind(first)
    .fetch_all(tx.conn())
    .await?)
}

async fn get_for_update(tx: &mut TenantTx, id: Uuid) -> Result<Invitation, MemberError> {
    db::query_as(&format!(
        "SELECT {COLS} FROM public.invitations WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
    ))
    .bind(tx.tenant_id())
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(MemberError::NotFound)
}

/// Revokes a pending (or expired) invitation: its link stops working.
pub async fn revoke(
    tx: &mut TenantTx,
    by: &Manager,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Invitation, MemberError> {
    let inv = get_for_update(tx, id).await?;
    by.may_grant(Role::parse(&inv.role).unwrap_or(Role::Member))?;
    match inv.status(now) {
        InvitationStatus::Accepted => return Err(MemberError::Invitation(Refusal::Used)),
        InvitationStatus::Revoked => return Err(MemberError::Invitation(Refusal::Revoked)),
        InvitationStatus::Pending | InvitationStatus::Expired => {}
    }
    let inv: Invitation = db::query_as(&format!(
        "UPDATE public.invitations SET revoked_at = $2, revoked_by = $3 WHERE id = $1 RETURNING {COLS}"
    ))
    .bind(id)
    .bind(now)
    .bind(by.user_id)
    .fetch_one(tx.conn())
    .await?;
    tx.note_change(serde_json::json!({
        "entity": "invitation", "id": id, "before": { "status": "pending" }, "after": { "status": "revoked" },
    }));
    Ok(inv)
}

/// Sends a pending or expired invitation again with a new token (the old link stops
/// working) and a new expiry.
pub async fn resend(
    tx: &mut TenantTx,
    keyring: &Keyring,
    by: &Manager,
    id: Uuid,
    ttl_hours: i64,
    now: DateTime<Utc>,
) -> Result<Invitation, MemberError> {
    let inv = get_for_update(tx, id).await?;
    by.may_grant(Role::parse(&inv.role).unwrap_or(Role::Member))?;
    match inv.status(now) {
        InvitationStatus::Accepted => return Err(MemberError::Invitation(Refusal::Used)),
        InvitationStatus::Revoked => return Err(MemberError::Invitation(Refusal::Revoked)),
        InvitationStatus::Pending | InvitationStatus::Expired => {}
    }
    let (token, hash) = opaque::generate(INVITATION_PREFIX);
    let expires_at = now + Duration::hours(ttl_hours.clamp(1, 24 * 90));
    let inv: Invitation = db::query_as(&format!(
        "UPDATE public.invitations
            SET token_hash = $2, expires_at = $3, sent_count = sent_count + 1, last_sent_at = $4
          WHERE id = $1 RETURNING {COLS}"
    ))
    .bind(id)
    .bind(&hash[..])
    .bind(expires_at)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    send(tx, keyring, &inv, by.user_id, token.expose()).await?;
    tx.note_change(serde_json::json!({
        "entity": "invitation", "id": id, "after": { "expires_at": expires_at, "sent_count": inv.sent_count },
    }));
    Ok(inv)
}

/// What the holder of an invitation link may see before signing in: the workspace, the
/// invited address and role, and where the invitation stands. Nothing says whether the
/// address has an account.
#[derive(Debug, Clone)]
pub struct Preview {
    pub workspace_slug: String,
    pub workspace_name: String,
    pub email: String,
    pub role: String,
    pub status: InvitationStatus,
    pub expires_at: DateTime<Utc>,
    pub sso_only: bool,
    pub mfa_required: bool,
}

#[derive(db::FromRow)]
struct Found {
    id: Uuid,
    tenant_id: Uuid,
    slug: String,
    workspace_name: String,
    email: String,
    role: String,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    accepted_at: Option<DateTime<Utc>>,
    mfa_required: bool,
    sso_only: bool,
}

async fn find(
    conn: &mut db::Conn,
    workspace: &Slug,
    token: &str,
) -> Result<Option<Found>, db::Error> {
    let Some(hash) = opaque::parse(INVITATION_PREFIX, token) else {
        return Ok(None);
    };
    db::query_as(
        "SELECT id, tenant_id, slug, workspace_name, email, role, expires_at, revoked_at,
                accepted_at, mfa_required, sso_only
         FROM public.tessera_invitation_by_token($1, $2)",
    )
    .bind(&hash[..])
    .bind(workspace.as_str())
    .fetch_optional(conn)
    .await
}

/// The preview of an invitation link (see [`Preview`]); `None` for an unknown token or one of
/// another workspace.
pub async fn preview(
    conn: &mut db::Conn,
    workspace: &Slug,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Preview>, db::Error> {
    Ok(find(conn, workspace, token).await?.map(|f| Preview {
        status: status_of(f.accepted_at, f.revoked_at, f.expires_at, now),
        workspace_slug: f.slug,
        workspace_name: f.workspace_name,
        email: f.email,
        role: f.role,
        expires_at: f.expires_at,
        sso_only: f.sso_only,
        mfa_required: f.mfa_required,
    }))
}

/// The signed-in account accepting an invitation.
#[derive(Debug, Clone, Copy)]
pub struct AcceptContext<'a> {
    pub user_id: Uuid,
    /// The session is at `aal2`.
    pub aal2: bool,
    /// The workspace whose SSO created the session, if any.
    pub sso_tenant: Option<Uuid>,
    pub keyring: &'a Keyring,
    pub meta: &'a EntryMeta,
    pub now: DateTime<Utc>,
}

/// A workspace joined.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub tenant_id: Uuid,
    pub slug: String,
    pub name: String,
    pub role: String,
}

/// Accepts an invitation for the signed-in account, in its request's global transaction:
/// the checks above, then (as the workspace's role) the invitation used, the membership and
/// team memberships created, and `invitation.accept` in the workspace's audit chain.
pub async fn accept(
    gtx: &mut GlobalTx,
    ctx: AcceptContext<'_>,
    workspace: &Slug,
    token: &str,
) -> Result<Accepted, MemberError> {
    let found = find(gtx.conn(), workspace, token)
        .await?
        .ok_or(MemberError::Invitation(Refusal::NotFound))?;
    match status_of(
        found.accepted_at,
        found.revoked_at,
        found.expires_at,
        ctx.now,
    ) {
        InvitationStatus::Accepted => return Err(MemberError::Invitation(Refusal::Used)),
        InvitationStatus::Revoked => return Err(MemberError::Invitation(Refusal::Revoked)),
        InvitationStatus::Expired => return Err(MemberError::Invitation(Refusal::Expired)),
        InvitationStatus::Pending => {}
    }
    let (email, verified): (String, Option<DateTime<Utc>>) =
        db::query_as("SELECT email, email_verified_at FROM public.users WHERE id = $1")
            .bind(ctx.user_id)
            .fetch_one(gtx.conn())
            .await?;
    if !email.eq_ignore_ascii_case(found.email.trim()) {
        return Err(MemberError::EmailMismatch);
    }
    if verified.is_none() {
        return Err(MemberError::EmailNotVerified);
    }
    if found.sso_only && ctx.sso_tenant != Some(found.tenant_id) {
        return Err(MemberError::SsoRequired);
    }
    if found.mfa_required && !ctx.aal2 {
        return Err(MemberError::MfaRequired);
    }
    let (_, standing) = gtx
        .enter_workspace(workspace, Some(ctx.user_id))
        .await?
        .ok_or(MemberError::Invitation(Refusal::NotFound))?;
    if standing.is_some() {
        return Err(MemberError::AlreadyMember);
    }
    let joined = join(gtx.conn(), found.tenant_id, found.id, ctx.user_id, ctx.now).await?;
    let Some((role, teams)) = joined else {
        // Used (or revoked) by a concurrent request since it was read.
        return Err(MemberError::Invitation(Refusal::Used));
    };
    audit::append(
        gtx.conn(),
        ctx.keyring,
        found.tenant_id,
        ctx.now,
        ctx.meta,
        NewEntry {
            action: "invitation.accept",
            target_type: "Member",
            target_id: ctx.user_id.to_string(),
            payload: serde_json::json!({
                "invitation": found.id,
                "after": { "email": email, "role": role, "teams": teams },
            }),
        },
    )
    .await
    .map_err(|e| match e {
        audit::AuditError::Db(e) => MemberError::Db(e),
        other => MemberError::Invalid(other.to_string()),
    })?;
    gtx.leave_workspace(ctx.user_id).await?;
    Ok(Accepted {
        tenant_id: found.tenant_id,
        slug: found.slug,
        name: found.workspace_name,
        role,
    })
}

/// As the workspace's role: uses invitation `id` for `user` if it is still pending, creates the
/// membership and the team memberships. `None`: no longer pending.
async fn join(
    conn: &mut db::Conn,
    tenant_id: Uuid,
    id: Uuid,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<(String, Vec<Uuid>)>, db::Error> {
    let used: Option<(String, Vec<Uuid>)> = db::query_as(
        "UPDATE public.invitations SET accepted_at = $3, accepted_by = $4
          WHERE id = $1 AND tenant_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL
            AND expires_at > $3
         RETURNING role, team_ids",
    )
    .bind(id)
    .bind(tenant_id)
    .bind(now)
    .bind(user)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((role, teams)) = used else {
        return Ok(None);
    };
    db::query("INSERT INTO public.memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)")
        .bind(tenant_id)
        .bind(user)
        .bind(&role)
        .execute(&mut *conn)
        .await?;
    db::query(
        // The teams in a materialized CTE: Citus 13.2 deparses an INSERT … SELECT from a
        // table with a bound value in its select list into invalid SQL (docs/scale-out.md).
        "WITH live AS MATERIALIZED (
             SELECT t.id FROM teams t WHERE t.id = ANY($1) AND t.archived_at IS NULL)
         INSERT INTO team_members (team_id, user_id)
         SELECT live.id, $2 FROM live
         ON CONFLICT DO NOTHING",
    )
    .bind(&teams)
    .bind(user)
    .execute(&mut *conn)
    .await?;
    Ok(Some((role, teams)))
}

/// In an SSO sign-in's workspace transaction: accepts the pending invitation of the address
/// the identity provider asserted (verified), creating the account if there is none. This is
/// how SSO-only workspaces take in invited people. `None`: no pending invitation.
pub async fn sso_accept(
    tx: &mut TenantTx,
    email: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Option<(Uuid, String)>, MemberError> {
    let user: Option<Uuid> = db::query_scalar("SELECT public.tessera_invited_user($1, $2)")
        .bind(email)
        .bind(name)
        .fetch_one(tx.conn())
        .await?;
    let Some(user) = user else { return Ok(None) };
    let id: Option<Uuid> = db::query_scalar(
        "SELECT id FROM public.invitations
         WHERE tenant_id = $1 AND lower(email) = lower($2) AND accepted_at IS NULL
           AND revoked_at IS NULL AND expires_at > $3
         FOR UPDATE",
    )
    .bind(tx.tenant_id())
    .bind(email)
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    let Some(id) = id else { return Ok(None) };
    let tenant_id = tx.tenant_id();
    let Some((role, teams)) = join(tx.conn(), tenant_id, id, user, now).await? else {
        return Ok(None);
    };
    db::query("SELECT public.tessera_mark_email_verified($1, $2)")
        .bind(user)
        .bind(email)
        .execute(tx.conn())
        .await?;
    tx.note_change(serde_json::json!({
        "entity": "invitation", "id": id, "after": { "status": "accepted", "user": user, "role": role, "teams": teams },
    }));
    Ok(Some((user, role)))
}
