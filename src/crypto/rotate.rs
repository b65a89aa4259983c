//! Master-key rotation: re-wraps every tenant audit key and re-seals every tenant secret
//! and every TOTP seed under the current master key. Each row is re-sealed in its own transaction and rows
//! already under the current key are skipped, so an interrupted run resumes where it
//! stopped and a repeated run does nothing. Run with the previous key still configured.

use uuid::Uuid;

use super::{Aad, CryptoError, Keyring, Purpose, key_id_of, open, seal};
use crate::db;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RotateReport {
    pub audit_keys: usize,
    pub secrets: usize,
    pub totp_seeds: usize,
}

#[derive(Debug)]
pub enum RotateError {
    Crypto(CryptoError),
    Db(db::Error),
}

impl From<db::Error> for RotateError {
    fn from(e: db::Error) -> Self {
        Self::Db(e)
    }
}

impl std::fmt::Display for RotateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Crypto(e) => write!(f, "{e} (is the previous master key configured?)"),
            Self::Db(e) => write!(f, "database error: {e}"),
        }
    }
}

fn reseal(
    keyring: &Keyring,
    purpose: Purpose,
    tenant_id: Uuid,
    aad: &Aad<'_>,
    blob: &[u8],
) -> Result<Option<Vec<u8>>, RotateError> {
    let id = key_id_of(blob).ok_or(RotateError::Crypto(CryptoError::Malformed))?;
    if id == keyring.current().id() {
        return Ok(None);
    }
    let old = keyring
        .by_id(id)
        .ok_or(RotateError::Crypto(CryptoError::UnknownKey(id)))?;
    let plain = zeroize::Zeroizing::new(
        open(&old.derive(purpose, tenant_id), aad, blob).map_err(RotateError::Crypto)?,
    );
    Ok(Some(seal(
        &keyring.current().derive(purpose, tenant_id),
        aad,
        &plain,
    )))
}

/// Re-seals everything still sealed under an older master key. Needs the migrator pool.
pub async fn rotate(
    pool: &db::MigratorPool,
    keyring: &Keyring,
) -> Result<RotateReport, RotateError> {
    let current = i64::from(keyring.current().id());
    let mut report = RotateReport::default();
    let tenants: Vec<Uuid> = db::query_scalar(
        "SELECT tenant_id FROM public.tenant_keys
         WHERE wrapped IS NOT NULL AND ((get_byte(wrapped, 1)::bigint << 24) | (get_byte(wrapped, 2) << 16)
                                        | (get_byte(wrapped, 3) << 8) | get_byte(wrapped, 4)) <> $1",
    )
    .bind(current)
    .fetch_all(&mut *pool.acquire().await?)
    .await?;
    for tenant_id in tenants {
        let mut tx = pool.begin().await?;
        let wrapped: Option<Vec<u8>> = db::query_scalar(
            "SELECT wrapped FROM public.tenant_keys WHERE tenant_id = $1 AND purpose = 'audit' FOR UPDATE",
        )
        .bind(tenant_id)
        .fetch_optional(&mut tx)
        .await?
        .flatten();
        let Some(blob) = wrapped else { continue };
        let aad = Aad {
            tenant_id,
            kind: "audit-key",
            row: b"",
        };
        if let Some(new) = reseal(keyring, Purpose::AuditKeyWrap, tenant_id, &aad, &blob)? {
            db::query("UPDATE public.tenant_keys SET wrapped = $2 WHERE tenant_id = $1 AND purpose = 'audit'")
                .bind(tenant_id)
                .bind(&new)
                .execute(&mut tx)
                .await?;
            report.audit_keys += 1;
        }
        tx.commit().await?;
    }
    let secrets: Vec<(Uuid, Uuid)> =
        db::query_as("SELECT tenant_id, id FROM public.tenant_secrets ORDER BY tenant_id, id")
            .fetch_all(&mut *pool.acquire().await?)
            .await?;
    for (tenant_id, id) in secrets {
        let mut tx = pool.begin().await?;
        let row: Option<(String, Vec<u8>)> = db::query_as(
            "SELECT kind, ciphertext FROM public.tenant_secrets WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&mut tx)
        .await?;
        let Some((kind, blob)) = row else { continue };
        let aad = Aad {
            tenant_id,
            kind: &kind,
            row: id.as_bytes(),
        };
        if let Some(new) = reseal(keyring, Purpose::TenantSecrets, tenant_id, &aad, &blob)? {
            db::query(
                "UPDATE public.tenant_secrets SET ciphertext = $3 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id)
            .bind(id)
            .bind(&new)
            .execute(&mut tx)
            .await?;
            report.secrets += 1;
        }
        tx.commit().await?;
    }
    let users: Vec<Uuid> =
        db::query_scalar("SELECT user_id FROM public.user_totp ORDER BY user_id")
            .fetch_all(&mut *pool.acquire().await?)
            .await?;
    for user_id in users {
        let mut tx = pool.begin().await?;
        let row: Option<(Uuid, Vec<u8>)> = db::query_as(
            "SELECT id, sealed_seed FROM public.user_totp WHERE user_id = $1 FOR UPDATE",
        )
        .bind(user_id)
        .fetch_optional(&mut tx)
        .await?;
        let Some((id, blob)) = row else { continue };
        let aad = crate::identity::factors::totp_aad(user_id, &id);
        if let Some(new) = reseal(keyring, Purpose::UserFactors, user_id, &aad, &blob)? {
            db::query("UPDATE public.user_totp SET sealed_seed = $2 WHERE user_id = $1")
                .bind(user_id)
                .bind(&new)
                .execute(&mut tx)
                .await?;
            report.totp_seeds += 1;
        }
        tx.commit().await?;
    }
    Ok(report)
}
