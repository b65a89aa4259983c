use uuid::Uuid;

use super::permission::{
    Permission, PermissionSet, Role, Scope, role_permissions, token_permissions,
};

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An API token acting for its user.
    Token { token_id: Uuid, scopes: Vec<Scope> },
    /// A browser session of the user; `aal2` when a second factor was used.
    Session { session_id: Uuid, aal2: bool },
}

/// The authenticated caller of a tenant request, after the membership check.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    pub role: Role,
    pub actor: Actor,
    permissions: PermissionSet,
}

impl Principal {
    pub fn for_token(
        user_id: Uuid,
        tenant_id: Uuid,
        role: Role,
        token_id: Uuid,
        scopes: Vec<Scope>,
    ) -> Self {
        let permissions = token_permissions(role, &scopes);
        Self {
            user_id,
            tenant_id,
            role,
            actor: Actor::Token { token_id, scopes },
            permissions,
        }
    }

    /// A browser session carries every permission of the member's role, session-only ones
    /// included.
    pub fn for_session(
        user_id: Uuid,
        tenant_id: Uuid,
        role: Role,
        session_id: Uuid,
        aal2: bool,
    ) -> Self {
        Self {
            user_id,
            tenant_id,
            role,
            actor: Actor::Session { session_id, aal2 },
            permissions: role_permissions(role),
        }
    }

    pub fn has(&self, p: Permission) -> bool {
        self.permissions.contains(p)
    }

    pub fn permissions(&self) -> PermissionSet {
        self.permissions
    }

    /// What list and by-id queries filter on.
    pub fn viewer(&self) -> Viewer {
        Viewer {
            user_id: self.user_id,
            sees_all_teams: self.role.sees_all_teams(),
        }
    }
}

/// The inputs of team visibility, bound into every query on team-scoped entities.
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    pub user_id: Uuid,
    pub sees_all_teams: bool,
}
