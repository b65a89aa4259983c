//! A real SMTP server for the mail tests: MailDev (npm, pinned in `tests/mail`), started once
//! per test process on free loopback ports with SMTP authentication, read through its HTTP API.
//! It stops when this process ends (its standard input closes). Tests tell their mail apart by
//! recipient: every test uses addresses of its own.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const SMTP_USER: &str = "tessera-test";
pub const SMTP_PASS: &str = "smtp-secret-not-to-be-logged";

pub struct MailServer {
    pub smtp_port: u16,
    api: String,
    _child: Mutex<Child>,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mail")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The process's mail server, started on first use.
pub fn server() -> &'static MailServer {
    static SERVER: OnceLock<MailServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        if !dir().join("node_modules/maildev").exists() {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(dir())
                .status()
                .expect("npm is required for the mail tests");
            assert!(status.success(), "npm ci in tests/mail failed");
        }
        let (smtp, web) = (free_port(), free_port());
        let mut child = Command::new("node")
            .arg("server.mjs")
            .args([
                smtp.to_string(),
                web.to_string(),
                SMTP_USER.into(),
                SMTP_PASS.into(),
            ])
            .current_dir(dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node is required for the mail tests");
        let out = child.stdout.take().unwrap();
        let mut lines = BufReader::new(out).lines();
        let ready = lines.any(|l| l.is_ok_and(|l| l.trim() == "READY"));
        assert!(ready, "the test mail server did not start");
        MailServer {
            smtp_port: smtp,
            api: format!("http://127.0.0.1:{web}/api"),
            _child: Mutex::new(child),
        }
    })
}

/// The SMTP settings of a server that sends through the test mail server.
pub fn config() -> tessera::config::Mail {
    let s = server();
    tessera::config::Mail {
        from: "Tessera <no-reply@tessera.test>".into(),
        smtp: Some(tessera::config::Smtp {
            host: "127.0.0.1".into(),
            port: s.smtp_port,
            tls: tessera::config::SmtpTls::None,
            username: Some(SMTP_USER.into()),
            password: Some(tessera::crypto::Secret::new(SMTP_PASS.into())),
            timeout_secs: 10,
        }),
        mailbox_dir: None,
        max_attempts: 8,
    }
}

/// A received message.
#[derive(Debug, Clone)]
pub struct Message {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Message {
    /// The token in the first link to `path` (`/join/acme`, `/verify-email`, ...), from its
    /// fragment.
    pub fn token(&self, path: &str) -> String {
        let at = self
            .text
            .find(&format!("{path}#"))
            .unwrap_or_else(|| panic!("no {path} link in {}", self.text));
        self.text[at + path.len() + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect()
    }
}

async fn all_to(to: &str) -> Vec<Message> {
    let list: Value = reqwest::get(format!("{}/email", server().api))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["envelope"]["to"].as_array().is_some_and(|to_list| {
                to_list.iter().any(|t| {
                    t["address"]
                        .as_str()
                        .is_some_and(|a| a.eq_ignore_ascii_case(to))
                })
            })
        })
        .map(|m| Message {
            subject: m["subject"].as_str().unwrap_or_default().to_owned(),
            text: m["text"].as_str().unwrap_or_default().to_owned(),
            html: m["html"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// Waits until at least `n` messages reached `to` (the worker sends them), and answers them,
/// oldest first.
pub async fn wait_for(to: &str, n: usize) -> Vec<Message> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = all_to(to).await;
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} messages reached {to}",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The messages that reached `to` so far.
pub async fn received(to: &str) -> Vec<Message> {
    all_to(to).await
}

/// A test server that sends mail through the test mail server, with the sign-up and mail
/// limits out of the way of tests that sign several people up from one address.
pub async fn app() -> crate::helpers::TestApp {
    let mut db = crate::helpers::TestDb::new().await;
    db.cfg.mail = config();
    let a = &mut db.cfg.auth;
    a.signup_per_minute_per_ip = 1000;
    a.reset_requests_per_minute_per_ip = 1000;
    a.workspace_creations_per_minute_per_ip = 1000;
    crate::helpers::TestApp::spawn_on(db, 8).await
}

/// A fresh address for this test (the mail server is shared by every test of the process).
pub fn address(name: &str) -> String {
    format!(
        "{name}-{}@example.test",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Waits for a message to `to` holding a link to `path`, and answers the newest such link's
/// token.
pub async fn wait_for_link(to: &str, path: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let needle = format!("{path}#");
        if let Some(m) = all_to(to)
            .await
            .iter()
            .rev()
            .find(|m| m.text.contains(&needle))
        {
            return m.token(path);
        }
        assert!(Instant::now() < deadline, "no {path} link reached {to}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
