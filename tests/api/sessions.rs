//! Browser sign-in: passwords, cookie sessions, CSRF rules, revocation.

use serde_json::{Value, json};
use tessera::authz::Role;

use crate::helpers::{Browser, TestApp, TestDb, code, seed};

const PASSWORD: &str = "correct horse battery staple ünïcode";

#[tokio::test]
async fn sign_up_and_sign_in_set_a_hardened_cookie_and_rotate_the_session() {
    let app = TestApp::spawn().await;
    let mut b = Browser::new(&app);
    let (status, headers, body) = b
        .post(
            "/auth/signup",
            json!({ "email": "ann@x.test", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let set = headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    for part in [
        "__Host-tessera_session=tss_",
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
    ] {
        assert!(set.contains(part), "{part} missing from {set}");
    }
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    let first = b.cookie.clone().unwrap();
    let (status, _, _) = b
        .post(
            "/auth/signin",
            json!({ "email": "ANN@x.test", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, 200);
    assert_ne!(
        b.cookie.as_ref(),
        Some(&first),
        "sign-in issues a new session"
    );
    // The global endpoint knows the user through the cookie.
    let (status, _, me) = b
        .post(
            "/graphql",
            json!({ "query": "{ me { email } workspaces { slug } }" }),
        )
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["data"]["me"]["email"], "ann@x.test");
    // Sign-up with a taken email, a weak password, or a bad email is refused clearly.
    let mut other = Browser::new(&app);
    let (s, _, body) = other
        .post(
            "/auth/signup",
            json!({ "email": "ann@x.test", "password": PASSWORD }),
        )
        .await;
    assert_eq!((s, code(&body)), (409, "CONFLICT"));
    for (email, pw) in [
        ("bob@x.test", "short"),
        ("bob@x.test", "passwordpassword"),
        ("not an email", PASSWORD),
    ] {
        let (s, _, body) = other
            .post("/auth/signup", json!({ "email": email, "password": pw }))
            .await;
        assert_eq!((s, code(&body)), (400, "BAD_USER_INPUT"), "{email} {pw}");
        assert!(!body.to_string().contains(pw) || pw.len() < 6);
    }
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let mut b = Browser::new(&app);
    b.post(
        "/auth/signup",
        json!({ "email": "ann@x.test", "password": PASSWORD }),
    )
    .await;
    let mut anon = Browser::new(&app);
    let (s1, h1, unknown) = anon
        .post(
            "/auth/signin",
            json!({ "email": "nobody@x.test", "password": PASSWORD }),
        )
        .await;
    let (s2, h2, wrong) = anon
        .post(
            "/auth/signin",
            json!({ "email": "ann@x.test", "password": "wrong password here!" }),
        )
        .await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(unknown, wrong);
    assert!(h1.get("set-cookie").is_none() && h2.get("set-cookie").is_none());
    assert!(anon.cookie.is_none());
}

#[tokio::test]
async fn a_session_acts_with_the_members_role_and_csrf_shapes_are_refused() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    seed(&app, "other").await;
    let mut b = Browser::new(&app);
    b.post(
        "/auth/signup",
        json!({ "email": "ann@x.test", "password": PASSWORD }),
    )
    .await;
    app.db.add_user(&s.tenant, "ann@x.test", Role::Owner).await;
    let (status, body) = b.gql("acme", "{ viewer { role permissions } }").await;
    assert_eq!(status, 200, "{body}");
    let perms = body["data"]["viewer"]["permissions"].to_string();
    assert!(
        perms.contains("tokens:mint") && perms.contains("sso:manage"),
        "sessions carry session-only permissions: {perms}"
    );
    // A browser session may configure OIDC, which no token may.
    let (_, body) = b
        .gql(
            "acme",
            "mutation { setOidcClientSecret(name: \"idp\", secret: \"s\") { id } }",
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    // Not a member of `other`: the same answer as an unknown workspace.
    let (status, body) = b.gql("other", "{ viewer { role } }").await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"));

    let mutation = json!({ "query": "mutation { createIdea(input: {title: \"csrf\"}) { id } }" });
    for (ctype, origin, want) in [
        (Some("text/plain"), Some(b.origin()), 415),
        (
            Some("application/x-www-form-urlencoded"),
            Some(b.origin()),
            415,
        ),
        (
            Some("multipart/form-data; boundary=x"),
            Some(b.origin()),
            415,
        ),
        (Some("application/json"), None, 403),
        (
            Some("application/json"),
            Some("https://evil.example".to_owned()),
            403,
        ),
        (
            Some("application/json"),
            Some(format!("http://{}", app.addr)),
            403,
        ),
        (Some("application/json"), Some("null".to_owned()), 403),
    ] {
        let (status, _, body) = b
            .post_with("/w/acme/graphql", mutation.clone(), ctype, origin.clone())
            .await;
        assert_eq!(status, want, "{ctype:?} {origin:?}: {body}");
    }
    // Without an Origin, only the browser's own `Sec-Fetch-Site: same-origin` (or `none`)
    // passes (the console's download links); another site, or a sibling one, is refused.
    for site in ["cross-site", "same-site", "bogus"] {
        let resp = app
            .http
            .post(app.url("/w/acme/graphql"))
            .header("content-type", "application/json")
            .header("cookie", b.cookie.clone().unwrap())
            .header("sec-fetch-site", site)
            .body(mutation.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 403, "Sec-Fetch-Site: {site}");
    }
    let ideas = app
        .ok(
            "acme",
            &s.owner_token,
            "{ ideas { edges { node { title } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        ideas["ideas"]["edges"],
        json!([]),
        "no refused request may have written"
    );
    // The same request from the right origin works, and is audited as the user.
    let (status, _, body) = b
        .post_with(
            "/w/acme/graphql",
            mutation,
            Some("application/json"),
            Some(b.origin()),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let audit = app
        .ok(
            "acme",
            &s.owner_token,
            "{ auditEntries(first: 100, actions: [\"createIdea\"]) { actorType } }",
            json!({}),
        )
        .await;
    assert_eq!(audit["auditEntries"], json!([{ "actorType": "user" }]));
}

#[tokio::test]
async fn signing_out_revokes_at_once_and_bad_cookies_fail_closed() {
    let app = TestApp::spawn().await;
    let mut b = Browser::new(&app);
    b.post(
        "/auth/signup",
        json!({ "email": "ann@x.test", "password": PASSWORD }),
    )
    .await;
    let stolen = b.cookie.clone().unwrap();
    let (s, _, _) = b
        .post("/graphql", json!({ "query": "{ me { email } }" }))
        .await;
    assert_eq!(s, 200);
    let (s, _, _) = b.post("/auth/signout", json!({})).await;
    assert_eq!(s, 204);
    assert!(b.cookie.is_none(), "the cookie is cleared");
    // Replaying the old cookie is refused on the very next request.
    let mut thief = Browser::new(&app);
    thief.cookie = Some(stolen);
    let (s, _, body) = thief
        .post("/graphql", json!({ "query": "{ me { email } }" }))
        .await;
    assert_eq!((s, code(&body)), (401, "UNAUTHENTICATED"));
    for garbage in [
        "__Host-tessera_session=",
        "__Host-tessera_session=tss_x",
        "__Host-tessera_session=tss_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        thief.cookie = Some(garbage.to_owned());
        let (s, _, _) = thief
            .post("/graphql", json!({ "query": "{ me { email } }" }))
            .await;
        assert_eq!(s, 401, "{garbage}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_sign_ins_is_answered_busy_not_by_exhausting_memory() {
    let mut db = TestDb::new().await;
    db.cfg.auth.max_concurrent_hashes = 1;
    // Attempt limits are tested separately; here only the hashing limit may turn requests away.
    db.cfg.auth.signin_per_minute_per_ip = 100_000;
    db.cfg.auth.signin_per_minute_per_account = 100_000;
    let app = std::sync::Arc::new(TestApp::spawn_on(db, 8).await);
    let mut b = Browser::new(&app);
    b.post(
        "/auth/signup",
        json!({ "email": "ann@x.test", "password": PASSWORD }),
    )
    .await;
    let mut tasks = Vec::new();
    for _ in 0..300 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let resp = app
                .http
                .post(app.url("/auth/signin"))
                .json(&json!({ "email": "ann@x.test", "password": "wrong password here!" }))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            (status, code(&body).to_owned())
        }));
    }
    let mut counts = std::collections::BTreeMap::new();
    for t in tasks {
        *counts.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    println!("flood outcome: {counts:?}");
    assert!(
        counts.keys().all(|(s, _)| *s == 401 || *s == 503),
        "{counts:?}"
    );
    assert!(
        counts.contains_key(&(503, "UNAVAILABLE".to_owned())),
        "some requests must be turned away: {counts:?}"
    );
    // And the server still signs people in afterwards.
    let mut again = Browser::new(&app);
    let (s, _, _) = again
        .post(
            "/auth/signin",
            json!({ "email": "ann@x.test", "password": PASSWORD }),
        )
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn users_list_and_revoke_their_sessions_and_change_their_password() {
    let app = TestApp::spawn().await;
    let mut laptop = Browser::new(&app);
    laptop
        .post(
            "/auth/signup",
            json!({ "email": "ann@x.test", "password": PASSWORD }),
        )
        .await;
    let mut phone = Browser::new(&app);
    phone
        .post(
            "/auth/signin",
            json!({ "email": "ann@x.test", "password": PASSWORD }),
        )
        .await;
    let mut tablet = Browser::new(&app);
    tablet
        .post(
            "/auth/signin",
            json!({ "email": "ann@x.test", "password": PASSWORD }),
        )
        .await;

    let (_, _, list) = laptop
        .post(
            "/graphql",
            json!({ "query": "{ mySessions { id current } }" }),
        )
        .await;
    let sessions = list["data"]["mySessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 3, "{list}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    // Revoke the phone's session from the laptop: the phone is out on its next request.
    let (_, _, phone_list) = phone
        .post(
            "/graphql",
            json!({ "query": "{ mySessions { id current } }" }),
        )
        .await;
    let phone_id = phone_list["data"]["mySessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .clone();
    let (_, _, r) = laptop.post("/graphql", json!({ "query": "mutation($id: ID!) { revokeSession(id: $id) }", "variables": { "id": phone_id } })).await;
    assert_eq!(r["data"]["revokeSession"], true, "{r}");
    let (s, _, _) = phone
        .post("/graphql", json!({ "query": "{ me { email } }" }))
        .await;
    assert_eq!(s, 401);

    // Changing the password needs the current one, and signs out every other session.
    let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
    let (_, _, wrong) = laptop.post("/graphql", json!({ "query": change, "variables": { "c": "not it at all!!", "n": "a brand new passphrase" } })).await;
    assert_eq!(code(&wrong), "FORBIDDEN");
    let (_, _, weak) = laptop
        .post(
            "/graphql",
            json!({ "query": change, "variables": { "c": PASSWORD, "n": "short" } }),
        )
        .await;
    assert_eq!(code(&weak), "BAD_USER_INPUT");
    let (_, _, ok) = laptop.post("/graphql", json!({ "query": change, "variables": { "c": PASSWORD, "n": "a brand new passphrase" } })).await;
    assert_eq!(ok["data"]["changePassword"], true, "{ok}");
    let (s, _, _) = tablet
        .post("/graphql", json!({ "query": "{ me { email } }" }))
        .await;
    assert_eq!(s, 401, "other sessions end with a password change");
    let (s, _, _) = laptop
        .post("/graphql", json!({ "query": "{ me { email } }" }))
        .await;
    assert_eq!(s, 200, "the session that changed it stays");
    let mut fresh = Browser::new(&app);
    let (s, _, _) = fresh
        .post(
            "/auth/signin",
            json!({ "email": "ann@x.test", "password": PASSWORD }),
        )
        .await;
    assert_eq!(s, 401);
    let (s, _, _) = fresh
        .post(
            "/auth/signin",
            json!({ "email": "ann@x.test", "password": "a brand new passphrase" }),
        )
        .await;
    assert_eq!(s, 200);
    let (_, _, r) = laptop
        .post(
            "/graphql",
            json!({ "query": "mutation { revokeOtherSessions }" }),
        )
        .await;
    assert_eq!(r["data"]["revokeOtherSessions"], 1);
}

#[tokio::test]
async fn tokens_cannot_use_session_self_service() {
    let app = TestApp::spawn().await;
    let s = seed(&app, "acme").await;
    for q in [
        "mutation { revokeOtherSessions }",
        "mutation { changePassword(currentPassword: \"x\", newPassword: \"yyyyyyyyyyyyyy\") }",
    ] {
        let resp = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth(&s.owner_token)
            .json(&json!({ "query": q }))
            .send()
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(code(&body), "FORBIDDEN", "{q}: {body}");
    }
}

#[tokio::test]
async fn sign_in_and_sign_up_attempts_are_limited_per_account_and_per_address() {
    let mut db = TestDb::new().await;
    db.cfg.auth.signin_per_minute_per_account = 3;
    db.cfg.auth.signin_per_minute_per_ip = 6;
    db.cfg.auth.signup_per_minute_per_ip = 2;
    let app = TestApp::spawn_on(db, 4).await;
    let mut b = Browser::new(&app);
    let (s, _, _) = b
        .post(
            "/auth/signup",
            json!({ "email": "ann@x.test", "password": PASSWORD }),
        )
        .await;
    assert_eq!(s, 201);
    let mut anon = Browser::new(&app);
    let wrong = json!({ "email": "ann@x.test", "password": "wrong password here!" });
    for _ in 0..3 {
        let (s, _, _) = anon.post("/auth/signin", wrong.clone()).await;
        assert_eq!(s, 401);
    }
    // The fourth attempt on the account is limited, the right password included.
    let (s, headers, body) = anon
        .post(
            "/auth/signin",
            json!({ "email": "ANN@x.test", "password": PASSWORD }),
        )
        .await;
    assert_eq!((s, code(&body)), (429, "RATE_LIMITED"));
    let retry: u64 = headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(anon.cookie.is_none());
    // Another account from the same address still gets answers, until the address's limit.
    let other = json!({ "email": "bob@x.test", "password": "wrong password here!" });
    // Attempts 5 and 6 from this address (the refused one above counted too).
    for _ in 0..2 {
        let (s, _, _) = anon.post("/auth/signin", other.clone()).await;
        assert_eq!(s, 401);
    }
    let (s, _, _) = anon.post("/auth/signin", other.clone()).await;
    assert_eq!(s, 429, "six attempts from one address per minute");
    // Sign-ups per address.
    let (s, _, _) = anon
        .post(
            "/auth/signup",
            json!({ "email": "c@x.test", "password": PASSWORD }),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _, body) = anon
        .post(
            "/auth/signup",
            json!({ "email": "d@x.test", "password": PASSWORD }),
        )
        .await;
    assert_eq!((s, code(&body)), (429, "RATE_LIMITED"));
}
