//! The driver seam: the one place the application names its PostgreSQL driver.
//!
//! Every statement the server runs as the runtime role, and the provisioning, import and
//! key-rotation code that runs as the migrator, reaches the driver through these names —
//! `db::query`, `db::Conn`, `db::Error`, … — never through the driver's crate. Only the
//! pools themselves, the migration runner, database bootstrap, the cluster tools, the CLI
//! and the bench name the driver directly; `ci/gates.sh` refuses any other file that does.
//!
//! Why a seam: the request transaction is to move to a driver that pipelines (`BEGIN`, the
//! tenant entry and the first statement in one round trip; issue 24, `docs/decisions.md`),
//! and "one driver on the request path" makes that switch whole. With every statement
//! behind these names, the switch is a change to this module and the pool rather than to
//! some sixty modules at once, and the error helpers below keep SQLSTATE inspection in one
//! place.

use std::borrow::Cow;

pub use sqlx::postgres::{PgArguments as Args, PgConnectOptions as ConnectOptions, PgRow as Row};
pub use sqlx::types::Json;
pub use sqlx::{
    Arguments, Connection, Error, Executor, FromRow, PgConnection as Conn, PgPool as MigratorPool,
    Row as RowExt, query, query_as, query_as_with, query_scalar, query_scalar_with, raw_sql,
};

/// A transaction on a migrator connection (provisioning, import, key rotation).
pub type MigratorTx<'c> = sqlx::Transaction<'c, sqlx::Postgres>;

/// A statement with its bound values, not yet run.
pub type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, Args>;

/// A value a statement can bind.
pub trait Bind:
    for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send
{
}

impl<T> Bind for T where
    T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send
{
}

/// A row type a statement can decode its rows into (`#[derive(db::FromRow)]`, or a tuple).
pub trait Record: for<'r> sqlx::FromRow<'r, Row> + Send + Unpin {}

impl<T> Record for T where T: for<'r> sqlx::FromRow<'r, Row> + Send + Unpin {}

/// A prepared statement's result columns, by name and type name (`int8`, `text`, …), in
/// order: what an export needs to know before it reads a row.
pub async fn result_columns(conn: &mut Conn, sql: &str) -> Result<Vec<(String, String)>, Error> {
    use sqlx::{Column, Statement, TypeInfo};
    // `prepare`, not `describe`: describing also asks the server which columns may be null
    // with an SQL-level EXECUTE of the protocol-level statement, which PgBouncer
    // (transaction mode renames prepared statements) cannot route.
    let prepared = conn.prepare(sql).await?;
    Ok(prepared
        .columns()
        .iter()
        .map(|c| (c.name().to_owned(), c.type_info().name().to_owned()))
        .collect())
}

/// Drops every prepared statement of the session, and the driver's cache of them, so the
/// next statements are prepared afresh (PgBouncer recognises `DEALLOCATE ALL` and forgets
/// the statements it prepared on the server connection too).
pub async fn deallocate_all(conn: &mut Conn) -> Result<(), Error> {
    use sqlx::Connection;
    conn.clear_cached_statements().await?;
    conn.execute(raw_sql("DEALLOCATE ALL")).await?;
    Ok(())
}

/// Why a value could not be bound.
pub type BindError = sqlx::error::BoxDynError;

/// The SQLSTATE of a database error, if `e` is one.
pub fn sqlstate(e: &Error) -> Option<Cow<'_, str>> {
    match e {
        Error::Database(db) => db.code(),
        _ => None,
    }
}

/// The database error's message and detail, if `e` is one.
pub fn message_and_detail(e: &Error) -> Option<(&str, Option<&str>)> {
    match e {
        Error::Database(db) => Some((
            db.message(),
            db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .and_then(|p| p.detail()),
        )),
        _ => None,
    }
}

/// Which integrity constraint `e` violated, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    ForeignKey,
    Check,
    Unique,
}

/// The kind of integrity constraint `e` violated, if it is such a violation.
pub fn violation(e: &Error) -> Option<Violation> {
    let Error::Database(db) = e else {
        return None;
    };
    if db.is_foreign_key_violation() {
        Some(Violation::ForeignKey)
    } else if db.is_check_violation() {
        Some(Violation::Check)
    } else if db.is_unique_violation() {
        Some(Violation::Unique)
    } else {
        None
    }
}

/// Whether `e` says the connection itself is gone or unusable: I/O, TLS, a closed pool, or
/// the server ending the session (SQLSTATE classes 08, connection exception, and 57P,
/// operator intervention: shutdown, crash recovery, "the database system is starting up").
pub fn connection_lost(e: &Error) -> bool {
    match e {
        Error::Io(_) | Error::PoolClosed | Error::Tls(_) => true,
        _ => sqlstate(e).is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
    }
}

/// Whether every runtime connection stayed busy for the acquire timeout.
pub fn pool_timed_out(e: &Error) -> bool {
    matches!(e, Error::PoolTimedOut)
}
