use std::fmt;

/// Workspace role of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Self::Owner),
            "admin" => Some(Self::Admin),
            "member" => Some(Self::Member),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    /// Owners and admins see and edit every team, restricted ones included.
    pub fn sees_all_teams(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }
}

/// API token scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Read,
    Write,
    Settings,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "settings" => Some(Self::Settings),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Settings => "settings",
        }
    }
}

macro_rules! permissions {
    ($($variant:ident = $name:literal,)*) => {
        /// A named permission. The string form is what `@requires` carries in the SDL.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Permission { $($variant,)* }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Permission::$variant => $name,)* }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(Permission::$variant),)* _ => None }
            }
        }
    };
}

permissions! {
    WorkspaceRead = "workspace:read",
    WorkWrite = "work:write",
    TeamsManage = "teams:manage",
    MembersManage = "members:manage",
    SettingsManage = "settings:manage",
    TokensRead = "tokens:read",
    TokensRevoke = "tokens:revoke",
    TokensMint = "tokens:mint",
    AuditRead = "audit:read",
    ExportRun = "export:run",
    WorkspaceDelete = "workspace:delete",
    SsoManage = "sso:manage",
    MfaManage = "mfa:manage",
    AuditRetention = "audit:retention",
    SelfManage = "self:manage",
    WorkspaceLeave = "workspace:leave",
    WorkspaceTransfer = "workspace:transfer",
    NetworkManage = "network:manage",
    ScimManage = "scim:manage",
}

impl Permission {
    /// Sensitive operations that need a browser session: refused to API tokens whatever
    /// their scope.
    pub fn session_only(self) -> bool {
        matches!(
            self,
            Self::TokensMint
                | Self::WorkspaceDelete
                | Self::SsoManage
                | Self::MfaManage
                | Self::AuditRetention
                | Self::WorkspaceLeave
                | Self::WorkspaceTransfer
                | Self::NetworkManage
                | Self::ScimManage
        )
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of permissions as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PermissionSet(u32);

impl PermissionSet {
    pub fn of(perms: &[Permission]) -> Self {
        Self(perms.iter().fold(0, |acc, p| acc | (1 << *p as u32)))
    }

    pub fn contains(self, p: Permission) -> bool {
        self.0 & (1 << p as u32) != 0
    }

    pub fn intersect(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| self.contains(*p))
    }
}

use Permission as P;

/// The one table mapping roles to permissions.
const ROLE_PERMISSIONS: &[(Role, &[Permission])] = &[
    (
        Role::Member,
        &[P::WorkspaceRead, P::WorkWrite, P::WorkspaceLeave],
    ),
    (
        Role::Admin,
        &[
            P::WorkspaceRead,
            P::WorkWrite,
            P::TeamsManage,
            P::MembersManage,
            P::SettingsManage,
            P::TokensRead,
            P::TokensRevoke,
            P::TokensMint,
            P::AuditRead,
            P::ExportRun,
            P::SsoManage,
            P::WorkspaceLeave,
            P::ScimManage,
        ],
    ),
    (
        Role::Owner,
        &[
            P::WorkspaceRead,
            P::WorkWrite,
            P::TeamsManage,
            P::MembersManage,
            P::SettingsManage,
            P::TokensRead,
            P::TokensRevoke,
            P::TokensMint,
            P::AuditRead,
            P::ExportRun,
            P::WorkspaceDelete,
            P::SsoManage,
            P::MfaManage,
            P::AuditRetention,
            P::WorkspaceLeave,
            P::WorkspaceTransfer,
            P::NetworkManage,
            P::ScimManage,
        ],
    ),
];

/// The one table mapping token scopes to the permissions they can carry. A token's
/// effective permissions are its user's role permissions intersected with the union of
/// its scopes, minus every session-only permission.
const SCOPE_PERMISSIONS: &[(Scope, &[Permission])] = &[
    (Scope::Read, &[P::WorkspaceRead]),
    (Scope::Write, &[P::WorkspaceRead, P::WorkWrite]),
    (
        Scope::Settings,
        &[
            P::WorkspaceRead,
            P::TeamsManage,
            P::MembersManage,
            P::SettingsManage,
            P::TokensRead,
            P::TokensRevoke,
            P::AuditRead,
            P::ExportRun,
        ],
    ),
];

pub fn role_permissions(role: Role) -> PermissionSet {
    ROLE_PERMISSIONS
        .iter()
        .find(|(r, _)| *r == role)
        .map_or_else(PermissionSet::default, |(_, p)| PermissionSet::of(p))
}

pub fn token_permissions(role: Role, scopes: &[Scope]) -> PermissionSet {
    let scoped = scopes.iter().fold(PermissionSet::default(), |acc, s| {
        SCOPE_PERMISSIONS
            .iter()
            .find(|(x, _)| x == s)
            .map_or(acc, |(_, p)| acc.union(PermissionSet::of(p)))
    });
    let granted = role_permissions(role).intersect(scoped);
    PermissionSet::of(
        &granted
            .iter()
            .filter(|p| !p.session_only())
            .collect::<Vec<_>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(*p));
        }
        assert_eq!(Permission::parse("project:delete_everything"), None);
    }

    #[test]
    fn tokens_never_carry_session_only_permissions() {
        let all = [Scope::Read, Scope::Write, Scope::Settings];
        let perms = token_permissions(Role::Owner, &all);
        assert!(!perms.contains(P::TokensMint));
        assert!(!perms.contains(P::WorkspaceDelete));
        assert!(!perms.contains(P::SsoManage));
        assert!(!perms.contains(P::MfaManage));
        assert!(!perms.contains(P::NetworkManage));
        assert!(!perms.contains(P::ScimManage));
        assert!(perms.contains(P::TokensRevoke));
    }

    #[test]
    fn scopes_narrow_roles_and_roles_narrow_scopes() {
        let read = token_permissions(Role::Owner, &[Scope::Read]);
        assert!(read.contains(P::WorkspaceRead));
        assert!(!read.contains(P::WorkWrite));
        let member_settings = token_permissions(Role::Member, &[Scope::Settings]);
        assert!(!member_settings.contains(P::TeamsManage));
        assert!(member_settings.contains(P::WorkspaceRead));
    }
}
