//! Where mail goes: an SMTP relay (STARTTLS or TLS through rustls; plain only to a loopback
//! relay), or a local mailbox directory when none is configured.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::render::Rendered;
use crate::config::{Mail as MailConfig, SmtpTls};

/// The configured way out.
#[derive(Clone)]
pub enum Outgoing {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// One `.eml` file per message in this directory (created 0700, files 0600: they hold
    /// live links).
    Mailbox(PathBuf),
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp(_) => f.write_str("Outgoing::Smtp"),
            Self::Mailbox(dir) => write!(f, "Outgoing::Mailbox({})", dir.display()),
        }
    }
}

impl Outgoing {
    /// The transport `cfg` describes; the mailbox is `<data_dir>/mail` unless configured.
    pub fn from_config(cfg: &MailConfig, data_dir: &std::path::Path) -> Result<Self, String> {
        if let Some(dir) = cfg.mailbox(data_dir) {
            return Ok(Self::Mailbox(dir));
        }
        let Some(smtp) = &cfg.smtp else {
            return Err("mail.smtp is not set".into());
        };
        let builder = match smtp.tls {
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                .map_err(|e| format!("mail.smtp: {e}"))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                .map_err(|e| format!("mail.smtp: {e}"))?,
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
        };
        let mut builder = builder
            .port(smtp.port)
            .timeout(Some(Duration::from_secs(smtp.timeout_secs.max(1))));
        if let (Some(user), Some(pass)) = (&smtp.username, &smtp.password) {
            builder = builder.credentials(Credentials::new(user.clone(), pass.expose().clone()));
        }
        Ok(Self::Smtp(builder.build()))
    }

    /// Sends one message; the error says why, without the message or any credential.
    pub async fn send(&self, from: &Mailbox, to: &str, mail: &Rendered) -> Result<(), String> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| "the recipient is not a valid address".to_owned())?;
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| format!("building the message: {e}"))?;
        match self {
            Self::Smtp(transport) => transport
                .send(message)
                .await
                .map(drop)
                .map_err(|e| format!("SMTP: {e}")),
            Self::Mailbox(dir) => write_mailbox(dir, &message).await,
        }
    }
}

async fn write_mailbox(dir: &std::path::Path, message: &Message) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = dir.to_path_buf();
    let bytes = message.formatted();
    tokio::task::spawn_blocking(move || {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("mailbox {}: {e}", dir.display()))?;
        // A v7 id sorts by time: the newest message is the last file.
        let name = format!("{}.eml", uuid::Uuid::now_v7().simple());
        let path = dir.join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| format!("mailbox {}: {e}", path.display()))?;
        f.write_all(&bytes)
            .map_err(|e| format!("mailbox {}: {e}", path.display()))?;
        tracing::info!(file = %path.display(), "mail written to the local mailbox");
        Ok(())
    })
    .await
    .map_err(|e| format!("mailbox: {e}"))?
}
