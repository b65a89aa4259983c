//! Tessera: a multi-tenant GraphQL API server. Each workspace lives in its own PostgreSQL
//! schema; see `docs/` and the README for the isolation model.
//!
//! The crate is organised by domain. Each folder exposes a small public API through its
//! `mod.rs`; the GraphQL layer is a thin front that parses input, calls a domain service
//! and maps the result.

pub mod audit;
pub mod authz;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod export;
pub mod graphql;
pub mod http;
pub mod identity;
pub mod jobs;
pub mod live;
pub mod mail;
pub mod members;
pub mod net;
pub mod observability;
pub mod ratelimit;
pub mod scim;
pub mod storage;
pub mod tenancy;
pub mod webhooks;
pub mod work;

/// A clock is a parameter, so that expiry and "last used" logic can be tested.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> chrono::DateTime<chrono::Utc>;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place that reads the wall clock
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}

/// Chooses the TLS crypto provider for the whole process. Two are linked (ring through the
/// database and HTTP clients, aws-lc-rs through the AWS SDK), and rustls refuses to guess.
/// Idempotent; call it before any TLS client is built.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
