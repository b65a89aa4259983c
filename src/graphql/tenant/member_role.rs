//! A member's role as the schema answers it: its own file, so that compiled reads can format
//! it without depending on the members resolvers (which call them).

use async_graphql::Enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum MemberRole {
    Owner,
    Admin,
    Member,
}

impl From<MemberRole> for crate::authz::Role {
    fn from(r: MemberRole) -> Self {
        match r {
            MemberRole::Owner => Self::Owner,
            MemberRole::Admin => Self::Admin,
            MemberRole::Member => Self::Member,
        }
    }
}

impl MemberRole {
    pub fn parse(s: &str) -> Self {
        match s {
            "owner" => Self::Owner,
            "admin" => Self::Admin,
            _ => Self::Member,
        }
    }
}
