//! Webhook signatures, as the Standard Webhooks convention defines them.
//!
//! Each delivery carries three headers:
//!
//! - `webhook-id`: the event's id, the same on every retry (receivers de-duplicate on it);
//! - `webhook-timestamp`: Unix seconds when this attempt was signed;
//! - `webhook-signature`: space-separated `v1,<base64 HMAC-SHA256>` over
//!   `"{id}.{timestamp}.{body}"`. While an endpoint's secret rotates it carries one signature
//!   per secret, and a receiver accepts the delivery if any of them verifies with a secret it
//!   holds.
//!
//! Secrets are `whsec_` followed by the base64 of the key bytes. A receiver verifies with
//! [`verify`]: it refuses a timestamp more than five minutes away from its own clock (so a
//! captured delivery cannot be replayed later), compares signatures in constant time, and
//! should remember `webhook-id`s for at least that window to refuse a replay within it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a delivery's timestamp may be from the receiver's clock.
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// An endpoint's signing secret.
#[derive(Clone)]
pub struct WebhookSecret(zeroize::Zeroizing<Vec<u8>>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// A header is missing or malformed.
    Malformed(&'static str),
    /// The timestamp is outside the tolerance: a replay, or a badly wrong clock.
    Stale,
    /// No signature verifies with any of the receiver's secrets.
    BadSignature,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "malformed webhook headers: {what}"),
            Self::Stale => f.write_str("the webhook timestamp is outside the 5-minute window"),
            Self::BadSignature => f.write_str("no webhook signature verifies"),
        }
    }
}

impl std::error::Error for VerifyError {}

impl WebhookSecret {
    /// A new random 32-byte secret.
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut key = zeroize::Zeroizing::new(vec![0u8; 32]);
        rand::rng().fill_bytes(&mut key);
        Self(key)
    }

    /// Parses `whsec_<base64>` (the prefix is optional, as receivers often store it without).
    pub fn parse(s: &str) -> Option<Self> {
        let b64 = s.strip_prefix("whsec_").unwrap_or(s);
        let key = STANDARD.decode(b64).ok()?;
        (key.len() >= 16).then(|| Self(zeroize::Zeroizing::new(key)))
    }

    /// The `whsec_<base64>` form, shown once to whoever registers the endpoint.
    pub fn expose(&self) -> String {
        format!("whsec_{}", STANDARD.encode(&*self.0))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).ok()?;
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        Some(mac)
    }
}

/// The `webhook-signature` header value: one `v1,<base64>` per secret (two while rotating).
pub fn sign(secrets: &[&WebhookSecret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .filter_map(|s| s.mac(id, timestamp, body))
        .map(|m| format!("v1,{}", STANDARD.encode(m.finalize().into_bytes())))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Verifies a delivery: `id`, `timestamp` and `signature` are the three headers' values, `body`
/// the raw request body (before any JSON parsing), `now` the receiver's clock in Unix seconds.
pub fn verify(
    secrets: &[WebhookSecret],
    id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    if id.is_empty() {
        return Err(VerifyError::Malformed("webhook-id"));
    }
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::Malformed("webhook-timestamp"))?;
    if (now - ts).abs() > TOLERANCE_SECS {
        return Err(VerifyError::Stale);
    }
    let presented: Vec<Vec<u8>> = signature
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .collect();
    if presented.is_empty() {
        return Err(VerifyError::Malformed("webhook-signature"));
    }
    let ok = secrets.iter().any(|secret| {
        presented.iter().any(|sig| {
            // `verify_slice` compares in constant time.
            secret
                .mac(id, ts, body)
                .is_some_and(|m| m.verify_slice(sig).is_ok())
        })
    });
    if ok {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_reference_vector() {
        // The example in the Standard Webhooks specification.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(&[&secret], id, 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(
            verify(&[secret], id, "1614265330", &sig, body, 1614265330 + 60),
            Ok(())
        );
    }

    #[test]
    fn tampering_replays_and_wrong_secrets_are_refused_and_rotation_works() {
        let (old, new) = (WebhookSecret::generate(), WebhookSecret::generate());
        let (id, now, body) = ("evt_1", 1_700_000_000, b"{\"a\":1}".as_slice());
        let both = sign(&[&old, &new], id, now, body);
        assert_eq!(both.split(' ').count(), 2);
        // A receiver holding either secret accepts a delivery signed during the rotation.
        for held in [&old, &new] {
            assert_eq!(
                verify(
                    std::slice::from_ref(held),
                    id,
                    &now.to_string(),
                    &both,
                    body,
                    now
                ),
                Ok(())
            );
        }
        let sig = sign(&[&new], id, now, body);
        let v = |secrets: &[WebhookSecret], id: &str, ts: i64, sig: &str, body: &[u8], at: i64| {
            verify(secrets, id, &ts.to_string(), sig, body, at)
        };
        let n = [new.clone()];
        assert_eq!(
            v(&n, id, now, &sig, b"{\"a\":2}", now),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            v(&n, "evt_2", now, &sig, body, now),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            v(&n, id, now + 1, &sig, body, now),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            v(std::slice::from_ref(&old), id, now, &sig, body, now),
            Err(VerifyError::BadSignature)
        );
        // Five minutes either way is the window.
        assert_eq!(v(&n, id, now, &sig, body, now + TOLERANCE_SECS), Ok(()));
        assert_eq!(
            v(&n, id, now, &sig, body, now + TOLERANCE_SECS + 1),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            v(&n, id, now, &sig, body, now - TOLERANCE_SECS - 1),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify(&n, id, "yesterday", &sig, body, now),
            Err(VerifyError::Malformed("webhook-timestamp"))
        );
        assert_eq!(
            verify(&n, id, &now.to_string(), "v2,abc", body, now),
            Err(VerifyError::Malformed("webhook-signature"))
        );
        let parsed = WebhookSecret::parse(&new.expose()).unwrap();
        assert_eq!(
            verify(&[parsed], id, &now.to_string(), &sig, body, now),
            Ok(())
        );
        assert!(
            WebhookSecret::parse("whsec_c2hvcnQ=").is_none(),
            "too short"
        );
    }
}
