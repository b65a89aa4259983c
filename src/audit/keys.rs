use uuid::Uuid;

use super::error::AuditError;
use crate::crypto::{self, Aad, DataKey, Keyring, Purpose};
use crate::db;

const WRAP_KIND: &str = "audit-key";

/// `prev_hash` of the first entry: the head a chain starts from, written with its key.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// A new random audit key for a workspace, wrapped under a key derived from the master key:
/// what provisioning stores in `tenant_keys` (the database never sees the key itself).
pub fn new_wrapped_audit_key(keyring: &Keyring, tenant_id: Uuid) -> Vec<u8> {
    let key = DataKey::random(0);
    let kek = keyring.current().derive(Purpose::AuditKeyWrap, tenant_id);
    crypto::seal(
        &kek,
        &Aad {
            tenant_id,
            kind: WRAP_KIND,
            row: b"",
        },
        key.bytes(),
    )
}

/// Unwraps a tenant's audit key. `Ok(None)`: the key was destroyed.
pub(crate) fn unwrap_key(
    keyring: &Keyring,
    tenant_id: Uuid,
    wrapped: Option<&[u8]>,
) -> Result<Option<DataKey>, AuditError> {
    let Some(blob) = wrapped else { return Ok(None) };
    let id = crypto::key_id_of(blob).ok_or(AuditError::Key(crypto::CryptoError::Malformed))?;
    let master = keyring
        .by_id(id)
        .ok_or(AuditError::Key(crypto::CryptoError::UnknownKey(id)))?;
    let kek = master.derive(Purpose::AuditKeyWrap, tenant_id);
    let raw = crypto::open(
        &kek,
        &Aad {
            tenant_id,
            kind: WRAP_KIND,
            row: b"",
        },
        blob,
    )
    .map_err(AuditError::Key)?;
    let bytes: [u8; 32] = raw
        .as_slice()
        .try_into()
        .map_err(|_| AuditError::Key(crypto::CryptoError::Malformed))?;
    Ok(Some(DataKey::new(bytes, 0)))
}

/// Crypto-shredding: destroys the tenant's audit key. The chain stays verifiable; payloads
/// become unreadable for good. Idempotent.
pub async fn destroy_audit_key(conn: &mut db::Conn, tenant_id: Uuid) -> Result<bool, db::Error> {
    let done = db::query(
        "UPDATE public.tenant_keys SET wrapped = NULL, destroyed_at = now()
         WHERE tenant_id = $1 AND purpose = 'audit' AND wrapped IS NOT NULL",
    )
    .bind(tenant_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
