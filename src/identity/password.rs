//! Passwords: Argon2id (parameters from config), a minimum length and a list of the most
//! common passwords refused. Hashing runs on blocking threads behind a concurrency limit:
//! a flood of sign-ins waits briefly and is then answered "busy" instead of exhausting
//! memory (each hash holds `memory_kib` KiB). Unknown emails are verified against a dummy
//! hash so that the answer and its timing do not reveal whether an account exists.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::crypto::Secret;

/// The most common passwords (and obvious variants) that are refused outright.
const COMMON: &[&str] = &[
    "123456789012",
    "password1234",
    "passwordpassword",
    "qwertyuiopas",
    "111111111111",
    "iloveyou1234",
    "letmein12345",
    "welcome12345",
    "administrator",
    "changeme1234",
    "password123!",
    "qwerty123456",
    "123123123123",
    "abcdefghijkl",
    "000000000000",
    "correcthorsebatterystaple",
    "trustno1trustno1",
    "monkeymonkey",
    "dragondragon",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordError {
    TooShort(usize),
    TooLong,
    Common,
    /// Too many hashes in progress: retry shortly.
    Busy,
    Internal,
}

impl PasswordError {
    pub fn describe(&self) -> String {
        match self {
            Self::TooShort(n) => format!("passwords need at least {n} characters"),
            Self::TooLong => "passwords may be at most 4096 bytes".into(),
            Self::Common => "this password is too common".into(),
            Self::Busy => "the server is busy; retry shortly".into(),
            Self::Internal => "internal error".into(),
        }
    }
}

const MAX_BYTES: usize = 4096;

#[derive(Clone)]
pub struct Passwords {
    params: Params,
    min_chars: usize,
    limit: Arc<Semaphore>,
    dummy: Arc<String>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("min_chars", &self.min_chars)
            .finish_non_exhaustive()
    }
}

impl Passwords {
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        min_chars: usize,
        concurrent: usize,
    ) -> Result<Self, PasswordError> {
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|_| PasswordError::Internal)?;
        let dummy = hash_blocking(&params, b"tessera-dummy-password-for-timing")?;
        Ok(Self {
            params,
            min_chars: min_chars.max(8),
            limit: Arc::new(Semaphore::new(concurrent.max(1))),
            dummy: Arc::new(dummy),
        })
    }

    /// Refuses weak passwords. Length counts characters, so Unicode passwords are not
    /// penalised; nothing is truncated.
    pub fn check_policy(&self, password: &Secret<String>) -> Result<(), PasswordError> {
        let pw = password.expose();
        if pw.len() > MAX_BYTES {
            return Err(PasswordError::TooLong);
        }
        if pw.chars().count() < self.min_chars {
            return Err(PasswordError::TooShort(self.min_chars));
        }
        let lower = pw.to_lowercase();
        if COMMON.contains(&lower.as_str())
            || lower
                .chars()
                .collect::<std::collections::HashSet<_>>()
                .len()
                <= 2
        {
            return Err(PasswordError::Common);
        }
        Ok(())
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let permit =
            tokio::time::timeout(Duration::from_secs(2), self.limit.clone().acquire_owned())
                .await
                .map_err(|_| PasswordError::Busy)?
                .map_err(|_| PasswordError::Internal)?;
        let out = tokio::task::spawn_blocking(move || {
            let r = f();
            drop(permit);
            r
        })
        .await
        .map_err(|_| PasswordError::Internal)?;
        Ok(out)
    }

    pub async fn hash(&self, password: &Secret<String>) -> Result<String, PasswordError> {
        self.check_policy(password)?;
        let (params, pw) = (self.params.clone(), password.expose().clone().into_bytes());
        self.blocking(move || hash_blocking(&params, &pw)).await?
    }

    /// Verifies in constant time against `stored`, or against a dummy hash when there is
    /// none (unknown user, or an account without a password), always returning false then.
    pub async fn verify(
        &self,
        password: &Secret<String>,
        stored: Option<&str>,
    ) -> Result<bool, PasswordError> {
        if password.expose().len() > MAX_BYTES {
            return Ok(false);
        }
        let real = stored.is_some();
        let hash = stored.map_or_else(|| (*self.dummy).clone(), str::to_owned);
        let pw = password.expose().clone().into_bytes();
        let ok = self
            .blocking(move || {
                PasswordHash::new(&hash)
                    .map(|h| Argon2::default().verify_password(&pw, &h).is_ok())
                    .unwrap_or(false)
            })
            .await?;
        Ok(ok && real)
    }
}

fn hash_blocking(params: &Params, password: &[u8]) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Passwords {
        Passwords::new(1024, 1, 1, 12, 2).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[tokio::test]
    async fn hashes_verify_and_policy_refuses_weak_passwords() {
        let p = cheap();
        let long_unicode = Secret::new("ünïcödé-pässwörd-".repeat(100));
        let h = p.hash(&long_unicode).await.unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert_eq!(p.verify(&long_unicode, Some(&h)).await, Ok(true));
        // No truncation: a password that differs only at the end fails.
        let almost = Secret::new(format!("{}x", long_unicode.expose()));
        assert_eq!(p.verify(&almost, Some(&h)).await, Ok(false));
        assert_eq!(p.verify(&long_unicode, None).await, Ok(false));
        for weak in [
            "short",
            "passwordpassword",
            "aaaaaaaaaaaaaaaa",
            "PASSWORD1234",
        ] {
            assert!(
                p.check_policy(&Secret::new(weak.to_owned())).is_err(),
                "{weak}"
            );
        }
        assert_eq!(
            p.check_policy(&Secret::new("ab".repeat(3000))),
            Err(PasswordError::TooLong)
        );
    }
}
