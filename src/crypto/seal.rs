//! Sealed blobs: `version (1) | master key id (4, BE) | nonce (12) | AES-256-GCM ciphertext+tag`.
//! The version and key id are authenticated too (they are part of the associated data).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use rand::RngCore;
use uuid::Uuid;

use super::DataKey;
use super::error::CryptoError;

const VERSION: u8 = 1;
const HEADER: usize = 1 + 4 + 12;

/// Associated data: what a ciphertext belongs to.
#[derive(Debug, Clone)]
pub struct Aad<'a> {
    pub tenant_id: Uuid,
    pub kind: &'a str,
    pub row: &'a [u8],
}

impl Aad<'_> {
    fn encode(&self, header: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.kind.len() + self.row.len());
        out.extend_from_slice(b"tessera/aad/v1");
        out.extend_from_slice(header);
        out.extend_from_slice(self.tenant_id.as_bytes());
        for part in [self.kind.as_bytes(), self.row] {
            out.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(part);
        }
        out
    }
}

/// The master key id a blob names, without opening it.
pub fn key_id_of(blob: &[u8]) -> Option<u32> {
    (blob.len() > HEADER && blob[0] == VERSION)
        .then(|| u32::from_be_bytes([blob[1], blob[2], blob[3], blob[4]]))
}

pub fn seal(key: &DataKey, aad: &Aad<'_>, plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let mut out = Vec::with_capacity(HEADER + plaintext.len() + 16);
    out.push(VERSION);
    out.extend_from_slice(&key.key_id().to_be_bytes());
    out.extend_from_slice(&nonce);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.bytes()));
    let aad_bytes = aad.encode(&out[..5]);
    // Encryption only fails for inputs beyond AES-GCM's 64 GiB limit.
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad_bytes,
            },
        )
        .unwrap_or_default();
    out.extend_from_slice(&sealed);
    out
}

pub fn open(key: &DataKey, aad: &Aad<'_>, blob: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let id = key_id_of(blob).ok_or(CryptoError::Malformed)?;
    if blob.len() < HEADER + 16 {
        return Err(CryptoError::Malformed);
    }
    if id != key.key_id() {
        return Err(CryptoError::UnknownKey(id));
    }
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.bytes()));
    let aad_bytes = aad.encode(&blob[..5]);
    cipher
        .decrypt(
            Nonce::from_slice(&blob[5..HEADER]),
            Payload {
                msg: &blob[HEADER..],
                aad: &aad_bytes,
            },
        )
        .map_err(|_| CryptoError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_blobs_open_only_where_they_belong() {
        let key = DataKey::random(7);
        let (t1, t2) = (Uuid::new_v4(), Uuid::new_v4());
        let aad = Aad {
            tenant_id: t1,
            kind: "oidc",
            row: b"row-1",
        };
        let blob = seal(&key, &aad, b"client secret");
        assert_eq!(
            open(&key, &aad, &blob).as_deref(),
            Ok(&b"client secret"[..])
        );
        assert_eq!(key_id_of(&blob), Some(7));
        // Another row, kind or tenant: refused.
        for other in [
            Aad {
                tenant_id: t1,
                kind: "oidc",
                row: b"row-2",
            },
            Aad {
                tenant_id: t1,
                kind: "webhook",
                row: b"row-1",
            },
            Aad {
                tenant_id: t2,
                kind: "oidc",
                row: b"row-1",
            },
        ] {
            assert_eq!(open(&key, &other, &blob), Err(CryptoError::Open));
        }
        // Any flipped bit, header included, is refused.
        for i in [0, 4, 5, 20, blob.len() - 1] {
            let mut bad = blob.clone();
            bad[i] ^= 1;
            assert!(open(&key, &aad, &bad).is_err(), "bit flip at {i}");
        }
        assert_eq!(
            open(&DataKey::random(7), &aad, &blob),
            Err(CryptoError::Open)
        );
        assert_eq!(
            open(&DataKey::random(8), &aad, &blob),
            Err(CryptoError::UnknownKey(7))
        );
        assert_eq!(open(&key, &aad, &blob[..10]), Err(CryptoError::Malformed));
        // Nonces are random: sealing twice gives different blobs.
        assert_ne!(seal(&key, &aad, b"x"), seal(&key, &aad, b"x"));
    }
}
