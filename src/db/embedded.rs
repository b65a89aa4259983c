//! The embedded default: a private PostgreSQL cluster under the data directory, started
//! with the machine's own `initdb`/`pg_ctl`, listening on a free loopback port with
//! SCRAM authentication (random passwords kept in a 0600 file), and stopped on shutdown.
//! PostgreSQL refuses to run as root; when Tessera runs as root the cluster runs as the
//! unprivileged `postgres` user instead.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::{RoleNames, bootstrap_database};

const DATABASE: &str = "tessera";
const ADMIN: &str = "tessera_admin";

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or under /usr/lib/postgresql/*/bin.\n\
         Install PostgreSQL 14 or newer (Debian/Ubuntu: `apt-get install postgresql`; Fedora: \
         `dnf install postgresql-server`; macOS: `brew install postgresql@16`), or point Tessera at an \
         existing server with TESSERA_DATABASE_URL and TESSERA_MIGRATOR_DATABASE_URL."
    )]
    NoBinaries,
    #[error(
        "PostgreSQL refuses to run as root and there is no `postgres` user to run it as; \
         run tessera as an unprivileged user or create one (`useradd --system postgres`)"
    )]
    RootWithoutPostgresUser,
    #[error("{command} failed ({status}); see {log}")]
    Command {
        command: String,
        status: String,
        log: String,
    },
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot bootstrap the embedded database: {0}")]
    Bootstrap(String),
}

#[derive(Serialize, Deserialize)]
struct Credentials {
    admin: String,
    migrator: String,
    app: String,
}

/// A running embedded cluster.
pub struct EmbeddedCluster {
    bin: PathBuf,
    data: PathBuf,
    run_as: Option<(u32, u32)>,
    started_here: bool,
    /// The cluster was created by this start (no data sealed under any key yet).
    pub fresh: bool,
    pub app_url: String,
    pub migrator_url: String,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EmbeddedError + '_ {
    move |source| EmbeddedError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn find_bin_dir() -> Option<PathBuf> {
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            if dir.join("pg_ctl").is_file() && dir.join("initdb").is_file() {
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p)
}

/// (uid, gid) of the `postgres` user when running as root; `None` otherwise.
fn run_as() -> Result<Option<(u32, u32)>, EmbeddedError> {
    let uid = Command::new("id").arg("-u").output().ok();
    let is_root = uid.is_some_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !is_root {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 3 && f[0] == "postgres")
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
        })
        .map(Some)
        .ok_or(EmbeddedError::RootWithoutPostgresUser)
}

fn random_secret() -> String {
    let mut b = [0u8; 24];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn chown_tree(path: &Path, (uid, gid): (u32, u32)) -> Result<(), EmbeddedError> {
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{uid}:{gid}"))
        .arg(path)
        .status()
        .map_err(io(path))?;
    if status.success() {
        Ok(())
    } else {
        Err(EmbeddedError::Command {
            command: "chown".into(),
            status: status.to_string(),
            log: path.display().to_string(),
        })
    }
}

/// The port the cluster listened on last time, when it is free again (so URLs stay the same
/// across restarts, for a running server's pool too), else any free one.
fn port_for(pg_root: &Path) -> Result<u16, EmbeddedError> {
    let last = std::fs::read_to_string(pg_root.join("port"))
        .ok()
        .and_then(|p| p.trim().parse::<u16>().ok())
        .filter(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok());
    match last {
        Some(p) => Ok(p),
        None => free_port(),
    }
}

fn free_port() -> Result<u16, EmbeddedError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(io(Path::new("127.0.0.1:0")))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(io(Path::new("127.0.0.1:0")))
}

impl EmbeddedCluster {
    fn cmd(&self, name: &str) -> Command {
        let mut c = Command::new(self.bin.join(name));
        if let Some((uid, gid)) = self.run_as {
            c.uid(uid).gid(gid);
        }
        c
    }

    fn run(&self, mut c: Command, what: &str, log: &Path) -> Result<(), EmbeddedError> {
        let out = c.output().map_err(io(&self.bin))?;
        if out.status.success() {
            return Ok(());
        }
        let _ = std::fs::write(log, [&out.stdout[..], &out.stderr[..]].concat());
        Err(EmbeddedError::Command {
            command: what.into(),
            status: out.status.to_string(),
            log: log.display().to_string(),
        })
    }

    fn running_port(&self) -> Option<u16> {
        let pid = std::fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        let alive = self
            .cmd("pg_ctl")
            .arg("status")
            .arg("-D")
            .arg(&self.data)
            .output()
            .ok()?;
        if !alive.status.success() {
            return None;
        }
        pid.lines().nth(3)?.trim().parse().ok()
    }

    /// Starts (or reuses) the cluster under `data_dir`, bootstrapped and ready.
    pub async fn start(data_dir: &Path, roles: &RoleNames) -> Result<Self, EmbeddedError> {
        let bin = find_bin_dir().ok_or(EmbeddedError::NoBinaries)?;
        let run_as = run_as()?;
        std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
        let data_dir = data_dir.canonicalize().map_err(io(data_dir))?;
        let pg_root = data_dir.join("postgres");
        let data = pg_root.join("data");
        let log = pg_root.join("postgres.log");
        let cred_path = data_dir.join("credentials.json");
        let mut cluster = Self {
            bin,
            data: data.clone(),
            run_as,
            started_here: false,
            fresh: false,
            app_url: String::new(),
            migrator_url: String::new(),
        };
        let creds: Credentials = if data.join("PG_VERSION").is_file() {
            let text = std::fs::read_to_string(&cred_path).map_err(io(&cred_path))?;
            serde_json::from_str(&text).map_err(|e| EmbeddedError::Bootstrap(e.to_string()))?
        } else {
            std::fs::create_dir_all(&pg_root).map_err(io(&pg_root))?;
            let creds = Credentials {
                admin: random_secret(),
                migrator: random_secret(),
                app: random_secret(),
            };
            let json =
                serde_json::to_vec(&creds).map_err(|e| EmbeddedError::Bootstrap(e.to_string()))?;
            std::fs::write(&cred_path, json).map_err(io(&cred_path))?;
            std::fs::set_permissions(&cred_path, std::fs::Permissions::from_mode(0o600))
                .map_err(io(&cred_path))?;
            let pwfile = pg_root.join(".pwfile");
            std::fs::write(&pwfile, &creds.admin).map_err(io(&pwfile))?;
            std::fs::set_permissions(&pg_root, std::fs::Permissions::from_mode(0o700))
                .map_err(io(&pg_root))?;
            if let Some(ids) = run_as {
                chown_tree(&pg_root, ids)?;
            }
            tracing::info!(path = %data.display(), "initialising the embedded PostgreSQL cluster");
            let mut c = cluster.cmd("initdb");
            c.arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    ADMIN,
                    "-A",
                    "scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ])
                .arg(format!("--pwfile={}", pwfile.display()));
            let res = cluster.run(c, "initdb", &log);
            let _ = std::fs::remove_file(&pwfile);
            res?;
            cluster.fresh = true;
            creds
        };
        let port = match cluster.running_port() {
            Some(p) => p,
            None => {
                let port = port_for(&pg_root)?;
                let mut c = cluster.cmd("pg_ctl");
                c.arg("start")
                    .arg("-D")
                    .arg(&data)
                    .arg("-l")
                    .arg(&log)
                    .args(["-w", "-t", "60", "-o"])
                    .arg(format!(
                        "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories=''"
                    ));
                cluster.run(c, "pg_ctl start", &log)?;
                cluster.started_here = true;
                let _ = std::fs::write(pg_root.join("port"), port.to_string());
                port
            }
        };
        let admin_url = format!(
            "postgres://{ADMIN}:{}@127.0.0.1:{port}/postgres",
            creds.admin
        );
        let mut admin = super::bootstrap::admin_connect(&admin_url)
            .await
            .map_err(|e| EmbeddedError::Bootstrap(e.to_string()))?;
        bootstrap_database(
            &mut admin,
            DATABASE,
            roles,
            Some((&creds.migrator, &creds.app)),
        )
        .await
        .map_err(|e| EmbeddedError::Bootstrap(e.to_string()))?;
        cluster.app_url = format!(
            "postgres://{}:{}@127.0.0.1:{port}/{DATABASE}",
            roles.app, creds.app
        );
        cluster.migrator_url = format!(
            "postgres://{}:{}@127.0.0.1:{port}/{DATABASE}",
            roles.migrator, creds.migrator
        );
        tracing::info!(port, "embedded PostgreSQL ready");
        Ok(cluster)
    }

    /// Stops the cluster if this process started it: a fast shutdown, and an immediate one
    /// when that does not finish in time (a loaded machine's shutdown checkpoint can be slow).
    /// `false` when the cluster may still be running.
    pub fn stop(&self) -> bool {
        if !self.started_here {
            return true;
        }
        for mode in ["fast", "immediate"] {
            let mut c = self.cmd("pg_ctl");
            c.arg("stop")
                .arg("-D")
                .arg(&self.data)
                .args(["-m", mode, "-w", "-t", "120"]);
            match c.output() {
                Ok(o) if o.status.success() => {
                    tracing::info!(mode, "embedded PostgreSQL stopped");
                    return true;
                }
                Ok(o) => tracing::warn!(
                    mode,
                    status = %o.status,
                    stderr = %String::from_utf8_lossy(&o.stderr).trim(),
                    "pg_ctl stop failed"
                ),
                Err(e) => tracing::warn!(mode, error = %e, "pg_ctl stop failed"),
            }
        }
        false
    }
}
