//! Statements with bound values, and how their rows decode.

use std::marker::PhantomData;

use futures_util::{Stream, StreamExt, TryStreamExt};
use postgres_types::FromSql;
use tokio_postgres::Statement;
use tokio_postgres::row::RowIndex;

use super::conn::{Conn, QueryResult};
use super::error::Error;
use super::types::{Args, Arguments, Bind};

/// A row type a statement can decode its rows into (`#[derive(db::FromRow)]`, or a tuple).
pub trait FromRow: Sized {
    fn from_row(row: &Row) -> Result<Self, Error>;
}

/// A row type a statement's rows decode into, as the callers bound it.
pub trait Record: FromRow + Send + Unpin {}

impl<T: FromRow + Send + Unpin> Record for T {}

/// A row of a statement's answer.
#[derive(Debug)]
pub struct Row(pub(super) tokio_postgres::Row);

/// Reading a column: `index` (a name or a position) decoded as `T`, in sqlx's argument order
/// and by its trait's name, so call sites read the same on either driver.
pub trait RowExt {
    fn try_get<'r, T, I>(&'r self, index: I) -> Result<T, Error>
    where
        T: FromSql<'r>,
        I: RowIndex + std::fmt::Display;
}

impl RowExt for Row {
    fn try_get<'r, T, I>(&'r self, index: I) -> Result<T, Error>
    where
        T: FromSql<'r>,
        I: RowIndex + std::fmt::Display,
    {
        Ok(self.0.try_get(index)?)
    }
}

macro_rules! tuples {
    ($(($($t:ident $i:tt),+)),* $(,)?) => {$(
        impl<$($t),+> FromRow for ($($t,)+)
        where
            $($t: for<'r> FromSql<'r>),+
        {
            fn from_row(row: &Row) -> Result<Self, Error> {
                Ok(($(row.try_get::<$t, usize>($i)?,)+))
            }
        }
    )*};
}

tuples! {
    (A 0),
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
    (A 0, B 1, C 2, D 3, E 4),
    (A 0, B 1, C 2, D 3, E 4, F 5),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15),
}

/// A statement with its bound values, not yet run.
pub struct Query<'q> {
    pub(super) sql: &'q str,
    pub(super) args: Args,
    /// The first value that could not be bound: the statement is refused when run.
    failed: Option<super::error::BindError>,
}

pub fn query(sql: &str) -> Query<'_> {
    Query {
        sql,
        args: Args::default(),
        failed: None,
    }
}

/// `sql` with `args` already bound.
pub fn query_with(sql: &str, args: Args) -> Query<'_> {
    Query {
        sql,
        args,
        failed: None,
    }
}

impl<'q> Query<'q> {
    #[must_use]
    pub fn bind<T: Bind + 'q>(mut self, value: T) -> Self {
        if self.failed.is_none()
            && let Err(e) = self.args.add(value)
        {
            self.failed = Some(e);
        }
        self
    }

    fn ready(&mut self) -> Result<(), Error> {
        match self.failed.take() {
            Some(e) => Err(Error::Bind(e)),
            None => Ok(()),
        }
    }

    /// The statement prepared on `conn`, once every value was bound.
    async fn prepared(&mut self, conn: &mut Conn) -> Result<Statement, Error> {
        self.ready()?;
        conn.statement(self.sql, &self.args.types).await
    }

    pub async fn execute(mut self, conn: &mut Conn) -> Result<QueryResult, Error> {
        let statement = self.prepared(conn).await?;
        let (client, socket) = conn.parts();
        let n = socket
            .drive(client.execute_raw(&statement, self.args.encoded()))
            .await?;
        Ok(QueryResult::new(n))
    }

    pub async fn fetch_all(mut self, conn: &mut Conn) -> Result<Vec<Row>, Error> {
        let statement = self.prepared(conn).await?;
        let (client, socket) = conn.parts();
        socket
            .drive(async {
                let rows = client.query_raw(&statement, self.args.encoded()).await?;
                rows.map_ok(Row).try_collect().await
            })
            .await
    }

    pub async fn fetch_optional(self, conn: &mut Conn) -> Result<Option<Row>, Error> {
        Ok(self.fetch_all(conn).await?.into_iter().next())
    }

    pub async fn fetch_one(self, conn: &mut Conn) -> Result<Row, Error> {
        self.fetch_optional(conn).await?.ok_or(Error::RowNotFound)
    }

    /// The rows as they arrive.
    pub fn fetch<'c>(
        mut self,
        conn: &'c mut Conn,
    ) -> impl Stream<Item = Result<Row, Error>> + Send + 'c
    where
        'q: 'c,
    {
        futures_util::stream::once(async move {
            let statement = self.prepared(conn).await?;
            let (client, socket) = conn.parts();
            let rows = socket
                .drive(client.query_raw(&statement, self.args.encoded()))
                .await?;
            // Each row read drives the socket (`driven`).
            Ok::<_, Error>(driven(socket, Box::pin(rows)).map_ok(Row))
        })
        .try_flatten()
        .boxed()
    }
}

/// A statement whose rows decode into `O`.
pub struct QueryAs<'q, O> {
    inner: Query<'q>,
    out: PhantomData<fn() -> O>,
}

pub fn query_as<O: FromRow>(sql: &str) -> QueryAs<'_, O> {
    QueryAs {
        inner: query(sql),
        out: PhantomData,
    }
}

pub fn query_as_with<O: FromRow>(sql: &str, args: Args) -> QueryAs<'_, O> {
    QueryAs {
        inner: query_with(sql, args),
        out: PhantomData,
    }
}

impl<'q, O: FromRow + Send + 'q> QueryAs<'q, O> {
    #[must_use]
    pub fn bind<T: Bind + 'q>(self, value: T) -> Self {
        Self {
            inner: self.inner.bind(value),
            out: PhantomData,
        }
    }

    pub async fn fetch_all(self, conn: &mut Conn) -> Result<Vec<O>, Error> {
        self.inner
            .fetch_all(conn)
            .await?
            .iter()
            .map(O::from_row)
            .collect()
    }

    pub async fn fetch_optional(self, conn: &mut Conn) -> Result<Option<O>, Error> {
        self.inner
            .fetch_optional(conn)
            .await?
            .map(|r| O::from_row(&r))
            .transpose()
    }

    pub async fn fetch_one(self, conn: &mut Conn) -> Result<O, Error> {
        O::from_row(&self.inner.fetch_one(conn).await?)
    }

    pub fn fetch<'c>(self, conn: &'c mut Conn) -> impl Stream<Item = Result<O, Error>> + Send + 'c
    where
        'q: 'c,
    {
        self.inner
            .fetch(conn)
            .map(|r| r.and_then(|row| O::from_row(&row)))
    }
}

/// A statement whose rows' first column decodes into `O`.
pub struct QueryScalar<'q, O> {
    inner: QueryAs<'q, (O,)>,
}

pub fn query_scalar<O>(sql: &str) -> QueryScalar<'_, O>
where
    O: for<'r> FromSql<'r>,
{
    QueryScalar {
        inner: query_as(sql),
    }
}

pub fn query_scalar_with<O>(sql: &str, args: Args) -> QueryScalar<'_, O>
where
    O: for<'r> FromSql<'r>,
{
    QueryScalar {
        inner: query_as_with(sql, args),
    }
}

impl<'q, O> QueryScalar<'q, O>
where
    O: for<'r> FromSql<'r> + Send + 'q,
{
    #[must_use]
    pub fn bind<T: Bind + 'q>(self, value: T) -> Self {
        Self {
            inner: self.inner.bind(value),
        }
    }

    pub async fn fetch_all(self, conn: &mut Conn) -> Result<Vec<O>, Error> {
        Ok(self
            .inner
            .fetch_all(conn)
            .await?
            .into_iter()
            .map(|(o,)| o)
            .collect())
    }

    pub async fn fetch_optional(self, conn: &mut Conn) -> Result<Option<O>, Error> {
        Ok(self.inner.fetch_optional(conn).await?.map(|(o,)| o))
    }

    pub async fn fetch_one(self, conn: &mut Conn) -> Result<O, Error> {
        Ok(self.inner.fetch_one(conn).await?.0)
    }
}

/// Runs `begin` (a simple statement: `BEGIN …`) and `first` in one round trip: both are
/// written before either answer is read. `first`'s rows are returned; if `begin` failed,
/// its error.
pub async fn begin_with(
    conn: &mut Conn,
    begin: &str,
    mut first: Query<'_>,
) -> Result<Vec<Row>, Error> {
    let statement = first.prepared(conn).await?;
    let (client, socket) = conn.parts();
    let begun = client.batch_execute(begin);
    let rows = async {
        let stream = client.query_raw(&statement, first.args.encoded()).await?;
        stream.map_ok(Row).try_collect::<Vec<_>>().await
    };
    // Both queue their messages before the socket writes either.
    let (begun, rows) = socket
        .drive(async { Ok(tokio::join!(begun, rows)) })
        .await?;
    begun?;
    Ok(rows?)
}

/// Runs `last` and then `end` (a simple statement: `COMMIT` or `ROLLBACK`) in one round
/// trip: both are written before either answer is read. Answers `last`'s rows, and whether
/// `end` completed: the transaction is then over — committed, or rolled back if `last`
/// failed (PostgreSQL ends a failed transaction at `COMMIT` with a rollback).
pub async fn end_with(
    conn: &mut Conn,
    mut last: Query<'_>,
    end: &str,
) -> (Result<Vec<Row>, Error>, bool) {
    let statement = match last.prepared(conn).await {
        Ok(statement) => statement,
        Err(e) => return (Err(e), false),
    };
    let (client, socket) = conn.parts();
    let rows = async {
        let stream = client.query_raw(&statement, last.args.encoded()).await?;
        stream.map_ok(Row).try_collect::<Vec<_>>().await
    };
    let ended = client.batch_execute(end);
    // Both queue their messages (in this order) before the socket writes either.
    match socket.drive(async { Ok(tokio::join!(rows, ended)) }).await {
        Ok((rows, ended)) => (rows.map_err(Error::from), ended.is_ok()),
        Err(e) => (Err(e), false),
    }
}

/// The items of `stream` (answers arriving on `socket`), driving the socket for each.
pub(super) fn driven<'s, T: 's>(
    socket: &'s mut super::conn::Socket,
    stream: std::pin::Pin<Box<dyn Stream<Item = Result<T, tokio_postgres::Error>> + Send + 's>>,
) -> impl Stream<Item = Result<T, Error>> + Send + 's {
    // The state is `None` after an error: the stream ends there.
    futures_util::stream::unfold(Some((socket, stream)), |state| async move {
        let (socket, mut stream) = state?;
        match socket.drive(async { stream.try_next().await }).await {
            Ok(Some(item)) => Some((Ok(item), Some((socket, stream)))),
            Ok(None) => None,
            Err(e) => Some((Err(e), None)),
        }
    })
}
