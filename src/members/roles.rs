//! Changing a member's role, removing a member, leaving, transferring ownership. Each locks
//! the workspace's owner rows first, so two concurrent demotions cannot both pass the
//! last-owner check.

use uuid::Uuid;

use super::{Manager, MemberError};
use crate::authz::Role;
use crate::db;
use crate::tenancy::TenantTx;

/// The workspace's owners, locked until the transaction ends.
async fn lock_owners(tx: &mut TenantTx) -> Result<Vec<Uuid>, MemberError> {
    Ok(db::query_scalar(
        "SELECT user_id FROM public.memberships WHERE tenant_id = $1 AND role = 'owner'
         ORDER BY user_id FOR UPDATE",
    )
    .bind(tx.tenant_id())
    .fetch_all(tx.conn())
    .await?)
}

/// A member's role and address, locked.
async fn member(tx: &mut TenantTx, user: Uuid) -> Result<(Role, String), MemberError> {
    let row: Option<(String, String)> = db::query_as(
        "SELECT m.role, u.email FROM public.memberships m JOIN public.users u ON u.id = m.user_id
         WHERE m.tenant_id = $1 AND m.user_id = $2 FOR UPDATE OF m",
    )
    .bind(tx.tenant_id())
    .bind(user)
    .fetch_optional(tx.conn())
    .await?;
    let (role, email) = row.ok_or(MemberError::NotFound)?;
    Ok((Role::parse(&role).unwrap_or(Role::Member), email))
}

/// Gives `user` the role `role`.
pub async fn change_role(
    tx: &mut TenantTx,
    by: &Manager,
    user: Uuid,
    role: Role,
) -> Result<(), MemberError> {
    let owners = lock_owners(tx).await?;
    let (current, email) = member(tx, user).await?;
    by.may_manage(current)?;
    by.may_grant(role)?;
    if current == role {
        return Ok(());
    }
    if current == Role::Owner && owners.len() <= 1 {
        return Err(MemberError::LastOwner);
    }
    db::query("UPDATE public.memberships SET role = $3 WHERE tenant_id = $1 AND user_id = $2")
        .bind(tx.tenant_id())
        .bind(user)
        .bind(role.as_str())
        .execute(tx.conn())
        .await?;
    tx.note_change(serde_json::json!({
        "entity": "member", "id": user, "email": email,
        "before": { "role": current.as_str() }, "after": { "role": role.as_str() },
    }));
    Ok(())
}

/// Removes `user` from the workspace with everything that let them in (see the module docs
/// of [`super`]). `by`: who removes them (`None`: they leave).
async fn take_out(tx: &mut TenantTx, by: Option<&Manager>, user: Uuid) -> Result<(), MemberError> {
    let owners = lock_owners(tx).await?;
    let (current, email) = member(tx, user).await?;
    if let Some(by) = by {
        by.may_manage(current)?;
    }
    if current == Role::Owner && owners.len() <= 1 {
        return Err(MemberError::LastOwner);
    }
    let tenant = tx.tenant_id();
    db::query("DELETE FROM public.memberships WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant)
        .bind(user)
        .execute(tx.conn())
        .await?;
    let tokens = db::query(
        "UPDATE public.api_tokens SET revoked_at = now()
         WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL",
    )
    .bind(tenant)
    .bind(user)
    .execute(tx.conn())
    .await?
    .rows_affected();
    let teams = db::query("DELETE FROM team_members WHERE user_id = $1")
        .bind(user)
        .execute(tx.conn())
        .await?
        .rows_affected();
    let exports = db::query(
        "UPDATE exports SET status = 'cancelled', finished_at = now()
         WHERE requested_by = $1 AND status IN ('queued', 'running')",
    )
    .bind(user)
    .execute(tx.conn())
    .await?
    .rows_affected();
    tx.note_change(serde_json::json!({
        "entity": "member", "id": user, "email": email,
        "before": { "role": current.as_str() }, "after": null,
        "tokens_revoked": tokens, "teams_left": teams, "exports_cancelled": exports,
    }));
    Ok(())
}

/// Removes a member (owners and admins; an admin cannot remove an owner).
pub async fn remove(tx: &mut TenantTx, by: &Manager, user: Uuid) -> Result<(), MemberError> {
    take_out(tx, Some(by), user).await
}

/// The caller leaves the workspace.
pub async fn leave(tx: &mut TenantTx, user: Uuid) -> Result<(), MemberError> {
    take_out(tx, None, user).await
}

/// The workspace's identity provider deactivated or deleted `user` (SCIM): removed like a
/// member an owner removes, whatever their role — except the last owner. False when they
/// were not a member (any more).
pub async fn deprovision(tx: &mut TenantTx, user: Uuid) -> Result<bool, MemberError> {
    match take_out(tx, None, user).await {
        Ok(()) => Ok(true),
        Err(MemberError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Makes `to` an owner and the caller (an owner) an admin. The caller must have passed a
/// second-factor check recently (`factor_fresh`), checked by the caller of this function.
pub async fn transfer_ownership(
    tx: &mut TenantTx,
    by: &Manager,
    to: Uuid,
    factor_fresh: bool,
) -> Result<(), MemberError> {
    if by.role != Role::Owner || !by.session {
        return Err(MemberError::Forbidden(
            "only an owner can transfer ownership, from a browser session".into(),
        ));
    }
    if !factor_fresh {
        return Err(MemberError::SecondFactorRequired(
            "confirm it is you with your authenticator or a passkey first (verifySecondFactor, or sign in with a passkey), then transfer within 5 minutes".into(),
        ));
    }
    if to == by.user_id {
        return Err(MemberError::Invalid("you are an owner already".into()));
    }
    let _owners = lock_owners(tx).await?;
    let (theirs, email) = member(tx, to).await?;
    let tenant = tx.tenant_id();
    db::query(
        "UPDATE public.memberships SET role = CASE WHEN user_id = $2 THEN 'owner' ELSE 'admin' END
         WHERE tenant_id = $1 AND user_id IN ($2, $3)",
    )
    .bind(tenant)
    .bind(to)
    .bind(by.user_id)
    .execute(tx.conn())
    .await?;
    tx.note_change(serde_json::json!({
        "entity": "member", "id": to, "email": email,
        "before": { "role": theirs.as_str() }, "after": { "role": "owner" },
    }));
    tx.note_change(serde_json::json!({
        "entity": "member", "id": by.user_id,
        "before": { "role": "owner" }, "after": { "role": "admin" },
    }));
    Ok(())
}
