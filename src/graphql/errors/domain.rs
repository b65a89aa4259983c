//! Each domain's errors mapped to a code and a message for the client. Internal causes are
//! logged (through [`ApiError::internal`]) and never sent.

use super::{ApiError, ErrorCode};

impl From<crate::crypto::store::StoreError> for ApiError {
    fn from(e: crate::crypto::store::StoreError) -> Self {
        use crate::crypto::store::StoreError as S;
        match e {
            S::NotFound => Self::not_found(),
            S::Invalid(m) => Self::bad_input(m),
            S::Crypto(e) => Self::internal(&e),
            S::Db(e) => Self::from(e),
        }
    }
}

impl From<crate::crypto::store::StoreError> for async_graphql::Error {
    fn from(e: crate::crypto::store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<crate::work::WorkError> for async_graphql::Error {
    fn from(e: crate::work::WorkError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<crate::identity::TokenError> for async_graphql::Error {
    fn from(e: crate::identity::TokenError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<crate::audit::AuditError> for ApiError {
    fn from(e: crate::audit::AuditError) -> Self {
        match e {
            crate::audit::AuditError::Db(e) => Self::from(e),
            other => Self::internal(&other),
        }
    }
}

impl From<crate::work::WorkError> for ApiError {
    fn from(e: crate::work::WorkError) -> Self {
        use crate::work::WorkError as W;
        match e {
            W::NotFound => Self::not_found(),
            W::Forbidden(m) => Self::forbidden(m),
            W::Invalid(m) => Self::bad_input(m),
            W::Conflict(m) => Self::new(ErrorCode::Conflict, m),
            W::Db(e) => Self::from(e),
        }
    }
}

impl From<crate::identity::TokenError> for ApiError {
    fn from(e: crate::identity::TokenError) -> Self {
        use crate::identity::TokenError as T;
        match e {
            T::NotFound => Self::not_found(),
            T::Invalid(m) => Self::bad_input(m),
            T::Db(e) => Self::from(e),
        }
    }
}

impl From<crate::identity::factors::FactorError> for ApiError {
    fn from(e: crate::identity::factors::FactorError) -> Self {
        use crate::identity::factors::FactorError as F;
        match e {
            F::AlreadyEnrolled => Self::new(
                ErrorCode::Conflict,
                "TOTP is already enrolled; disable it before enrolling again",
            ),
            F::NotEnrolling => Self::new(
                ErrorCode::Conflict,
                "no TOTP enrollment is waiting for confirmation",
            ),
            F::Crypto(e) => Self::internal(&e),
            F::Db(e) => Self::from(e),
        }
    }
}

impl From<crate::identity::factors::FactorError> for async_graphql::Error {
    fn from(e: crate::identity::factors::FactorError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<crate::identity::passkeys::PasskeyError> for ApiError {
    fn from(e: crate::identity::passkeys::PasskeyError) -> Self {
        use crate::identity::passkeys::PasskeyError as K;
        match e {
            K::NoCeremony => Self::new(
                ErrorCode::Unauthenticated,
                "the passkey ceremony is unknown, used or expired; start again",
            ),
            K::Refused(why) => {
                tracing::warn!(reason = %why, "passkey refused");
                Self::new(ErrorCode::Unauthenticated, "the passkey was not accepted")
            }
            K::Duplicate => Self::new(ErrorCode::Conflict, "this passkey is registered already"),
            K::Invalid(m) => Self::bad_input(m),
            K::Db(e) => Self::from(e),
        }
    }
}

impl From<crate::identity::passkeys::PasskeyError> for async_graphql::Error {
    fn from(e: crate::identity::passkeys::PasskeyError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<crate::identity::sso::SsoError> for ApiError {
    fn from(e: crate::identity::sso::SsoError) -> Self {
        use crate::identity::sso::SsoError as S;
        match e {
            S::NotConfigured => Self::not_found(),
            S::Invalid(m) => Self::bad_input(m),
            S::Provider(m) => {
                tracing::warn!(reason = %m, "identity provider error");
                Self::new(
                    ErrorCode::Unavailable,
                    "the identity provider could not be used",
                )
            }
            S::Refused(m) => {
                tracing::warn!(reason = %m, "SSO sign-in refused");
                Self::new(ErrorCode::Unauthenticated, "the sign-in was refused")
            }
            S::NotInvited(m) => Self::forbidden(m),
            S::Store(e) => Self::from(e),
            S::Db(e) => Self::from(e),
        }
    }
}

impl From<crate::identity::sso::SsoError> for async_graphql::Error {
    fn from(e: crate::identity::sso::SsoError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<crate::webhooks::WebhookError> for ApiError {
    fn from(e: crate::webhooks::WebhookError) -> Self {
        use crate::webhooks::WebhookError as W;
        match e {
            W::Invalid(m) => Self::bad_input(m),
            W::NotFound => Self::not_found(),
            W::Store(e) => e.into(),
            W::Db(e) => e.into(),
        }
    }
}

impl From<crate::webhooks::WebhookError> for async_graphql::Error {
    fn from(e: crate::webhooks::WebhookError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<crate::tenancy::TenancyError> for ApiError {
    fn from(e: crate::tenancy::TenancyError) -> Self {
        use crate::tenancy::{SlugError, TenancyError as T};
        match e {
            T::Slug(SlugError::Malformed) => {
                Self::new(ErrorCode::SlugInvalid, SlugError::Malformed.to_string())
            }
            T::Slug(SlugError::Reserved) => {
                Self::new(ErrorCode::SlugReserved, SlugError::Reserved.to_string())
            }
            T::Conflict => Self::new(
                ErrorCode::SlugTaken,
                "a workspace with this address exists; choose another",
            ),
            T::InvalidName => Self::bad_input("the workspace name must be 1 to 200 characters"),
            T::NotFound => Self::not_found(),
            T::TemplateNotReady { .. } => {
                tracing::error!(error = %e, "workspace template not ready");
                Self::new(
                    ErrorCode::Unavailable,
                    "workspaces cannot be created right now; retry later",
                )
            }
            T::Audit(m) => Self::internal(&m),
            T::Db(e) => Self::from(e),
        }
    }
}

impl From<crate::members::MemberError> for ApiError {
    fn from(e: crate::members::MemberError) -> Self {
        use crate::members::{MemberError as M, Refusal};
        match e {
            M::Invalid(m) => Self::bad_input(m),
            M::Forbidden(m) => Self::forbidden(m),
            M::NotFound => Self::not_found(),
            M::AlreadyMember => Self::new(
                ErrorCode::AlreadyMember,
                "this address already belongs to a member of the workspace",
            ),
            M::AlreadyInvited => Self::new(
                ErrorCode::Conflict,
                "an invitation to this address is pending: resend it instead",
            ),
            M::LastOwner => Self::new(
                ErrorCode::LastOwner,
                "a workspace needs an owner: make someone else an owner first",
            ),
            M::Invitation(Refusal::NotFound) => Self::new(
                ErrorCode::InvitationNotFound,
                "this invitation link is not valid",
            ),
            M::Invitation(Refusal::Expired) => Self::new(
                ErrorCode::InvitationExpired,
                "this invitation has expired: ask for a new one",
            ),
            M::Invitation(Refusal::Revoked) => Self::new(
                ErrorCode::InvitationRevoked,
                "this invitation was withdrawn",
            ),
            M::Invitation(Refusal::Used) => Self::new(
                ErrorCode::InvitationUsed,
                "this invitation was used already",
            ),
            M::EmailNotVerified => Self::new(
                ErrorCode::EmailNotVerified,
                "confirm your address first: we sent you a link",
            ),
            M::EmailMismatch => Self::new(
                ErrorCode::InvitationEmailMismatch,
                "this invitation was sent to another address: sign in with the invited one",
            ),
            M::MfaRequired => Self::new(
                ErrorCode::MfaRequired,
                "this workspace requires a second factor: enroll one, then sign in with it",
            ),
            M::SsoRequired => Self::new(
                ErrorCode::SsoRequired,
                "this workspace accepts members only through its single sign-on",
            ),
            M::SecondFactorRequired(m) => Self::new(ErrorCode::SecondFactorRequired, m),
            M::Db(e) => Self::from(e),
        }
    }
}

impl From<crate::members::MemberError> for async_graphql::Error {
    fn from(e: crate::members::MemberError) -> Self {
        ApiError::from(e).into()
    }
}
