//! The tenant secrets store: values sealed with the tenant's derived secrets key, bound to
//! tenant, kind and row. Reads go through the tenant transaction (RLS); values leave this
//! module only as [`Secret`], and the API returns metadata only.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Aad, CryptoError, Keyring, Purpose, Secret, open, seal};
use crate::db;
use crate::tenancy::TenantTx;

/// What a secret is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum SecretKind {
    OidcClientSecret,
    WebhookSecret,
    IntegrationCredential,
}

impl SecretKind {
    /// The stored names of every kind.
    pub const NAMES: [&'static str; 3] = [
        "oidc_client_secret",
        "webhook_secret",
        "integration_credential",
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OidcClientSecret => "oidc_client_secret",
            Self::WebhookSecret => "webhook_secret",
            Self::IntegrationCredential => "integration_credential",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "oidc_client_secret" => Some(Self::OidcClientSecret),
            "webhook_secret" => Some(Self::WebhookSecret),
            "integration_credential" => Some(Self::IntegrationCredential),
            _ => None,
        }
    }
}

/// Metadata of a stored secret; never its value.
#[derive(Debug, Clone)]
pub struct SecretInfo {
    pub id: Uuid,
    pub kind: SecretKind,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug)]
pub enum StoreError {
    Invalid(String),
    NotFound,
    Crypto(CryptoError),
    Db(db::Error),
}

impl From<db::Error> for StoreError {
    fn from(e: db::Error) -> Self {
        Self::Db(e)
    }
}

const MAX_SECRET_BYTES: usize = 8 * 1024;

fn aad<'a>(tenant_id: Uuid, kind: SecretKind, id: &'a Uuid) -> Aad<'a> {
    Aad {
        tenant_id,
        kind: kind.as_str(),
        row: id.as_bytes(),
    }
}

/// Stores (or replaces) the secret `kind`/`name`.
pub async fn put(
    tx: &mut TenantTx,
    keyring: &Keyring,
    kind: SecretKind,
    name: &str,
    value: &Secret<String>,
) -> Result<SecretInfo, StoreError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(StoreError::Invalid(
            "secret name must be 1 to 100 characters".into(),
        ));
    }
    if value.expose().is_empty() || value.expose().len() > MAX_SECRET_BYTES {
        return Err(StoreError::Invalid(format!(
            "secret value must be 1 to {MAX_SECRET_BYTES} bytes"
        )));
    }
    let tenant_id = tx.tenant_id();
    // Two requests storing the same new name at once would both find no row and insert under
    // different ids (the id is in the ciphertext's associated data, so a plain upsert by name
    // cannot keep it): the second waits here for the first to commit, then replaces its value.
    db::query("SELECT pg_advisory_xact_lock(hashtextextended('tessera.secret:' || $1::text || ':' || $2 || ':' || $3, 0))")
        .bind(tenant_id)
        .bind(kind.as_str())
        .bind(name)
        .execute(tx.conn())
        .await?;
    let existing: Option<Uuid> =
        db::query_scalar("SELECT id FROM public.tenant_secrets WHERE tenant_id = $1 AND kind = $2 AND name = $3 FOR UPDATE")
            .bind(tenant_id)
            .bind(kind.as_str())
            .bind(name)
            .fetch_optional(tx.conn())
            .await?;
    let id = existing.unwrap_or_else(Uuid::now_v7);
    let key = keyring.current().derive(Purpose::TenantSecrets, tenant_id);
    let sealed = seal(&key, &aad(tenant_id, kind, &id), value.expose().as_bytes());
    let (created_at, updated_at): (DateTime<Utc>, DateTime<Utc>) = db::query_as(
        "INSERT INTO public.tenant_secrets (tenant_id, id, kind, name, ciphertext) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, id) DO UPDATE SET ciphertext = EXCLUDED.ciphertext, updated_at = now()
         RETURNING created_at, updated_at",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(kind.as_str())
    .bind(name)
    .bind(&sealed)
    .fetch_one(tx.conn())
    .await?;
    Ok(SecretInfo {
        id,
        kind,
        name: name.to_owned(),
        created_at,
        updated_at,
    })
}

/// Opens the secret `kind`/`name` for server-side use (an OIDC exchange, a webhook signature).
pub async fn get(
    tx: &mut TenantTx,
    keyring: &Keyring,
    kind: SecretKind,
    name: &str,
) -> Result<Secret<String>, StoreError> {
    let tenant_id = tx.tenant_id();
    let row: Option<(Uuid, Vec<u8>)> =
        db::query_as("SELECT id, ciphertext FROM public.tenant_secrets WHERE tenant_id = $1 AND kind = $2 AND name = $3")
            .bind(tenant_id)
            .bind(kind.as_str())
            .bind(name)
            .fetch_optional(tx.conn())
            .await?;
    let (id, blob) = row.ok_or(StoreError::NotFound)?;
    let key_id = super::key_id_of(&blob).ok_or(StoreError::Crypto(CryptoError::Malformed))?;
    let master = keyring
        .by_id(key_id)
        .ok_or(StoreError::Crypto(CryptoError::UnknownKey(key_id)))?;
    let key = master.derive(Purpose::TenantSecrets, tenant_id);
    let plain = open(&key, &aad(tenant_id, kind, &id), &blob).map_err(StoreError::Crypto)?;
    String::from_utf8(plain)
        .map(Secret::new)
        .map_err(|_| StoreError::Crypto(CryptoError::Malformed))
}

#[derive(db::FromRow)]
struct InfoRow {
    id: Uuid,
    kind: String,
    name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Metadata of every stored secret of the workspace.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<SecretInfo>, StoreError> {
    let tenant_id = tx.tenant_id();
    let rows: Vec<InfoRow> = db::query_as(
        "SELECT id, kind, name, created_at, updated_at FROM public.tenant_secrets WHERE tenant_id = $1 ORDER BY kind, name",
    )
    .bind(tenant_id)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(SecretInfo {
                id: r.id,
                kind: SecretKind::parse(&r.kind)?,
                name: r.name,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::SecretKind;

    #[test]
    fn the_stored_names_are_exactly_the_kinds() {
        let kinds = [
            SecretKind::OidcClientSecret,
            SecretKind::WebhookSecret,
            SecretKind::IntegrationCredential,
        ];
        assert_eq!(kinds.map(SecretKind::as_str), SecretKind::NAMES);
        for name in SecretKind::NAMES {
            assert_eq!(SecretKind::parse(name).map(SecretKind::as_str), Some(name));
        }
    }
}
