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
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
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
