//! Who belongs to a workspace, and how that changes: invitations, roles, removal, leaving,
//! ownership transfer. Owners and admins manage members within their role:
//!
//! - an admin cannot invite an owner, make anyone an owner, or change or remove an owner;
//! - granting the owner role (by invitation or role change) needs an owner's browser session,
//!   never an API token;
//! - a workspace always keeps an owner: the last one can be neither demoted nor removed, nor
//!   leave;
//! - transferring ownership needs a second factor or passkey checked in the last minutes.
//!
//! Removal takes effect at once: the membership goes (so every session of the user loses the
//! workspace on its next request, and a signed download link it was given stops working),
//! the user's API tokens for the workspace are revoked and their queued exports cancelled.
//! Every change is a mutation, so its audit entry (with the before/after noted here) lands in
//! the workspace's chain with the actor, the request id and the client's address.

mod invitations;
mod roles;

use uuid::Uuid;

use crate::authz::Role;
use crate::db;

pub use invitations::{
    AcceptContext, Accepted, INVITATION_PREFIX, Invitation, InvitationStatus, NewInvitation,
    Preview, accept, invite, list, preview, resend, revoke, sso_accept,
};
pub use roles::{change_role, deprovision, leave, remove, transfer_ownership};

/// Why a membership change was refused. Not `Display`: it reaches clients only through
/// `graphql::errors`, which maps each variant to its code.
#[derive(Debug)]
pub enum MemberError {
    Invalid(String),
    Forbidden(String),
    NotFound,
    /// The address already belongs to a member.
    AlreadyMember,
    /// An invitation for this address is still pending.
    AlreadyInvited,
    /// The workspace would be left without an owner.
    LastOwner,
    Invitation(Refusal),
    /// The account's address is not verified (acceptance needs it).
    EmailNotVerified,
    /// The invitation was sent to another address than the account's.
    EmailMismatch,
    MfaRequired,
    SsoRequired,
    /// A recent second-factor check is needed (or none is enrolled).
    SecondFactorRequired(String),
    Db(db::Error),
}

/// Why an invitation token cannot be used. An unknown token and one of another workspace
/// are the same `NotFound`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotFound,
    Expired,
    Revoked,
    Used,
}

impl From<db::Error> for MemberError {
    fn from(e: db::Error) -> Self {
        Self::Db(e)
    }
}

/// Who is acting on a workspace's members, from the request's principal.
#[derive(Debug, Clone, Copy)]
pub struct Manager {
    pub user_id: Uuid,
    pub role: Role,
    /// A browser session (not an API token).
    pub session: bool,
}

impl Manager {
    /// Refuses what this manager may not grant: the owner role except to an owner's browser
    /// session.
    fn may_grant(&self, role: Role) -> Result<(), MemberError> {
        if role != Role::Owner {
            return Ok(());
        }
        match (self.role, self.session) {
            (Role::Owner, true) => Ok(()),
            (Role::Owner, false) => Err(MemberError::Forbidden(
                "granting the owner role needs an owner's browser session, not an API token".into(),
            )),
            _ => Err(MemberError::Forbidden(
                "only an owner can make someone an owner".into(),
            )),
        }
    }

    /// Refuses acting on a member with `their` role: admins cannot change or remove owners.
    fn may_manage(&self, their: Role) -> Result<(), MemberError> {
        if their == Role::Owner && self.role != Role::Owner {
            return Err(MemberError::Forbidden(
                "only an owner can change or remove an owner".into(),
            ));
        }
        Ok(())
    }
}
