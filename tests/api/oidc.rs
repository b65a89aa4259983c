//! Per-workspace OIDC SSO against a real, certified OpenID provider (npm `oidc-provider`)
//! started on loopback: the full authorization-code flow with PKCE, state and nonce, and the
//! refusals — wrong state, another browser, wrong nonce, an unexpected signing algorithm, an
//! expired code, a code from another issuer, invite-only, cross-workspace sessions, SSO-only,
//! and private issuer addresses.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;

use serde_json::{Value, json};
use tessera::authz::Role;
use tokio::io::AsyncBufReadExt;

use crate::helpers::{Browser, TestApp, TestDb, code, seed};

const SECRET: &str = "a client secret that never leaves the server";

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// Installs the provider's node packages once (the test command does it too).
fn ensure_installed() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if !provider_dir().join("node_modules/oidc-provider").exists() {
            let status = std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(provider_dir())
                .status()
                .expect("npm is required for the OIDC tests");
            assert!(status.success(), "npm ci failed in tests/oidc");
        }
    });
}

/// A running provider; killed on drop.
struct Provider {
    issuer: String,
    child: tokio::process::Child,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl Provider {
    /// Starts a provider with `clients`: (client id, redirect URI). A client id starting
    /// with `hs-` gets HS256-signed ID tokens (an algorithm Tessera does not accept).
    async fn start(clients: &[(&str, String)]) -> Self {
        ensure_installed();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let clients: Vec<Value> = clients
            .iter()
            .map(|(id, redirect)| {
                let alg = if id.starts_with("hs-") {
                    "HS256"
                } else {
                    "RS256"
                };
                json!({
                    "client_id": id, "client_secret": SECRET, "redirect_uris": [redirect],
                    "id_token_signed_response_alg": alg
                })
            })
            .collect();
        let mut child = tokio::process::Command::new("node")
            .arg("provider.mjs")
            .arg(port.to_string())
            .arg(Value::Array(clients).to_string())
            .current_dir(provider_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node is required for the OIDC tests");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(std::time::Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.trim() == "ready" {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(ready, Ok(true), "the OIDC provider did not start");
        // Keep draining its output: the provider logs to stdout and dies on a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            issuer: format!("http://127.0.0.1:{port}"),
            child,
        }
    }
}

fn callback(app: &TestApp, slug: &str) -> String {
    format!(
        "https://localhost:{}/auth/oidc/{slug}/callback",
        app.addr.port()
    )
}

/// The user's browser at the provider: a cookie jar, redirects followed by hand.
fn idp_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()["location"].to_str().unwrap().to_owned()
}

/// The browser at Tessera: redirects are looked at, not followed.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `GET /auth/oidc/{slug}/start`: the provider URL and the browser-binding cookie.
async fn start(app: &TestApp, slug: &str) -> (String, String) {
    let resp = no_redirects()
        .get(app.url(&format!("/auth/oidc/{slug}/start")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
    let binding = resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(binding.starts_with("__Host-tessera_oidc="));
    (location(&resp), binding)
}

/// Logs in at the provider as `login` and consents; returns the redirect back to Tessera.
async fn authorize_at(idp: &reqwest::Client, issuer: &str, mut url: String, login: &str) -> String {
    for _ in 0..12 {
        if url.starts_with('/') {
            url = format!("{issuer}{url}");
        }
        if url.contains("/auth/oidc/") {
            return url;
        }
        let resp = idp.get(&url).send().await.unwrap();
        if resp.status().is_redirection() {
            url = location(&resp);
            continue;
        }
        let page = resp.text().await.unwrap();
        let form = if page.contains("name=\"prompt\" value=\"login\"") {
            vec![
                ("prompt", "login"),
                ("login", login),
                ("password", "anything"),
            ]
        } else if page.contains("name=\"prompt\" value=\"consent\"") {
            vec![("prompt", "consent")]
        } else {
            panic!("unexpected provider page: {page}");
        };
        let resp = idp.post(&url).form(&form).send().await.unwrap();
        assert!(resp.status().is_redirection(), "{}", resp.status());
        url = location(&resp);
    }
    panic!("the provider never redirected back");
}

/// Delivers the provider's redirect to Tessera (TLS ends in front of the server, so the
/// `https://localhost` callback is served by the plain listener).
async fn deliver(app: &TestApp, redirect: &str, binding: Option<&str>) -> reqwest::Response {
    let path = redirect
        .split_once("/auth/oidc/")
        .map(|(_, rest)| format!("/auth/oidc/{rest}"))
        .unwrap();
    let mut req = no_redirects().get(app.url(&path));
    if let Some(b) = binding {
        req = req.header("cookie", b);
    }
    req.send().await.unwrap()
}

/// The full flow for `login`; returns the browser signed in (or the refusal).
async fn sign_in_sso<'a>(
    app: &'a TestApp,
    provider: &Provider,
    slug: &str,
    login: &str,
) -> Result<Browser<'a>, (u16, Value)> {
    let (url, binding) = start(app, slug).await;
    let redirect = authorize_at(&idp_browser(), &provider.issuer, url, login).await;
    let resp = deliver(app, &redirect, Some(&binding)).await;
    let status = resp.status().as_u16();
    if status != 303 {
        return Err((status, resp.json().await.unwrap_or(Value::Null)));
    }
    let session = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-tessera_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut b = Browser::new(app);
    b.cookie = Some(session);
    Ok(b)
}

async fn owner_session<'a>(
    app: &'a TestApp,
    tenant: &tessera::tenancy::Tenant,
    email: &str,
) -> Browser<'a> {
    let mut b = Browser::new(app);
    let (s, _, _) = b
        .post(
            "/auth/signup",
            json!({ "email": email, "password": "a long enough passphrase" }),
        )
        .await;
    assert_eq!(s, 201);
    app.db.add_user(tenant, email, Role::Owner).await;
    b
}

async fn configure(
    b: &mut Browser<'_>,
    slug: &str,
    issuer: &str,
    client: &str,
    jit: &str,
) -> Value {
    let query = format!(
        "mutation($i: String!, $c: String!, $s: String!) {{
            configureSso(issuer: $i, clientId: $c, clientSecret: $s, jitRole: {jit}) {{
                issuer clientId jitRole callbackUrl startUrl }} }}"
    );
    let (_, _, body) = b
        .post(
            &format!("/w/{slug}/graphql"),
            json!({ "query": query, "variables": { "i": issuer, "c": client, "s": SECRET } }),
        )
        .await;
    body
}

async fn loopback_app() -> TestApp {
    let mut db = TestDb::new().await;
    db.cfg.network.allow_loopback = true;
    TestApp::spawn_on(db, 8).await
}

#[tokio::test]
async fn sso_signs_people_into_their_own_workspace_only() {
    let app = loopback_app().await;
    let acme = seed(&app, "acme").await;
    let other = seed(&app, "other").await;
    let idp = Provider::start(&[
        ("acme-client", callback(&app, "acme")),
        ("other-client", callback(&app, "other")),
    ])
    .await;
    let mut owner = owner_session(&app, &acme.tenant, "olga@x.test").await;
    let body = configure(&mut owner, "acme", &idp.issuer, "acme-client", "MEMBER").await;
    let cfg = &body["data"]["configureSso"];
    assert_eq!(cfg["callbackUrl"], callback(&app, "acme"), "{body}");
    assert!(!body.to_string().contains(SECRET));
    // A token can never configure SSO, whatever its scope.
    let (_, body) = app
        .gql(
            "acme",
            &acme.owner_token,
            "mutation { configureSso(issuer: \"http://x\", clientId: \"c\", clientSecret: \"s\") { issuer } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");

    // Just-in-time: alice's first sign-in creates her account and membership.
    let mut alice = sign_in_sso(&app, &idp, "acme", "alice").await.unwrap();
    let (s, body) = alice.gql("acme", "{ viewer { role } }").await;
    assert_eq!(
        (s, body["data"]["viewer"]["role"].as_str()),
        (200, Some("MEMBER")),
        "{body}"
    );
    let again = sign_in_sso(&app, &idp, "acme", "alice").await.unwrap();
    assert_ne!(again.cookie, alice.cookie, "every sign-in is a new session");
    // The session is bound to acme: even as a member of `other`, it does not open `other`.
    app.db
        .add_user(&other.tenant, "alice@corp.test", Role::Member)
        .await;
    let (s, body) = alice.gql("other", "{ viewer { role } }").await;
    assert_eq!((s, code(&body)), (401, "UNAUTHENTICATED"));
    let (_, body) = alice.global("{ workspaces { slug } }", json!({})).await;
    assert_eq!(body["data"]["workspaces"], json!([{ "slug": "acme" }]));
    // Nor can it touch the account itself: a workspace's provider must not be able to plant a
    // passkey or TOTP that would later sign in everywhere.
    for m in [
        "mutation { startPasskeyRegistration }",
        "mutation { beginTotpEnrollment { uri } }",
        "mutation { revokeOtherSessions }",
        "mutation { restoreWorkspace(slug: \"other\") }",
    ] {
        let (_, body) = alice.global(m, json!({})).await;
        assert_eq!(code(&body), "FORBIDDEN", "{m}: {body}");
    }

    // `other` is invite-only: an unknown person is refused; an invited one gets in, and
    // the same provider subject linked in acme is a different identity there.
    let mut other_owner = owner_session(&app, &other.tenant, "oscar@x.test").await;
    let body = configure(
        &mut other_owner,
        "other",
        &idp.issuer,
        "other-client",
        "null",
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let refused = sign_in_sso(&app, &idp, "other", "bob").await.err().unwrap();
    assert_eq!(
        (refused.0, code(&refused.1)),
        (403, "FORBIDDEN"),
        "{:?}",
        refused.1
    );
    let mut alice_other = sign_in_sso(&app, &idp, "other", "alice").await.unwrap();
    let (s, _) = alice_other.gql("other", "{ viewer { role } }").await;
    assert_eq!(s, 200, "an invited member signs in");
    let (s, _) = alice_other.gql("acme", "{ viewer { role } }").await;
    assert_eq!(s, 401, "other's SSO never signs into acme");

    // SSO-only: password sessions are refused, SSO sessions are not.
    let (_, body) = owner
        .gql("acme", "mutation { setSsoOnly(only: true) }")
        .await;
    assert_eq!(body["data"]["setSsoOnly"], true, "{body}");
    let (s, body) = owner.gql("acme", "{ viewer { role } }").await;
    assert_eq!((s, code(&body)), (403, "SSO_REQUIRED"));
    let (s, _) = alice.gql("acme", "{ viewer { role } }").await;
    assert_eq!(s, 200);

    // Audited: the configuration (secret redacted) and the sign-ins.
    let rows: Vec<(String, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT action, payload FROM public.audit_log WHERE tenant_id = $1 ORDER BY seq",
    )
    .bind(acme.tenant.id)
    .fetch_all(&app.db.migrator)
    .await
    .unwrap();
    let actions: Vec<&str> = rows.iter().map(|(a, _)| a.as_str()).collect();
    assert!(
        actions.contains(&"configureSso") && actions.contains(&"setSsoOnly"),
        "{actions:?}"
    );
    let mut conn = app.db.owner.acquire().await.unwrap();
    let entries = tessera::audit::list(&mut conn, &app.db.keyring, acme.tenant.id, 0, 1000)
        .await
        .unwrap();
    let dump = format!("{entries:?}");
    assert!(
        !dump.contains(SECRET),
        "the client secret never enters the log"
    );
    let sso_signins = entries
        .iter()
        .filter(|e| e.action == "auth.signin" && format!("{:?}", e.payload).contains("issuer"))
        .count();
    assert!(sso_signins >= 3, "SSO sign-ins are audited: {sso_signins}");
}

#[tokio::test]
async fn forged_replayed_and_foreign_responses_are_refused() {
    let app = loopback_app().await;
    let acme = seed(&app, "acme").await;
    let slow = seed(&app, "slow").await;
    let idp = Provider::start(&[
        ("acme-client", callback(&app, "acme")),
        ("slow-client-slow", callback(&app, "slow")),
        ("hs-client", callback(&app, "hsig")),
    ])
    .await;
    let foreign = Provider::start(&[("acme-client", callback(&app, "acme"))]).await;
    let mut owner = owner_session(&app, &acme.tenant, "olga@x.test").await;
    configure(&mut owner, "acme", &idp.issuer, "acme-client", "MEMBER").await;
    let mut slow_owner = owner_session(&app, &slow.tenant, "sam@x.test").await;
    configure(
        &mut slow_owner,
        "slow",
        &idp.issuer,
        "slow-client-slow",
        "MEMBER",
    )
    .await;

    // A wrong (unknown) state.
    let (url, binding) = start(&app, "acme").await;
    let redirect = authorize_at(&idp_browser(), &idp.issuer, url, "mallory").await;
    let forged = redirect.replace("state=", "state=x");
    let resp = deliver(&app, &forged, Some(&binding)).await;
    assert_eq!(resp.status(), 401, "wrong state");

    // Another browser: the right code and state without the binding cookie. The flow is
    // spent by the attempt, so the rightful browser cannot finish it either.
    let (url, binding) = start(&app, "acme").await;
    let redirect = authorize_at(&idp_browser(), &idp.issuer, url, "mallory").await;
    let resp = deliver(&app, &redirect, None).await;
    assert_eq!(resp.status(), 401, "no binding cookie");
    let resp = deliver(&app, &redirect, Some(&binding)).await;
    assert_eq!(resp.status(), 401, "a flow is used once");

    // A wrong nonce: the authorization request is altered on its way to the provider, so
    // the ID token carries a nonce this flow never issued.
    let (url, binding) = start(&app, "acme").await;
    let mut u = reqwest::Url::parse(&url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "nonce" {
                "attacker-nonce".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    let redirect = authorize_at(&idp_browser(), &idp.issuer, u.to_string(), "mallory").await;
    let resp = deliver(&app, &redirect, Some(&binding)).await;
    assert_eq!(resp.status(), 401, "wrong nonce");

    // A code from another issuer: the same request answered by a foreign provider.
    let (url, binding) = start(&app, "acme").await;
    let to_foreign = url.replace(&idp.issuer, &foreign.issuer);
    let redirect = authorize_at(&idp_browser(), &foreign.issuer, to_foreign, "mallory").await;
    let resp = deliver(&app, &redirect, Some(&binding)).await;
    assert_eq!(resp.status(), 401, "a code from another issuer");

    // An ID token signed with an algorithm other than RS256 (HS256 with the client secret,
    // which anyone holding that secret could forge).
    let hs = seed(&app, "hsig").await;
    let mut hs_owner = owner_session(&app, &hs.tenant, "hal@x.test").await;
    let body = configure(&mut hs_owner, "hsig", &idp.issuer, "hs-client", "MEMBER").await;
    assert!(body.get("errors").is_none(), "{body}");
    let (url, binding) = start(&app, "hsig").await;
    let redirect = authorize_at(&idp_browser(), &idp.issuer, url, "mallory").await;
    let resp = deliver(&app, &redirect, Some(&binding)).await;
    assert_eq!(resp.status(), 401, "unexpected ID token algorithm");

    // An expired code (this client's codes live one second).
    let (url, binding) = start(&app, "slow").await;
    let redirect = authorize_at(&idp_browser(), &idp.issuer, url, "mallory").await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let resp = deliver(&app, &redirect, Some(&binding)).await;
    assert_eq!(resp.status(), 401, "expired code");

    // None of these left an account or a membership behind; a proper flow still works.
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM public.users WHERE email = 'mallory@corp.test'")
            .fetch_one(&app.db.migrator)
            .await
            .unwrap();
    assert_eq!(n, 0);
    assert!(sign_in_sso(&app, &idp, "acme", "mallory").await.is_ok());
    // Garbage on the callback is a clear error.
    let resp = app
        .http
        .get(app.url("/auth/oidc/acme/callback?code=&state="))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = app
        .http
        .get(app.url("/auth/oidc/acme/callback"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = app
        .http
        .get(app.url("/auth/oidc/nosuch/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn issuers_on_internal_addresses_are_refused_by_default() {
    let app = TestApp::spawn().await;
    let acme = seed(&app, "acme").await;
    let idp = Provider::start(&[("acme-client", callback(&app, "acme"))]).await;
    let mut owner = owner_session(&app, &acme.tenant, "olga@x.test").await;
    let port = idp.issuer.rsplit(':').next().unwrap().to_owned();
    for issuer in [
        idp.issuer.clone(),
        format!("http://2130706433:{port}"),
        format!("http://[::ffff:127.0.0.1]:{port}"),
        "http://169.254.169.254".to_owned(),
        "http://10.1.2.3".to_owned(),
        "file:///etc/passwd".to_owned(),
    ] {
        let body = configure(&mut owner, "acme", &issuer, "acme-client", "MEMBER").await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{issuer}: {body}");
    }
    let (_, body) = owner.gql("acme", "{ sso { issuer } }").await;
    assert_eq!(body["data"]["sso"], Value::Null, "nothing was saved");
}

#[tokio::test]
async fn an_sso_only_workspace_takes_in_invited_people_through_its_provider() {
    let app = loopback_app().await;
    let acme = seed(&app, "acme").await;
    let idp = Provider::start(&[("acme-client", callback(&app, "acme"))]).await;
    let mut owner = owner_session(&app, &acme.tenant, "olga@x.test").await;
    // Invite-only (no just-in-time role) and SSO-only.
    let body = configure(&mut owner, "acme", &idp.issuer, "acme-client", "null").await;
    assert!(body.get("errors").is_none(), "{body}");
    // Zoe is invited as admin; then only SSO sign-ins are accepted (the owner's password
    // session included, so everything the owner does comes first).
    let (_, body) = owner
        .gql(
            "acme",
            "mutation { inviteMember(email: \"Zoe@corp.test\", role: ADMIN) { id } }",
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let (_, body) = owner
        .gql("acme", "mutation { setSsoOnly(only: true) }")
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    // Not invited: refused.
    let refused = sign_in_sso(&app, &idp, "acme", "yuri").await;
    assert_eq!(refused.err().map(|(s, _)| s), Some(403));
    // Invited: the provider's verified address accepts the invitation.
    let mut zoe = sign_in_sso(&app, &idp, "acme", "zoe").await.unwrap();
    let (_, body) = zoe.gql("acme", "{ viewer { role } }").await;
    assert_eq!(body["data"]["viewer"]["role"], "ADMIN", "{body}");
    let (_, list) = zoe.gql("acme", "{ invitations { status } }").await;
    assert_eq!(
        list["data"]["invitations"][0]["status"], "ACCEPTED",
        "{list}"
    );
    let accepted: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM public.audit_log WHERE tenant_id = $1 AND action = 'invitation.accept'",
    )
    .bind(acme.tenant.id)
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    assert_eq!(accepted, 1);
    // Used once: a second sign-in is simply a member's.
    let again = sign_in_sso(&app, &idp, "acme", "zoe").await;
    assert!(again.is_ok());
}
