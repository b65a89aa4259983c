//! Why an audit operation failed.

use crate::crypto::CryptoError;
use crate::db;

#[derive(Debug)]
pub enum AuditError {
    /// The tenant has no chain head (not provisioned through Tessera).
    NoChain,
    Key(CryptoError),
    Db(db::Error),
    /// The chain does not verify (first bad sequence number, reason): nothing is pruned.
    Broken(i64, String),
}

impl From<db::Error> for AuditError {
    fn from(e: db::Error) -> Self {
        Self::Db(e)
    }
}

impl std::error::Error for AuditError {}

impl std::fmt::Display for AuditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoChain => f.write_str("the workspace has no audit chain"),
            Self::Key(e) => write!(f, "audit key: {e}"),
            Self::Db(e) => write!(f, "database error: {e}"),
            Self::Broken(seq, reason) => write!(f, "the chain is broken at seq {seq}: {reason}"),
        }
    }
}
