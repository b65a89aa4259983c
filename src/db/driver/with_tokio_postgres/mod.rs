//! The seam on tokio-postgres: the driver that pipelines (`docs/decisions.md`). It keeps
//! the shapes of sqlx, which the server was first built on, where the server uses them
//! (`query(..).bind(..).fetch_one(conn)`), and sqlx's meaning: a bound value declares its own type (a Rust `i64` is an `int8` parameter, as with sqlx,
//! not whatever the server would infer), values are encoded when bound, and each
//! connection prepares a statement once and keeps it.
//!
//! The migration runner stays on sqlx (`MigratorPool` derefs to its pool): it is off the
//! request path.

mod conn;
mod error;
mod migrator;
mod query;
mod tls;
mod types;

pub use conn::{Conn, ConnectOptions, Connection, Executor, QueryResult, RawSql, raw_sql};
pub use error::{
    BindError, Error, connection_lost, message_and_detail, pool_timed_out, sqlstate, violation,
};
pub use postgres_types::Json;
pub use query::{
    FromRow, Query, QueryAs, QueryScalar, Record, Row, RowExt, begin_with, end_with, query,
    query_as, query_as_with, query_scalar, query_scalar_with, query_with,
};
pub use tessera_macros::FromRow;
pub use types::{Args, Arguments, Bind};

pub use migrator::{MigratorConn, MigratorPool, MigratorTx, begin, sqlx_pool};

/// A prepared statement's result columns, by name and type name (`INT8`, `TEXT`, …), in
/// order: what an export needs to know before it reads a row.
pub async fn result_columns(conn: &mut Conn, sql: &str) -> Result<Vec<(String, String)>, Error> {
    let statement = conn.statement(sql, &[]).await?;
    Ok(statement
        .columns()
        .iter()
        .map(|c| (c.name().to_owned(), c.type_().name().to_ascii_uppercase()))
        .collect())
}

/// Drops every prepared statement of the session, and this connection's cache of them, so
/// the next statements are prepared afresh (PgBouncer recognises `DEALLOCATE ALL` and
/// forgets the statements it prepared on the server connection too).
pub async fn deallocate_all(conn: &mut Conn) -> Result<(), Error> {
    conn.clear_cached_statements().await?;
    conn.execute("DEALLOCATE ALL").await?;
    Ok(())
}

/// The data of `copy` (a `COPY … TO STDOUT`), as PostgreSQL sends it. Read it to its end:
/// only `TenantTx::copy_out` calls this.
pub async fn copy_out<'c>(
    conn: &'c mut Conn,
    copy: &str,
) -> Result<futures_util::stream::BoxStream<'c, Result<bytes::Bytes, Error>>, Error> {
    use futures_util::StreamExt;
    let (client, socket) = conn.parts();
    let stream = socket.drive(client.copy_out(copy)).await?;
    Ok(query::driven(socket, Box::pin(stream)).boxed())
}
