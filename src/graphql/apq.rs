//! Automatic persisted queries (the Apollo protocol): a client sends
//! `extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}` without the query; if the
//! server knows the hash it runs that query, else it answers `PERSISTED_QUERY_NOT_FOUND` and the
//! client retries once with the query, which the server then remembers.
//!
//! The cache is content-addressed: a query is stored only under the SHA-256 of its own text,
//! so no request can make a hash run anything but the query that hashes to it, whichever
//! workspace sent it. It is bounded (`limits.apq_entries`, oldest out first) and holds only
//! query texts that already passed the size check. With several replicas each keeps its own:
//! a miss costs one round trip.

use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::cache::Fifo;
use super::errors::{ApiError, ErrorCode};

/// The bounded query cache.
pub struct PersistedQueries {
    capacity: usize,
    inner: Mutex<Fifo<[u8; 32], Arc<str>>>,
}

impl PersistedQueries {
    /// `capacity` 0 turns persisted queries off (a hash-only request is then refused).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Fifo::new(capacity)),
        }
    }

    /// The query to run: `query` itself (remembered under `extensions`' hash, which must match
    /// it), or the remembered query of a hash-only request.
    pub fn resolve(
        &self,
        query: Option<String>,
        extensions: Option<&serde_json::Value>,
    ) -> Result<String, ApiError> {
        let persisted = extensions.and_then(|e| e.get("persistedQuery"));
        let Some(persisted) = persisted else {
            return query.ok_or_else(|| ApiError::new(ErrorCode::BadRequest, "no query"));
        };
        if persisted.get("version").and_then(serde_json::Value::as_i64) != Some(1) {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "persistedQuery.version must be 1",
            ));
        }
        let hash = persisted
            .get("sha256Hash")
            .and_then(serde_json::Value::as_str)
            .and_then(|h| hex::decode(h).ok())
            .and_then(|h| <[u8; 32]>::try_from(h).ok())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::BadRequest,
                    "persistedQuery.sha256Hash must be 64 hex digits",
                )
            })?;
        if self.capacity == 0 {
            return Err(ApiError::new(
                ErrorCode::PersistedQueryNotSupported,
                "PersistedQueryNotSupported",
            ));
        }
        let mut cache = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match query {
            Some(q) => {
                if Sha256::digest(q.as_bytes()).as_slice() != hash {
                    return Err(ApiError::new(
                        ErrorCode::BadRequest,
                        "persistedQuery.sha256Hash is not the SHA-256 of the query",
                    ));
                }
                cache.insert(hash, Arc::from(q.as_str()));
                Ok(q)
            }
            None => cache.get(&hash).map(|q| q.to_string()).ok_or_else(|| {
                ApiError::new(ErrorCode::PersistedQueryNotFound, "PersistedQueryNotFound")
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(q: &str) -> serde_json::Value {
        serde_json::json!({ "persistedQuery": {
            "version": 1, "sha256Hash": hex::encode(Sha256::digest(q.as_bytes())) } })
    }

    #[test]
    fn a_hash_runs_only_its_own_query_and_the_cache_is_bounded() {
        let apq = PersistedQueries::new(2);
        let (a, b, c) = ("{ a }", "{ b }", "{ c }");
        let code = |r: Result<String, ApiError>| r.err().map(|e| e.code);
        assert_eq!(
            code(apq.resolve(None, Some(&ext(a)))),
            Some(ErrorCode::PersistedQueryNotFound)
        );
        assert_eq!(apq.resolve(Some(a.into()), Some(&ext(a))).unwrap(), a);
        assert_eq!(apq.resolve(None, Some(&ext(a))).unwrap(), a);
        // A query under another query's hash is refused, and the hash keeps its own query.
        assert_eq!(
            code(apq.resolve(Some(b.into()), Some(&ext(a)))),
            Some(ErrorCode::BadRequest)
        );
        assert_eq!(apq.resolve(None, Some(&ext(a))).unwrap(), a);
        // Oldest out first.
        apq.resolve(Some(b.into()), Some(&ext(b))).unwrap();
        apq.resolve(Some(c.into()), Some(&ext(c))).unwrap();
        assert_eq!(
            code(apq.resolve(None, Some(&ext(a)))),
            Some(ErrorCode::PersistedQueryNotFound)
        );
        assert_eq!(apq.resolve(None, Some(&ext(c))).unwrap(), c);
        let bad = serde_json::json!({ "persistedQuery": { "version": 2, "sha256Hash": "00" } });
        assert_eq!(
            code(apq.resolve(Some(a.into()), Some(&bad))),
            Some(ErrorCode::BadRequest)
        );
        assert_eq!(
            code(PersistedQueries::new(0).resolve(None, Some(&ext(a)))),
            Some(ErrorCode::PersistedQueryNotSupported)
        );
    }
}
