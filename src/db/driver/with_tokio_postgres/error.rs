//! The seam's error: the driver's, or the pool's.

use std::borrow::Cow;

use super::super::Violation;
use tokio_postgres::error::SqlState;

/// Why a value could not be bound.
pub type BindError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", Described(.0))]
    Db(#[from] tokio_postgres::Error),
    /// The migrator's driver (sqlx), for provisioning code that runs on both.
    #[error(transparent)]
    Migrator(#[from] sqlx::Error),
    #[error("no rows returned by a query that expected to return at least one row")]
    RowNotFound,
    #[error("pool timed out while waiting for an open connection")]
    PoolTimedOut,
    #[error("attempted to acquire a connection on a closed pool")]
    PoolClosed,
    #[error("the database connection ended")]
    Closed,
    #[error("error with configuration: {0}")]
    Configuration(String),
    #[error("a value could not be bound: {0}")]
    Bind(BindError),
}

/// The driver's error with what caused it: its own text says only "db error" or "error
/// communicating with the server", and the server's message is what a log reader needs.
struct Described<'a>(&'a tokio_postgres::Error);

impl std::fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_db_error() {
            Some(db) => write!(f, "error returned from database: {}", db.message()),
            None => match std::error::Error::source(self.0) {
                Some(cause) => write!(f, "{}: {cause}", self.0),
                None => write!(f, "{}", self.0),
            },
        }
    }
}

/// The SQLSTATE of a database error, if `e` is one.
pub fn sqlstate(e: &Error) -> Option<Cow<'_, str>> {
    match e {
        Error::Db(e) => e.code().map(|c| Cow::Borrowed(c.code())),
        Error::Migrator(sqlx::Error::Database(db)) => db.code(),
        _ => None,
    }
}

/// The database error's message and detail, if `e` is one.
pub fn message_and_detail(e: &Error) -> Option<(&str, Option<&str>)> {
    match e {
        Error::Db(e) => e.as_db_error().map(|d| (d.message(), d.detail())),
        _ => None,
    }
}

/// The kind of integrity constraint `e` violated, if it is such a violation.
pub fn violation(e: &Error) -> Option<Violation> {
    let code = sqlstate(e)?;
    match code.as_ref() {
        c if c == SqlState::FOREIGN_KEY_VIOLATION.code() => Some(Violation::ForeignKey),
        c if c == SqlState::CHECK_VIOLATION.code() => Some(Violation::Check),
        c if c == SqlState::UNIQUE_VIOLATION.code() => Some(Violation::Unique),
        _ => None,
    }
}

/// Whether `e` says the connection itself is gone or unusable: the socket closed or failed,
/// a closed pool, or the server ending the session (SQLSTATE classes 08, connection
/// exception, and 57P, operator intervention).
pub fn connection_lost(e: &Error) -> bool {
    let io = match e {
        Error::Db(e) => {
            e.is_closed() || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
        }
        Error::Migrator(sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::Tls(_)) => true,
        Error::PoolClosed | Error::Closed => true,
        _ => false,
    };
    io || sqlstate(e).is_some_and(|c| c.starts_with("08") || c.starts_with("57P"))
}

/// Whether every runtime connection stayed busy for the acquire timeout.
pub fn pool_timed_out(e: &Error) -> bool {
    matches!(
        e,
        Error::PoolTimedOut | Error::Migrator(sqlx::Error::PoolTimedOut)
    )
}
