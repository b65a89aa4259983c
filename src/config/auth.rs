//! Sign-in, sessions and CSRF.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    /// Allow `POST /auth/signup`.
    pub signup_enabled: bool,
    /// Minimum password length, in characters (at least 8).
    pub password_min_length: usize,
    /// Argon2id memory cost in KiB.
    pub argon2_memory_kib: u32,
    /// Argon2id iterations.
    pub argon2_iterations: u32,
    /// Argon2id lanes.
    pub argon2_parallelism: u32,
    /// Password hashes computed at once; further sign-ins wait up to 2 s, then get 503.
    pub max_concurrent_hashes: usize,
    /// A session ends after this many idle seconds.
    pub session_idle_secs: i32,
    /// A session ends this many seconds after sign-in, however active.
    pub session_absolute_secs: i32,
    /// Origins (scheme://host[:port]) allowed to make cookie-authenticated writes besides
    /// the server's own.
    pub allowed_origins: Vec<String>,
    /// Development only: name the cookie without `__Host-` and drop `Secure`, for plain
    /// HTTP on loopback. Never enable it in production.
    pub dev_insecure_cookies: bool,
    /// The origin browsers use to reach Tessera (`https://host[:port]`): the WebAuthn relying
    /// party (its host is the RP id) and the base of OIDC redirect URIs.
    pub public_origin: String,
    /// Sign-in attempts per minute from one IP address.
    pub signin_per_minute_per_ip: u32,
    /// Sign-in attempts per minute for one account (email), from anywhere.
    pub signin_per_minute_per_account: u32,
    /// Sign-ups per minute from one IP address.
    pub signup_per_minute_per_ip: u32,
    /// Second-factor attempts (TOTP or recovery code) per minute for one account. Every
    /// attempt counts, including each alias of a GraphQL request.
    pub second_factor_per_minute_per_account: u32,
    /// Second-factor attempts per minute from one IP address.
    pub second_factor_per_minute_per_ip: u32,
    /// How recent a second-factor check must be for sensitive changes (disabling a factor,
    /// changing the password, regenerating recovery codes, transferring ownership) made
    /// without a code.
    pub reauth_window_secs: i64,
    /// Workspaces created per minute from one IP address (`createWorkspace`).
    pub workspace_creations_per_minute_per_ip: u32,
    /// Workspaces one account may create per day.
    pub workspace_creations_per_day_per_account: u32,
    /// How long an invitation stays valid, in hours.
    pub invitation_ttl_hours: i64,
    /// Invitations a workspace may send (new or resent) per hour.
    pub invitations_per_hour_per_workspace: u32,
    /// How long an address-verification link stays valid, in hours.
    pub verification_ttl_hours: i64,
    /// How long a password-reset link stays valid, in minutes.
    pub reset_ttl_minutes: i64,
    /// Password-reset requests (and verification mails) per minute from one IP address.
    pub reset_requests_per_minute_per_ip: u32,
    /// Password-reset requests (and verification mails) per hour for one address.
    pub reset_requests_per_hour_per_address: u32,
}

impl Default for Auth {
    fn default() -> Self {
        Self {
            signup_enabled: true,
            password_min_length: 12,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            max_concurrent_hashes: 4,
            session_idle_secs: 2 * 3600,
            session_absolute_secs: 7 * 24 * 3600,
            allowed_origins: Vec::new(),
            dev_insecure_cookies: false,
            public_origin: "https://localhost".into(),
            signin_per_minute_per_ip: 30,
            signin_per_minute_per_account: 10,
            signup_per_minute_per_ip: 5,
            second_factor_per_minute_per_account: 5,
            second_factor_per_minute_per_ip: 30,
            reauth_window_secs: 300,
            workspace_creations_per_minute_per_ip: 5,
            workspace_creations_per_day_per_account: 10,
            invitation_ttl_hours: 7 * 24,
            invitations_per_hour_per_workspace: 100,
            verification_ttl_hours: 24,
            reset_ttl_minutes: 30,
            reset_requests_per_minute_per_ip: 5,
            reset_requests_per_hour_per_address: 3,
        }
    }
}
