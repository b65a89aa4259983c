//! Browser sessions: an opaque random token (`tss_` + 256 bits) in a `__Host-` cookie,
//! stored only as SHA-256, with idle and absolute expiry. Every failure to validate fails
//! closed. A new session (new token) is issued at every sign-in, so a planted token never
//! becomes an authenticated one.

use crate::db::AppPool;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::crypto::Secret;
use crate::db;

pub const SESSION_PREFIX: &str = "tss_";
/// Cookie name; the `__Host-` prefix pins it to this host, path `/`, and `Secure`.
pub const COOKIE: &str = "__Host-tessera_session";
/// Cookie name for plain-HTTP loopback development (`dev_insecure_cookies`).
pub const DEV_COOKIE: &str = "tessera_session";

/// Assurance level of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aal {
    /// The password was right but the user's second factor is still owed: such a session
    /// can only complete the second factor.
    Pending,
    /// Password only.
    Aal1,
    /// A second factor, or a user-verified passkey.
    Aal2,
}

impl Aal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Aal1 => "aal1",
            Self::Aal2 => "aal2",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "aal2" => Self::Aal2,
            "aal1" => Self::Aal1,
            // Anything unknown grants the least.
            _ => Self::Pending,
        }
    }
}

/// A validated session.
#[derive(Debug, Clone, Copy)]
pub struct SessionInfo {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub aal: Aal,
    /// When this session last passed a second-factor check.
    pub factor_verified_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Set for a session created by a workspace's SSO: valid in that workspace only.
    pub sso_tenant: Option<Uuid>,
}

/// Session lifetimes, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub idle_secs: i32,
    pub absolute_secs: i32,
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Parses a presented session token; anything malformed is `None`.
pub fn parse(token: &str) -> Option<[u8; 32]> {
    let body = token.strip_prefix(SESSION_PREFIX)?;
    (body.len() == 43
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| hash(token))
}

/// Creates a session and returns its token (to set as the cookie, once).
pub async fn create(
    pool: &AppPool,
    user_id: Uuid,
    aal: Aal,
    life: Lifetimes,
    user_agent: &str,
    ip: &str,
) -> Result<(Uuid, Secret<String>), db::Error> {
    let (token, h) = new_token();
    let id = Uuid::now_v7();
    db::query("SELECT public.tessera_session_create($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(id)
        .bind(user_id)
        .bind(&h[..])
        .bind(aal.as_str())
        .bind(life.idle_secs)
        .bind(life.absolute_secs)
        .bind(user_agent)
        .bind(ip)
        .execute(&mut *pool.acquire().await?)
        .await?;
    Ok((id, token))
}

/// Resolves a token hash to a live session, sliding its idle expiry.
pub async fn validate(
    pool: &AppPool,
    token_hash: &[u8; 32],
    life: Lifetimes,
) -> Result<Option<SessionInfo>, db::Error> {
    type Row = (
        Uuid,
        Uuid,
        String,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<Uuid>,
    );
    let row: Option<Row> = db::query_as(
        "SELECT session_id, user_id, aal, factor_verified_at, sso_tenant_id
         FROM public.tessera_session_touch($1, $2)",
    )
    .bind(&token_hash[..])
    .bind(life.idle_secs)
    .fetch_optional(&mut *pool.acquire().await?)
    .await?;
    Ok(row.map(
        |(session_id, user_id, aal, factor_verified_at, sso_tenant)| SessionInfo {
            session_id,
            user_id,
            aal: Aal::parse(&aal),
            factor_verified_at,
            sso_tenant,
        },
    ))
}

fn new_token() -> (Secret<String>, [u8; 32]) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{SESSION_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let h = hash(&token);
    (Secret::new(token), h)
}

/// Creates an `aal1` session bound to workspace `tenant` (an SSO sign-in there).
pub async fn create_sso(
    pool: &AppPool,
    user_id: Uuid,
    tenant: Uuid,
    life: Lifetimes,
    user_agent: &str,
    ip: &str,
) -> Result<(Uuid, Secret<String>), db::Error> {
    let (token, h) = new_token();
    let id = Uuid::now_v7();
    db::query("SELECT public.tessera_session_create_sso($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(id)
        .bind(user_id)
        .bind(&h[..])
        .bind(life.idle_secs)
        .bind(life.absolute_secs)
        .bind(user_agent)
        .bind(ip)
        .bind(tenant)
        .execute(&mut *pool.acquire().await?)
        .await?;
    Ok((id, token))
}

/// Replaces a live session by a new `aal2` one after a second factor (new id and token, so
/// a token known before the step-up is worthless after it). `None`: the session is gone.
pub async fn step_up(
    conn: &mut db::Conn,
    session_id: Uuid,
    life: Lifetimes,
) -> Result<Option<(Uuid, Secret<String>)>, db::Error> {
    let (token, h) = new_token();
    let id = Uuid::now_v7();
    let ok: bool = db::query_scalar("SELECT public.tessera_session_step_up($1, $2, $3, $4)")
        .bind(session_id)
        .bind(id)
        .bind(&h[..])
        .bind(life.idle_secs)
        .fetch_one(conn)
        .await?;
    Ok(ok.then_some((id, token)))
}

/// Records a fresh second-factor check on a session (for operations that demand one).
pub async fn factor_checked(conn: &mut db::Conn, session_id: Uuid) -> Result<(), db::Error> {
    db::query("SELECT public.tessera_session_factor_checked($1)")
        .bind(session_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Revokes a session; its live connections are told (see [`crate::live`]).
pub async fn revoke(pool: &AppPool, session_id: Uuid) -> Result<(), db::Error> {
    let mut conn = pool.acquire().await?;
    db::query("SELECT public.tessera_session_revoke($1)")
        .bind(session_id)
        .execute(&mut conn)
        .await?;
    crate::live::announce_revoked(&mut conn, Some(session_id), None).await
}

/// Signs a user up, in the caller's transaction. `Ok(None)`: the email is taken.
pub async fn signup(
    conn: &mut db::Conn,
    email: &str,
    display_name: &str,
    password_hash: &str,
) -> Result<Option<Uuid>, db::Error> {
    let id = Uuid::now_v7();
    let created: bool = db::query_scalar("SELECT public.tessera_signup($1, $2, $3, $4)")
        .bind(id)
        .bind(email)
        .bind(display_name)
        .bind(password_hash)
        .fetch_one(conn)
        .await?;
    Ok(created.then_some(id))
}

/// (user id, password hash) for an email, if such a user exists.
pub async fn password_of(
    pool: &AppPool,
    email: &str,
) -> Result<Option<(Uuid, Option<String>)>, db::Error> {
    db::query_as("SELECT user_id, password_hash FROM public.tessera_password_of($1)")
        .bind(email)
        .fetch_optional(&mut *pool.acquire().await?)
        .await
}

/// A live session of a user, as the user sees it.
#[derive(Debug, Clone, db::FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub aal: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_seen_at: chrono::DateTime<chrono::Utc>,
    pub user_agent: String,
    pub ip: String,
}

pub async fn list(conn: &mut db::Conn, user_id: Uuid) -> Result<Vec<SessionRow>, db::Error> {
    db::query_as("SELECT id, aal, created_at, last_seen_at, user_agent, ip FROM public.tessera_sessions_of($1)")
        .bind(user_id)
        .fetch_all(conn)
        .await
}

/// Revokes one of the user's sessions (`only`), or all except `keep`. Returns how many.
/// Live connections of the revoked sessions are told when the caller's transaction commits.
pub async fn revoke_where(
    conn: &mut db::Conn,
    user_id: Uuid,
    only: Option<Uuid>,
    keep: Option<Uuid>,
) -> Result<i32, db::Error> {
    let n = db::query_scalar("SELECT public.tessera_sessions_revoke($1, $2, $3)")
        .bind(user_id)
        .bind(only)
        .bind(keep)
        .fetch_one(&mut *conn)
        .await?;
    if n > 0 {
        // Every session of the user re-checks itself; the kept one stays valid.
        crate::live::announce_revoked(conn, only, Some(user_id)).await?;
    }
    Ok(n)
}

pub async fn password_hash_of(
    conn: &mut db::Conn,
    user_id: Uuid,
) -> Result<Option<String>, db::Error> {
    db::query_scalar("SELECT public.tessera_password_of_user($1)")
        .bind(user_id)
        .fetch_one(conn)
        .await
}

pub async fn set_password(conn: &mut db::Conn, user_id: Uuid, hash: &str) -> Result<(), db::Error> {
    db::query("SELECT public.tessera_set_password($1, $2)")
        .bind(user_id)
        .bind(hash)
        .execute(conn)
        .await?;
    Ok(())
}
