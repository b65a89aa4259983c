//! Identity: users and API tokens (sessions, passwords and second factors build on this).

pub mod account;
pub mod events;
pub mod factors;
pub mod opaque;
pub mod passkeys;
mod password;
pub mod session;
pub mod sso;
mod tokens;
mod users;

pub use password::{PasswordError, Passwords};
pub use tokens::{
    ApiTokenInfo, Authenticated, PresentedToken, TOKEN_PREFIX, TokenError, TokenSecret,
    authenticate_global, authenticate_in_tenant, list_tokens, mint_token, revoke_token,
    touch_last_used,
};
pub use users::{
    Member, User, add_member, ensure_user, get_user, list_members, member_role, members_by_ids,
    valid_email, workspaces_of,
};
