//! SCIM tokens: `tsc_` + 43 base64url characters (256 random bits), one or more per
//! workspace, shown once, stored as SHA-256, revocable. They belong to the workspace, not to
//! whoever minted them, and are checked before the workspace is entered.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db;
use crate::tenancy::TenantTx;

/// Fixed prefix so leaked tokens are recognisable by secret scanners. NEVER CHANGE IT.
pub const PREFIX: &str = "tsc_";
const BODY_LEN: usize = 43;

/// A token's listing (never its secret or hash).
#[derive(Debug, Clone, db::FromRow)]
pub struct ScimToken {
    pub id: Uuid,
    pub name: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The SHA-256 of a presented `Authorization: Bearer tsc_…`; `None` for anything else.
pub fn presented(authorization: &str) -> Option<[u8; 32]> {
    let token = authorization.strip_prefix("Bearer ")?.trim();
    let body = token.strip_prefix(PREFIX)?;
    if body.len() != BODY_LEN
        || !body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    Some(Sha256::digest(token.as_bytes()).into())
}

/// Mints a token of the transaction's workspace; answers its id and the secret to show once.
pub async fn mint(tx: &mut TenantTx, name: &str, by: Uuid) -> Result<(Uuid, String), db::Error> {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let secret = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(raw));
    let hash: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    let id = Uuid::now_v7();
    db::query("SELECT public.tessera_scim_token_mint($1, $2, $3, $4)")
        .bind(id)
        .bind(hash.as_slice())
        .bind(name)
        .bind(by)
        .execute(tx.conn())
        .await?;
    Ok((id, secret))
}

/// The SCIM 2.0 base URL of workspace `slug` (the "tenant URL" identity providers ask for).
pub fn base_url(public_origin: &str, slug: &str) -> String {
    format!("{public_origin}/scim/v2/{slug}")
}

pub async fn list(tx: &mut TenantTx) -> Result<Vec<ScimToken>, db::Error> {
    db::query_as("SELECT * FROM public.tessera_scim_tokens()")
        .fetch_all(tx.conn())
        .await
}

/// Revokes a live token of the workspace; false when there is none with this id.
pub async fn revoke(tx: &mut TenantTx, id: Uuid) -> Result<bool, db::Error> {
    db::query_scalar("SELECT public.tessera_scim_token_revoke($1)")
        .bind(id)
        .fetch_one(tx.conn())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_scim_tokens_are_hashed() {
        let good = format!("Bearer {PREFIX}{}", "a".repeat(BODY_LEN));
        assert!(presented(&good).is_some());
        assert!(presented(&format!("Bearer tsr_{}", "a".repeat(BODY_LEN))).is_none());
        assert!(presented(&format!("Bearer {PREFIX}{}", "a".repeat(BODY_LEN - 1))).is_none());
        assert!(presented(&format!("Bearer {PREFIX}{}!", "a".repeat(BODY_LEN - 1))).is_none());
        assert!(presented(&format!("Basic {PREFIX}{}", "a".repeat(BODY_LEN))).is_none());
    }
}
