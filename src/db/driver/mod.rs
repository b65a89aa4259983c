//! The driver seam: the one place the application names its PostgreSQL driver.
//!
//! Every statement the server runs as the runtime role, and the provisioning, import and
//! key-rotation code that runs as the migrator, reaches the driver through these names —
//! `db::query`, `db::Conn`, `db::Error`, … — never through the driver's crate. Only the
//! pools themselves, the migration runner, database bootstrap, the cluster tools, the CLI
//! and the bench name the driver directly; `ci/gates.sh` refuses any other file that does.
//!
//! Two drivers can sit behind it, one per build: sqlx (`with_sqlx`, the default), and
//! tokio-postgres (`with_tokio_postgres`, `--features driver-tokio-postgres`), the
//! pipelining driver being brought up. Never both in one build: one driver on the request
//! path.
//!
//! Why a seam: the request transaction is to move to a driver that pipelines (`BEGIN`, the
//! tenant entry and the first statement in one round trip; issue 24, `docs/decisions.md`),
//! and "one driver on the request path" makes that switch whole. With every statement
//! behind these names, the switch is a change to this module and the pool rather than to
//! some sixty modules at once, and the error helpers below keep SQLSTATE inspection in one
//! place.

#[cfg(not(feature = "driver-tokio-postgres"))]
mod with_sqlx;
#[cfg(not(feature = "driver-tokio-postgres"))]
pub use with_sqlx::*;

#[cfg(feature = "driver-tokio-postgres")]
mod with_tokio_postgres;
#[cfg(feature = "driver-tokio-postgres")]
pub use with_tokio_postgres::*;

/// Which integrity constraint `e` violated, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    ForeignKey,
    Check,
    Unique,
}
