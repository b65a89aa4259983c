//! The tamper-evident audit chain, one per workspace.
//!
//! Every state change appends an entry in the same transaction as the change. Entry hash =
//! SHA-256(previous hash ‖ canonical bytes), see [`canonical_bytes`] and `docs/audit.md`.
//! Appends lock the tenant's chain head, so concurrent writers form one gapless sequence.
//! Payloads are sealed with a per-tenant random audit key (stored wrapped by a key derived
//! from the master key); the hash covers the ciphertext, so destroying the key
//! (crypto-shredding) leaves the chain verifiable and the contents unreadable. Signed
//! checkpoints of chain heads make a consistent rewrite of the whole chain detectable; they
//! are chained themselves (a counter and the previous checkpoint's digest), and retention
//! removes old entries only behind a signed anchor (see [`retention`]). Every checkpoint
//! is also written to the object store ([`anchors`]) and sent to the customer ([`receipts`]).

pub mod anchors;
mod chain;
mod checkpoints;
mod error;
mod export;
pub mod job;
mod keys;
pub mod offline;
pub mod receipts;
pub mod retention;
mod verify;

pub use chain::{
    Entry, EntryMeta, Filter, NewEntry, Payload, append, canonical_bytes, list, list_filtered,
};
pub use checkpoints::{chained_message, checkpoint_message};
pub use error::AuditError;
pub use export::{ExportError, Format, export};
pub use keys::{GENESIS_HASH, destroy_audit_key, new_wrapped_audit_key};
pub use verify::{Break, VerifyReport, checkpoint, checkpoint_force, last_checkpoint, verify};
