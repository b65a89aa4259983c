//! A connection: the driver's client, the task that drives its socket, and the statements
//! it has prepared.

use std::collections::HashMap;
use std::future::Future;
use std::str::FromStr;

use futures_util::{TryStreamExt, pin_mut};
use postgres_types::Type;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage, Statement};

use super::error::Error;

/// How to connect: a `postgres://` URL's settings, plus the statement cache's size.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    config: tokio_postgres::Config,
    statement_cache_capacity: usize,
}

impl FromStr for ConnectOptions {
    type Err = Error;

    fn from_str(url: &str) -> Result<Self, Error> {
        let config = tokio_postgres::Config::from_str(url)?;
        Ok(Self {
            config,
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
    /// Opens a session. TLS is not offered by this build yet: a URL that requires it is
    /// refused rather than connected in the clear.
    pub async fn connect_with(options: &ConnectOptions) -> Result<Self, Error> {
        if matches!(options.config.get_ssl_mode(), SslMode::Require) {
            return Err(Error::Configuration(
                "sslmode=require: this build (driver-tokio-postgres) does not offer TLS to PostgreSQL yet".into(),
            ));
        }
        let (client, connection) = options.config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "database connection ended");
            }
        });
        Ok(Self {
            inner: Box::new(Inner {
                client,
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
        let statement = self.inner.client.prepare_typed(sql, types).await?;
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

    pub(crate) fn client(&self) -> &Client {
        &self.inner.client
    }

    async fn simple(&mut self, sql: &str) -> Result<QueryResult, Error> {
        let stream = self.inner.client.simple_query_raw(sql).await?;
        pin_mut!(stream);
        let mut rows_affected = 0;
        while let Some(message) = stream.try_next().await? {
            if let SimpleQueryMessage::CommandComplete(n) = message {
                rows_affected += n;
            }
        }
        Ok(QueryResult { rows_affected })
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
        self.inner.client.simple_query("").await?;
        Ok(())
    }

    async fn close(self) -> Result<(), Error> {
        // Dropping the client ends the session: the driver's task sends Terminate.
        drop(self);
        Ok(())
    }

    async fn clear_cached_statements(&mut self) -> Result<(), Error> {
        self.inner.statements.clear();
        self.inner.cached = 0;
        Ok(())
    }
}
