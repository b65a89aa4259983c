//! The HTTP surface: routing, transport checks, request authentication and the handlers.
//!
//! This file only declares the parts: [`router`] puts every route together,
//! [`state`] holds what handlers share, [`authn`] authenticates callers for every route.

mod account;
mod attachments;
mod authn;
mod client_addr;
mod console;
mod exports;
mod graphql;
mod oidc;
mod ops;
mod router;
mod scim;
mod signin;
mod state;

pub use console::built as console_built;
pub use ops::metrics_router;
pub use router::{router, serve};
pub use state::AppState;
