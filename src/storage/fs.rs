//! The filesystem backend: objects under `<dir>/<tenant id>/<object id>`, written to a
//! `.part` file and renamed into place only once complete, served by this server through the
//! links it signs itself (`super::links`). Evidence records live under `<dir>/records/`,
//! written once and made read-only; the filesystem keeps no retention, so whoever
//! administers the machine can still remove them (S3 with Object Lock is the store for
//! evidence that must outlive its administrators).

use std::path::PathBuf;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use chrono::{DateTime, Utc};

use super::blob::{
    BlobStore, Body, Download, ObjectKey, ObjectMeta, RecordName, StorageError, Written,
};

pub struct FsStore {
    dir: PathBuf,
}

impl std::fmt::Debug for FsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl FsStore {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The file of an object (which the caller has checked the right to read).
    pub fn path(&self, key: &ObjectKey) -> PathBuf {
        self.dir
            .join(key.tenant.to_string())
            .join(key.object.to_string())
    }

    fn record_path(&self, name: &RecordName) -> PathBuf {
        self.dir.join("records").join(name.as_str())
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

    async fn presigned_url(
        &self,
        _key: &ObjectKey,
        _download: &Download,
    ) -> Result<Option<String>, StorageError> {
        // This server serves the file itself, behind its own signed link.
        Ok(None)
    }

    async fn put_record(
        &self,
        name: &RecordName,
        bytes: Vec<u8>,
        _retain_until: DateTime<Utc>,
    ) -> Result<Written, StorageError> {
        let path = self.record_path(name);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        // Written aside and linked into place: the name appears complete or not at all, and
        // an existing record is never replaced.
        let part = path.with_extension(format!("{}.part", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&part, &bytes).await?;
        tokio::fs::File::open(&part).await?.sync_all().await?;
        let linked = tokio::fs::hard_link(&part, &path).await;
        let _ = tokio::fs::remove_file(&part).await;
        match linked {
            Ok(()) => {
                let mut perms = tokio::fs::metadata(&path).await?.permissions();
                perms.set_readonly(true);
                tokio::fs::set_permissions(&path, perms).await?;
                Ok(Written::Unlocked)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Written::Exists),
            Err(e) => Err(e.into()),
        }
    }

    async fn get_record(&self, name: &RecordName) -> Result<Option<Vec<u8>>, StorageError> {
        match tokio::fs::read(self.record_path(name)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_records(&self, prefix: &RecordName) -> Result<Vec<RecordName>, StorageError> {
        let mut dir = match tokio::fs::read_dir(self.record_path(prefix)).await {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut names = Vec::new();
        while let Some(entry) = dir.next_entry().await? {
            let file = entry.file_name();
            let Some(file) = file.to_str() else { continue };
            if file.ends_with(".part") {
                continue;
            }
            let joined = format!("{}/{file}", prefix.as_str().trim_end_matches('/'));
            if let Some(name) = RecordName::new(joined) {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }
}
