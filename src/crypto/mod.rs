//! Envelope encryption and key derivation.
//!
//! A 32-byte master key comes from the environment or a mounted file, never from the
//! database. Every other key is derived from it with HKDF-SHA256, binding the tenant id
//! (salt) and the purpose (info), or is a random data key stored wrapped by such a derived
//! key. Ciphertexts are AES-256-GCM with a random 96-bit nonce and carry a format version
//! and the id of the master key they depend on, so the master key can be rotated. The
//! associated data binds tenant, kind and owning row: a ciphertext copied to another row or
//! another tenant does not open.

mod error;
mod keys;
pub mod rotate;
mod seal;
mod secret;
pub mod store;

pub use error::CryptoError;
pub use keys::{DataKey, Keyring, MasterKey, Purpose};
pub use seal::{Aad, key_id_of, open, seal};
pub use secret::Secret;
