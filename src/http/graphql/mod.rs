//! GraphQL over HTTP: the tenant endpoint `/w/{slug}/graphql` and the global `/graphql`.
//!
//! Order matters: transport checks (method, content type, body size, bracket depth, the
//! document's expanded size) run before authentication ([`transport`]); then the caller is
//! authenticated inside the tenant transaction ([`super::authn`]) before any resolver runs.

mod global;
mod live;
mod tenant;
mod transport;

pub use global::global;
pub use live::live;
pub use tenant::tenant;
