//! A connection: the driver's client, its socket, and the statements it has prepared.
//!
//! The socket is driven from the task that runs a statement ([`Socket::drive`]), not from a
//! task of its own as tokio-postgres would have it: a request then writes its statements and
//! reads their answers itself, where a socket task would cost two task hand-offs per
//! statement (the request to the socket's task, the answer back). Between statements nothing
//! polls the socket; nothing is expected on it then, and what arrives (a notice, a closing
//! server's error) is read, or the loss seen, by the next statement.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};

use futures_util::{TryStreamExt, pin_mut};
use postgres_types::Type;
use sync_wrapper::SyncWrapper;
use tokio_postgres::{Client, SimpleQueryMessage, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::error::Error;
use super::tls;

/// How to connect: a `postgres://` URL's settings (TLS ones as `tls` reads them), plus the
/// statement cache's size.
#[derive(Clone)]
pub struct ConnectOptions {
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    statement_cache_capacity: usize,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("config", &self.config)
            .field("statement_cache_capacity", &self.statement_cache_capacity)
            .finish_non_exhaustive()
    }
}

impl FromStr for ConnectOptions {
    type Err = Error;

    fn from_str(url: &str) -> Result<Self, Error> {
        let (url, ssl_mode, tls) = tls::split(url)?;
        let mut config = tokio_postgres::Config::from_str(&url)?;
        config.ssl_mode(ssl_mode);
        Ok(Self {
            config,
            tls,
            statement_cache_capacity: 100,
        })
    }
}

impl ConnectOptions {
    pub fn application_name(mut self, name: &str) -> Self {
        self.config.application_name(name);
        self
    }

    pub fn statement_cache_capacity(mut self, capacity: usize) -> Self {
        self.statement_cache_capacity = capacity;
        self
    }
}

/// One database session (boxed: the pool moves connections around).
pub struct Conn {
    inner: Box<Inner>,
}

struct Inner {
    client: Client,
    socket: Socket,
    /// Prepared statements by text; each with the parameter types it was prepared for.
    statements: HashMap<String, Vec<(Vec<Type>, Statement)>>,
    cached: usize,
    capacity: usize,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("cached", &self.inner.cached)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Opens a session, over TLS as the URL's `sslmode` asks (`tls`).
    pub async fn connect_with(options: &ConnectOptions) -> Result<Self, Error> {
        let (client, connection) = options.config.connect(options.tls.clone()).await?;
        Ok(Self {
            inner: Box::new(Inner {
                client,
                socket: Socket(SyncWrapper::new(Some(Box::pin(connection)))),
                statements: HashMap::new(),
                cached: 0,
                capacity: options.statement_cache_capacity.max(1),
            }),
        })
    }

    /// `sql` prepared with parameters of `types`, from the cache when it was prepared before.
    pub(super) async fn statement(
        &mut self,
        sql: &str,
        types: &[Type],
    ) -> Result<Statement, Error> {
        if let Some(found) = self
            .inner
            .statements
            .get(sql)
            .and_then(|v| v.iter().find(|(t, _)| t == types))
        {
            return Ok(found.1.clone());
        }
        let (client, socket) = self.parts();
        let statement = socket.drive(client.prepare_typed(sql, types)).await?;
        if self.inner.cached >= self.inner.capacity {
            // Dropping a statement closes it on the server.
            self.inner.statements.clear();
            self.inner.cached = 0;
        }
        self.inner
            .statements
            .entry(sql.to_owned())
            .or_default()
            .push((types.to_vec(), statement.clone()));
        self.inner.cached += 1;
        Ok(statement)
    }

    /// The client, to make a statement's future, and the socket to drive it with.
    pub(super) fn parts(&mut self) -> (&Client, &mut Socket) {
        let inner = &mut *self.inner;
        (&inner.client, &mut inner.socket)
    }

    async fn simple(&mut self, sql: &str) -> Result<QueryResult, Error> {
        let (client, socket) = self.parts();
        let rows_affected = socket
            .drive(async {
                let stream = client.simple_query_raw(sql).await?;
                pin_mut!(stream);
                let mut rows_affected = 0;
                while let Some(message) = stream.try_next().await? {
                    if let SimpleQueryMessage::CommandComplete(n) = message {
                        rows_affected += n;
                    }
                }
                Ok(rows_affected)
            })
            .await?;
        Ok(QueryResult { rows_affected })
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Let the session end cleanly: once the client is dropped (after this), the socket,
        // driven to its end, sends Terminate and closes.
        if let Some(connection) = self.socket.0.get_mut().take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = connection.await;
            });
        }
    }
}

/// The session's socket: tokio-postgres's `Connection`, which writes what the client queued
/// and hands each answer to the statement that asked. `None` once it ended.
///
/// `SyncWrapper`: the connection is not `Sync`, and a `&Conn` must be (it is held across
/// awaits in handlers); the wrapper gives no access through a shared reference, only through
/// `&mut`, which makes it `Sync` without any `unsafe`.
pub(super) struct Socket(SyncWrapper<Option<Pin<Box<PgSocket>>>>);

type PgSocket = tokio_postgres::Connection<tokio_postgres::Socket, tls::TlsStream>;

impl Socket {
    /// Runs `work` (statements on this connection's client) to its end, driving the socket
    /// from this task meanwhile.
    pub(super) async fn drive<T>(
        &mut self,
        work: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, Error> {
        let mut work = std::pin::pin!(work);
        let mut ended: Option<tokio_postgres::Error> = None;
        std::future::poll_fn(|cx| {
            // The work queues its messages when polled; the socket then writes them and
            // reads what has arrived, handing answers to the work, which is polled again.
            // Both register this task's waker whenever they are pending.
            if let Poll::Ready(out) = work.as_mut().poll(cx) {
                return Poll::Ready(out.map_err(Error::from));
            }
            if let Some(e) = self.poll_socket(cx) {
                ended.get_or_insert(e);
            }
            match work.as_mut().poll(cx) {
                Poll::Ready(Ok(out)) => Poll::Ready(Ok(out)),
                // A socket that just ended says why (a server shutting down, say) better
                // than the work's "connection closed".
                Poll::Ready(Err(e)) => Poll::Ready(Err(Error::from(ended.take().unwrap_or(e)))),
                // With the socket gone the work can only fail (its answers' senders are
                // dropped with it); should it not have, the socket's own error is the answer.
                Poll::Pending if self.0.get_mut().is_none() => {
                    Poll::Ready(Err(ended.take().map_or(Error::Closed, Error::from)))
                }
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    /// Polls the socket once; when it ends, drops it (so every statement waiting on it fails)
    /// and answers why.
    fn poll_socket(&mut self, cx: &mut Context<'_>) -> Option<tokio_postgres::Error> {
        let socket = self.0.get_mut();
        match socket.as_mut()?.as_mut().poll(cx) {
            Poll::Pending => None,
            Poll::Ready(end) => {
                *socket = None;
                end.err()
            }
        }
    }
}

/// What a statement that returns no rows reports.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryResult {
    rows_affected: u64,
}

impl QueryResult {
    pub(super) fn new(rows_affected: u64) -> Self {
        Self { rows_affected }
    }

    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

/// Statements as the simple protocol runs them: one or more, no parameters.
pub struct RawSql<'q>(&'q str);

pub fn raw_sql(sql: &str) -> RawSql<'_> {
    RawSql(sql)
}

impl<'q> From<&'q str> for RawSql<'q> {
    fn from(sql: &'q str) -> Self {
        RawSql(sql)
    }
}

impl RawSql<'_> {
    pub async fn execute(self, conn: &mut Conn) -> Result<QueryResult, Error> {
        conn.simple(self.0).await
    }
}

/// Running statement text on a connection (sqlx's name, kept so call sites read the same).
pub trait Executor {
    fn execute<'q>(
        &mut self,
        sql: impl Into<RawSql<'q>> + Send,
    ) -> impl Future<Output = Result<QueryResult, Error>> + Send;
}

impl Executor for Conn {
    async fn execute<'q>(
        &mut self,
        sql: impl Into<RawSql<'q>> + Send,
    ) -> Result<QueryResult, Error> {
        self.simple(sql.into().0).await
    }
}

/// A session's life (sqlx's name, kept so the pool reads the same).
pub trait Connection: Sized {
    fn ping(&mut self) -> impl Future<Output = Result<(), Error>> + Send;
    fn close(self) -> impl Future<Output = Result<(), Error>> + Send;
    fn clear_cached_statements(&mut self) -> impl Future<Output = Result<(), Error>> + Send;
}

impl Connection for Conn {
    async fn ping(&mut self) -> Result<(), Error> {
        let (client, socket) = self.parts();
        socket.drive(client.simple_query("")).await?;
        Ok(())
    }

    async fn close(self) -> Result<(), Error> {
        // Dropping the client ends the session: its socket, driven to the end, sends
        // Terminate (`Inner`'s drop).
        drop(self);
        Ok(())
    }

    async fn clear_cached_statements(&mut self) -> Result<(), Error> {
        self.inner.statements.clear();
        self.inner.cached = 0;
        Ok(())
    }
}
