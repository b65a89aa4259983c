//! Passkeys over HTTP with a software authenticator driving real WebAuthn ceremonies:
//! registration, listing, renaming, deletion, passkey as second factor after a password,
//! discoverable sign-in, and the refusals: a replayed assertion, an assertion moved to another
//! challenge, a wrong origin.

use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

use crate::helpers::{Browser, TestApp, code};

const PASSWORD: &str = "correct horse battery staple ünïcode";

fn origin(app: &TestApp) -> Url {
    Url::parse(&format!("https://localhost:{}", app.addr.port())).unwrap()
}

/// A user-verifying software passkey.
fn authenticator() -> SoftPasskey {
    SoftPasskey::new(true)
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

/// Registers a passkey; returns the finish response and the credential's `rawId`.
async fn register(
    b: &mut Browser<'_>,
    auth: &mut SoftPasskey,
    at: &Url,
    name: &str,
) -> (Value, Value) {
    let (_, body) = b
        .global("mutation { startPasskeyRegistration }", json!({}))
        .await;
    let start = &body["data"]["startPasskeyRegistration"];
    let ccr: CreationChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap_or_else(|_| panic!("{body}"));
    let cred = auth.do_registration(at.clone(), ccr).unwrap();
    let cred = serde_json::to_value(&cred).unwrap();
    let (_, body) = b
        .global(
            "mutation($c: ID!, $n: String!, $cred: JSON!) {
                finishPasskeyRegistration(ceremonyId: $c, name: $n, credential: $cred) {
                    passkey { id name } recoveryCodes } }",
            json!({ "c": start["ceremonyId"], "n": name, "cred": cred }),
        )
        .await;
    (body, cred["rawId"].clone())
}

/// Starts a passkey sign-in (with the browser's cookie, if any).
async fn options(b: &mut Browser<'_>) -> (String, Value) {
    let (s, _, body) = b.post("/auth/passkey/options", json!({})).await;
    assert_eq!(s, 200, "{body}");
    (
        body["ceremonyId"].as_str().unwrap().to_owned(),
        body["options"].clone(),
    )
}

fn assert_with(auth: &mut SoftPasskey, at: &Url, options: Value) -> Value {
    let rcr: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    serde_json::to_value(auth.do_authentication(at.clone(), rcr).unwrap()).unwrap()
}

#[tokio::test]
async fn passkeys_are_managed_and_sign_in_at_full_assurance() {
    let app = TestApp::spawn().await;
    let at = origin(&app);
    let mut b = sign_up(&app, "pia@x.test").await;
    let before = b.cookie.clone();
    let (mut laptop, mut phone) = (authenticator(), authenticator());
    let (body, _) = register(&mut b, &mut laptop, &at, "laptop").await;
    let reg = &body["data"]["finishPasskeyRegistration"];
    assert_eq!(reg["passkey"]["name"], "laptop", "{body}");
    assert_eq!(reg["recoveryCodes"].as_array().unwrap().len(), 10);
    assert_ne!(b.cookie, before, "registration steps the session up");
    let (body, phone_id) = register(&mut b, &mut phone, &at, "phone").await;
    assert_eq!(
        body["data"]["finishPasskeyRegistration"]["recoveryCodes"],
        json!([]),
        "codes are issued once: {body}"
    );
    let (_, body) = b.global("{ myPasskeys { id name } }", json!({})).await;
    let keys = body["data"]["myPasskeys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    let (_, body) = b
        .global(
            "mutation($id: ID!) { renamePasskey(id: $id, name: \"work laptop\") { name } }",
            json!({ "id": keys[0]["id"] }),
        )
        .await;
    assert_eq!(body["data"]["renamePasskey"]["name"], "work laptop");

    // After the password, the pending session completes with a passkey.
    let mut p = Browser::new(&app);
    let (_, _, body) = p
        .post(
            "/auth/signin",
            json!({ "email": "pia@x.test", "password": PASSWORD }),
        )
        .await;
    assert_eq!(body["aal"], "pending");
    let pending = p.cookie.clone();
    let (ceremony, opts) = options(&mut p).await;
    assert_eq!(
        opts["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "the user's own passkeys are offered: {opts}"
    );
    let assertion = assert_with(&mut laptop, &at, opts);
    let (s, _, body) = p
        .post(
            "/auth/passkey",
            json!({ "ceremonyId": ceremony, "credential": assertion }),
        )
        .await;
    assert_eq!((s, body["aal"].as_str()), (200, Some("aal2")), "{body}");
    let mut old = Browser::new(&app);
    old.cookie = pending;
    let (s, _) = old.global("{ me { email } }", json!({})).await;
    assert_eq!(s, 401, "the pending session was replaced");

    // Discoverable sign-in: no email, no cookie; the authenticator picks its credential (the
    // soft authenticator cannot hold resident keys, so it is told which one it holds).
    let mut d = Browser::new(&app);
    let (ceremony, mut opts) = options(&mut d).await;
    assert_eq!(opts["publicKey"]["allowCredentials"], json!([]));
    opts["publicKey"]["allowCredentials"] = json!([{ "type": "public-key", "id": phone_id }]);
    let assertion = assert_with(&mut phone, &at, opts);
    let (s, _, body) = d
        .post(
            "/auth/passkey",
            json!({ "ceremonyId": ceremony, "credential": assertion }),
        )
        .await;
    assert_eq!((s, body["aal"].as_str()), (200, Some("aal2")), "{body}");
    let (_, body) = d.global("{ me { email } }", json!({})).await;
    assert_eq!(body["data"]["me"]["email"], "pia@x.test");

    // A deleted passkey signs in no more.
    let (_, body) = d
        .global(
            "mutation($id: ID!) { deletePasskey(id: $id) }",
            json!({ "id": keys[1]["id"] }),
        )
        .await;
    assert_eq!(body["data"]["deletePasskey"], true, "{body}");
    let mut e = Browser::new(&app);
    let (ceremony, mut opts) = options(&mut e).await;
    opts["publicKey"]["allowCredentials"] = json!([{ "type": "public-key", "id": phone_id }]);
    let assertion = assert_with(&mut phone, &at, opts);
    let (s, _, _) = e
        .post(
            "/auth/passkey",
            json!({ "ceremonyId": ceremony, "credential": assertion }),
        )
        .await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn replayed_assertions_and_wrong_origins_are_refused() {
    let app = TestApp::spawn().await;
    let at = origin(&app);
    let mut b = sign_up(&app, "rex@x.test").await;
    let mut key = authenticator();
    let (_, raw_id) = register(&mut b, &mut key, &at, "key").await;
    let allow = json!([{ "type": "public-key", "id": raw_id }]);
    let mut c = Browser::new(&app);
    let (ceremony, mut opts) = options(&mut c).await;
    opts["publicKey"]["allowCredentials"] = allow.clone();
    let assertion = assert_with(&mut key, &at, opts);
    let finish = json!({ "ceremonyId": ceremony, "credential": assertion });
    let (s, _, _) = c.post("/auth/passkey", finish.clone()).await;
    assert_eq!(s, 200);
    // The same assertion again: its ceremony is spent.
    let mut attacker = Browser::new(&app);
    let (s, _, body) = attacker.post("/auth/passkey", finish).await;
    assert_eq!((s, code(&body)), (401, "UNAUTHENTICATED"), "replay");
    // Moved to a fresh ceremony: the signature covers the old challenge.
    let (fresh, _) = options(&mut attacker).await;
    let (s, _, _) = attacker
        .post(
            "/auth/passkey",
            json!({ "ceremonyId": fresh, "credential": assertion }),
        )
        .await;
    assert_eq!(s, 401, "an assertion for another challenge");
    // Another origin under the same host name (a subdomain the attacker controls): the
    // authenticator signs what the browser reports, and the server refuses the origin.
    let evil = Url::parse(&format!("https://evil.localhost:{}", app.addr.port())).unwrap();
    let (ceremony, mut opts) = options(&mut attacker).await;
    opts["publicKey"]["allowCredentials"] = allow;
    let rcr: RequestChallengeResponse = serde_json::from_value(opts).unwrap();
    let phished = key.do_authentication(evil.clone(), rcr).unwrap();
    let (s, _, _) = attacker
        .post(
            "/auth/passkey",
            json!({ "ceremonyId": ceremony, "credential": phished }),
        )
        .await;
    assert_eq!(s, 401, "wrong origin");
    // Registration from a wrong origin is refused too.
    let (_, body) = b
        .global("mutation { startPasskeyRegistration }", json!({}))
        .await;
    let start = &body["data"]["startPasskeyRegistration"];
    let ccr: CreationChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap_or_else(|_| panic!("{body}"));
    let mut other = authenticator();
    let cred = other.do_registration(evil, ccr).unwrap();
    let (_, body) = b
        .global(
            "mutation($c: ID!, $cred: JSON!) {
                finishPasskeyRegistration(ceremonyId: $c, name: \"x\", credential: $cred) { passkey { id } } }",
            json!({ "c": start["ceremonyId"], "cred": cred }),
        )
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    // Garbage is a clear error, never a crash.
    let (s, _, _) = attacker
        .post(
            "/auth/passkey",
            json!({ "ceremonyId": "not-a-uuid", "credential": {} }),
        )
        .await;
    assert_eq!(s, 400);
}
