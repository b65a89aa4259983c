//! The seam on sqlx: what the server is built on by default.

use std::borrow::Cow;

use super::Violation;

pub use sqlx::postgres::{PgArguments as Args, PgConnectOptions as ConnectOptions, PgRow as Row};
pub use sqlx::types::Json;
pub use sqlx::{
    Arguments, Connection, Error, Executor, FromRow, PgConnection as Conn, PgPool as MigratorPool,
    Row as RowExt, query, query_as_with, query_scalar_with, raw_sql,
};

/// A transaction on a migrator connection (provisioning, import, key rotation).
pub type MigratorTx<'c> = sqlx::Transaction<'c, sqlx::Postgres>;

/// The migrator pool's sqlx pool, for the migration runner (here, the pool itself).
pub fn sqlx_pool(pool: &MigratorPool) -> &sqlx::PgPool {
    pool
}

/// A connection of the migrator's pool.
pub type MigratorConn = sqlx::pool::PoolConnection<sqlx::Postgres>;

/// A transaction on `conn`, which stays the caller's.
pub async fn begin(conn: &mut MigratorConn) -> Result<MigratorTx<'_>, Error> {
    sqlx::Connection::begin(&mut **conn).await
}

/// A statement whose rows decode into `O` (a `#[derive(db::FromRow)]` struct or a tuple).
pub fn query_as<'q, O>(sql: &'q str) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, Args>
where
    O: for<'r> sqlx::FromRow<'r, Row>,
{
    sqlx::query_as(sql)
}

/// A statement whose rows' first column decodes into `O`.
pub fn query_scalar<'q, O>(sql: &'q str) -> sqlx::query::QueryScalar<'q, sqlx::Postgres, O, Args>
where
    (O,): for<'r> sqlx::FromRow<'r, Row>,
{
    sqlx::query_scalar(sql)
}

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

/// A prepared statement's result columns, by name and type name (`INT8`, `TEXT`, …), in
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

/// The data of `copy` (a `COPY … TO STDOUT`), as PostgreSQL sends it. Read it to its end:
/// only `TenantTx::copy_out` calls this.
pub async fn copy_out<'c>(
    conn: &'c mut Conn,
    copy: &str,
) -> Result<futures_util::stream::BoxStream<'c, Result<bytes::Bytes, Error>>, Error> {
    #[allow(clippy::disallowed_methods)] // its one caller reads the COPY to its end
    conn.copy_out_raw(copy).await
}

/// Runs `begin` (a simple statement: `BEGIN …`), then `first`; returns `first`'s rows. This
/// driver cannot pipeline: two round trips.
pub async fn begin_with(conn: &mut Conn, begin: &str, first: Query<'_>) -> Result<Vec<Row>, Error> {
    conn.execute(begin).await?;
    first.fetch_all(conn).await
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
