//! The driver seam: the one place the application names its PostgreSQL driver.
//!
//! Every statement the server runs as the runtime role, and the provisioning, import and
//! key-rotation code that runs as the migrator, reaches the driver through these names —
//! `db::query`, `db::Conn`, `db::Error`, … — never through the driver's crate. Only the
//! pools themselves, the migration runner, database bootstrap, the cluster tools, the CLI
//! and the bench name the driver directly; `ci/gates.sh` refuses any other file that does.
//!
//! The driver itself lives in one submodule (`with_sqlx`); a second one can be put beside
//! it and chosen per build, never both in one: one driver on the request path.
//!
//! Why a seam: the request transaction is to move to a driver that pipelines (`BEGIN`, the
//! tenant entry and the first statement in one round trip; issue 24, `docs/decisions.md`),
//! and "one driver on the request path" makes that switch whole. With every statement
//! behind these names, the switch is a change to this module and the pool rather than to
//! some sixty modules at once, and the error helpers below keep SQLSTATE inspection in one
//! place.

mod with_sqlx;
pub use with_sqlx::*;

/// Which integrity constraint `e` violated, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    ForeignKey,
    Check,
    Unique,
}
