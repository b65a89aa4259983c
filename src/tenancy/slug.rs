use std::fmt;

/// A validated workspace slug: `^[a-z][a-z0-9_]{2,39}$` and not reserved.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error(
        "a workspace slug is 3 to 40 characters: a lowercase letter, then lowercase letters, digits or '_'"
    )]
    Malformed,
    #[error("this workspace slug is reserved")]
    Reserved,
}

/// Names that would be confusing or dangerous as workspace addresses or schema names.
const RESERVED: &[&str] = &[
    "admin",
    "api",
    "app",
    "auth",
    "billing",
    "default",
    "graphql",
    "healthz",
    "help",
    "internal",
    "login",
    "logout",
    "metrics",
    "new",
    "oauth",
    "oidc",
    "pg_catalog",
    "postgres",
    "public",
    "readyz",
    "root",
    "settings",
    "signin",
    "signup",
    "sso",
    "static",
    "status",
    "support",
    "system",
    "template",
    "tenant",
    "tessera",
    "www",
];

impl Slug {
    pub fn parse(input: &str) -> Result<Self, SlugError> {
        let bytes = input.as_bytes();
        let well_formed = (3..=40).contains(&bytes.len())
            && bytes[0].is_ascii_lowercase()
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
        if !well_formed {
            return Err(SlugError::Malformed);
        }
        if RESERVED.contains(&input) || input.starts_with("pg_") {
            return Err(SlugError::Reserved);
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn schema(&self) -> String {
        super::schema_name(&self.0)
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Slug({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_well_formed_slugs() {
        for s in [
            "acme",
            "a_b",
            "abc",
            "x1234567890123456789012345678901234567",
        ] {
            assert!(Slug::parse(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn refuses_malformed_and_reserved() {
        for s in [
            "",
            "ab",
            "Acme",
            "1abc",
            "_abc",
            "ab-c",
            "ab c",
            "abc;drop",
            "ab\u{e9}c",
            "a23456789012345678901234567890123456789012",
            "tenant_x\"",
            "abc\0",
        ] {
            assert_eq!(Slug::parse(s), Err(SlugError::Malformed), "{s:?}");
        }
        for s in ["admin", "public", "pg_toast", "template", "tessera"] {
            assert_eq!(Slug::parse(s), Err(SlugError::Reserved), "{s}");
        }
    }
}
