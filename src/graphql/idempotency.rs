//! `Idempotency-Key` on mutation requests.
//!
//! The first successful response of a keyed mutation request is stored per workspace and
//! actor for [`KEEP_HOURS`], in the same transaction as the mutation's effects and audit
//! entry. So whatever happens to the server, a key's effects and its stored response commit
//! together or not at all, and a retry either replays the stored response (without executing
//! anything) or executes the mutation for the first time.
//!
//! - Same key, same body: the stored response, with `Idempotent-Replayed: true`.
//! - Same key, another body: `IDEMPOTENCY_KEY_REUSED` (422); nothing runs.
//! - Same key while the first request runs: `IDEMPOTENCY_IN_PROGRESS` (409, `Retry-After: 1`),
//!   decided by a transaction-scoped advisory lock, so no connection waits on another.
//! - A failed request stores nothing (its transaction rolled back): a retry runs again.
//!
//! A stored response can hold what is shown only once (a new API token, a webhook secret), so
//! it is sealed like every other secret: AES-256-GCM under the workspace's derived key, bound
//! to workspace, actor and key. The request fingerprint is an HMAC of the body under the same
//! derived key, so the table reveals nothing about request bodies either. Both use the master
//! key current when the response was stored; a rotation must keep the previous master key
//! (`TESSERA_PREVIOUS_MASTER_KEYS`) for the 24 hours keys live.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::errors::{ApiError, ErrorCode};
use crate::crypto::{Aad, Keyring, Purpose};
use crate::db;

/// How long a key's result is kept.
pub const KEEP_HOURS: i32 = 24;

/// The header clients send.
pub const HEADER: &str = "idempotency-key";

/// The header on a replayed response.
pub const REPLAYED: &str = "idempotent-replayed";

/// A keyed request: whose, which key, and the hash of its body.
#[derive(Debug, Clone)]
pub struct Keyed {
    actor: String,
    key: String,
    body_hash: [u8; 32],
}

/// The `Idempotency-Key` of a request: 1–255 visible ASCII characters.
pub fn key_of(headers: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get(HEADER) else {
        return Ok(None);
    };
    let v = v.to_str().unwrap_or("");
    if v.is_empty() || v.len() > 255 || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(Some(v.to_owned()))
}

impl Keyed {
    /// `actor` is `token:<id>` or `user:<id>`; `body` the request body as sent.
    pub fn new(actor: String, key: String, body: &[u8]) -> Self {
        Self {
            actor,
            key,
            body_hash: Sha256::digest(body).into(),
        }
    }

    /// What the sealed response is bound to: workspace, actor and key.
    fn row(&self) -> [u8; 32] {
        Sha256::new()
            .chain_update(self.actor.as_bytes())
            .chain_update(b"\0")
            .chain_update(self.key.as_bytes())
            .finalize()
            .into()
    }

    /// The request fingerprint under `key`: HMAC-SHA256 of the body hash.
    fn fingerprint(&self, key: &crate::crypto::DataKey) -> Option<[u8; 32]> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.bytes()).ok()?;
        mac.update(b"idempotency-request\0");
        mac.update(&self.body_hash);
        Some(mac.finalize().into_bytes().into())
    }

    /// Claims the key inside the request's transaction: `Some(response)` if it was used
    /// with this body already (replay it), `None` if this request is the first.
    pub async fn claim(
        &self,
        conn: &mut db::Conn,
        keyring: &Keyring,
        tenant: uuid::Uuid,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        let lock: [u8; 32] = Sha256::new()
            .chain_update(b"tessera.idempotency\0")
            .chain_update(tenant.as_bytes())
            .chain_update(self.actor.as_bytes())
            .chain_update(b"\0")
            .chain_update(self.key.as_bytes())
            .finalize()
            .into();
        let mut first = [0u8; 8];
        first.copy_from_slice(&lock[..8]);
        let locked: bool = db::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(i64::from_be_bytes(first))
            .fetch_one(&mut *conn)
            .await?;
        if !locked {
            return Err(ApiError::idempotency_in_progress());
        }
        // Expired keys of this actor go first, so a key can be reused after a day and the
        // table holds at most a day of each actor's keys.
        db::query(
            "DELETE FROM idempotency_keys
             WHERE actor = $1 AND created_at < now() - make_interval(hours => $2)",
        )
        .bind(&self.actor)
        .bind(KEEP_HOURS)
        .execute(&mut *conn)
        .await?;
        let found: Option<(Vec<u8>, Vec<u8>)> = db::query_as(
            "SELECT request_hash, response FROM idempotency_keys WHERE actor = $1 AND key = $2",
        )
        .bind(&self.actor)
        .bind(&self.key)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((fingerprint, sealed)) = found else {
            return Ok(None);
        };
        // The key the response was sealed with also keyed its fingerprint.
        let key = crate::crypto::key_id_of(&sealed)
            .and_then(|id| keyring.by_id(id))
            .map(|m| m.derive(Purpose::StoredResponses, tenant))
            .ok_or_else(|| ApiError::internal(&"stored response sealed with an unknown key"))?;
        let same = self.fingerprint(&key).is_some_and(|f| {
            subtle::ConstantTimeEq::ct_eq(f.as_slice(), fingerprint.as_slice()).into()
        });
        if !same {
            return Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was used with a different request; use a new key",
            ));
        }
        let row = self.row();
        let aad = Aad {
            tenant_id: tenant,
            kind: "idempotency_response",
            row: &row,
        };
        crate::crypto::open(&key, &aad, &sealed)
            .map(Some)
            .map_err(|e| ApiError::internal(&format!("stored response: {e:?}")))
    }

    /// Stores the response of the first request, sealed, in its transaction (before COMMIT).
    pub async fn store(
        &self,
        conn: &mut db::Conn,
        keyring: &Keyring,
        tenant: uuid::Uuid,
        response: &[u8],
    ) -> Result<(), ApiError> {
        let key = keyring.current().derive(Purpose::StoredResponses, tenant);
        let fingerprint = self
            .fingerprint(&key)
            .ok_or_else(|| ApiError::internal(&"fingerprint key"))?;
        let row = self.row();
        let aad = Aad {
            tenant_id: tenant,
            kind: "idempotency_response",
            row: &row,
        };
        let sealed = crate::crypto::seal(&key, &aad, response);
        db::query(
            "INSERT INTO idempotency_keys (actor, key, request_hash, response)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&self.actor)
        .bind(&self.key)
        .bind(fingerprint.as_slice())
        .bind(&sealed)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        let mut h = axum::http::HeaderMap::new();
        assert!(matches!(key_of(&h), Ok(None)));
        h.insert(HEADER, "order-42".parse().unwrap());
        assert_eq!(key_of(&h).unwrap().as_deref(), Some("order-42"));
        for bad in ["", "has space", &"k".repeat(256)] {
            h.insert(HEADER, bad.parse().unwrap());
            assert!(key_of(&h).is_err(), "{bad:?}");
        }
    }
}
