//! Rate limits: token buckets (GCRA) kept in-process or in Redis.
//!
//! A bucket of `count` per window (a minute, an hour, a day) admits bursts of up to `count`
//! operations and refills at `count` per window. A request takes `cost` operations from several buckets at once
//! (its route, its actor, its workspace) or from none of them, so a refused request does not
//! drain the buckets it did fit in.
//!
//! With `rate_limits.redis_url` set, every replica takes from the same buckets: one Lua script
//! per request checks and updates all of its buckets atomically, on Redis's clock. Keys of one
//! request share a hash tag, so the script also runs on Redis Cluster. If Redis does not answer
//! within [`REDIS_TIMEOUT`] the request is counted in this replica's own buckets instead (each
//! replica then enforces the limits alone) and a warning is logged: limits degrade, they do not
//! switch off, and an outage of Redis does not become an outage of Tessera.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a Redis round trip may take before the in-process buckets are used.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

const MICROS_PER_MINUTE: u64 = 60_000_000;

/// A bucket's size: `count` operations per `window`, with bursts of as many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub count: u32,
    window_us: u64,
}

impl Quota {
    pub fn per_minute(per_minute: u32) -> Self {
        Self::per(per_minute, MICROS_PER_MINUTE)
    }

    pub fn per_hour(per_hour: u32) -> Self {
        Self::per(per_hour, 60 * MICROS_PER_MINUTE)
    }

    pub fn per_day(per_day: u32) -> Self {
        Self::per(per_day, 24 * 60 * MICROS_PER_MINUTE)
    }

    fn per(count: u32, window_us: u64) -> Self {
        Self {
            count: count.max(1),
            window_us,
        }
    }

    /// Microseconds between two operations at the steady rate.
    fn interval_us(self) -> u64 {
        self.window_us / u64::from(self.count)
    }

    /// How far ahead of now a bucket's theoretical arrival time may run.
    fn capacity_us(self) -> u64 {
        self.interval_us() * u64::from(self.count)
    }
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over a limit: the request would fit after this wait.
    Wait(Duration),
    /// The request alone counts more operations than a bucket holds: it never fits.
    TooLarge { cost: u32, capacity: u32 },
}

impl From<Refusal> for crate::graphql::errors::ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Wait(wait) => Self::rate_limited(wait),
            Refusal::TooLarge { cost, capacity } => {
                Self::rate_limited(Duration::from_secs(60)).with_message(format!(
                    "this request counts {cost} operations, more than the {capacity} per minute allowed"
                ))
            }
        }
    }
}

/// One bucket of one request: its key and size.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub key: String,
    pub quota: Quota,
}

/// The bucket store shared by every limit of a server.
pub struct Buckets {
    memory: Memory,
    redis: Option<Redis>,
}

impl std::fmt::Debug for Buckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buckets")
            .field("shared", &self.redis.is_some())
            .finish_non_exhaustive()
    }
}

struct Redis {
    conn: redis::aio::ConnectionManager,
    prefix: String,
    script: redis::Script,
}

/// Checks every bucket, then updates all of them or none; returns 0 or the wait in µs.
/// ARGV[1] is the cost; ARGV[2i], ARGV[2i+1] the interval and capacity of KEYS[i], in µs.
const GCRA_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i])
  local capacity = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local new_tat = tat + interval * cost
  local over = new_tat - now - capacity
  if over > wait then wait = over end
  tats[i] = new_tat
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, string.format('%d', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000) + 1)
end
return 0
";

impl Buckets {
    /// Buckets in this process only.
    pub fn in_process() -> Self {
        Self {
            memory: Memory::default(),
            redis: None,
        }
    }

    /// Buckets in Redis at `url`, shared by every server using the same Redis and `prefix`.
    /// The connection is made on first use, so a server starts while Redis is down.
    pub fn shared(url: &str, prefix: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("rate_limits.redis_url: {e}"))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1);
        let conn = redis::aio::ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| format!("rate_limits.redis_url: {e}"))?;
        Ok(Self {
            memory: Memory::default(),
            redis: Some(Redis {
                conn,
                prefix: prefix.to_owned(),
                script: redis::Script::new(GCRA_LUA),
            }),
        })
    }

    /// Whether the buckets are shared between replicas.
    pub fn is_shared(&self) -> bool {
        self.redis.is_some()
    }

    /// Takes `cost` operations from every bucket, or from none.
    pub async fn take(&self, buckets: &[Bucket], cost: u32) -> Result<(), Refusal> {
        let cost = cost.max(1);
        if let Some(b) = buckets.iter().find(|b| cost > b.quota.count) {
            return Err(Refusal::TooLarge {
                cost,
                capacity: b.quota.count,
            });
        }
        if let Some(redis) = &self.redis {
            match redis.take(buckets, cost).await {
                Ok(r) => return r,
                Err(e) => {
                    crate::observability::metrics::rate_limit_backend_error();
                    tracing::warn!(error = %e, "rate limits: Redis unavailable, counting in-process");
                }
            }
        }
        self.memory.take(buckets, cost)
    }
}

impl Redis {
    async fn take(&self, buckets: &[Bucket], cost: u32) -> Result<Result<(), Refusal>, String> {
        let mut inv = self.script.prepare_invoke();
        inv.arg(cost);
        for b in buckets {
            inv.key(format!("{}:rl:{}", self.prefix, b.key))
                .arg(b.quota.interval_us())
                .arg(b.quota.capacity_us());
        }
        let mut conn = self.conn.clone();
        let wait_us: i64 = tokio::time::timeout(REDIS_TIMEOUT, inv.invoke_async(&mut conn))
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        Ok(if wait_us > 0 {
            Err(Refusal::Wait(Duration::from_micros(wait_us.unsigned_abs())))
        } else {
            Ok(())
        })
    }
}

/// In-process GCRA state: each key's theoretical arrival time, in µs since `epoch`.
struct Memory {
    epoch: Instant,
    tats: Mutex<HashMap<String, u64>>,
    takes: AtomicU64,
}

impl Default for Memory {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            tats: Mutex::new(HashMap::new()),
            takes: AtomicU64::new(0),
        }
    }
}

impl Memory {
    fn take(&self, buckets: &[Bucket], cost: u32) -> Result<(), Refusal> {
        let now = u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
        let mut tats = self.tats.lock().unwrap_or_else(|p| p.into_inner());
        // Keys whose buckets are full again hold no state: drop them now and then, so memory
        // stays bounded by the keys active within the last minute.
        if self.takes.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            tats.retain(|_, tat| *tat > now);
        }
        let mut wait = 0;
        let mut next = Vec::with_capacity(buckets.len());
        for b in buckets {
            let tat = tats.get(&b.key).copied().unwrap_or(0).max(now);
            let new_tat = tat + b.quota.interval_us() * u64::from(cost);
            wait = wait.max((new_tat - now).saturating_sub(b.quota.capacity_us()));
            next.push(new_tat);
        }
        if wait > 0 {
            return Err(Refusal::Wait(Duration::from_micros(wait)));
        }
        for (b, tat) in buckets.iter().zip(next) {
            tats.insert(b.key.clone(), tat);
        }
        Ok(())
    }
}

/// A limit of attempts per key, on a server's [`Buckets`].
#[derive(Debug)]
pub struct Limiter {
    name: &'static str,
    quota: Quota,
}

impl Limiter {
    pub fn per_minute(name: &'static str, per_minute: u32) -> Self {
        Self::new(name, Quota::per_minute(per_minute))
    }

    pub fn new(name: &'static str, quota: Quota) -> Self {
        Self { name, quota }
    }

    fn bucket(&self, key: &str) -> Bucket {
        Bucket {
            key: format!("{}:{key}", self.name),
            quota: self.quota,
        }
    }
}

/// The limits of the sign-in surface and of what sends mail or creates workspaces, per address
/// and per account.
#[derive(Debug)]
pub struct AuthLimits {
    buckets: std::sync::Arc<Buckets>,
    signin_per_ip: Limiter,
    signin_per_account: Limiter,
    signup_per_ip: Limiter,
    factor_per_account: Limiter,
    factor_per_ip: Limiter,
    create_per_ip: Limiter,
    create_per_account: Limiter,
    reset_per_ip: Limiter,
    reset_per_address: Limiter,
    invitations_per_workspace: Limiter,
}

impl AuthLimits {
    pub fn new(cfg: &crate::config::Auth, buckets: std::sync::Arc<Buckets>) -> Self {
        Self {
            buckets,
            signin_per_ip: Limiter::per_minute("signin-ip", cfg.signin_per_minute_per_ip),
            signin_per_account: Limiter::per_minute(
                "signin-account",
                cfg.signin_per_minute_per_account,
            ),
            signup_per_ip: Limiter::per_minute("signup-ip", cfg.signup_per_minute_per_ip),
            factor_per_account: Limiter::per_minute(
                "factor-account",
                cfg.second_factor_per_minute_per_account,
            ),
            factor_per_ip: Limiter::per_minute("factor-ip", cfg.second_factor_per_minute_per_ip),
            create_per_ip: Limiter::per_minute(
                "workspace-create-ip",
                cfg.workspace_creations_per_minute_per_ip,
            ),
            create_per_account: Limiter::new(
                "workspace-create-account",
                Quota::per_day(cfg.workspace_creations_per_day_per_account),
            ),
            reset_per_ip: Limiter::per_minute("reset-ip", cfg.reset_requests_per_minute_per_ip),
            reset_per_address: Limiter::new(
                "reset-address",
                Quota::per_hour(cfg.reset_requests_per_hour_per_address),
            ),
            invitations_per_workspace: Limiter::new(
                "invitations-workspace",
                Quota::per_hour(cfg.invitations_per_hour_per_workspace),
            ),
        }
    }

    async fn one(&self, limiter: &Limiter, key: &str) -> Result<(), Duration> {
        self.all(&[(limiter, key)]).await
    }

    /// Takes one attempt from every bucket, or from none.
    async fn all(&self, limits: &[(&Limiter, &str)]) -> Result<(), Duration> {
        let buckets: Vec<Bucket> = limits.iter().map(|(l, k)| l.bucket(k)).collect();
        self.buckets.take(&buckets, 1).await.map_err(|r| match r {
            Refusal::Wait(w) => w,
            Refusal::TooLarge { .. } => Duration::from_secs(60),
        })
    }

    /// Counts one sign-in attempt (password, passkey or SSO) from an address.
    pub async fn signin_ip(&self, ip: &str) -> Result<(), Duration> {
        self.one(&self.signin_per_ip, ip).await
    }

    /// Counts one password attempt against an account, from anywhere.
    pub async fn signin_account(&self, email: &str) -> Result<(), Duration> {
        self.one(&self.signin_per_account, email).await
    }

    /// Counts one sign-up from an address.
    pub async fn signup_ip(&self, ip: &str) -> Result<(), Duration> {
        self.one(&self.signup_per_ip, ip).await
    }

    /// Counts one workspace creation (`createWorkspace`) from an address and by an account.
    pub async fn workspace_created(&self, user: uuid::Uuid, ip: &str) -> Result<(), Duration> {
        let user = user.to_string();
        self.all(&[(&self.create_per_ip, ip), (&self.create_per_account, &user)])
            .await
    }

    /// Counts one request that sends a mail to an address outside any workspace (a password
    /// reset, an address verification), per address and per the requester's address.
    pub async fn account_mail(&self, address: &str, ip: &str) -> Result<(), Duration> {
        let address = address.trim().to_lowercase();
        self.all(&[
            (&self.reset_per_ip, ip),
            (&self.reset_per_address, &address),
        ])
        .await
    }

    /// Counts one invitation mail (new or resent) of a workspace.
    pub async fn invitation_sent(&self, tenant: uuid::Uuid) -> Result<(), Duration> {
        self.one(&self.invitations_per_workspace, &tenant.to_string())
            .await
    }

    /// Counts one second-factor attempt for an account from an address.
    pub async fn factor_attempt(&self, user_id: uuid::Uuid, ip: &str) -> Result<(), Duration> {
        self.one(&self.factor_per_ip, ip).await?;
        self.one(&self.factor_per_account, &user_id.to_string())
            .await
    }
}

/// Where a workspace request is counted, besides its actor and workspace buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    GraphQl,
    Upload,
    Download,
    Export,
    /// `/scim/v2/…`: the workspace's and the token's quotas only.
    Scim,
}

/// The request limits of workspaces: per route, per actor and per workspace, by tier.
#[derive(Debug)]
pub struct RequestLimits {
    buckets: std::sync::Arc<Buckets>,
    cfg: crate::config::RateLimits,
}

impl RequestLimits {
    pub fn new(cfg: crate::config::RateLimits, buckets: std::sync::Arc<Buckets>) -> Self {
        Self { buckets, cfg }
    }

    /// Counts `cost` operations of `actor` (a token or user id) in the workspace `tenant`
    /// (`slug` picks the tier) on `route`.
    pub async fn take(
        &self,
        tenant: uuid::Uuid,
        slug: &str,
        actor: &str,
        route: Route,
        cost: u32,
    ) -> Result<(), Refusal> {
        if !self.cfg.enabled {
            return Ok(());
        }
        let tier = self.cfg.tier_of(slug);
        // `{tenant}` is the hash tag: one request's keys live in one Redis Cluster slot.
        let mut buckets = vec![
            Bucket {
                key: format!("{{{tenant}}}:workspace"),
                quota: Quota::per_minute(tier.workspace_per_minute),
            },
            Bucket {
                key: format!("{{{tenant}}}:actor:{actor}"),
                quota: Quota::per_minute(tier.actor_per_minute),
            },
        ];
        let route_quota = match route {
            Route::GraphQl | Route::Scim => None,
            Route::Upload => Some(("upload", tier.upload_per_minute)),
            Route::Download => Some(("download", tier.download_per_minute)),
            Route::Export => Some(("export", tier.export_per_minute)),
        };
        if let Some((name, per_minute)) = route_quota {
            buckets.push(Bucket {
                key: format!("{{{tenant}}}:{name}:{actor}"),
                quota: Quota::per_minute(per_minute),
            });
        }
        let taken = self.buckets.take(&buckets, cost).await;
        if taken.is_err() {
            crate::observability::metrics::rate_limited(match route {
                Route::GraphQl => "graphql",
                Route::Upload => "upload",
                Route::Download => "download",
                Route::Export => "export",
                Route::Scim => "scim",
            });
        }
        taken
    }

    /// Counts `cost` account operations (`/graphql`) of a user, in the default tier's actor
    /// quota.
    pub async fn take_account(&self, user: uuid::Uuid, cost: u32) -> Result<(), Refusal> {
        if !self.cfg.enabled {
            return Ok(());
        }
        let quota = Quota::per_minute(self.cfg.tier_of("").actor_per_minute);
        let taken = self
            .buckets
            .take(
                &[Bucket {
                    key: format!("{{user:{user}}}:account"),
                    quota,
                }],
                cost,
            )
            .await;
        if taken.is_err() {
            crate::observability::metrics::rate_limited("account");
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(key: &str, per_minute: u32) -> Bucket {
        Bucket {
            key: key.into(),
            quota: Quota::per_minute(per_minute),
        }
    }

    #[tokio::test]
    async fn a_key_over_its_limit_waits_and_other_keys_do_not() {
        let b = Buckets::in_process();
        for _ in 0..3 {
            assert_eq!(b.take(&[bucket("a", 3)], 1).await, Ok(()));
        }
        match b.take(&[bucket("a", 3)], 1).await {
            Err(Refusal::Wait(w)) => assert!(w > Duration::ZERO && w <= Duration::from_secs(20)),
            other => panic!("expected a wait, got {other:?}"),
        }
        assert_eq!(b.take(&[bucket("b", 3)], 1).await, Ok(()));
    }

    #[tokio::test]
    async fn a_refused_request_takes_from_no_bucket_and_cost_counts() {
        let b = Buckets::in_process();
        // Two of five left in the small bucket: a request of three is refused...
        assert_eq!(b.take(&[bucket("small", 5)], 3).await, Ok(()));
        assert!(
            b.take(&[bucket("big", 100), bucket("small", 5)], 3)
                .await
                .is_err()
        );
        // ...and took nothing from the big one, which still holds all 100.
        assert_eq!(b.take(&[bucket("big", 100)], 100).await, Ok(()));
        assert_eq!(
            b.take(&[bucket("x", 10)], 11).await,
            Err(Refusal::TooLarge {
                cost: 11,
                capacity: 10
            })
        );
    }
}
