//! The driver seam: the one place the application names its PostgreSQL driver.
//!
//! Every statement the server runs as the runtime role, and the provisioning, import and
//! key-rotation code that runs as the migrator, reaches the driver through these names —
//! `db::query`, `db::Conn`, `db::Error`, … — never through the driver's crate. Only the
//! pools themselves, the migration runner, database bootstrap, the cluster tools, the CLI
//! and the bench name the driver directly; `ci/gates.sh` refuses any other file that does.
//!
//! The driver behind it is tokio-postgres (`with_tokio_postgres`), which pipelines: `BEGIN`
//! and the tenant entry are written before either answer is read. sqlx, which the server
//! was built on first, stays off the request path: the migration runner, `LISTEN`, database
//! bootstrap, the cluster tools and the bench use it (`docs/decisions.md`).
//!
//! Why a seam: the request transaction moved to a driver that pipelines (issue 24), and
//! "one driver on the request path" made that switch whole. With every statement behind
//! these names, the switch was a change to this module and the pool rather than to some
//! sixty modules at once, and the error helpers below keep SQLSTATE inspection in one place.

mod with_tokio_postgres;
pub use with_tokio_postgres::*;

/// Which integrity constraint `e` violated, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    ForeignKey,
    Check,
    Unique,
}
