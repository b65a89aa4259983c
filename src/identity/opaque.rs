//! Opaque single-purpose tokens: a fixed prefix naming what the token is for (so a leaked one
//! is recognised by scanners and cannot be mistaken for another kind), then 256 random bits in
//! base64url. Only the SHA-256 of the whole token is ever stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::crypto::Secret;

/// A new token with `prefix`, and the hash to store.
pub fn generate(prefix: &str) -> (Secret<String>, [u8; 32]) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = Sha256::digest(token.as_bytes()).into();
    (Secret::new(token), hash)
}

/// The stored hash of a presented token, if it is well formed for `prefix`; anything else
/// (another kind, a typo, garbage) is `None` and matches nothing.
pub fn parse(prefix: &str, token: &str) -> Option<[u8; 32]> {
    let body = token.trim().strip_prefix(prefix)?;
    (body.len() == 43
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| Sha256::digest(token.trim().as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_only_with_their_own_prefix() {
        let (token, hash) = generate("tsi_");
        assert_eq!(parse("tsi_", token.expose()), Some(hash));
        assert_eq!(parse("tsp_", token.expose()), None);
        assert_eq!(parse("tsi_", "tsi_short"), None);
        assert_eq!(parse("tsi_", &format!("{}!", &token.expose()[..46])), None);
    }
}
