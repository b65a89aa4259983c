//! API tokens: `tsr_` + 43 base64url characters (256 random bits). Shown once at minting;
//! stored only as SHA-256. Looked up inside the tenant transaction, where RLS already
//! limits `api_tokens` to the workspace in the URL, so a token of workspace A presented
//! to workspace B finds no row and is refused exactly like an unknown token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::authz::{Principal, Role, Scope};
use crate::db;
use crate::tenancy::{Entrant, Standing, TenantTx};

/// Fixed prefix so leaked tokens are recognisable by secret scanners. NEVER CHANGE IT.
pub const TOKEN_PREFIX: &str = "tsr_";
const TOKEN_BODY_LEN: usize = 43;
/// Granularity of `last_used_at`: a token used continuously is written once a minute.
const LAST_USED_GRANULARITY_SECS: u32 = 60;

/// Token errors. Not `Display`, like every domain error the API maps (see `graphql::errors`).
#[derive(Debug)]
pub enum TokenError {
    NotFound,
    Invalid(String),
    Db(db::Error),
}

impl From<db::Error> for TokenError {
    fn from(e: db::Error) -> Self {
        Self::Db(e)
    }
}

impl TokenError {
    /// A message for CLI users (the API maps errors through `ApiError` instead).
    pub fn describe(&self) -> String {
        match self {
            Self::NotFound => "no such token".into(),
            Self::Invalid(m) => m.clone(),
            Self::Db(e) => format!("database error: {e}"),
        }
    }
}

/// A freshly minted token. Debug never prints it.
pub struct TokenSecret(String);

impl TokenSecret {
    /// The token, to show its owner exactly once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSecret([REDACTED])")
    }
}

/// A syntactically valid token from a request, reduced to its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedToken {
    hash: [u8; 32],
}

impl std::fmt::Debug for PresentedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PresentedToken([REDACTED])")
    }
}

impl PresentedToken {
    /// Parses an `Authorization` header value. Anything but `Bearer tsr_<43 chars>` is `None`.
    pub fn from_authorization(value: &str) -> Option<Self> {
        let token = value.strip_prefix("Bearer ")?.trim();
        let body = token.strip_prefix(TOKEN_PREFIX)?;
        let well_formed = body.len() == TOKEN_BODY_LEN
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| Self {
            hash: Sha256::digest(token.as_bytes()).into(),
        })
    }
}

fn generate() -> (TokenSecret, [u8; 32]) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    (TokenSecret(token), hash)
}

/// Mints a token for a member of the workspace. `conn` is the migrator connection (CLI);
/// the membership is checked in the same statement.
pub async fn mint_token(
    conn: &mut db::Conn,
    tenant_id: Uuid,
    user_id: Uuid,
    name: &str,
    scopes: &[Scope],
) -> Result<(Uuid, TokenSecret), TokenError> {
    if scopes.is_empty() {
        return Err(TokenError::Invalid(
            "a token needs at least one scope".into(),
        ));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(TokenError::Invalid(
            "token name must be 1 to 100 characters".into(),
        ));
    }
    let (secret, hash) = generate();
    let id = Uuid::now_v7();
    let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    let inserted = db::query(
        "INSERT INTO public.api_tokens (id, tenant_id, user_id, name, token_hash, scopes)
         SELECT $1, m.tenant_id, m.user_id, $4, $5, $6
         FROM public.memberships m WHERE m.tenant_id = $2 AND m.user_id = $3",
    )
    .bind(id)
    .bind(tenant_id)
    .bind(user_id)
    .bind(name)
    .bind(&hash[..])
    .bind(&scopes)
    .execute(conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(TokenError::Invalid(
            "the user is not a member of this workspace".into(),
        ));
    }
    Ok((id, secret))
}

/// A successful token authentication.
#[derive(Debug)]
pub struct Authenticated {
    pub principal: Principal,
    /// `last_used_at` is stale and could not be written in this (read-only) transaction.
    pub touch_pending: Option<Uuid>,
    /// For a browser session: when it last passed a second-factor check.
    pub factor_verified_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl PresentedToken {
    /// How the tenant entry looks this token up ([`crate::tenancy::enter`]): by hash, with
    /// `last_used_at` stale after a minute.
    pub fn entrant(&self) -> Entrant<'_> {
        Entrant::Token {
            hash: &self.hash,
            stale_after_secs: LAST_USED_GRANULARITY_SECS,
        }
    }
}

/// The principal of a token the tenant entry found (`standing`), looked up inside the tenant
/// transaction where RLS limits `api_tokens` to the workspace in the URL. `None` for
/// unknown, revoked, expired, other-workspace or ex-member tokens alike. A stale
/// `last_used_at` is written now in a read-write transaction, else left to the caller.
pub async fn authenticate_in_tenant(
    tx: &mut TenantTx,
    standing: Option<Standing>,
) -> Result<Option<Authenticated>, db::Error> {
    let Some(Standing {
        user_id,
        role,
        token: Some(token),
    }) = standing
    else {
        return Ok(None);
    };
    let Some(role) = Role::parse(&role) else {
        return Ok(None);
    };
    let scopes: Vec<Scope> = token
        .scopes
        .iter()
        .filter_map(|s| Scope::parse(s))
        .collect();
    let mut touch_pending = None;
    if token.stale {
        if tx.access() == crate::tenancy::Access::ReadWrite {
            touch_last_used(tx, token.id).await?;
        } else {
            touch_pending = Some(token.id);
        }
    }
    Ok(Some(Authenticated {
        principal: Principal::for_token(user_id, tx.tenant_id(), role, token.id, scopes),
        touch_pending,
        factor_verified_at: None,
    }))
}

/// Records that a token was used (RLS scopes the update to the transaction's tenant).
pub async fn touch_last_used(tx: &mut TenantTx, id: Uuid) -> Result<(), db::Error> {
    let tenant_id = tx.tenant_id();
    db::query("UPDATE public.api_tokens SET last_used_at = now() WHERE id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(tenant_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Token lookup for the global endpoint: (token id, tenant id, user id).
pub async fn authenticate_global(
    conn: &mut db::Conn,
    token: &PresentedToken,
) -> Result<Option<(Uuid, Uuid, Uuid)>, db::Error> {
    db::query_as("SELECT token_id, tenant_id, user_id FROM public.tessera_token_principal($1)")
        .bind(&token.hash[..])
        .fetch_optional(conn)
        .await
}

/// Token metadata; never the secret or its hash.
#[derive(Debug, Clone, db::FromRow)]
pub struct ApiTokenInfo {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn list_tokens(tx: &mut TenantTx) -> Result<Vec<ApiTokenInfo>, TokenError> {
    let tenant_id = tx.tenant_id();
    Ok(db::query_as(
        "SELECT id, user_id, name, scopes, created_at, last_used_at, revoked_at
         FROM public.api_tokens WHERE tenant_id = $1 ORDER BY id",
    )
    .bind(tenant_id)
    .fetch_all(tx.conn())
    .await?)
}

/// Revokes a token of this workspace. Takes effect on the next request.
pub async fn revoke_token(tx: &mut TenantTx, id: Uuid) -> Result<ApiTokenInfo, TokenError> {
    let tenant_id = tx.tenant_id();
    let was_revoked: Option<Option<DateTime<Utc>>> = db::query_scalar(
        "SELECT revoked_at FROM public.api_tokens WHERE id = $1 AND tenant_id = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(tenant_id)
    .fetch_optional(tx.conn())
    .await?;
    let before = was_revoked.ok_or(TokenError::NotFound)?;
    let info: ApiTokenInfo = db::query_as(
        "UPDATE public.api_tokens SET revoked_at = coalesce(revoked_at, now())
         WHERE id = $1 AND tenant_id = $2
         RETURNING id, user_id, name, scopes, created_at, last_used_at, revoked_at",
    )
    .bind(id)
    .bind(tenant_id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(TokenError::NotFound)?;
    if before.is_none() {
        tx.note_change(serde_json::json!({
            "entity": "api_token", "id": id,
            "changes": { "revoked_at": { "old": null, "new": info.revoked_at } }
        }));
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_debug_hides_them() {
        let (secret, hash) = generate();
        let presented = PresentedToken::from_authorization(&format!("Bearer {}", secret.expose()));
        assert_eq!(presented.map(|p| p.hash), Some(hash));
        assert!(!format!("{secret:?}").contains(&secret.expose()[4..]));
    }

    #[test]
    fn malformed_headers_are_refused() {
        for h in [
            "",
            "Bearer",
            "Bearer tsr_",
            "Basic dXNlcjpwYXNz",
            "bearer tsr_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "Bearer tsr_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "Bearer xyz_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "Bearer tsr_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'a",
        ] {
            assert!(PresentedToken::from_authorization(h).is_none(), "{h:?}");
        }
    }
}
