//! Per-workspace OIDC single sign-on: authorization code flow with PKCE (S256), state and
//! nonce, through openidconnect.
//!
//! - The issuer is checked against the outbound address policy and its discovery document
//!   fetched when an owner saves the configuration, so a wrong issuer fails at once.
//! - `start` stores the flow (hashed state, nonce, PKCE verifier, and the hash of a random
//!   browser-binding cookie) server-side for ten minutes; `callback` takes it exactly once,
//!   requires the same browser, exchanges the code and verifies the ID token: signature
//!   (RS256 only; `alg: none` and anything else refused), issuer, `aud` equal to the client
//!   id, expiry, and the nonce.
//! - Identities are linked by (workspace, issuer, subject). An unlinked subject is linked to
//!   an existing member of this workspace with the same verified email, or (just-in-time
//!   membership) gets a new account; an email that belongs to a non-member account is never
//!   taken over. Sessions created here are bound to the workspace.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::authz::Role;
use crate::crypto::store::{self, SecretKind};
use crate::crypto::{Keyring, Secret};
use crate::db;
use crate::net::Outbound;
use crate::tenancy::TenantTx;

/// Name of the client secret in the tenant secrets store.
pub const SECRET_NAME: &str = "oidc";
/// How long an authorization request may take.
pub const FLOW_TTL_SECS: i32 = 600;

#[derive(Debug)]
pub enum SsoError {
    /// The workspace has no SSO configuration.
    NotConfigured,
    /// Bad configuration input (with a message for the owner).
    Invalid(String),
    /// The provider could not be reached or answered wrongly (discovery, token exchange).
    Provider(String),
    /// The sign-in is refused: unknown/used/expired state, another browser, bad token.
    Refused(String),
    /// Not allowed in: invite-only workspace, or the email belongs to another account.
    NotInvited(String),
    Store(store::StoreError),
    Db(db::Error),
}

impl From<db::Error> for SsoError {
    fn from(e: db::Error) -> Self {
        Self::Db(e)
    }
}

impl From<store::StoreError> for SsoError {
    fn from(e: store::StoreError) -> Self {
        Self::Store(e)
    }
}

/// A workspace's SSO configuration (the secret stays in the store).
#[derive(Debug, Clone, db::FromRow)]
pub struct SsoConfig {
    pub issuer: String,
    pub client_id: String,
    /// Role of just-in-time members; `None`: invite-only.
    pub jit_role: Option<String>,
}

fn sha(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Where a person starts signing in to workspace `slug` through its provider.
pub fn start_url(public_origin: &str, slug: &str) -> String {
    format!(
        "{}/auth/oidc/{slug}/start",
        public_origin.trim_end_matches('/')
    )
}

pub fn callback_url(public_origin: &str, slug: &str) -> String {
    format!(
        "{}/auth/oidc/{slug}/callback",
        public_origin.trim_end_matches('/')
    )
}

async fn discover(http: &Outbound, issuer: &str) -> Result<CoreProviderMetadata, SsoError> {
    let url = http.policy.check_url(issuer).map_err(SsoError::Invalid)?;
    http.policy
        .check_resolves(&url)
        .await
        .map_err(SsoError::Invalid)?;
    let issuer =
        IssuerUrl::new(issuer.to_owned()).map_err(|e| SsoError::Invalid(format!("issuer: {e}")))?;
    CoreProviderMetadata::discover_async(issuer, http)
        .await
        .map_err(|e| SsoError::Provider(format!("discovery failed: {e}")))
}

/// Saves the workspace's SSO configuration after validating the issuer by discovery.
pub async fn configure(
    tx: &mut TenantTx,
    keyring: &Keyring,
    http: &Outbound,
    issuer: &str,
    client_id: &str,
    client_secret: &Secret<String>,
    jit_role: Option<Role>,
) -> Result<SsoConfig, SsoError> {
    let issuer = issuer.trim().trim_end_matches('/').to_owned();
    let client_id = client_id.trim().to_owned();
    if client_id.is_empty() || client_id.len() > 200 || issuer.len() > 500 {
        return Err(SsoError::Invalid(
            "client id must be 1 to 200 characters and the issuer at most 500".into(),
        ));
    }
    if jit_role == Some(Role::Owner) {
        return Err(SsoError::Invalid(
            "just-in-time members can be admins or members, not owners".into(),
        ));
    }
    let metadata = discover(http, &issuer).await?;
    if metadata.issuer().as_str().trim_end_matches('/') != issuer {
        return Err(SsoError::Invalid(
            "the discovery document names another issuer".into(),
        ));
    }
    store::put(
        tx,
        keyring,
        SecretKind::OidcClientSecret,
        SECRET_NAME,
        client_secret,
    )
    .await?;
    let tenant_id = tx.tenant_id();
    let cfg: SsoConfig = db::query_as(
        "INSERT INTO public.tenant_sso (tenant_id, issuer, client_id, jit_role) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id) DO UPDATE SET issuer = EXCLUDED.issuer, client_id = EXCLUDED.client_id,
             jit_role = EXCLUDED.jit_role, updated_at = now()
         RETURNING issuer, client_id, jit_role",
    )
    .bind(tenant_id)
    .bind(&issuer)
    .bind(&client_id)
    .bind(jit_role.map(Role::as_str))
    .fetch_one(tx.conn())
    .await?;
    tx.note_change(serde_json::json!({
        "entity": "sso", "after": { "issuer": cfg.issuer, "client_id": cfg.client_id, "jit_role": cfg.jit_role }
    }));
    Ok(cfg)
}

pub async fn config(tx: &mut TenantTx) -> Result<Option<SsoConfig>, SsoError> {
    let tenant_id = tx.tenant_id();
    Ok(db::query_as(
        "SELECT issuer, client_id, jit_role FROM public.tenant_sso WHERE tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_optional(tx.conn())
    .await?)
}

/// An authorization request, built before anything is stored.
pub struct Started {
    /// Where the browser goes next.
    pub authorize_url: String,
    /// The value of the browser-binding cookie.
    pub browser_binding: Secret<String>,
    state: String,
    nonce: String,
    verifier: String,
}

/// Builds the authorization request (discovery happens here, with no transaction open).
pub async fn authorize(
    cfg: &SsoConfig,
    http: &Outbound,
    public_origin: &str,
    slug: &str,
) -> Result<Started, SsoError> {
    let metadata = discover(http, &cfg.issuer).await?;
    let client =
        CoreClient::from_provider_metadata(metadata, ClientId::new(cfg.client_id.clone()), None)
            .set_redirect_uri(
                RedirectUrl::new(callback_url(public_origin, slug))
                    .map_err(|e| SsoError::Invalid(format!("redirect URI: {e}")))?,
            );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Started {
        authorize_url: url.to_string(),
        browser_binding: Secret::new(random_token()),
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
    })
}

/// Records a started flow for the callback (expired flows of the workspace are swept).
pub async fn record_flow(tx: &mut TenantTx, started: &Started) -> Result<(), SsoError> {
    let tenant_id = tx.tenant_id();
    db::query("DELETE FROM public.oidc_flows WHERE tenant_id = $1 AND expires_at < now()")
        .bind(tenant_id)
        .execute(tx.conn())
        .await?;
    db::query(
        "INSERT INTO public.oidc_flows (state_hash, tenant_id, browser_hash, nonce, pkce_verifier, expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))",
    )
    .bind(&sha(started.state.as_bytes())[..])
    .bind(tenant_id)
    .bind(&sha(started.browser_binding.expose().as_bytes())[..])
    .bind(&started.nonce)
    .bind(&started.verifier)
    .bind(FLOW_TTL_SECS)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A flow taken from the store: the inputs of the token exchange.
pub struct Flow {
    nonce: String,
    verifier: String,
    cfg: SsoConfig,
    secret: Secret<String>,
}

/// Takes the flow named by `state` (once), checks the browser binding and loads what the
/// exchange needs.
pub async fn take_flow(
    tx: &mut TenantTx,
    keyring: &Keyring,
    state: &str,
    browser_binding: Option<&str>,
) -> Result<Flow, SsoError> {
    let tenant_id = tx.tenant_id();
    let row: Option<(Vec<u8>, String, String, bool)> = db::query_as(
        "DELETE FROM public.oidc_flows WHERE tenant_id = $1 AND state_hash = $2
         RETURNING browser_hash, nonce, pkce_verifier, expires_at > now()",
    )
    .bind(tenant_id)
    .bind(&sha(state.as_bytes())[..])
    .fetch_optional(tx.conn())
    .await?;
    let Some((browser_hash, nonce, verifier, live)) = row else {
        return Err(SsoError::Refused("unknown or already used state".into()));
    };
    if !live {
        return Err(SsoError::Refused("the sign-in request expired".into()));
    }
    let same_browser = browser_binding.is_some_and(|b| {
        subtle::ConstantTimeEq::ct_eq(&sha(b.as_bytes())[..], &browser_hash[..]).into()
    });
    if !same_browser {
        return Err(SsoError::Refused(
            "the sign-in was started in another browser".into(),
        ));
    }
    let cfg = config(tx).await?.ok_or(SsoError::NotConfigured)?;
    let secret = store::get(tx, keyring, SecretKind::OidcClientSecret, SECRET_NAME).await?;
    Ok(Flow {
        nonce,
        verifier,
        cfg,
        secret,
    })
}

/// Verified claims of a sign-in.
#[derive(Debug, Clone)]
pub struct Claims {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// Exchanges the code and verifies the ID token (no transaction is held meanwhile).
pub async fn exchange(
    flow: &Flow,
    http: &Outbound,
    public_origin: &str,
    slug: &str,
    code: &str,
) -> Result<Claims, SsoError> {
    let metadata = discover(http, &flow.cfg.issuer).await?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(flow.cfg.client_id.clone()),
        Some(ClientSecret::new(flow.secret.expose().clone())),
    )
    .set_redirect_uri(
        RedirectUrl::new(callback_url(public_origin, slug))
            .map_err(|e| SsoError::Invalid(format!("redirect URI: {e}")))?,
    );
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| SsoError::Provider(format!("token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()))
        .request_async(http)
        .await
        .map_err(|e| SsoError::Refused(format!("code exchange failed: {e}")))?;
    let _ = token.access_token();
    let id_token = token
        .id_token()
        .ok_or_else(|| SsoError::Refused("no ID token in the response".into()))?;
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    let claims = id_token
        .claims(&verifier, &Nonce::new(flow.nonce.clone()))
        .map_err(|e| SsoError::Refused(format!("ID token refused: {e}")))?;
    Ok(Claims {
        issuer: claims.issuer().as_str().to_owned(),
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|e| e.as_str().to_owned()),
        email_verified: claims.email_verified().unwrap_or(false),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned()),
    })
}

/// How a sign-in was matched to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    Existing,
    LinkedByEmail,
    CreatedJustInTime,
    /// A pending invitation of the asserted address was accepted.
    Invited,
}

impl Linked {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Existing => "existing",
            Self::LinkedByEmail => "linked_by_email",
            Self::CreatedJustInTime => "just_in_time",
            Self::Invited => "invitation",
        }
    }
}

/// Finds or creates the account for verified claims, in the workspace's transaction.
pub async fn link(
    tx: &mut TenantTx,
    jit_role: Option<&str>,
    claims: &Claims,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Uuid, Linked), SsoError> {
    let tenant_id = tx.tenant_id();
    let existing: Option<Uuid> = db::query_scalar(
        "SELECT i.user_id FROM public.sso_identities i
         JOIN public.memberships m ON m.tenant_id = i.tenant_id AND m.user_id = i.user_id
         WHERE i.tenant_id = $1 AND i.issuer = $2 AND i.subject = $3",
    )
    .bind(tenant_id)
    .bind(&claims.issuer)
    .bind(&claims.subject)
    .fetch_optional(tx.conn())
    .await?;
    if let Some(user) = existing {
        return Ok((user, Linked::Existing));
    }
    let email = claims
        .email
        .as_deref()
        .filter(|_| claims.email_verified)
        .ok_or_else(|| {
            SsoError::NotInvited("the provider did not assert a verified email".into())
        })?;
    // Inside the workspace only its members are visible: this finds a member, never an
    // outsider's account.
    let member: Option<Uuid> =
        db::query_scalar("SELECT id FROM public.users WHERE lower(email) = lower($1)")
            .bind(email)
            .fetch_optional(tx.conn())
            .await?;
    let name = claims.name.clone().unwrap_or_else(|| email.to_owned());
    // An invitation to the asserted address comes before just-in-time creation: it names the
    // role (and teams) the workspace chose for this person.
    let invited = match member {
        Some(_) => None,
        None => crate::members::sso_accept(tx, email, &name, now)
            .await
            .map_err(|e| match e {
                crate::members::MemberError::Db(e) => SsoError::Db(e),
                _ => SsoError::Refused("the invitation could not be accepted".into()),
            })?,
    };
    let (user, how) = match (member, invited, jit_role) {
        (Some(user), _, _) => (user, Linked::LinkedByEmail),
        (None, Some((user, _)), _) => (user, Linked::Invited),
        (None, None, Some(role)) => {
            let created: Option<Uuid> =
                db::query_scalar("SELECT public.tessera_sso_create_user($1, $2, $3)")
                    .bind(Uuid::now_v7())
                    .bind(email)
                    .bind(name.chars().take(200).collect::<String>())
                    .fetch_one(tx.conn())
                    .await?;
            if let Some(user) = created {
                // The provider asserted the address verified.
                db::query("SELECT public.tessera_mark_email_verified($1, $2)")
                    .bind(user)
                    .bind(email)
                    .execute(tx.conn())
                    .await?;
            }
            let user = created.ok_or_else(|| {
                SsoError::NotInvited(
                    "an account with this email exists; ask an admin to invite it".into(),
                )
            })?;
            db::query(
                "INSERT INTO public.memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)",
            )
            .bind(tenant_id)
            .bind(user)
            .bind(role)
            .execute(tx.conn())
            .await?;
            (user, Linked::CreatedJustInTime)
        }
        (None, None, None) => {
            return Err(SsoError::NotInvited(
                "this workspace is invite-only; ask an admin to invite you".into(),
            ));
        }
    };
    db::query(
        "INSERT INTO public.sso_identities (tenant_id, issuer, subject, user_id) VALUES ($1, $2, $3, $4)",
    )
    .bind(tenant_id)
    .bind(&claims.issuer)
    .bind(&claims.subject)
    .bind(user)
    .execute(tx.conn())
    .await?;
    Ok((user, how))
}
