//! The S3 backend (any S3-compatible service). Uploads stream as multipart uploads with
//! 8 MiB parts, so memory per upload is bounded by one part; small files are a single PUT.
//! Downloads are presigned GETs that force the recorded content type and `attachment`.
//!
//! Evidence records go to `storage.s3.anchor_bucket` (else the attachment bucket), written
//! with `If-None-Match: *` so none is ever replaced, and, when that bucket has Object Lock
//! enabled, in compliance mode until their retention date: then neither Tessera's
//! credentials nor the bucket's administrators can delete or overwrite them before it.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use super::blob::{
    BlobStore, Body, Download, ObjectKey, ObjectMeta, RecordName, StorageError, Written,
    content_disposition,
};
use crate::config::S3;

/// Size of a multipart part (S3's minimum is 5 MiB, except for the last one).
const PART: usize = 8 * 1024 * 1024;

pub struct S3Store {
    client: Client,
    bucket: String,
    /// Where evidence records go.
    records: String,
    /// Whether the records' bucket has Object Lock enabled (asked once).
    locking: tokio::sync::OnceCell<bool>,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

fn backend(e: impl std::fmt::Display) -> StorageError {
    StorageError::Backend(e.to_string())
}

impl S3Store {
    /// Credentials from the configuration when given, else the standard AWS chain
    /// (environment, profile, instance role).
    pub async fn new(cfg: &S3) -> Result<Self, String> {
        let bucket = cfg
            .bucket
            .clone()
            .filter(|b| (3..=63).contains(&b.len()))
            .ok_or("storage.s3.bucket (3 to 63 characters) is required for the S3 backend")?;
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).region(Region::new(cfg.region.clone()));
        if let (Some(id), Some(secret)) = (&cfg.access_key_id, &cfg.secret_access_key) {
            loader = loader.credentials_provider(Credentials::new(
                id.clone(),
                secret.expose().clone(),
                None,
                None,
                "tessera-config",
            ));
        }
        let shared = loader.load().await;
        let mut b = aws_sdk_s3::config::Builder::from(&shared).force_path_style(cfg.path_style);
        if let Some(endpoint) = &cfg.endpoint {
            b = b.endpoint_url(endpoint);
        }
        let records = cfg.anchor_bucket.clone().unwrap_or_else(|| bucket.clone());
        Ok(Self {
            client: Client::from_conf(b.build()),
            bucket,
            records,
            locking: tokio::sync::OnceCell::new(),
        })
    }

    /// Whether the records' bucket has Object Lock enabled. A store that does not know
    /// the call (many S3-compatible servers) has none.
    async fn locking(&self) -> bool {
        *self
            .locking
            .get_or_init(|| async {
                let enabled = self
                    .client
                    .get_object_lock_configuration()
                    .bucket(&self.records)
                    .send()
                    .await
                    .ok()
                    .and_then(|out| out.object_lock_configuration)
                    .and_then(|c| c.object_lock_enabled)
                    .is_some_and(|e| e == aws_sdk_s3::types::ObjectLockEnabled::Enabled);
                if !enabled {
                    tracing::warn!(
                        bucket = %self.records,
                        "the evidence bucket has no Object Lock: audit anchors are kept, but whoever administers the bucket can delete them"
                    );
                }
                enabled
            })
            .await
    }

    async fn put_multipart(
        &self,
        key: &str,
        meta: &ObjectMeta,
        first: Vec<u8>,
        mut body: Body<'_>,
    ) -> Result<(), StorageError> {
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(&meta.content_type)
            .content_disposition(content_disposition(&meta.filename))
            .send()
            .await
            .map_err(backend)?;
        let upload_id = upload
            .upload_id()
            .ok_or_else(|| backend("no upload id"))?
            .to_owned();
        let result: Result<Vec<CompletedPart>, StorageError> = async {
            let mut parts = Vec::new();
            let mut buf = first;
            let mut done = false;
            while !done {
                while buf.len() < PART {
                    match body.next().await {
                        Some(chunk) => buf.extend_from_slice(&chunk?),
                        None => {
                            done = true;
                            break;
                        }
                    }
                }
                if buf.is_empty() {
                    break;
                }
                let number = i32::try_from(parts.len() + 1).unwrap_or(i32::MAX);
                let sent = self
                    .client
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .body(ByteStream::from(std::mem::take(&mut buf)))
                    .send()
                    .await
                    .map_err(backend)?;
                parts.push(
                    CompletedPart::builder()
                        .set_e_tag(sent.e_tag().map(str::to_owned))
                        .part_number(number)
                        .build(),
                );
            }
            Ok(parts)
        }
        .await;
        let parts = match result {
            Ok(p) => p,
            Err(e) => {
                let _ = self
                    .client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                return Err(e);
            }
        };
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl BlobStore for S3Store {
    async fn put(
        &self,
        key: &ObjectKey,
        meta: &ObjectMeta,
        mut body: Body<'_>,
    ) -> Result<(), StorageError> {
        let key = key.as_string();
        // Buffer up to one part: a small file is one PUT, a large one a multipart upload.
        let mut buf = Vec::new();
        while buf.len() < PART {
            match body.next().await {
                Some(chunk) => buf.extend_from_slice(&chunk?),
                None => {
                    self.client
                        .put_object()
                        .bucket(&self.bucket)
                        .key(&key)
                        .content_type(&meta.content_type)
                        .content_disposition(content_disposition(&meta.filename))
                        .body(ByteStream::from(buf))
                        .send()
                        .await
                        .map_err(backend)?;
                    return Ok(());
                }
            }
        }
        self.put_multipart(&key, meta, buf, body).await
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_string())
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn presigned_url(
        &self,
        key: &ObjectKey,
        download: &Download,
    ) -> Result<Option<String>, StorageError> {
        let ttl = download.ttl.max(Duration::from_secs(1));
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_string())
            .response_content_type(&download.content_type)
            .response_content_disposition(content_disposition(&download.filename))
            .presigned(PresigningConfig::expires_in(ttl).map_err(backend)?)
            .await
            .map_err(backend)?;
        Ok(Some(presigned.uri().to_owned()))
    }

    async fn put_record(
        &self,
        name: &RecordName,
        bytes: Vec<u8>,
        retain_until: DateTime<Utc>,
    ) -> Result<Written, StorageError> {
        let locked = self.locking().await;
        let mut put = self
            .client
            .put_object()
            .bucket(&self.records)
            .key(name.as_str())
            .content_type("application/json")
            .if_none_match("*")
            .body(ByteStream::from(bytes));
        if locked {
            put = put
                .object_lock_mode(aws_sdk_s3::types::ObjectLockMode::Compliance)
                .object_lock_retain_until_date(aws_sdk_s3::primitives::DateTime::from_secs(
                    retain_until.timestamp(),
                ));
        }
        match put.send().await {
            Ok(_) if locked => Ok(Written::Locked(retain_until)),
            Ok(_) => Ok(Written::Unlocked),
            // 412: the name is taken (409: a concurrent write of the same name).
            Err(e)
                if matches!(
                    e.raw_response().map(|r| r.status().as_u16()),
                    Some(409 | 412)
                ) =>
            {
                Ok(Written::Exists)
            }
            Err(e) => Err(backend(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    async fn get_record(&self, name: &RecordName) -> Result<Option<Vec<u8>>, StorageError> {
        match self
            .client
            .get_object()
            .bucket(&self.records)
            .key(name.as_str())
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.body.collect().await.map_err(backend)?.to_vec())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(backend(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    async fn list_records(&self, prefix: &RecordName) -> Result<Vec<RecordName>, StorageError> {
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.records)
                .prefix(prefix.as_str())
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
            names.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .filter_map(RecordName::new),
            );
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        names.sort();
        Ok(names)
    }
}
