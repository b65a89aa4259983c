//! The integration suite: one test binary, one module per domain, a real PostgreSQL.
//! Each test gets its own database and its own role prefix, dropped at the end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod anchors;
mod attachments;
mod audit;
mod authz;
mod backup;
mod citus;
mod client_addr;
mod compiled_reads;
mod console;
mod crash;
mod db_tls;
mod deletion;
mod embedded;
mod entry;
mod evidence;
mod export;
mod export_jobs;
mod fresh_cluster;
mod hardening;
mod helpers;
mod history;
mod hostile;
mod http_surface;
mod idempotency;
mod incident;
mod invitations;
mod isolation;
mod live;
mod mailbox;
mod membership;
mod mfa;
mod migrations;
mod mixed_versions;
mod network_access;
mod oidc;
mod outage;
mod passkeys;
mod password_reset;
mod pool;
mod pool_leak;
mod provisioning;
mod rate_limits;
mod rotation;
mod s3;
mod scim;
mod scim_groups;
mod secrets;
mod sessions;
mod walker;
mod webhooks;
mod workspace_signup;
