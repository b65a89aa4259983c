//! Authorization: roles, token scopes, named permissions, team visibility and the guard.
//!
//! Every guarded field declares `@requires(permission: "...")` in the SDL, and the one
//! [`RequiresGuard`] extension enforces exactly what the SDL declares: the directive *is*
//! the guard, so the two cannot drift apart. A mutation field without the directive is
//! refused at run time (fail closed) and reported by the [`walker`] at build/test time.

mod guard;
mod permission;
mod principal;
pub mod walker;

pub use guard::{RequiresGuard, requires};
pub use permission::{Permission, PermissionSet, Role, Scope};
pub use principal::{Actor, Principal, Viewer};
