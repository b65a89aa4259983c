//! An account outside any workspace: address verification, password resets, and the account
//! security log.
//!
//! Verification and reset links carry single-use tokens (`tsv_`, `tsp_`; 256 random bits,
//! stored as SHA-256 only) that expire (24 hours, 30 minutes by default) and name the address
//! they were sent to: an account whose address changed since cannot use them. A reset request
//! is one statement whatever the address (`tessera_password_reset_request`), so neither its
//! answer nor its timing says whether an account exists; an account that signs in only
//! through an identity provider gets no reset (a password would give it a way in that bypasses
//! the provider). A completed reset revokes every session of the account.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::opaque;
use crate::crypto::Keyring;
use crate::db;
use crate::mail::{self, Mail};

/// Prefix of address-verification tokens.
pub const VERIFY_PREFIX: &str = "tsv_";
/// Prefix of password-reset tokens.
pub const RESET_PREFIX: &str = "tsp_";

/// What an account token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Self::VerifyEmail => VERIFY_PREFIX,
            Self::ResetPassword => RESET_PREFIX,
        }
    }
}

/// What using an account token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenUse {
    /// Used now: the account and the address the link was sent to.
    Ok {
        user_id: Uuid,
        email: String,
    },
    /// No such token (or a malformed one, or one of another purpose).
    Unknown,
    /// Used before.
    Used,
    Expired,
    /// The account's address changed since the link was sent.
    Stale,
}

/// Sends the signed-in user a verification link (`now` dates the expiry the mail shows), in the caller's transaction (the mail
/// leaves only if it commits). `false`: the address is verified already.
pub async fn send_verification(
    conn: &mut db::Conn,
    keyring: &Keyring,
    user_id: Uuid,
    ttl_hours: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, db::Error> {
    let (token, hash) = opaque::generate(VERIFY_PREFIX);
    let ttl = i32::try_from(ttl_hours.clamp(1, 24 * 30) * 3600).unwrap_or(86_400);
    let to: Option<String> =
        db::query_scalar("SELECT public.tessera_verification_issue($1, $2, $3)")
            .bind(user_id)
            .bind(&hash[..])
            .bind(ttl)
            .fetch_one(&mut *conn)
            .await?;
    let Some(to) = to else { return Ok(false) };
    let mail = Mail::VerifyEmail {
        token: token.expose().clone(),
        expires_at: now + chrono::Duration::seconds(ttl.into()),
    };
    mail::enqueue(conn, keyring, &to, &mail).await?;
    Ok(true)
}

/// Asks for a password reset of `email`: a link is queued if (and only if) an account that
/// may sign in with a password has this address. The same work either way.
pub async fn request_reset(
    conn: &mut db::Conn,
    keyring: &Keyring,
    email: &str,
    ttl_minutes: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), db::Error> {
    let (token, hash) = opaque::generate(RESET_PREFIX);
    let ttl = i32::try_from(ttl_minutes.clamp(1, 24 * 60) * 60).unwrap_or(1800);
    let (outbox_id, sealed) = mail::seal(
        keyring,
        &Mail::ResetPassword {
            token: token.expose().clone(),
            expires_at: now + chrono::Duration::seconds(ttl.into()),
        },
    );
    db::query("SELECT public.tessera_password_reset_request($1, $2, $3, $4, $5)")
        .bind(email.trim())
        .bind(&hash[..])
        .bind(ttl)
        .bind(outbox_id)
        .bind(&sealed)
        .execute(conn)
        .await?;
    Ok(())
}

/// Uses a presented account token for `purpose`: marks it used and answers its account.
pub async fn use_token(
    conn: &mut db::Conn,
    presented: &str,
    purpose: TokenPurpose,
) -> Result<TokenUse, db::Error> {
    let Some(hash) = opaque::parse(purpose.prefix(), presented) else {
        return Ok(TokenUse::Unknown);
    };
    let (outcome, user_id, email): (String, Option<Uuid>, Option<String>) = db::query_as(
        "SELECT outcome, user_id, email FROM public.tessera_account_token_use($1, $2)",
    )
    .bind(&hash[..])
    .bind(purpose.as_str())
    .fetch_one(conn)
    .await?;
    Ok(match (outcome.as_str(), user_id, email) {
        ("ok", Some(user_id), Some(email)) => TokenUse::Ok { user_id, email },
        ("used", ..) => TokenUse::Used,
        ("expired", ..) => TokenUse::Expired,
        ("stale", ..) => TokenUse::Stale,
        _ => TokenUse::Unknown,
    })
}

/// Marks `email` verified for `user_id` (it must still be the account's address).
pub async fn mark_verified(
    conn: &mut db::Conn,
    user_id: Uuid,
    email: &str,
) -> Result<bool, db::Error> {
    db::query_scalar("SELECT public.tessera_mark_email_verified($1, $2)")
        .bind(user_id)
        .bind(email)
        .fetch_one(conn)
        .await
}

/// Sets the new password of a reset, verifies the address, revokes every session. `false`:
/// the account signs in only through an identity provider.
pub async fn finish_reset(
    conn: &mut db::Conn,
    user_id: Uuid,
    password_hash: &str,
) -> Result<bool, db::Error> {
    db::query_scalar("SELECT public.tessera_password_reset_finish($1, $2)")
        .bind(user_id)
        .bind(password_hash)
        .fetch_one(conn)
        .await
}

/// Whether the account's address is verified (global transaction scoped to the user).
pub async fn email_verified(conn: &mut db::Conn, user_id: Uuid) -> Result<bool, db::Error> {
    let at: Option<Option<DateTime<Utc>>> =
        db::query_scalar("SELECT email_verified_at FROM public.users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(conn)
            .await?;
    Ok(at.flatten().is_some())
}

/// One entry of the account security log.
#[derive(Debug, Clone, db::FromRow)]
pub struct AccountEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub action: String,
    pub ip: String,
    pub user_agent: String,
    pub details: serde_json::Value,
}

/// Appends to the account security log of `user_id`.
pub async fn record_event(
    conn: &mut db::Conn,
    user_id: Uuid,
    action: &str,
    ip: &str,
    user_agent: &str,
    details: &serde_json::Value,
) -> Result<(), db::Error> {
    db::query("SELECT public.tessera_account_event($1, $2, $3, $4, $5, $6)")
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(action)
        .bind(ip)
        .bind(user_agent)
        .bind(details)
        .execute(conn)
        .await?;
    Ok(())
}

/// The newest entries of the caller's security log, before `before` (a global transaction
/// scoped to the user: RLS shows only their own).
pub async fn events(
    conn: &mut db::Conn,
    user_id: Uuid,
    first: i64,
    before: Option<Uuid>,
) -> Result<Vec<AccountEvent>, db::Error> {
    db::query_as(
        "SELECT id, at, action, ip, user_agent, details FROM public.account_events
         WHERE user_id = $1 AND ($2::uuid IS NULL OR id < $2)
         ORDER BY id DESC LIMIT $3",
    )
    .bind(user_id)
    .bind(before)
    .bind(first)
    .fetch_all(conn)
    .await
}
