//! Download links the server signs itself: `/blobs/<tenant>/<object>?exp&ct&fn&h&sig`.
//!
//! The signing proxy (`/w/{slug}/attachments/{id}/content`, `/w/{slug}/exports/{id}/content`)
//! checks access, then answers with one of these, valid for `storage.url_ttl_secs`. It names
//! its holder (the user, and the API token or session the link was issued to) inside the
//! signature, and `/blobs` checks that holder again when the link is followed: a link given to
//! someone who was removed from the workspace since, or whose token or session was revoked,
//! stops working at once, with either storage backend. HMAC-SHA256 over length-prefixed fields
//! under a key derived from the master key (`Purpose::BlobUrls`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::blob::{Download, ObjectKey};

/// Who a link was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    pub user: Uuid,
    pub via: Via,
}

/// The credential a link was issued through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Token(Uuid),
    Session(Uuid),
}

impl Holder {
    fn encode(&self) -> String {
        match self.via {
            Via::Token(t) => format!("{}.t.{}", self.user.simple(), t.simple()),
            Via::Session(s) => format!("{}.s.{}", self.user.simple(), s.simple()),
        }
    }

    fn decode(s: &str) -> Option<Self> {
        let mut parts = s.split('.');
        let user = Uuid::parse_str(parts.next()?).ok()?;
        let kind = parts.next()?;
        let id = Uuid::parse_str(parts.next()?).ok()?;
        if parts.next().is_some() {
            return None;
        }
        let via = match kind {
            "t" => Via::Token(id),
            "s" => Via::Session(id),
            _ => return None,
        };
        Some(Self { user, via })
    }
}

/// The query of a signed link.
#[derive(Debug, serde::Deserialize)]
pub struct Signed {
    pub exp: i64,
    pub ct: String,
    #[serde(rename = "fn")]
    pub filename: String,
    /// The holder, see [`Holder`].
    pub h: String,
    pub sig: String,
}

/// Why a signed link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    BadSignature,
    Expired,
}

/// Signs and checks download links.
pub struct LinkSigner {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner")
    }
}

impl LinkSigner {
    /// `key`: derived from the master key (`Purpose::BlobUrls`).
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            key: Zeroizing::new(key),
        }
    }

    fn mac(&self, key: &ObjectKey, exp: i64, ct: &str, filename: &str, h: &str) -> Hmac<Sha256> {
        // HMAC zero-pads keys shorter than its block, so this is HMAC with the 32-byte key.
        let mut block = Zeroizing::new([0u8; 64]);
        block[..32].copy_from_slice(&self.key[..]);
        let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&(*block).into());
        mac.update(b"tessera-blob-url-v2");
        // Length-prefixed fields: no two different tuples share an encoding.
        for part in [
            key.as_string().as_bytes(),
            exp.to_string().as_bytes(),
            ct.as_bytes(),
            filename.as_bytes(),
            h.as_bytes(),
        ] {
            mac.update(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
            mac.update(part);
        }
        mac
    }

    /// The link (a path on this server) to the object at `key` for `holder`.
    pub fn sign(&self, key: &ObjectKey, download: &Download, holder: &Holder) -> String {
        let exp = download.expires_at.timestamp();
        let h = holder.encode();
        let sig = self
            .mac(key, exp, &download.content_type, &download.filename, &h)
            .finalize()
            .into_bytes();
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        format!(
            "/blobs/{}?exp={exp}&ct={}&fn={}&h={h}&sig={}",
            key.as_string(),
            enc(&download.content_type),
            enc(&download.filename),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    /// Checks a link's signature, then its expiry; answers its holder (whom the caller must
    /// check is still entitled).
    pub fn verify(
        &self,
        key: &ObjectKey,
        q: &Signed,
        now: DateTime<Utc>,
    ) -> Result<Holder, Refusal> {
        let sig = URL_SAFE_NO_PAD
            .decode(q.sig.as_bytes())
            .map_err(|_| Refusal::BadSignature)?;
        self.mac(key, q.exp, &q.ct, &q.filename, &q.h)
            .verify_slice(&sig)
            .map_err(|_| Refusal::BadSignature)?;
        // Checked after the signature, so an attacker learns nothing from altering `exp`.
        if q.exp <= now.timestamp() {
            return Err(Refusal::Expired);
        }
        Holder::decode(&q.h).ok_or(Refusal::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_verifies_only_as_signed_and_until_it_expires() {
        let signer = LinkSigner::new([7; 32]);
        let key = ObjectKey::new(Uuid::now_v7());
        let now = DateTime::UNIX_EPOCH + chrono::Duration::days(20_000);
        let holder = Holder {
            user: Uuid::now_v7(),
            via: Via::Session(Uuid::now_v7()),
        };
        let download = Download {
            content_type: "text/plain".into(),
            filename: "a b.txt".into(),
            expires_at: now + chrono::Duration::seconds(60),
            ttl: std::time::Duration::from_secs(60),
        };
        let link = signer.sign(&key, &download, &holder);
        let parse = |link: &str| -> Signed {
            let uri: axum::http::Uri = format!("http://x{link}").parse().unwrap();
            axum::extract::Query::<Signed>::try_from_uri(&uri)
                .unwrap()
                .0
        };
        let q = parse(&link);
        assert_eq!(signer.verify(&key, &q, now), Ok(holder));
        assert_eq!(
            signer.verify(&key, &q, now + chrono::Duration::seconds(61)),
            Err(Refusal::Expired)
        );
        let other = Holder {
            user: Uuid::now_v7(),
            ..holder
        };
        let forged = Signed {
            h: other.encode(),
            ..parse(&link)
        };
        assert_eq!(
            signer.verify(&key, &forged, now),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            signer.verify(&ObjectKey::new(key.tenant), &q, now),
            Err(Refusal::BadSignature)
        );
    }
}
