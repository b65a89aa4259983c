//! Passkeys (WebAuthn, through webauthn-rs). User verification is required for every
//! ceremony, so a passkey sign-in is a full `aal2` sign-in on its own.
//!
//! Ceremony state is kept server-side (never handed to the client), expires after
//! [`CEREMONY_TTL_SECS`] and is taken exactly once, so an assertion cannot be replayed
//! against its own challenge, and a replay against a new challenge fails its signature.
//! Signature counters are stored after every use. Credential ids are unique across users,
//! which lets a discoverable sign-in find its user from the credential it presents.

use crate::db;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Webauthn, WebauthnBuilder,
};

/// How long a started ceremony may be finished.
pub const CEREMONY_TTL_SECS: i32 = 120;

#[derive(Debug)]
pub enum PasskeyError {
    /// The ceremony is unknown, used, expired, or belongs to someone else.
    NoCeremony,
    /// The authenticator's answer did not verify (signature, origin, challenge, flags).
    Refused(String),
    /// The credential is registered already.
    Duplicate,
    Invalid(String),
    Db(db::Error),
}

impl From<db::Error> for PasskeyError {
    fn from(e: db::Error) -> Self {
        Self::Db(e)
    }
}

/// The relying party for `origin` (`https://host[:port]`): the RP id is the host. On
/// `localhost` any port is accepted (development and tests).
pub fn relying_party(origin: &str) -> Result<Webauthn, String> {
    let url = Url::parse(origin).map_err(|e| format!("auth.public_origin: {e}"))?;
    let host = url
        .host_str()
        .ok_or_else(|| "auth.public_origin has no host".to_owned())?
        .to_owned();
    WebauthnBuilder::new(&host, &url)
        .and_then(|b| {
            b.rp_name("Tessera")
                .allow_any_port(host == "localhost")
                .build()
        })
        .map_err(|e| format!("auth.public_origin: {e}"))
}

/// A registered passkey, as its owner sees it.
#[derive(Debug, Clone, db::FromRow)]
pub struct PasskeyInfo {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

async fn put_ceremony(
    conn: &mut db::Conn,
    user_id: Option<Uuid>,
    purpose: &str,
    state: serde_json::Value,
) -> Result<Uuid, PasskeyError> {
    let id = Uuid::new_v4();
    db::query("SELECT public.tessera_ceremony_put($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(user_id)
        .bind(purpose)
        .bind(state)
        .bind(CEREMONY_TTL_SECS)
        .execute(conn)
        .await?;
    Ok(id)
}

/// Takes a ceremony once: `(user, state)`, or `None` when unknown, used or expired.
async fn take_ceremony(
    conn: &mut db::Conn,
    id: Uuid,
    purpose: &str,
) -> Result<Option<(Option<Uuid>, serde_json::Value)>, PasskeyError> {
    let row: Option<(Option<Uuid>, Option<serde_json::Value>)> =
        db::query_as("SELECT user_id, state FROM public.tessera_ceremony_take($1, $2)")
            .bind(id)
            .bind(purpose)
            .fetch_optional(conn)
            .await?;
    Ok(row.and_then(|(user, state)| state.map(|s| (user, s))))
}

/// The user's passkeys (user-scoped transaction).
async fn load(conn: &mut db::Conn, user_id: Uuid) -> Result<Vec<(Uuid, Passkey)>, PasskeyError> {
    let rows: Vec<(Uuid, serde_json::Value)> = db::query_as(
        "SELECT id, credential FROM public.passkeys WHERE user_id = $1 ORDER BY created_at",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, c)| {
            serde_json::from_value(c)
                .map(|p| (id, p))
                .map_err(|e| PasskeyError::Invalid(format!("stored passkey: {e}")))
        })
        .collect()
}

pub async fn list(conn: &mut db::Conn, user_id: Uuid) -> Result<Vec<PasskeyInfo>, PasskeyError> {
    Ok(db::query_as(
        "SELECT id, name, created_at, last_used_at FROM public.passkeys WHERE user_id = $1 ORDER BY created_at",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}

fn valid_name(name: &str) -> Result<&str, PasskeyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(PasskeyError::Invalid(
            "a passkey name must be 1 to 100 characters".into(),
        ));
    }
    Ok(name)
}

/// Starts registering a passkey for the user (user-scoped transaction).
pub async fn start_registration(
    conn: &mut db::Conn,
    rp: &Webauthn,
    user_id: Uuid,
    email: &str,
    display_name: &str,
) -> Result<(Uuid, CreationChallengeResponse), PasskeyError> {
    let existing = load(conn, user_id).await?;
    let exclude = existing.iter().map(|(_, p)| p.cred_id().clone()).collect();
    let (mut ccr, state) = rp
        .start_passkey_registration(user_id, email, display_name, Some(exclude))
        .map_err(|e| PasskeyError::Refused(e.to_string()))?;
    // A passkey signs in without an email first (autofill, "sign in with a passkey"), so
    // authenticators that can should keep it discoverable ("preferred": browsers then create
    // one; an authenticator without storage still registers). The registration's checks do
    // not depend on it.
    if let Some(sel) = ccr.public_key.authenticator_selection.as_mut() {
        // The requirement's type is not re-exported: named through its JSON form.
        sel.resident_key = serde_json::from_value(serde_json::json!("preferred")).ok();
    }
    let state = serde_json::to_value(&state).map_err(|e| PasskeyError::Invalid(e.to_string()))?;
    let id = put_ceremony(conn, Some(user_id), "register", state).await?;
    Ok((id, ccr))
}

/// Finishes a registration started by the same user.
pub async fn finish_registration(
    conn: &mut db::Conn,
    rp: &Webauthn,
    user_id: Uuid,
    ceremony: Uuid,
    name: &str,
    credential: &RegisterPublicKeyCredential,
) -> Result<PasskeyInfo, PasskeyError> {
    let name = valid_name(name)?;
    let Some((Some(owner), state)) = take_ceremony(conn, ceremony, "register").await? else {
        return Err(PasskeyError::NoCeremony);
    };
    if owner != user_id {
        return Err(PasskeyError::NoCeremony);
    }
    let state: PasskeyRegistration =
        serde_json::from_value(state).map_err(|e| PasskeyError::Invalid(e.to_string()))?;
    let passkey = rp
        .finish_passkey_registration(credential, &state)
        .map_err(|e| PasskeyError::Refused(e.to_string()))?;
    let stored =
        serde_json::to_value(&passkey).map_err(|e| PasskeyError::Invalid(e.to_string()))?;
    let row: Option<PasskeyInfo> = db::query_as(
        "INSERT INTO public.passkeys (id, user_id, cred_id, name, credential) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (cred_id) DO NOTHING
         RETURNING id, name, created_at, last_used_at",
    )
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(AsRef::<[u8]>::as_ref(passkey.cred_id()))
    .bind(name)
    .bind(stored)
    .fetch_optional(conn)
    .await?;
    row.ok_or(PasskeyError::Duplicate)
}

pub async fn rename(
    conn: &mut db::Conn,
    user_id: Uuid,
    id: Uuid,
    name: &str,
) -> Result<Option<PasskeyInfo>, PasskeyError> {
    let name = valid_name(name)?;
    Ok(db::query_as(
        "UPDATE public.passkeys SET name = $3 WHERE user_id = $1 AND id = $2
         RETURNING id, name, created_at, last_used_at",
    )
    .bind(user_id)
    .bind(id)
    .bind(name)
    .fetch_optional(conn)
    .await?)
}

pub async fn delete(conn: &mut db::Conn, user_id: Uuid, id: Uuid) -> Result<bool, PasskeyError> {
    Ok(
        db::query("DELETE FROM public.passkeys WHERE user_id = $1 AND id = $2")
            .bind(user_id)
            .bind(id)
            .execute(conn)
            .await?
            .rows_affected()
            > 0,
    )
}

/// Starts a sign-in ceremony: for a known user (their passkeys are offered: a pending
/// session's second factor), or discoverable (the authenticator picks the credential).
pub async fn start_authentication(
    conn: &mut db::Conn,
    rp: &Webauthn,
    user_id: Option<Uuid>,
) -> Result<(Uuid, RequestChallengeResponse), PasskeyError> {
    let to_json = |v: Result<serde_json::Value, serde_json::Error>| {
        v.map_err(|e| PasskeyError::Invalid(e.to_string()))
    };
    match user_id {
        Some(user_id) => {
            let keys: Vec<Passkey> = load(conn, user_id)
                .await?
                .into_iter()
                .map(|(_, p)| p)
                .collect();
            if keys.is_empty() {
                return Err(PasskeyError::Invalid("no passkey is registered".into()));
            }
            let (rcr, state) = rp
                .start_passkey_authentication(&keys)
                .map_err(|e| PasskeyError::Refused(e.to_string()))?;
            let id = put_ceremony(
                conn,
                Some(user_id),
                "authenticate",
                to_json(serde_json::to_value(&state))?,
            )
            .await?;
            Ok((id, rcr))
        }
        None => {
            let (rcr, state) = rp
                .start_discoverable_authentication()
                .map_err(|e| PasskeyError::Refused(e.to_string()))?;
            let id = put_ceremony(
                conn,
                None,
                "discover",
                to_json(serde_json::to_value(&state))?,
            )
            .await?;
            Ok((id, rcr))
        }
    }
}

/// The user a presented credential claims to be (for scoping the finishing transaction).
pub async fn owner_of(
    conn: &mut db::Conn,
    credential: &PublicKeyCredential,
) -> Result<Option<Uuid>, PasskeyError> {
    Ok(db::query_scalar("SELECT public.tessera_passkey_owner($1)")
        .bind(AsRef::<[u8]>::as_ref(&credential.raw_id))
        .fetch_one(conn)
        .await?)
}

/// Finishes a sign-in ceremony for `user_id` (the credential's owner, in a transaction scoped
/// to that user). Verifies the assertion against the one-time challenge, requires user
/// verification, and stores the new signature counter.
pub async fn finish_authentication(
    conn: &mut db::Conn,
    rp: &Webauthn,
    user_id: Uuid,
    ceremony: Uuid,
    credential: &PublicKeyCredential,
) -> Result<(), PasskeyError> {
    // The ceremony is taken first: whatever happens next, it cannot be used again.
    let (purpose, taken) = match take_ceremony(conn, ceremony, "authenticate").await? {
        Some(t) => ("authenticate", t),
        None => (
            "discover",
            take_ceremony(conn, ceremony, "discover")
                .await?
                .ok_or(PasskeyError::NoCeremony)?,
        ),
    };
    let (for_user, state) = taken;
    if for_user.is_some_and(|u| u != user_id) {
        return Err(PasskeyError::NoCeremony);
    }
    if let Some(handle) = credential.response.user_handle.as_ref()
        && AsRef::<[u8]>::as_ref(handle) != user_id.as_bytes()
    {
        return Err(PasskeyError::Refused(
            "the user handle does not match".into(),
        ));
    }
    let keys = load(conn, user_id).await?;
    let Some((row_id, mut passkey)) = keys.into_iter().find(|(_, p)| {
        AsRef::<[u8]>::as_ref(p.cred_id()) == AsRef::<[u8]>::as_ref(&credential.raw_id)
    }) else {
        return Err(PasskeyError::Refused("unknown credential".into()));
    };
    let invalid = |e: serde_json::Error| PasskeyError::Invalid(e.to_string());
    let result = if purpose == "authenticate" {
        let state: PasskeyAuthentication = serde_json::from_value(state).map_err(invalid)?;
        rp.finish_passkey_authentication(credential, &state)
    } else {
        let state: DiscoverableAuthentication = serde_json::from_value(state).map_err(invalid)?;
        rp.finish_discoverable_authentication_v2(credential, state, &passkey)
    }
    .map_err(|e| PasskeyError::Refused(e.to_string()))?;
    if !result.user_verified() {
        return Err(PasskeyError::Refused(
            "user verification is required".into(),
        ));
    }
    passkey.update_credential(&result);
    let stored = serde_json::to_value(&passkey).map_err(invalid)?;
    db::query("UPDATE public.passkeys SET credential = $2, last_used_at = now() WHERE id = $1")
        .bind(row_id)
        .bind(stored)
        .execute(conn)
        .await?;
    Ok(())
}
