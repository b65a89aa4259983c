//! The migrator's connections in this build: migrations run on sqlx (the pool derefs to
//! it), while provisioning, import and key rotation run the server's own statements, which
//! take this driver's connections, from a small pool of the same role.

use std::ops::{Deref, DerefMut};

use super::conn::{Conn, Executor};
use super::error::Error;
use crate::db::{AppPool, PooledConn};

/// The migrator role's pools: sqlx's for the migration runner, and this driver's.
#[derive(Clone, Debug)]
pub struct MigratorPool {
    sqlx: sqlx::PgPool,
    conns: AppPool,
}

impl Deref for MigratorPool {
    type Target = sqlx::PgPool;

    fn deref(&self) -> &sqlx::PgPool {
        &self.sqlx
    }
}

impl MigratorPool {
    pub fn new(sqlx: sqlx::PgPool, conns: AppPool) -> Self {
        Self { sqlx, conns }
    }

    pub async fn acquire(&self) -> Result<PooledConn, Error> {
        self.conns.acquire().await
    }

    pub async fn begin(&self) -> Result<MigratorTx<'static>, Error> {
        MigratorTx::start(Held::Owned(self.conns.acquire().await?)).await
    }
}

/// The migrator pool's sqlx pool, for the migration runner.
pub fn sqlx_pool(pool: &MigratorPool) -> &sqlx::PgPool {
    &pool.sqlx
}

/// A connection of the migrator's pool.
pub type MigratorConn = PooledConn;

/// A transaction on `conn`, which stays the caller's.
pub async fn begin(conn: &mut MigratorConn) -> Result<MigratorTx<'_>, Error> {
    MigratorTx::on(conn).await
}

enum Held<'c> {
    Owned(PooledConn),
    Borrowed(&'c mut PooledConn),
}

/// A transaction on a migrator connection. Dropped before `commit` or `rollback`
/// completed, its connection is closed, which ends the transaction with the session.
pub struct MigratorTx<'c> {
    held: Held<'c>,
    open: bool,
}

impl<'c> MigratorTx<'c> {
    async fn start(held: Held<'c>) -> Result<Self, Error> {
        let mut tx = Self { held, open: true };
        tx.execute("BEGIN").await?;
        Ok(tx)
    }

    /// A transaction on `conn`, which stays the caller's.
    pub async fn on(conn: &'c mut PooledConn) -> Result<Self, Error> {
        Self::start(Held::Borrowed(conn)).await
    }

    fn pooled(&mut self) -> &mut PooledConn {
        match &mut self.held {
            Held::Owned(c) => c,
            Held::Borrowed(c) => c,
        }
    }

    pub async fn commit(mut self) -> Result<(), Error> {
        self.execute("COMMIT").await?;
        self.open = false;
        Ok(())
    }

    pub async fn rollback(mut self) -> Result<(), Error> {
        self.execute("ROLLBACK").await?;
        self.open = false;
        Ok(())
    }
}

impl Deref for MigratorTx<'_> {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        match &self.held {
            Held::Owned(c) => c,
            Held::Borrowed(c) => c,
        }
    }
}

impl DerefMut for MigratorTx<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.pooled()
    }
}

impl Drop for MigratorTx<'_> {
    fn drop(&mut self) {
        if self.open {
            self.pooled().close_on_drop();
        }
    }
}
