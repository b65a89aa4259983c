//! SCIM 2.0 provisioning (RFC 7643, RFC 7644): a workspace's identity provider manages its
//! members through `/scim/v2/<slug>/` (`http::scim`). This module holds what does not depend
//! on HTTP: tokens, the User resource, filters, PATCH, attribute projection, the published
//! schema, and the store with its effect on membership. Decisions and the provider mapping:
//! `docs/scim.md`.

pub mod discovery;
pub mod error;
pub mod filter;
pub mod patch;
pub mod project;
pub mod resource;
pub mod tokens;
pub mod users;
