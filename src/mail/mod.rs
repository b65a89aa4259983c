//! Outgoing mail: invitations, address verification and password resets.
//!
//! A mail is written to the outbox (`public.mail_outbox`) in the transaction of the change it
//! reports, with a `mail` job, and sent by the background worker ([`MailJob`]): a rolled-back
//! change sends nothing, a committed one is sent at least once, retried with backoff. What a
//! template needs (a link's token included) is sealed by the server under a key derived from
//! the master key and bound to the outbox row, and erased once the mail is sent or given up,
//! so neither the database nor a backup holds a usable link. Templates escape every value a
//! user supplied ([`render`]). Without an SMTP relay configured, mail goes to a local mailbox
//! directory (one `.eml` file each): the demo needs no mail server.

mod job;
pub mod render;
mod transport;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::{Aad, Keyring, Purpose};
use crate::db;

pub use job::MailJob;
pub use transport::Outgoing;

/// What a mail says: its template and the values it needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "template", rename_all = "snake_case")]
pub enum Mail {
    /// An invitation to a workspace, with the link that accepts it.
    Invitation {
        workspace_name: String,
        workspace_slug: String,
        inviter_name: String,
        role: String,
        token: String,
        expires_at: chrono::DateTime<chrono::Utc>,
    },
    /// The link that verifies an account's address.
    VerifyEmail {
        token: String,
        expires_at: chrono::DateTime<chrono::Utc>,
    },
    /// The link that sets a new password.
    ResetPassword {
        token: String,
        expires_at: chrono::DateTime<chrono::Utc>,
    },
}

impl Mail {
    /// The template's name, as the outbox records it.
    pub fn template(&self) -> &'static str {
        match self {
            Self::Invitation { .. } => "invitation",
            Self::VerifyEmail { .. } => "verify_email",
            Self::ResetPassword { .. } => "reset_password",
        }
    }
}

const SEAL_KIND: &str = "mail-outbox";

fn aad(id: &Uuid) -> Aad<'_> {
    Aad {
        tenant_id: Uuid::nil(),
        kind: SEAL_KIND,
        row: id.as_bytes(),
    }
}

/// A new outbox id and `mail` sealed to it: for callers that insert the row themselves
/// (the password-reset request, which must cost the same whether or not it sends).
pub fn seal(keyring: &Keyring, mail: &Mail) -> (Uuid, Vec<u8>) {
    let id = Uuid::now_v7();
    let key = keyring.current().derive(Purpose::MailOutbox, Uuid::nil());
    let plain = serde_json::to_vec(mail).unwrap_or_default();
    (id, crate::crypto::seal(&key, &aad(&id), &plain))
}

/// Opens a sealed mail of outbox row `id`.
pub(crate) fn open(keyring: &Keyring, id: Uuid, sealed: &[u8]) -> Result<Mail, String> {
    let key_id = crate::crypto::key_id_of(sealed).ok_or("malformed sealed mail")?;
    let master = keyring
        .by_id(key_id)
        .ok_or("sealed under an unknown master key")?;
    let key = master.derive(Purpose::MailOutbox, Uuid::nil());
    let plain = crate::crypto::open(&key, &aad(&id), sealed).map_err(|e| e.to_string())?;
    serde_json::from_slice(&plain).map_err(|e| e.to_string())
}

/// Queues `mail` to `to` in the caller's transaction: a tenant transaction (the mail then
/// belongs to that workspace) or the runtime role's own.
pub async fn enqueue(
    conn: &mut db::Conn,
    keyring: &Keyring,
    to: &str,
    mail: &Mail,
) -> Result<Uuid, db::Error> {
    let (id, sealed) = seal(keyring, mail);
    db::query("SELECT public.tessera_mail_enqueue($1, $2, $3, $4)")
        .bind(id)
        .bind(to)
        .bind(mail.template())
        .bind(&sealed)
        .execute(conn)
        .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_mail_opens_only_for_its_own_row() {
        let keyring = Keyring::new(crate::crypto::MasterKey::generate());
        let mail = Mail::ResetPassword {
            token: "tsr_secret".into(),
            expires_at: chrono::DateTime::UNIX_EPOCH,
        };
        let (id, sealed) = seal(&keyring, &mail);
        assert_eq!(open(&keyring, id, &sealed).unwrap(), mail);
        assert!(open(&keyring, Uuid::now_v7(), &sealed).is_err());
        let other = Keyring::new(crate::crypto::MasterKey::generate());
        assert!(open(&other, id, &sealed).is_err());
        assert!(!String::from_utf8_lossy(&sealed).contains("tsr_secret"));
    }
}
