//! Authorization: roles, token scopes, named permissions, team visibility and the guard.
//!
//! Every guarded field declares `@requires(permission: "...")` in the SDL, and
//! [`RequiresGuard`], built from that SDL, enforces exactly what it declares: the directive
//! *is* the guard, so the two cannot drift apart. Every operation is checked before it runs
//! against the guarded root fields it selects; where mutations run, the same guard also
//! re-checks each field as it resolves. A mutation field without the directive is refused at
//! run time (fail closed) and reported by the [`walker`] at build/test time, as is a
//! directive anywhere but on a root field.

mod guard;
mod permission;
mod principal;
pub mod walker;

pub use guard::{RequiresGuard, requires};
pub use permission::{Permission, PermissionSet, Role, Scope};
pub use principal::{Actor, Principal, Viewer};
