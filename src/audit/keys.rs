use sqlx::PgConnection;
use uuid::Uuid;

use super::error::AuditError;
use crate::crypto::{self, Aad, DataKey, Keyring, Purpose};

const WRAP_KIND: &str = "audit-key";

/// `prev_hash` of the first entry: the head a chain starts from, written with its key.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// Creates a tenant's audit key (random, wrapped) and its chain head. Run at provisioning.
pub async fn create_tenant_audit(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant_id: Uuid,
) -> Result<(), sqlx::Error> {
    let key = DataKey::random(0);
    let kek = keyring.current().derive(Purpose::AuditKeyWrap, tenant_id);
    let wrapped = crypto::seal(
        &kek,
        &Aad {
            tenant_id,
            kind: WRAP_KIND,
            row: b"",
        },
        key.bytes(),
    );
    sqlx::query(
        "INSERT INTO public.tenant_keys (tenant_id, purpose, wrapped) VALUES ($1, 'audit', $2)",
    )
    .bind(tenant_id)
    .bind(&wrapped)
    .execute(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO public.audit_heads (tenant_id, seq, hash) VALUES ($1, 0, $2)")
        .bind(tenant_id)
        .bind(&GENESIS_HASH[..])
        .execute(&mut *conn)
        .await?;
    Ok(())
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
pub async fn destroy_audit_key(
    conn: &mut PgConnection,
    tenant_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE public.tenant_keys SET wrapped = NULL, destroyed_at = now()
         WHERE tenant_id = $1 AND purpose = 'audit' AND wrapped IS NOT NULL",
    )
    .bind(tenant_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
