//! Why a cryptographic operation failed.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the master key must be 32 bytes of base64")]
    BadMasterKey,
    #[error("malformed ciphertext")]
    Malformed,
    #[error("ciphertext sealed under unknown master key {0:08x}")]
    UnknownKey(u32),
    #[error("ciphertext does not open (wrong key, tenant, kind or row)")]
    Open,
}
