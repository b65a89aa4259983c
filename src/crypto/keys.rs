use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hkdf::Hkdf;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::error::CryptoError;

/// What a derived key is for. The label is part of the HKDF info and must never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Wraps a tenant's random audit key.
    AuditKeyWrap,
    /// Seals a tenant's stored secrets (OIDC client secrets, webhook secrets, ...).
    TenantSecrets,
    /// Seed of the Ed25519 key that signs audit checkpoints (not tenant-specific).
    CheckpointSigning,
    /// Seals a user's second-factor secrets (TOTP seeds); derived per user.
    UserFactors,
    /// Signs the server's own short-lived download URLs (not tenant-specific).
    BlobUrls,
    /// Seals stored responses (idempotency keys) and keys their request fingerprints.
    StoredResponses,
    /// Seals queued mail (its links' tokens) until it is sent (not tenant-specific).
    MailOutbox,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::AuditKeyWrap => b"tessera/v1/audit-key-wrap",
            Self::MailOutbox => b"tessera/v1/mail-outbox",
            Self::TenantSecrets => b"tessera/v1/tenant-secrets",
            Self::CheckpointSigning => b"tessera/v1/checkpoint-signing",
            Self::UserFactors => b"tessera/v1/user-factors",
            Self::BlobUrls => b"tessera/v1/blob-urls",
            Self::StoredResponses => b"tessera/v1/stored-responses",
        }
    }
}

/// The master key. Zeroed on drop; Debug prints only its id.
#[derive(Clone)]
pub struct MasterKey {
    bytes: Zeroizing<[u8; 32]>,
    id: u32,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(id={:08x}, [REDACTED])", self.id)
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        // The id names the key without revealing it: a prefix of a hash under its own label.
        let mut h = Sha256::new();
        h.update(b"tessera/v1/master-key-id");
        h.update(bytes);
        let digest = h.finalize();
        let id = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        Self {
            bytes: Zeroizing::new(bytes),
            id,
        }
    }

    /// Parses 32 bytes of standard base64 (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let raw = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|_| CryptoError::BadMasterKey)?,
        );
        let bytes: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::BadMasterKey)?;
        Ok(Self::from_bytes(bytes))
    }

    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self::from_bytes(bytes)
    }

    /// Base64 form, for writing a freshly generated key to its file.
    pub fn to_base64(&self) -> super::Secret<String> {
        super::Secret::new(STANDARD.encode(*self.bytes))
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    /// HKDF-SHA256: salt = tenant id (nil for deployment-wide keys), info = purpose.
    pub fn derive(&self, purpose: Purpose, tenant: Uuid) -> DataKey {
        let hk = Hkdf::<Sha256>::new(Some(tenant.as_bytes()), self.bytes.as_slice());
        let mut out = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's output limit, so expand cannot fail.
        let _ = hk.expand(purpose.label(), &mut out);
        DataKey::new(out, self.id)
    }
}

/// A 256-bit symmetric key with the id of the master key it derives from or is wrapped by.
#[derive(Clone)]
pub struct DataKey {
    bytes: Zeroizing<[u8; 32]>,
    key_id: u32,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey(key_id={:08x}, [REDACTED])", self.key_id)
    }
}

impl DataKey {
    pub fn new(bytes: [u8; 32], key_id: u32) -> Self {
        Self {
            bytes: Zeroizing::new(bytes),
            key_id,
        }
    }

    pub fn random(key_id: u32) -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self::new(bytes, key_id)
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

/// The current master key and, during a rotation, the previous ones (to open old
/// ciphertexts, which name their key id).
#[derive(Debug, Clone)]
pub struct Keyring {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl Keyring {
    pub fn new(current: MasterKey) -> Self {
        Self {
            current,
            previous: Vec::new(),
        }
    }

    pub fn with_previous(mut self, key: MasterKey) -> Self {
        self.previous.push(key);
        self
    }

    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    /// Every key held: the current one first.
    pub fn all(&self) -> impl Iterator<Item = &MasterKey> {
        std::iter::once(&self.current).chain(self.previous.iter())
    }

    pub fn by_id(&self, id: u32) -> Option<&MasterKey> {
        std::iter::once(&self.current)
            .chain(self.previous.iter())
            .find(|k| k.id() == id)
    }

    /// The Ed25519 key that signs audit checkpoints.
    pub fn checkpoint_signer(&self) -> ed25519_dalek::SigningKey {
        let seed = self.current.derive(Purpose::CheckpointSigning, Uuid::nil());
        ed25519_dalek::SigningKey::from_bytes(seed.bytes())
    }

    /// The checkpoint verifying key of the master key `id`, when that key is held.
    pub fn checkpoint_verifier(&self, id: u32) -> Option<ed25519_dalek::VerifyingKey> {
        self.by_id(id).map(|k| {
            let seed = k.derive(Purpose::CheckpointSigning, Uuid::nil());
            ed25519_dalek::SigningKey::from_bytes(seed.bytes()).verifying_key()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_binds_tenant_and_purpose() {
        let m = MasterKey::generate();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let k = |p, t| *m.derive(p, t).bytes();
        assert_eq!(k(Purpose::TenantSecrets, a), k(Purpose::TenantSecrets, a));
        assert_ne!(k(Purpose::TenantSecrets, a), k(Purpose::TenantSecrets, b));
        assert_ne!(k(Purpose::TenantSecrets, a), k(Purpose::AuditKeyWrap, a));
        let other = MasterKey::generate();
        assert_ne!(
            k(Purpose::TenantSecrets, a),
            *other.derive(Purpose::TenantSecrets, a).bytes()
        );
    }

    #[test]
    fn master_key_parsing_and_redaction() {
        let m = MasterKey::generate();
        let text = m.to_base64();
        let back = MasterKey::from_base64(text.expose()).map(|k| k.id());
        assert_eq!(back.ok(), Some(m.id()));
        assert!(!format!("{m:?}").contains(text.expose().as_str()));
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
    }
}
