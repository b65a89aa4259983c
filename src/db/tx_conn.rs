//! A transaction on a pooled connection (see [`super::app_pool`]).

use super::driver::{Conn, Error, Executor, Query, Row};

use super::app_pool::PooledConn;

/// A pooled connection inside a transaction this server began itself (in the same message as
/// its first statement, which the driver's own transaction type cannot do).
///
/// [`TxConn::end`] with COMMIT or ROLLBACK ends it. Dropped before that completed (an early
/// error, a refused or cancelled request), it hands its connection to a task that rolls back
/// and only then returns it to the pool; if the rollback fails, or the task never finishes,
/// the connection is closed and the server ends the transaction with the session. A pooled
/// connection is therefore never handed out inside a transaction.
pub struct TxConn {
    /// Always `Some`: taken only by `Drop`.
    conn: Option<PooledConn>,
    /// The transaction may be open: BEGIN may have been sent, and neither COMMIT nor ROLLBACK
    /// has completed.
    open: bool,
}

impl TxConn {
    /// `conn`, about to be sent (or already sent) its BEGIN.
    pub fn begin(conn: PooledConn) -> Self {
        Self {
            conn: Some(conn),
            open: true,
        }
    }

    pub fn conn(&mut self) -> &mut Conn {
        let Some(conn) = self.conn.as_deref_mut() else {
            unreachable!("a transaction's connection is taken only when it is dropped");
        };
        conn
    }

    /// Ends the transaction with `statement` (COMMIT or ROLLBACK); nothing to do once it has
    /// ended. On any error its state is unknown, so it stays open and dropping rolls back or
    /// closes.
    pub async fn end(&mut self, statement: &'static str) -> Result<(), Error> {
        if !self.open {
            return Ok(());
        }
        self.conn().execute(statement).await?;
        self.ended();
        Ok(())
    }

    /// Runs `last` and ends the transaction with `statement` in the same round trip
    /// ([`super::end_with`]). Answers `last`'s rows; whether or not it failed, the
    /// transaction is over once `statement` completed (else it stays open, as after
    /// [`TxConn::end`] failed).
    pub async fn end_with(
        &mut self,
        last: Query<'_>,
        statement: &'static str,
    ) -> Result<Vec<Row>, Error> {
        let (rows, ended) = super::driver::end_with(self.conn(), last, statement).await;
        if ended {
            self.ended();
        }
        rows
    }

    /// Whether the transaction may still be open.
    pub fn is_open(&self) -> bool {
        self.open
    }

    fn ended(&mut self) {
        self.open = false;
        if let Some(conn) = self.conn.as_mut() {
            conn.sound = true;
        }
    }
}

impl Drop for TxConn {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        // `closing` owns the connection from here and closes it unless the rollback completes.
        let mut closing = Closing(self.conn.take());
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let rolled_back = match closing.0.as_mut() {
                Some(conn) => conn.execute("ROLLBACK").await.is_ok(),
                None => false,
            };
            if rolled_back && let Some(mut conn) = closing.0.take() {
                // Back to the pool, outside any transaction.
                conn.sound = true;
                drop(conn);
            }
        });
    }
}

/// A connection whose transaction may still be open: closed when dropped, unless taken out.
struct Closing(Option<PooledConn>);

impl Drop for Closing {
    fn drop(&mut self) {
        if let Some(conn) = self.0.as_mut() {
            conn.close_on_drop();
        }
    }
}
