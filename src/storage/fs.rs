//! The filesystem backend: objects under `<dir>/<tenant id>/<object id>`, written to a
//! `.part` file and renamed into place only once complete, served through URLs the server
//! signs itself.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::AsyncWriteExt;
use zeroize::Zeroizing;

use super::blob::{BlobStore, Body, Download, ObjectKey, ObjectMeta, StorageError};

pub struct FsStore {
    dir: PathBuf,
    signing_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for FsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Why a signed URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    BadSignature,
    Expired,
}

/// The query of a signed download URL.
#[derive(Debug, serde::Deserialize)]
pub struct Signed {
    pub exp: i64,
    pub ct: String,
    #[serde(rename = "fn")]
    pub filename: String,
    pub sig: String,
}

impl FsStore {
    /// `signing_key`: derived from the master key (`Purpose::BlobUrls`).
    pub fn new(dir: PathBuf, signing_key: [u8; 32]) -> Self {
        Self {
            dir,
            signing_key: Zeroizing::new(signing_key),
        }
    }

    fn path(&self, key: &ObjectKey) -> PathBuf {
        self.dir
            .join(key.tenant.to_string())
            .join(key.object.to_string())
    }

    fn mac(&self, key: &ObjectKey, exp: i64, ct: &str, filename: &str) -> Hmac<Sha256> {
        // Length-prefixed fields: no two different tuples share an encoding.
        // HMAC zero-pads keys shorter than its block, so this is HMAC with the 32-byte key.
        let mut block = Zeroizing::new([0u8; 64]);
        block[..32].copy_from_slice(&self.signing_key[..]);
        let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&(*block).into());
        mac.update(b"tessera-blob-url-v1");
        for part in [
            key.as_string().as_bytes(),
            exp.to_string().as_bytes(),
            ct.as_bytes(),
            filename.as_bytes(),
        ] {
            mac.update(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
            mac.update(part);
        }
        mac
    }

    /// Checks a signed URL and returns the file to serve.
    pub fn verify(
        &self,
        key: &ObjectKey,
        q: &Signed,
        now: DateTime<Utc>,
    ) -> Result<PathBuf, Refusal> {
        let sig = URL_SAFE_NO_PAD
            .decode(q.sig.as_bytes())
            .map_err(|_| Refusal::BadSignature)?;
        self.mac(key, q.exp, &q.ct, &q.filename)
            .verify_slice(&sig)
            .map_err(|_| Refusal::BadSignature)?;
        // Checked after the signature, so an attacker learns nothing from altering `exp`.
        if q.exp <= now.timestamp() {
            return Err(Refusal::Expired);
        }
        Ok(self.path(key))
    }
}

#[async_trait::async_trait]
impl BlobStore for FsStore {
    async fn put(
        &self,
        key: &ObjectKey,
        _meta: &ObjectMeta,
        mut body: Body<'_>,
    ) -> Result<(), StorageError> {
        let final_path = self.path(key);
        if let Some(parent) = final_path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let part = final_path.with_extension("part");
        let mut file = tokio::fs::File::create(&part).await?;
        let written: Result<(), StorageError> = async {
            while let Some(chunk) = body.next().await {
                file.write_all(&chunk?).await?;
            }
            file.flush().await?;
            file.sync_all().await?;
            Ok(())
        }
        .await;
        drop(file);
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(e);
        }
        tokio::fs::rename(&part, &final_path).await?;
        Ok(())
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn download_url(
        &self,
        key: &ObjectKey,
        download: &Download,
    ) -> Result<String, StorageError> {
        let exp = download.expires_at.timestamp();
        let sig = self
            .mac(key, exp, &download.content_type, &download.filename)
            .finalize()
            .into_bytes();
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        Ok(format!(
            "/blobs/{}?exp={exp}&ct={}&fn={}&sig={}",
            key.as_string(),
            enc(&download.content_type),
            enc(&download.filename),
            URL_SAFE_NO_PAD.encode(sig)
        ))
    }
}
