//! The README's run command on a fresh data directory: `tessera serve --demo` starts its own
//! PostgreSQL, prints a curl command, and that command returns demo data.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::helpers::tempdir;

#[test]
fn serve_demo_starts_an_embedded_cluster_and_the_printed_curl_returns_demo_data() {
    let dir = tempdir::Dir::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--demo"])
        .env("TESSERA_DATA_DIR", dir.path())
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("TESSERA_LOG", "warn")
        .env_remove("TESSERA_DATABASE_URL")
        .env_remove("TESSERA_MIGRATOR_DATABASE_URL")
        .env_remove("TESSERA_CONFIG")
        .env_remove("TESSERA_MASTER_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut command = String::new();
    let mut console = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("Tessera Console: ") {
            console = url.to_owned();
        }
        if line.starts_with("curl") || !command.is_empty() {
            command.push_str(line.trim_end_matches('\\'));
            command.push(' ');
        }
        if line.starts_with("  -d '") {
            break;
        }
    }
    assert!(
        command.contains("Bearer tsr_"),
        "no curl command printed: {command:?}"
    );
    // The console's address is one the browser's origin check accepts: localhost, real port.
    assert!(
        console.starts_with("http://localhost:") && !console.contains(":0/"),
        "console URL: {console:?}"
    );
    let page = Command::new("curl")
        .args(["-s", "-H", "Accept: text/html", &console])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&page.stdout).contains("<title>Tessera</title>"));
    let out = Command::new("sh").arg("-c").arg(&command).output().unwrap();
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    // Stop with SIGTERM so the server stops its cluster, then check that it did.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exited with {status}");
    assert!(
        !dir.path().join("postgres/data/postmaster.pid").exists(),
        "the embedded cluster must be stopped on shutdown"
    );
    let edges = body["data"]["projects"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(edges.len(), 6, "demo projects: {body}");
    assert!(
        edges[0]["node"]["records"]["edges"]
            .as_array()
            .is_some_and(|r| r.len() == 3)
    );
    // Without its master key the existing cluster's data would be unreadable: refuse, and
    // leave the cluster stopped.
    std::fs::remove_file(dir.path().join("master.key")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["tenant", "list"])
        .env("TESSERA_DATA_DIR", dir.path())
        .env("TESSERA_LOG", "warn")
        .env_remove("TESSERA_DATABASE_URL")
        .env_remove("TESSERA_MIGRATOR_DATABASE_URL")
        .env_remove("TESSERA_MASTER_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("master.key is missing"));
    assert!(!dir.path().join("postgres/data/postmaster.pid").exists());
    // Credentials are kept private.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.path().join("credentials.json"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

/// The server pods of a deployment get only the runtime role: `serve` with
/// `migrate_on_start = false` needs no migrator URL, and every command that does says so.
#[tokio::test]
async fn the_server_runs_with_only_the_runtime_role() {
    let db = crate::helpers::TestDb::new().await;
    let data = tempdir::Dir::new();
    let base = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tessera"));
        c.args(args)
            .env("TESSERA_DATABASE_URL", &db.app_url)
            .env_remove("TESSERA_MIGRATOR_DATABASE_URL")
            .env_remove("TESSERA_MIGRATOR_DATABASE_URL_FILE")
            .env_remove("TESSERA_CONFIG")
            .env("TESSERA_ROLE_PREFIX", &db.name)
            .env("TESSERA_MASTER_KEY", &db.master_key_b64)
            .env("TESSERA_DATA_DIR", data.path())
            .env("TESSERA_LISTEN", "127.0.0.1:0")
            .env("TESSERA_LOG", "warn");
        c
    };
    for args in [&["migrate"][..], &["serve"][..], &["tenant", "purge"][..]] {
        let out = base(args).output().unwrap();
        assert!(!out.status.success(), "{args:?} ran without the migrator");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("TESSERA_MIGRATOR_DATABASE_URL"),
            "{args:?}: {err}"
        );
    }
    let mut child = base(&["serve"])
        .env("TESSERA_MIGRATE_ON_START", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let addr = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("tessera listening on http://")
                .map(str::to_owned)
        });
    let ready = match &addr {
        Some(addr) => reqwest::get(format!("http://{addr}/readyz"))
            .await
            .map(|r| r.status()),
        None => Ok(reqwest::StatusCode::IM_A_TEAPOT),
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(addr.is_some(), "the server did not start");
    assert_eq!(ready.unwrap(), 200);
}

/// A server process with only the runtime role; returns it and its address.
pub(crate) fn spawn_server(
    db: &crate::helpers::TestDb,
    data: &std::path::Path,
    env: &[(&str, &str)],
) -> (std::process::Child, String) {
    let (child, addr, _) = spawn_server_logged(db, data, env);
    (child, addr)
}

/// [`spawn_server`], keeping the lines the server logs after it started.
pub(crate) fn spawn_server_logged(
    db: &crate::helpers::TestDb,
    data: &std::path::Path,
    env: &[(&str, &str)],
) -> (
    std::process::Child,
    String,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("serve")
        .env("TESSERA_DATABASE_URL", &db.app_url)
        .env_remove("TESSERA_MIGRATOR_DATABASE_URL")
        .env_remove("TESSERA_CONFIG")
        .env("TESSERA_MIGRATE_ON_START", "false")
        .env("TESSERA_ROLE_PREFIX", &db.name)
        .env("TESSERA_MASTER_KEY", &db.master_key_b64)
        .env("TESSERA_DATA_DIR", data)
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("TESSERA_LOG", "warn")
        .envs(
            db.cfg
                .database_listen_url
                .as_deref()
                .map(|url| ("TESSERA_DATABASE_LISTEN_URL", url)),
        )
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("tessera listening on http://")
                .map(str::to_owned)
        })
        .expect("the server did not start");
    // Keep draining its log so it never blocks on a full pipe.
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            keep.lock().unwrap().push(line);
        }
    });
    (child, addr, log)
}

/// Waits up to `secs` for the process to exit; its status, or `None` if it is still running.
fn exited(child: &mut std::process::Child, secs: u64) -> Option<std::process::ExitStatus> {
    for _ in 0..secs * 10 {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    None
}

/// Feeds an upload's body, chunk by chunk.
type BodySender = tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>;

/// An upload whose body arrives only when the returned sender says so; the task yields the
/// response status.
fn slow_upload(
    addr: &str,
    project: uuid::Uuid,
    token: &str,
) -> (BodySender, tokio::task::JoinHandle<Result<u16, String>>) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let body = reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    let req = reqwest::Client::new()
        .post(format!(
            "http://{addr}/w/acme/attachments?entityType=project&entityId={project}&filename=slow.txt"
        ))
        .bearer_auth(token)
        .body(body);
    let task = tokio::spawn(async move {
        req.send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| e.to_string())
    });
    (tx, task)
}

fn sigterm(child: &std::process::Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests_and_exits_within_the_grace_period() {
    let db = crate::helpers::TestDb::new().await;
    let tenant = db.create_tenant("acme").await;
    let owner = db
        .add_user(&tenant, "o@acme.test", tessera::authz::Role::Owner)
        .await;
    let token = db
        .token(&tenant, owner, &[tessera::authz::Scope::Write])
        .await;
    let (team, project) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    sqlx::query("INSERT INTO tenant_acme.teams (id, name, visibility) VALUES ($1, 'Core', 'open')")
        .bind(team)
        .execute(&db.migrator)
        .await
        .unwrap();
    sqlx::query("INSERT INTO tenant_acme.projects (id, team_id, name) VALUES ($1, $2, 'P')")
        .bind(project)
        .bind(team)
        .execute(&db.migrator)
        .await
        .unwrap();
    let data = tempdir::Dir::new();
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(500));

    // Drained: an upload under way when SIGTERM arrives completes; new connections are refused.
    let (mut child, addr) =
        spawn_server(&db, data.path(), &[("TESSERA_SHUTDOWN_GRACE_SECS", "30")]);
    let (tx, upload) = slow_upload(&addr, project, &token);
    tx.send(Ok(b"first half, ".to_vec())).await.unwrap();
    pause().await;
    sigterm(&child);
    pause().await;
    let fresh = reqwest::get(format!("http://{addr}/healthz")).await;
    assert!(fresh.is_err(), "a new connection is refused while draining");
    assert!(child.try_wait().unwrap().is_none(), "still draining");
    tx.send(Ok(b"second half".to_vec())).await.unwrap();
    drop(tx);
    assert_eq!(
        upload.await.unwrap(),
        Ok(201),
        "the in-flight upload completed"
    );
    let status = exited(&mut child, 20).expect("the server exits once drained");
    assert!(status.success(), "{status:?}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM tenant_acme.attachments")
        .fetch_one(&db.migrator)
        .await
        .unwrap();
    assert_eq!(stored, 1);

    // Not drained in time: the process exits when the grace period ends anyway.
    let (mut child, addr) = spawn_server(&db, data.path(), &[("TESSERA_SHUTDOWN_GRACE_SECS", "1")]);
    let (tx, upload) = slow_upload(&addr, project, &token);
    tx.send(Ok(b"never finished".to_vec())).await.unwrap();
    pause().await;
    sigterm(&child);
    let status = exited(&mut child, 15);
    if status.is_none() {
        let _ = child.kill();
    }
    let status = status.expect("the grace period bounds the shutdown");
    assert!(status.success(), "{status:?}");
    assert!(upload.await.unwrap().is_err(), "the cut-off upload fails");
    drop(tx);
}
