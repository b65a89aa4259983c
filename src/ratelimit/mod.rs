//! Attempt limits: keyed token buckets (GCRA, via `governor`). In-process for now, so with
//! several replicas each enforces its own buckets; a shared Redis backend is planned.
//! Buckets of idle keys are dropped periodically, so memory stays bounded by the number of
//! recently active keys.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// A limit of `per_minute` attempts per key, with bursts up to the same number.
pub struct Limiter {
    inner: DefaultKeyedRateLimiter<String>,
    checks: AtomicU64,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter").finish_non_exhaustive()
    }
}

impl Limiter {
    pub fn per_minute(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            inner: RateLimiter::keyed(Quota::per_minute(n)),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one attempt for `key`. `Err(wait)`: over the limit, retry after `wait`.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.inner.retain_recent();
        }
        self.inner
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// The limits of the sign-in surface.
#[derive(Debug)]
pub struct AuthLimits {
    pub signin_per_ip: Limiter,
    pub signin_per_account: Limiter,
    pub signup_per_ip: Limiter,
    pub factor_per_account: Limiter,
    pub factor_per_ip: Limiter,
}

impl AuthLimits {
    /// Counts one second-factor attempt for an account from an address.
    pub fn factor_attempt(&self, user_id: uuid::Uuid, ip: &str) -> Result<(), Duration> {
        self.factor_per_ip.check(ip)?;
        self.factor_per_account.check(&user_id.to_string())
    }

    pub fn new(cfg: &crate::config::Auth) -> Self {
        Self {
            signin_per_ip: Limiter::per_minute(cfg.signin_per_minute_per_ip),
            signin_per_account: Limiter::per_minute(cfg.signin_per_minute_per_account),
            signup_per_ip: Limiter::per_minute(cfg.signup_per_minute_per_ip),
            factor_per_account: Limiter::per_minute(cfg.second_factor_per_minute_per_account),
            factor_per_ip: Limiter::per_minute(cfg.second_factor_per_minute_per_ip),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_over_its_limit_waits_and_other_keys_do_not() {
        let l = Limiter::per_minute(3);
        for _ in 0..3 {
            assert!(l.check("a").is_ok());
        }
        let wait = l.check("a").err();
        assert!(wait.is_some_and(|w| w > Duration::ZERO && w <= Duration::from_secs(60)));
        assert!(l.check("b").is_ok());
    }
}
