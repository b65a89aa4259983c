//! Request limits: GraphQL and HTTP limits, and the rate-limit tiers.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest accepted request body, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Longest accepted query document, in bytes.
    pub max_query_bytes: usize,
    /// Deepest bracket nesting (`{`, `[`, `(`) accepted before the parser runs.
    pub max_nesting: usize,
    /// Maximum selection depth.
    pub max_depth: usize,
    /// Maximum aliased fields in one operation (fragment spreads counted each time).
    pub max_aliases: usize,
    /// Most operations in one batched request (a JSON array); 0 refuses batches.
    pub max_batch: usize,
    /// Automatic persisted queries remembered per server (oldest out first); 0 turns them off.
    pub apq_entries: usize,
    /// Parsed query documents remembered per server (oldest out first); 0 turns it off.
    pub document_cache_entries: usize,
    /// Maximum complexity, with list fields counted as `first × child`.
    pub max_complexity: usize,
    /// Largest page size a list field accepts.
    pub max_page_size: i32,
    /// Default page size when `first` is not given.
    pub default_page_size: i32,
    /// Request timeout in seconds.
    pub request_timeout_secs: u64,
    /// Allow introspection queries.
    pub introspection: bool,
    /// Diagnostics: report the number of SQL statements a tenant request issued in the
    /// response's `extensions.tessera.statements`. Off in production.
    pub report_statement_count: bool,
    /// Answer the read fields that compile (`docs/compiled-reads.md`) from one SQL statement
    /// planned from the selection; off, every field goes through its resolver.
    pub compiled_reads: bool,
    /// Live (WebSocket) connections one user may hold across the server.
    pub live_connections_per_user: usize,
    /// Subscriptions one live connection may run at once.
    pub live_subscriptions_per_connection: usize,
    /// How often a live connection re-checks its credentials when nothing prompts it, in
    /// seconds (revocations and membership changes prompt it at once).
    pub live_recheck_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 256 * 1024,
            max_query_bytes: 32 * 1024,
            max_nesting: 48,
            max_depth: 12,
            max_aliases: 30,
            max_batch: 10,
            apq_entries: 1000,
            document_cache_entries: 512,
            max_complexity: 20_000,
            max_page_size: 100,
            default_page_size: 20,
            request_timeout_secs: 30,
            introspection: true,
            report_statement_count: false,
            compiled_reads: true,
            live_connections_per_user: 8,
            live_subscriptions_per_connection: 10,
            live_recheck_secs: 60,
        }
    }
}

/// Token buckets per workspace, per actor (token or user) and per route. A tier is a set of
/// quotas; workspaces get `default_tier` unless `workspaces` names another for their slug.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// Off: no request limits (sign-in and sign-up limits stay on).
    pub enabled: bool,
    /// `redis://host:port[/db]`: buckets shared by every replica. Unset: in-process buckets,
    /// which each replica enforces on its own. Secret-like (may carry a password), so it can
    /// be given as `TESSERA_REDIS_URL_FILE`.
    pub redis_url: Option<crate::crypto::Secret<String>>,
    /// Prefix of every Redis key, so deployments can share one Redis.
    pub redis_prefix: String,
    /// The tier of workspaces not named in `workspaces`.
    pub default_tier: String,
    /// Quotas by tier name.
    pub tiers: std::collections::BTreeMap<String, Tier>,
    /// Workspace slug → tier name.
    pub workspaces: std::collections::BTreeMap<String, String>,
}

/// One tier's quotas, in operations per minute; each is also the burst a bucket allows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tier {
    /// All requests of a workspace, from every token and user.
    pub workspace_per_minute: u32,
    /// One token's or one user's requests, on every route. A GraphQL request counts once per
    /// root field (aliases included) and once per operation of a batch.
    pub actor_per_minute: u32,
    /// Attachment uploads by one actor.
    pub upload_per_minute: u32,
    /// Attachment and export downloads by one actor.
    pub download_per_minute: u32,
    /// Exports (streamed, CSV, background) by one actor.
    pub export_per_minute: u32,
}

impl Default for Tier {
    fn default() -> Self {
        Self {
            workspace_per_minute: 6_000,
            actor_per_minute: 1_200,
            upload_per_minute: 120,
            download_per_minute: 600,
            export_per_minute: 20,
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            enabled: true,
            redis_url: None,
            redis_prefix: "tessera".into(),
            default_tier: "standard".into(),
            tiers: [("standard".to_owned(), Tier::default())].into(),
            workspaces: Default::default(),
        }
    }
}

impl RateLimits {
    /// The quotas of a workspace.
    pub fn tier_of(&self, slug: &str) -> &Tier {
        static FALLBACK: std::sync::LazyLock<Tier> = std::sync::LazyLock::new(Tier::default);
        let name = self.workspaces.get(slug).unwrap_or(&self.default_tier);
        self.tiers.get(name).unwrap_or(&FALLBACK)
    }
}
