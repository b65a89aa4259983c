//! The store's interface and the types every backend shares.

use std::pin::Pin;

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use futures_util::Stream;
use uuid::Uuid;

/// Where an object lives: `<tenant id>/<object id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectKey {
    pub tenant: Uuid,
    pub object: Uuid,
}

impl ObjectKey {
    pub fn new(tenant: Uuid) -> Self {
        Self {
            tenant,
            object: Uuid::new_v4(),
        }
    }

    pub fn as_string(&self) -> String {
        format!("{}/{}", self.tenant, self.object)
    }

    pub fn parse(s: &str) -> Option<Self> {
        let (t, o) = s.split_once('/')?;
        Some(Self {
            tenant: Uuid::parse_str(t).ok()?,
            object: Uuid::parse_str(o).ok()?,
        })
    }
}

#[derive(Debug)]
pub enum StorageError {
    /// The body exceeded the configured limit (nothing is kept).
    TooLarge,
    /// The client's body failed mid-stream (nothing is kept).
    Body(String),
    Io(std::io::Error),
    Backend(String),
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge => f.write_str("the upload is larger than allowed"),
            Self::Body(e) => write!(f, "upload interrupted: {e}"),
            Self::Io(e) => write!(f, "storage I/O: {e}"),
            Self::Backend(e) => write!(f, "storage backend: {e}"),
        }
    }
}

impl std::error::Error for StorageError {}

impl From<std::io::Error> for StorageError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// A body being uploaded: chunks, already counted and hashed by the caller.
pub type Body<'a> = Pin<Box<dyn Stream<Item = Result<Bytes, StorageError>> + Send + 'a>>;

/// What is stored with an object.
#[derive(Debug, Clone)]
pub struct ObjectMeta {
    pub content_type: String,
    pub filename: String,
}

/// How a download is presented: the recorded content type and file name, forced.
#[derive(Debug, Clone)]
pub struct Download {
    pub content_type: String,
    pub filename: String,
    /// When the link stops working (self-signed links)...
    pub expires_at: DateTime<Utc>,
    /// ...and the same as a lifetime (presigned links, which count from their own clock).
    pub ttl: std::time::Duration,
}

#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores a new object. On any error nothing is left behind. `meta` is kept with the
    /// object where the backend can (S3 serves it as the object's headers).
    async fn put(
        &self,
        key: &ObjectKey,
        meta: &ObjectMeta,
        body: Body<'_>,
    ) -> Result<(), StorageError>;

    /// Removes an object (absent is fine).
    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError>;

    /// A URL of the store itself that serves the object for `download.ttl`, as an attachment
    /// with the recorded content type (S3: a presigned GET). `None`: this server serves the
    /// object (the filesystem backend). Only ever handed out right after the holder of a
    /// server-signed link was checked (`super::links`).
    async fn presigned_url(
        &self,
        key: &ObjectKey,
        download: &Download,
    ) -> Result<Option<String>, StorageError>;

    /// Writes a small evidence record (an audit anchor) that is never overwritten: an
    /// existing record of that name is left as it is and answered with
    /// [`Written::Exists`]. Where the store supports it (S3 Object Lock), the record is kept
    /// under compliance retention until `retain_until`: nobody, the store's own
    /// administrators included, can delete or change it before then.
    async fn put_record(
        &self,
        name: &RecordName,
        bytes: Vec<u8>,
        retain_until: DateTime<Utc>,
    ) -> Result<Written, StorageError>;

    /// A record's bytes (`None` when there is none).
    async fn get_record(&self, name: &RecordName) -> Result<Option<Vec<u8>>, StorageError>;

    /// The names of the records under `prefix` (a folder, ending in `/`), in name order.
    async fn list_records(&self, prefix: &RecordName) -> Result<Vec<RecordName>, StorageError>;
}

/// The name of an evidence record: `/`-separated segments of lowercase letters, digits,
/// `-`, `_` and `.`, no empty or dot-only segment. Built by Tessera, checked anyway, so a
/// name can never leave the records' area.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordName(String);

impl RecordName {
    pub fn new(name: impl Into<String>) -> Option<Self> {
        let name = name.into();
        let ok = !name.is_empty()
            && name.len() <= 512
            && name.trim_end_matches('/').split('/').all(|seg| {
                !seg.is_empty()
                    && !seg.chars().all(|c| c == '.')
                    && seg.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
                    })
            });
        ok.then_some(Self(name))
    }

    /// A name Tessera builds from ids and digits only, valid by construction (checked in
    /// debug builds).
    pub(crate) fn built(name: String) -> Self {
        debug_assert!(Self::new(name.clone()).is_some(), "{name}");
        Self(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What [`BlobStore::put_record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Stored, under compliance retention until the given time.
    Locked(DateTime<Utc>),
    /// Stored; the store keeps no retention (whoever administers it can remove it).
    Unlocked,
    /// A record of that name was there already; nothing was written.
    Exists,
}

/// A content type safe to send back: `type/subtype` from a conservative alphabet, else
/// `application/octet-stream`. Parameters are dropped.
pub fn safe_content_type(raw: Option<&str>) -> String {
    let base = raw
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let ok = base.len() <= 100
        && base.split_once('/').is_some_and(|(t, s)| {
            !t.is_empty()
                && !s.is_empty()
                && base
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/.+-_".contains(&b))
        });
    if ok {
        base
    } else {
        "application/octet-stream".to_owned()
    }
}

/// A file name fit for metadata and `Content-Disposition`: no path, no control characters,
/// at most 255 characters. `None` when nothing is left.
pub fn safe_filename(raw: &str) -> Option<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(255).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// `Content-Disposition: attachment` with an ASCII fallback and the exact UTF-8 name.
pub fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " .-_()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(filename, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_names_cannot_leave_their_area() {
        for good in [
            "audit-anchors/",
            "audit-anchors/x/00000000000000000001.json",
        ] {
            assert!(RecordName::new(good).is_some(), "{good}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "a//b",
            "A/b",
            "a/./b",
            "a/b c",
            "..",
            "a\\b",
        ] {
            assert!(RecordName::new(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn names_and_types_are_made_harmless() {
        assert_eq!(safe_filename("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(
            safe_filename("C:\\x\\report.pdf").as_deref(),
            Some("report.pdf")
        );
        assert_eq!(safe_filename("a\r\nb.txt").as_deref(), Some("ab.txt"));
        assert_eq!(safe_filename("..."), None);
        assert_eq!(
            safe_content_type(Some("text/html; charset=utf-8")),
            "text/html"
        );
        assert_eq!(
            safe_content_type(Some("text/html\r\nX-Evil: 1")),
            "application/octet-stream"
        );
        assert_eq!(safe_content_type(None), "application/octet-stream");
        let d = content_disposition("résumé \"final\".pdf");
        assert!(
            d.starts_with("attachment; filename=\"r_sum_ _final_.pdf\""),
            "{d}"
        );
        assert!(d.contains("filename*=UTF-8''r%C3%A9sum%C3%A9"));
    }
}
