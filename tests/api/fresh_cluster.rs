//! A throwaway PostgreSQL cluster of the machine's own server binaries, on a free loopback
//! port, removed on drop: for tests that need a server of their own (a restore target, a
//! server with TLS settings).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::helpers::tempdir;

pub struct FreshCluster {
    dir: tempdir::Dir,
    pub port: u16,
    bin: PathBuf,
}

fn root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Runs a PostgreSQL server program, as the `postgres` user when the tests run as root.
fn as_postgres(program: &Path) -> Command {
    if root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Gives `path` (and what is under it) to the `postgres` user when the tests run as root.
pub fn give_to_postgres(path: &Path) {
    if root() {
        let ok = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(path)
            .status()
            .unwrap();
        assert!(ok.success(), "chown {}", path.display());
    }
}

impl FreshCluster {
    pub fn start() -> Self {
        Self::start_with(|_| ())
    }

    /// Initialises a cluster, lets `prepare` write into its data directory (whose path it
    /// is given: settings go into its `postgresql.conf`), then starts it.
    pub fn start_with(prepare: impl FnOnce(&Path)) -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists())
            .max()
            .or_else(|| {
                let out = Command::new("pg_config").arg("--bindir").output().ok()?;
                Some(String::from_utf8_lossy(&out.stdout).trim().into())
            })
            .expect("PostgreSQL server binaries (initdb)");
        let dir = tempdir::Dir::new();
        give_to_postgres(dir.path());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = dir.path().join("data");
        let ok = as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success(), "initdb");
        prepare(&data);
        give_to_postgres(&data);
        let ok = as_postgres(&bin.join("pg_ctl"))
            .arg("start")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.path().join("log"))
            .arg("-w")
            .arg("-o")
            .arg(format!(
                "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' -c max_connections=100"
            ))
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(
            ok.success(),
            "pg_ctl start: {}",
            std::fs::read_to_string(dir.path().join("log")).unwrap_or_default()
        );
        Self { dir, port, bin }
    }

    pub fn url(&self, user: &str, db: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for FreshCluster {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin.join("pg_ctl"))
            .arg("stop")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate"])
            .stdout(Stdio::null())
            .status();
    }
}
