//! Second factors over HTTP: TOTP enrollment and step-up, replay, recovery codes, fresh
//! checks for sensitive changes, attempt limits through aliases, the workspace MFA policy,
//! token minting, and the identity events in the audit chain.

use serde_json::{Value, json};
use tessera::audit;
use tessera::authz::{Role, Scope};
use totp_rs::Totp;

use crate::helpers::{Browser, TestApp, TestDb, code, seed};

const PASSWORD: &str = "correct horse battery staple ünïcode";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn sign_up<'a>(app: &'a TestApp, email: &str) -> Browser<'a> {
    let mut b = Browser::new(app);
    let (s, _, body) = b
        .post(
            "/auth/signup",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    b
}

async fn sign_in<'a>(app: &'a TestApp, email: &str) -> (Browser<'a>, Value) {
    let mut b = Browser::new(app);
    let (s, _, body) = b
        .post(
            "/auth/signin",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    (b, body)
}

/// Enrolls TOTP for the browser's user; returns the authenticator and the recovery codes.
pub async fn enroll(b: &mut Browser<'_>) -> (Totp, Vec<String>) {
    let (s, body) = b
        .global(
            "mutation { beginTotpEnrollment { secret uri qrSvg } }",
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let e = &body["data"]["beginTotpEnrollment"];
    let uri = e["uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Tessera:"), "{uri}");
    assert!(e["qrSvg"].as_str().unwrap().starts_with("<?xml"));
    let totp = Totp::from_url(uri).unwrap();
    assert_eq!(totp.secret().to_base32(), e["secret"].as_str().unwrap());
    // A wrong first code does not confirm.
    let (_, body) = b
        .global(
            "mutation($c: String!) { confirmTotp(code: $c) }",
            json!({ "c": "000000" }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let before = b.cookie.clone();
    let (s, body) = b
        .global(
            "mutation($c: String!) { confirmTotp(code: $c) }",
            json!({ "c": totp.generate(now()).to_string() }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    assert_ne!(
        b.cookie, before,
        "confirming steps the session up to a new token"
    );
    let codes: Vec<String> = body["data"]["confirmTotp"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (totp, codes)
}

#[tokio::test]
async fn totp_steps_a_session_up_and_no_code_passes_twice() {
    let mut db = TestDb::new().await;
    db.cfg.auth.second_factor_per_minute_per_account = 100;
    let app = TestApp::spawn_on(db, 4).await;
    let mut b = sign_up(&app, "ann@x.test").await;
    let aal1_cookie = b.cookie.clone();
    let (totp, recovery) = enroll(&mut b).await;
    // The session that confirmed is aal2; its previous token stopped working.
    let (_, body) = b.global("{ mySessions { aal current } }", json!({})).await;
    let current: Vec<&Value> = body["data"]["mySessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["current"] == true)
        .collect();
    assert_eq!(current[0]["aal"], "aal2", "{body}");
    let mut stale = Browser::new(&app);
    stale.cookie = aal1_cookie;
    let (s, _) = stale.global("{ me { email } }", json!({})).await;
    assert_eq!(s, 401, "the pre-step-up token is revoked");

    // Password sign-in now yields a pending session that can do nothing else.
    let (mut p, body) = sign_in(&app, "ann@x.test").await;
    assert_eq!(body["aal"], "pending");
    assert_eq!(body["secondFactorRequired"], true);
    let (s, body) = p.global("{ me { email } }", json!({})).await;
    assert_eq!((s, code(&body)), (401, "UNAUTHENTICATED"));
    // The code that confirmed the enrollment cannot be replayed.
    let used = totp.generate(now()).to_string();
    let pending = p.cookie.clone();
    let (s, _, body) = p.post("/auth/mfa", json!({ "code": used })).await;
    assert_eq!((s, code(&body)), (401, "UNAUTHENTICATED"), "replayed code");
    // The next step's code passes (within the one-step skew) and rotates the session.
    let next = totp.generate(now() + 30).to_string();
    let (s, _, body) = p.post("/auth/mfa", json!({ "code": next })).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["aal"], "aal2");
    assert_ne!(p.cookie, pending);
    let (s, body) = p.global("{ me { email } }", json!({})).await;
    assert_eq!(
        (s, body["data"]["me"]["email"].as_str()),
        (200, Some("ann@x.test"))
    );
    let mut old = Browser::new(&app);
    old.cookie = pending;
    let (s, _) = old.global("{ me { email } }", json!({})).await;
    assert_eq!(s, 401, "the pending token died with the step-up");
    // The same code on another pending session: refused (its step was used).
    let (mut q, _) = sign_in(&app, "ann@x.test").await;
    let (s, _, _) = q.post("/auth/mfa", json!({ "code": next })).await;
    assert_eq!(s, 401, "a TOTP code passes once");
    // A recovery code works once, in any formatting.
    let spaced = recovery[0].to_uppercase().replace('-', " ");
    let (s, _, body) = q.post("/auth/mfa", json!({ "code": spaced })).await;
    assert_eq!(s, 200, "{body}");
    let (mut r, _) = sign_in(&app, "ann@x.test").await;
    let (s, _, _) = r.post("/auth/mfa", json!({ "code": recovery[0] })).await;
    assert_eq!(s, 401, "a recovery code passes once");
    let (_, body) = q
        .global(
            "{ mySecondFactors { totp passkeys recoveryCodesLeft } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["mySecondFactors"],
        json!({ "totp": true, "passkeys": 0, "recoveryCodesLeft": 9 }),
        "{body}"
    );
    // Garbage codes are refused, never a server error.
    for garbage in [
        "",
        "12345",
        "1234567",
        "abcdef",
        &"x".repeat(5000),
        "１２３４５６",
    ] {
        let (s, _, _) = r.post("/auth/mfa", json!({ "code": garbage })).await;
        assert!(s == 401 || s == 429, "{garbage:?}: {s}");
    }
    // Enrolling again while TOTP is active is a conflict.
    let (_, body) = q
        .global("mutation { beginTotpEnrollment { uri } }", json!({}))
        .await;
    assert_eq!(code(&body), "CONFLICT");
}

#[tokio::test]
async fn removing_a_factor_or_changing_the_password_needs_a_fresh_second_factor() {
    let mut db = TestDb::new().await;
    db.cfg.auth.reauth_window_secs = 0;
    db.cfg.auth.second_factor_per_minute_per_account = 100;
    let app = TestApp::spawn_on(db, 4).await;
    let mut b = sign_up(&app, "bo@x.test").await;
    let (totp, recovery) = enroll(&mut b).await;
    for m in [
        "mutation { disableTotp }",
        "mutation { regenerateRecoveryCodes }",
        "mutation { changePassword(currentPassword: \"correct horse battery staple ünïcode\", newPassword: \"another long passphrase 42\") }",
    ] {
        let (_, body) = b.global(m, json!({})).await;
        assert_eq!(code(&body), "SECOND_FACTOR_REQUIRED", "{m}: {body}");
    }
    let (_, body) = b
        .global(
            "mutation { disableTotp(secondFactor: \"123456\") }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    // A fresh code regenerates the recovery codes; the old ones stop working.
    let (_, body) = b
        .global(
            "mutation($c: String) { regenerateRecoveryCodes(secondFactor: $c) }",
            json!({ "c": totp.generate(now() + 30).to_string() }),
        )
        .await;
    let fresh: Vec<String> =
        serde_json::from_value(body["data"]["regenerateRecoveryCodes"].clone())
            .unwrap_or_else(|_| panic!("{body}"));
    assert_eq!(fresh.len(), 10);
    let (_, body) = b
        .global(
            "mutation($c: String) { disableTotp(secondFactor: $c) }",
            json!({ "c": recovery[1] }),
        )
        .await;
    assert_eq!(
        code(&body),
        "FORBIDDEN",
        "old recovery codes are void: {body}"
    );
    let (_, body) = b
        .global(
            "mutation($c: String) { disableTotp(secondFactor: $c) }",
            json!({ "c": fresh[0] }),
        )
        .await;
    assert_eq!(body["data"]["disableTotp"], true, "{body}");
    // Without a second factor, password sign-in is aal1 again and needs no code.
    let (_, body) = sign_in(&app, "bo@x.test").await;
    assert_eq!(body["aal"], "aal1");
    let (_, body) = b
        .global("{ mySecondFactors { totp recoveryCodesLeft } }", json!({}))
        .await;
    assert_eq!(
        body["data"]["mySecondFactors"],
        json!({ "totp": false, "recoveryCodesLeft": 0 })
    );
}

#[tokio::test]
async fn second_factor_attempts_are_limited_per_account_and_every_alias_counts() {
    let mut db = TestDb::new().await;
    db.cfg.auth.second_factor_per_minute_per_account = 3;
    let app = TestApp::spawn_on(db, 4).await;
    let mut b = sign_up(&app, "cy@x.test").await;
    let (totp, _) = enroll(&mut b).await; // one attempt used by the wrong code, one by the right
    // One request, five aliases, five guesses: only the bucket's remainder is checked.
    let (_, body) = b
        .global(
            "mutation { a: disableTotp(secondFactor: \"111111\") b: disableTotp(secondFactor: \"222222\")
                        c: disableTotp(secondFactor: \"333333\") d: disableTotp(secondFactor: \"444444\")
                        e: disableTotp(secondFactor: \"555555\") }",
            json!({}),
        )
        .await;
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["extensions"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 5, "{body}");
    let limited = codes.iter().filter(|c| **c == "RATE_LIMITED").count();
    assert!(limited >= 4, "aliases are counted one by one: {codes:?}");
    // The sign-in step is limited by the same per-account bucket, even with the right code.
    let (mut p, _) = sign_in(&app, "cy@x.test").await;
    let (s, headers, body) = p
        .post(
            "/auth/mfa",
            json!({ "code": totp.generate(now() + 30).to_string() }),
        )
        .await;
    assert_eq!((s, code(&body)), (429, "RATE_LIMITED"), "{body}");
    assert!(headers.get("retry-after").is_some());
}

#[tokio::test]
async fn a_workspace_requiring_mfa_refuses_aal1_sessions_on_every_request() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let mut owner = sign_up(&app, "olga@x.test").await;
    app.db.add_user(&s.tenant, "olga@x.test", Role::Owner).await;
    let mut member = sign_up(&app, "mo@x.test").await;
    let mo = app.db.add_user(&s.tenant, "mo@x.test", Role::Member).await;
    let mo_token = app.db.token(&s.tenant, mo, &[Scope::Read]).await;
    // The policy is session-only, owner-only, and needs aal2 to switch on.
    let set = "mutation { setMfaRequired(required: true) }";
    let (_, body) = owner.gql("acme", set).await;
    assert_eq!(code(&body), "MFA_REQUIRED", "{body}");
    let (_, body) = app.gql("acme", &s.owner_token, set, json!({})).await;
    assert_eq!(
        code(&body),
        "FORBIDDEN",
        "tokens never change the policy: {body}"
    );
    let (_, body) = member.gql("acme", set).await;
    assert_eq!(code(&body), "FORBIDDEN");
    enroll(&mut owner).await;
    let (_, body) = owner.gql("acme", set).await;
    assert_eq!(body["data"]["setMfaRequired"], true, "{body}");
    // Every request of an aal1 session is refused now, reads and writes alike.
    for q in [
        "{ viewer { role } }",
        "{ mfaRequired }",
        "mutation { createGoal(input: {title: \"g\"}) { id } }",
    ] {
        let (status, body) = member.gql("acme", q).await;
        assert_eq!((status, code(&body)), (403, "MFA_REQUIRED"), "{q}: {body}");
    }
    // The aal2 owner works; the member's token is not affected.
    let (_, body) = owner.gql("acme", "{ mfaRequired }").await;
    assert_eq!(body["data"]["mfaRequired"], true);
    let (status, body) = app
        .gql("acme", &mo_token, "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(
        (status, body["data"]["viewer"]["role"].as_str()),
        (200, Some("MEMBER"))
    );
    // A client that "turns MFA off" has nothing to send that helps: the member enrolls and
    // steps up, and only then gets in.
    enroll(&mut member).await;
    let (status, body) = member.gql("acme", "{ viewer { role } }").await;
    assert_eq!(status, 200, "{body}");
    // Other workspaces of the same users are unaffected.
    let other = seed(&app, "other").await;
    let mut plain = sign_up(&app, "pat@x.test").await;
    app.db
        .add_user(&other.tenant, "pat@x.test", Role::Member)
        .await;
    let (status, _) = plain.gql("other", "{ viewer { role } }").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn tokens_are_minted_by_owner_and_admin_sessions_only_and_never_logged() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let mut admin = sign_up(&app, "ada@x.test").await;
    app.db.add_user(&s.tenant, "ada@x.test", Role::Admin).await;
    let mut member = sign_up(&app, "mel@x.test").await;
    app.db.add_user(&s.tenant, "mel@x.test", Role::Member).await;
    let mint = "mutation { createApiToken(name: \"ci\", scopes: [READ, WRITE]) { secret apiToken { id name scopes } } }";
    let (_, body) = admin.gql("acme", mint).await;
    let minted = &body["data"]["createApiToken"];
    let secret = minted["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    assert!(secret.starts_with("tsr_"));
    assert_eq!(minted["apiToken"]["scopes"], json!(["read", "write"]));
    let (status, body) = app
        .gql("acme", &secret, "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(
        (status, body["data"]["viewer"]["role"].as_str()),
        (200, Some("ADMIN"))
    );
    // Tokens cannot mint tokens, whatever their scope; members cannot either.
    let (_, body) = app.gql("acme", &s.owner_token, mint, json!({})).await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (_, body) = member.gql("acme", mint).await;
    assert_eq!(code(&body), "FORBIDDEN");
    // The audit entry names the token but never holds its secret.
    let sealed: Vec<String> = {
        let mut conn = app.db.owner.acquire().await.unwrap();
        audit::list(&mut conn, &app.db.keyring, s.tenant.id, 0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "createApiToken")
            .map(|e| format!("{:?}", e.payload))
            .collect()
    };
    assert_eq!(sealed.len(), 1);
    assert!(!sealed[0].contains(&secret[4..]), "{}", sealed[0]);
    assert!(sealed[0].contains("REDACTED"));
}

#[tokio::test]
async fn identity_events_land_in_the_chains_of_the_users_workspaces() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    let elsewhere = seed(&app, "elsewhere").await;
    let mut b = sign_up(&app, "ivy@x.test").await;
    app.db.add_user(&s.tenant, "ivy@x.test", Role::Member).await;
    let (_, recovery) = enroll(&mut b).await;
    let mut bad = Browser::new(&app);
    bad.post(
        "/auth/signin",
        json!({ "email": "ivy@x.test", "password": "wrong wrong wrong wrong" }),
    )
    .await;
    let (mut p, _) = sign_in(&app, "ivy@x.test").await;
    p.post("/auth/mfa", json!({ "code": "999999" })).await;
    p.post("/auth/mfa", json!({ "code": recovery[0] })).await;
    p.global("mutation { revokeOtherSessions }", json!({}))
        .await;
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM public.audit_log WHERE tenant_id = $1 AND action LIKE 'auth.%' ORDER BY seq",
    )
    .bind(s.tenant.id)
    .fetch_all(&app.db.migrator)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "auth.second_factor_failed",
            "auth.totp_enrolled",
            "auth.signin_failed",
            "auth.signin",
            "auth.second_factor_failed",
            "auth.second_factor",
            "auth.sessions_revoked"
        ]
    );
    let mut conn = app.db.owner.acquire().await.unwrap();
    let report = audit::verify(&mut conn, &app.db.keyring, s.tenant.id)
        .await
        .unwrap();
    assert!(report.ok(), "{report:?}");
    let entries = audit::list(&mut conn, &app.db.keyring, s.tenant.id, 0, 1000)
        .await
        .unwrap();
    let dump = format!("{entries:?}");
    assert!(!dump.contains(&recovery[0]), "codes never enter the log");
    // Not a member of `elsewhere`: nothing about this user lands there.
    let theirs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM public.audit_log WHERE tenant_id = $1 AND action LIKE 'auth.%'",
    )
    .bind(elsewhere.tenant.id)
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    assert_eq!(theirs, 0);
}
