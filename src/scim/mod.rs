//! SCIM 2.0 provisioning (RFC 7643, RFC 7644): a workspace's identity provider manages its
//! members and teams through `/scim/v2/<slug>/` (`http::scim`). This module holds what does
//! not depend on HTTP: tokens, the User and Group resources, filters, PATCH, attribute
//! projection, the published schema, and the stores with their effect on membership and
//! teams. Decisions and the provider mapping: `docs/scim.md`.

pub mod discovery;
pub mod error;
pub mod filter;
pub mod group;
pub mod groups;
pub mod patch;
pub mod project;
pub mod resource;
pub mod store;
pub mod tokens;
pub mod users;

/// The resource types served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A member of the workspace (`scim_users`).
    User,
    /// A team (`teams`, `scim_groups`).
    Group,
}

impl Kind {
    /// The core schema's URN.
    pub fn urn(self) -> &'static str {
        match self {
            Self::User => resource::USER_SCHEMA,
            Self::Group => group::GROUP_SCHEMA,
        }
    }

    /// The resource type's name (`meta.resourceType`, error messages).
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }
}

/// `path` without the `urn` prefix (`urn:…:User:userName` → `userName`), compared
/// case-insensitively as SCIM names are.
pub fn strip_urn<'a>(path: &'a str, urn: &str) -> &'a str {
    let n = urn.len();
    let prefixed = path.get(..n).is_some_and(|p| p.eq_ignore_ascii_case(urn))
        && path.as_bytes().get(n) == Some(&b':');
    // Byte n is an ASCII colon, so n + 1 is a character boundary.
    if prefixed { &path[n + 1..] } else { path }
}
