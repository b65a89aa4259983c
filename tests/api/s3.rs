//! The S3 backend against a real S3-compatible server: `s3s-fs` (a directory served over the
//! S3 protocol, verifying SigV4) on a loopback port, started by the test itself. Uploads
//! (single PUT and multipart), presigned downloads through the proxy, expiry and tampering.

use tessera::authz::Role;

use crate::helpers::{TestApp, TestDb, seed, tempdir};

const ACCESS_KEY: &str = "tessera-test";
const SECRET_KEY: &str = "tessera-test-secret-key";
const BUCKET: &str = "tessera-attachments";

/// A running S3 server over a temporary directory; stops with the test's runtime.
struct S3Server {
    endpoint: String,
    root: tempdir::Dir,
}

async fn start_s3() -> S3Server {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;
    let root = tempdir::Dir::new();
    let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
    let mut b = s3s::service::S3ServiceBuilder::new(fs);
    b.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let service = b.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let service = service.clone();
            tokio::spawn(async move {
                let _ = Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    let endpoint = format!("http://{addr}");
    // The bucket, created with the SDK as an operator would.
    let creds = aws_sdk_s3::config::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test");
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .endpoint_url(&endpoint)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    S3Server { endpoint, root }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn attachments_go_to_s3_and_come_back_through_the_servers_links_and_short_presigned_ones() {
    let s3 = start_s3().await;
    let mut db = TestDb::new().await;
    db.cfg.storage.backend = tessera::config::Backend::S3;
    db.cfg.storage.max_upload_bytes = 20 * 1024 * 1024;
    db.cfg.storage.url_ttl_secs = 2;
    db.cfg.storage.s3 = tessera::config::S3 {
        endpoint: Some(s3.endpoint.clone()),
        region: "us-east-1".into(),
        bucket: Some(BUCKET.into()),
        path_style: true,
        access_key_id: Some(ACCESS_KEY.into()),
        secret_access_key: Some(tessera::crypto::Secret::new(SECRET_KEY.into())),
        anchor_bucket: None,
    };
    let app = TestApp::spawn_on(db, 8).await;
    let s = seed(&app, "acme").await;
    let pia = app
        .db
        .add_user(&s.tenant, "pia@acme.test", Role::Member)
        .await;
    let pia_token = app
        .db
        .token(&s.tenant, pia, &[tessera::authz::Scope::Read])
        .await;

    // A small file (one PUT) and one of 9 MiB (a multipart upload of two parts).
    let small = b"quarterly numbers".to_vec();
    let large: Vec<u8> = (0..9 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let mut ids = Vec::new();
    for (name, body) in [("numbers.csv", small.clone()), ("dump.bin", large.clone())] {
        let resp = app
            .http
            .post(app.url("/w/acme/attachments"))
            .query(&[
                ("entityType", "project"),
                ("entityId", s.project_id.as_str()),
                ("filename", name),
            ])
            .bearer_auth(&s.owner_token)
            .header("content-type", "text/csv")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let v: serde_json::Value = resp.json().await.unwrap();
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    // The objects are in the bucket under `<tenant id>/<random id>`.
    let keys = std::fs::read_dir(s3.root.path().join(BUCKET).join(s.tenant.id.to_string()))
        .unwrap()
        .count();
    assert_eq!(keys, 2);

    for (id, expected) in ids.iter().zip([&small, &large]) {
        let resp = no_redirects()
            .get(app.url(&format!("/w/acme/attachments/{id}/content")))
            .bearer_auth(&pia_token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 302);
        // First hop: the server's own link, bound to its holder; followed, it checks the
        // holder again and hands out a presigned S3 URL that lives for seconds.
        let own = resp.headers()["location"].to_str().unwrap().to_owned();
        assert!(own.starts_with("/blobs/"), "{own}");
        let resp = no_redirects().get(app.url(&own)).send().await.unwrap();
        assert_eq!(resp.status(), 302);
        let link = resp.headers()["location"].to_str().unwrap().to_owned();
        assert!(link.starts_with(&s3.endpoint), "a presigned S3 URL: {link}");
        assert!(
            link.contains("X-Amz-Signature=") && link.contains("response-content-disposition=")
        );
        let got = reqwest::get(&link).await.unwrap();
        assert_eq!(got.status(), 200);
        assert_eq!(&got.bytes().await.unwrap().to_vec(), expected);
        // An altered signature is refused by the server.
        let sig = link.split("X-Amz-Signature=").nth(1).unwrap()[..64].to_owned();
        let flipped: String = sig
            .chars()
            .map(|c| if c == '0' { '1' } else { '0' })
            .collect();
        let bad = reqwest::get(link.replace(&sig, &flipped)).await.unwrap();
        assert!(bad.status().is_client_error(), "{}", bad.status());
        // So is the server's link once it expired.
        if id == &ids[0] {
            tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
            let late = no_redirects().get(app.url(&own)).send().await.unwrap();
            assert_eq!(late.status(), 403, "expired link");
        }
    }
    // An unsigned link is refused.
    let resp = app
        .http
        .get(app.url(&format!("/blobs/{}/{}", s.tenant.id, uuid::Uuid::new_v4())))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}
