//! The filesystem backend: objects under `<dir>/<tenant id>/<object id>`, written to a
//! `.part` file and renamed into place only once complete, served by this server through the
//! links it signs itself (`super::links`).

use std::path::PathBuf;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::blob::{BlobStore, Body, Download, ObjectKey, ObjectMeta, StorageError};

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
}
