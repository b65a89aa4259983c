//! Second factors: TOTP (RFC 6238, SHA-1, 6 digits, 30 s steps, one step of skew) and
//! single-use recovery codes.
//!
//! TOTP seeds are sealed with a key derived from the master key for the user, bound to the
//! user and the row. A code is accepted at most once: the last accepted time step is stored
//! and only later steps pass. Recovery codes carry 50 random bits each and are stored as
//! SHA-256 (their entropy makes a slow hash unnecessary). Every function here runs in a
//! transaction scoped to the user (`tessera.user_id`), which row-level security enforces.

use rand::Rng;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Totp};
use uuid::Uuid;

use crate::crypto::{Aad, CryptoError, Keyring, Purpose, Secret, open, seal};
use crate::db;

/// Issuer shown by authenticator apps.
const ISSUER: &str = "Tessera";
/// How many recovery codes a user holds.
pub const RECOVERY_CODES: usize = 10;

#[derive(Debug)]
pub enum FactorError {
    /// TOTP is already enrolled and confirmed: disable it first.
    AlreadyEnrolled,
    /// No enrollment is waiting for confirmation.
    NotEnrolling,
    Crypto(CryptoError),
    Db(db::Error),
}

impl From<db::Error> for FactorError {
    fn from(e: db::Error) -> Self {
        Self::Db(e)
    }
}

/// What a second-factor check accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Totp,
    RecoveryCode,
    Passkey,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::RecoveryCode => "recovery_code",
            Self::Passkey => "passkey",
        }
    }
}

/// Associated data of a sealed TOTP seed: the user and the enrollment row.
pub fn totp_aad(user_id: Uuid, id: &Uuid) -> Aad<'_> {
    Aad {
        tenant_id: user_id,
        kind: "totp-seed",
        row: id.as_bytes(),
    }
}

fn totp(seed: Vec<u8>, account: &str) -> Result<Totp, FactorError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(seed)
        .with_issuer(Some(ISSUER))
        .with_account_name(account.replace(':', ""))
        .build()
        .map_err(|_| FactorError::Crypto(CryptoError::Malformed))
}

/// A started TOTP enrollment: what the user's authenticator app needs, shown once.
pub struct TotpEnrollment {
    pub secret_base32: Secret<String>,
    pub uri: Secret<String>,
    /// The URI as a QR code (SVG), for the web page.
    pub qr_svg: Secret<String>,
}

/// Starts (or restarts) a TOTP enrollment. Refused while a confirmed TOTP exists.
pub async fn totp_begin(
    conn: &mut db::Conn,
    keyring: &Keyring,
    user_id: Uuid,
    account: &str,
) -> Result<TotpEnrollment, FactorError> {
    let confirmed: Option<bool> = db::query_scalar(
        "SELECT confirmed_at IS NOT NULL FROM public.user_totp WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    if confirmed == Some(true) {
        return Err(FactorError::AlreadyEnrolled);
    }
    let mut seed = vec![0u8; 20];
    rand::rng().fill(&mut seed[..]);
    let id = Uuid::now_v7();
    let key = keyring.current().derive(Purpose::UserFactors, user_id);
    let sealed = seal(&key, &totp_aad(user_id, &id), &seed);
    let t = totp(seed, account)?;
    db::query(
        "INSERT INTO public.user_totp (user_id, id, sealed_seed) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET id = EXCLUDED.id, sealed_seed = EXCLUDED.sealed_seed,
             last_step = 0, created_at = now()
         WHERE user_totp.confirmed_at IS NULL",
    )
    .bind(user_id)
    .bind(id)
    .bind(&sealed)
    .execute(&mut *conn)
    .await?;
    let uri = t
        .to_url()
        .map_err(|_| FactorError::Crypto(CryptoError::Malformed))?;
    let qr_svg = qrcode::QrCode::new(uri.as_bytes())
        .map(|q| {
            q.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .build()
        })
        .map_err(|_| FactorError::Crypto(CryptoError::Malformed))?;
    Ok(TotpEnrollment {
        secret_base32: Secret::new(t.secret().to_base32()),
        uri: Secret::new(uri),
        qr_svg: Secret::new(qr_svg),
    })
}

/// Checks a TOTP code against the user's seed (`confirmed`: the enrolled one, else the one
/// awaiting confirmation) and, when it passes, records its step so it cannot pass again.
async fn totp_check(
    conn: &mut db::Conn,
    keyring: &Keyring,
    user_id: Uuid,
    code: &str,
    now_secs: u64,
    confirmed: bool,
) -> Result<bool, FactorError> {
    let row: Option<(Uuid, Vec<u8>, i64)> = db::query_as(
        "SELECT id, sealed_seed, last_step FROM public.user_totp
         WHERE user_id = $1 AND (confirmed_at IS NOT NULL) = $2 FOR UPDATE",
    )
    .bind(user_id)
    .bind(confirmed)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, sealed, last_step)) = row else {
        return Ok(false);
    };
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(false);
    }
    let key = keyring
        .by_id(crate::crypto::key_id_of(&sealed).unwrap_or_default())
        .ok_or(FactorError::Crypto(CryptoError::Malformed))?
        .derive(Purpose::UserFactors, user_id);
    let seed = open(&key, &totp_aad(user_id, &id), &sealed).map_err(FactorError::Crypto)?;
    let Some(step) = totp(seed, "")?.check(code, now_secs) else {
        return Ok(false);
    };
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    if step <= last_step {
        // Replay of a code (or of an earlier one) already accepted.
        return Ok(false);
    }
    db::query(
        "UPDATE public.user_totp SET last_step = $2,
             confirmed_at = coalesce(confirmed_at, now()) WHERE user_id = $1",
    )
    .bind(user_id)
    .bind(step)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Confirms a pending enrollment with its first code. On success returns fresh recovery
/// codes when the user had none left.
pub async fn totp_confirm(
    conn: &mut db::Conn,
    keyring: &Keyring,
    user_id: Uuid,
    code: &str,
    now_secs: u64,
) -> Result<Option<Vec<Secret<String>>>, FactorError> {
    let pending: bool = db::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM public.user_totp WHERE user_id = $1 AND confirmed_at IS NULL)",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    if !pending {
        return Err(FactorError::NotEnrolling);
    }
    if !totp_check(conn, keyring, user_id, code, now_secs, false).await? {
        return Ok(None);
    }
    let left = recovery_codes_left(conn, user_id).await?;
    if left > 0 {
        return Ok(Some(Vec::new()));
    }
    Ok(Some(recovery_regenerate(conn, user_id).await?))
}

fn recovery_hash(code: &str) -> [u8; 32] {
    let normalized: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let mut h = Sha256::new();
    h.update(b"tessera/v1/recovery-code\0");
    h.update(normalized.as_bytes());
    h.finalize().into()
}

/// Replaces the user's recovery codes with ten new ones, returned once.
pub async fn recovery_regenerate(
    conn: &mut db::Conn,
    user_id: Uuid,
) -> Result<Vec<Secret<String>>, FactorError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let mut hashes = Vec::with_capacity(RECOVERY_CODES);
    {
        let mut rng = rand::rng();
        for _ in 0..RECOVERY_CODES {
            // 10 characters from 31 symbols: about 49.5 bits.
            let chars: String = (0..10)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect();
            let code = format!("{}-{}", &chars[..5], &chars[5..]);
            hashes.push(recovery_hash(&code).to_vec());
            codes.push(Secret::new(code));
        }
    }
    db::query("DELETE FROM public.recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    db::query(
        "INSERT INTO public.recovery_codes (user_id, code_hash) SELECT $1, h FROM unnest($2::bytea[]) h",
    )
    .bind(user_id)
    .bind(&hashes)
    .execute(&mut *conn)
    .await?;
    Ok(codes)
}

pub async fn recovery_codes_left(conn: &mut db::Conn, user_id: Uuid) -> Result<i64, FactorError> {
    Ok(db::query_scalar(
        "SELECT count(*) FROM public.recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await?)
}

/// Spends a recovery code: true when it was unused (it is used now).
async fn recovery_spend(
    conn: &mut db::Conn,
    user_id: Uuid,
    code: &str,
) -> Result<bool, FactorError> {
    let spent: Option<i32> = db::query_scalar(
        "UPDATE public.recovery_codes SET used_at = now()
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING 1",
    )
    .bind(user_id)
    .bind(&recovery_hash(code)[..])
    .fetch_optional(conn)
    .await?;
    Ok(spent.is_some())
}

/// Checks a second factor given as text: six digits are a TOTP code, anything else a
/// recovery code. `None`: not accepted. (Passkeys are checked by their own ceremony.)
pub async fn check_code(
    conn: &mut db::Conn,
    keyring: &Keyring,
    user_id: Uuid,
    code: &str,
    now_secs: u64,
) -> Result<Option<Method>, FactorError> {
    let trimmed = code.trim();
    if trimmed.len() == 6 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        let ok = totp_check(conn, keyring, user_id, trimmed, now_secs, true).await?;
        return Ok(ok.then_some(Method::Totp));
    }
    if trimmed.is_empty() || trimmed.len() > 64 {
        return Ok(None);
    }
    let ok = recovery_spend(conn, user_id, trimmed).await?;
    Ok(ok.then_some(Method::RecoveryCode))
}

/// What second factors a user has.
#[derive(Debug, Clone, Copy, Default)]
pub struct Status {
    pub totp: bool,
    pub passkeys: i64,
    pub recovery_codes_left: i64,
}

impl Status {
    pub fn any(&self) -> bool {
        self.totp || self.passkeys > 0
    }
}

pub async fn status(conn: &mut db::Conn, user_id: Uuid) -> Result<Status, FactorError> {
    let (totp, passkeys, recovery_codes_left): (bool, i64, i64) = db::query_as(
        "SELECT EXISTS (SELECT 1 FROM public.user_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL),
                (SELECT count(*) FROM public.passkeys WHERE user_id = $1),
                (SELECT count(*) FROM public.recovery_codes WHERE user_id = $1 AND used_at IS NULL)",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await?;
    Ok(Status {
        totp,
        passkeys,
        recovery_codes_left,
    })
}

/// Removes TOTP. When no second factor remains, the recovery codes go too.
pub async fn totp_disable(conn: &mut db::Conn, user_id: Uuid) -> Result<bool, FactorError> {
    let removed = db::query("DELETE FROM public.user_totp WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        > 0;
    drop_orphan_recovery_codes(conn, user_id).await?;
    Ok(removed)
}

/// Recovery codes back up a second factor: without one, they are deleted.
pub async fn drop_orphan_recovery_codes(
    conn: &mut db::Conn,
    user_id: Uuid,
) -> Result<(), FactorError> {
    if !status(conn, user_id).await?.any() {
        db::query("DELETE FROM public.recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Whether a user has a confirmed second factor (any connection; no user scope needed).
pub async fn has_second_factor(conn: &mut db::Conn, user_id: Uuid) -> Result<bool, db::Error> {
    db::query_scalar("SELECT public.tessera_has_second_factor($1)")
        .bind(user_id)
        .fetch_one(conn)
        .await
}
