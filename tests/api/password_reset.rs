//! Password resets and address verification: the same answer whatever the address, single-use
//! links that expire, every session revoked by a reset, accounts that sign in through SSO left
//! alone; and what mail must never carry or log.

use serde_json::json;

use crate::helpers::{Browser, PASSWORD, code};
use crate::mailbox;

async fn request(b: &mut Browser<'_>, email: &str) -> (u16, serde_json::Value) {
    let (s, _, body) = b
        .post("/auth/password-reset", json!({ "email": email }))
        .await;
    (s, body)
}

async fn confirm(b: &mut Browser<'_>, token: &str, password: &str) -> (u16, serde_json::Value) {
    let (s, _, body) = b
        .post(
            "/auth/password-reset/confirm",
            json!({ "token": token, "password": password }),
        )
        .await;
    (s, body)
}

#[tokio::test]
async fn a_reset_says_nothing_about_addresses_works_once_and_signs_out_everywhere() {
    let app = mailbox::app().await;
    let email = mailbox::address("ivy");
    let mut ivy = Browser::new(&app);
    ivy.sign_up(&email).await;
    let mut laptop = Browser::new(&app);
    let (s, _, _) = laptop
        .post(
            "/auth/signin",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(s, 200);
    // Known and unknown addresses get the same answer.
    let mut anyone = Browser::new(&app);
    let known = request(&mut anyone, &email).await;
    let unknown = request(&mut anyone, &mailbox::address("nobody")).await;
    assert_eq!(known.0, 202);
    assert_eq!(known, unknown);
    let bad = request(&mut anyone, "not an address").await;
    assert_eq!((bad.0, code(&bad.1)), (400, "BAD_USER_INPUT"));
    // Only the known one gets mail.
    let token = mailbox::wait_for_link(&email, "/reset-password").await;
    assert!(token.starts_with("tsp_"));
    // A weak new password is refused without using the link up.
    let (s, body) = confirm(&mut anyone, &token, "short").await;
    assert_eq!((s, code(&body)), (400, "BAD_USER_INPUT"));
    let new_password = "a brand new passphrase for ivy";
    let (s, body) = confirm(&mut anyone, &token, new_password).await;
    assert_eq!(s, 200, "{body}");
    // Used once only.
    let (s, body) = confirm(&mut anyone, &token, "another new passphrase").await;
    assert_eq!((s, code(&body)), (409, "TOKEN_USED"));
    let (s, body) = confirm(&mut anyone, "tsp_garbage", "another new passphrase").await;
    assert_eq!((s, code(&body)), (400, "TOKEN_INVALID"));
    // Every session is gone; the new password works, the old one does not.
    let (s, _) = ivy.global("{ me { email } }", json!({})).await;
    assert_eq!(s, 401);
    let (s, _) = laptop.global("{ me { email } }", json!({})).await;
    assert_eq!(s, 401);
    let mut fresh = Browser::new(&app);
    let (s, _, _) = fresh
        .post(
            "/auth/signin",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(s, 401);
    let (s, _, _) = fresh
        .post(
            "/auth/signin",
            json!({ "email": email, "password": new_password }),
        )
        .await;
    assert_eq!(s, 200);
    // The reset verified the address, and it is in the account's security log.
    let (_, me) = fresh
        .global(
            "{ me { emailVerified securityEvents { action } } }",
            json!({}),
        )
        .await;
    assert_eq!(me["data"]["me"]["emailVerified"], true);
    let actions = me["data"]["me"]["securityEvents"].to_string();
    assert!(actions.contains("auth.password_reset"), "{actions}");
}

#[tokio::test]
async fn reset_links_expire_and_an_sso_only_account_gets_none() {
    let app = mailbox::app().await;
    let email = mailbox::address("jay");
    let mut jay = Browser::new(&app);
    jay.sign_up(&email).await;
    let mut anyone = Browser::new(&app);
    request(&mut anyone, &email).await;
    let token = mailbox::wait_for_link(&email, "/reset-password").await;
    sqlx::query("UPDATE public.account_tokens SET expires_at = now() - interval '1 second' WHERE purpose = 'reset_password'")
        .execute(&app.db.migrator)
        .await
        .unwrap();
    let (s, body) = confirm(&mut anyone, &token, "a fine new passphrase").await;
    assert_eq!((s, code(&body)), (410, "TOKEN_EXPIRED"));
    // An account created by a workspace's SSO has no password: no reset for it.
    let sso_email = mailbox::address("sso");
    let s = crate::helpers::seed(&app, "acme").await;
    let user = app
        .db
        .add_user(&s.tenant, &sso_email, tessera::authz::Role::Member)
        .await;
    sqlx::query(
        "INSERT INTO public.sso_identities (tenant_id, issuer, subject, user_id) VALUES ($1, 'https://idp.example', 'sub-1', $2)",
    )
    .bind(s.tenant.id)
    .bind(user)
    .execute(&app.db.migrator)
    .await
    .unwrap();
    let answer = request(&mut anyone, &sso_email).await;
    assert_eq!(answer.0, 202);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(mailbox::received(&sso_email).await.is_empty());
    let issued: i64 =
        sqlx::query_scalar("SELECT count(*) FROM public.account_tokens WHERE user_id = $1")
            .bind(user)
            .fetch_one(&app.db.migrator)
            .await
            .unwrap();
    assert_eq!(issued, 0);
}

#[tokio::test]
async fn verification_links_are_single_use_and_resent_on_request() {
    let app = mailbox::app().await;
    let email = mailbox::address("kim");
    let mut kim = Browser::new(&app);
    kim.sign_up(&email).await;
    let first = mailbox::wait_for_link(&email, "/verify-email").await;
    let (_, body) = kim
        .global("mutation { resendVerification }", json!({}))
        .await;
    assert_eq!(body["data"]["resendVerification"], true, "{body}");
    let second = mailbox::wait_for(&email, 2).await[1].token("/verify-email");
    assert_ne!(first, second);
    let mut anyone = Browser::new(&app);
    let (s, _, _) = anyone
        .post("/auth/verify-email", json!({ "token": second }))
        .await;
    assert_eq!(s, 200);
    // Verified: nothing more to send; a reset token is no verification token.
    let (_, body) = kim
        .global("mutation { resendVerification }", json!({}))
        .await;
    assert_eq!(body["data"]["resendVerification"], false);
    let (s, _, body) = anyone
        .post(
            "/auth/verify-email",
            json!({ "token": first.replace("tsv_", "tsp_") }),
        )
        .await;
    assert_eq!((s, code(&body)), (400, "TOKEN_INVALID"));
}

#[tokio::test]
async fn mail_escapes_what_users_wrote_and_no_token_or_smtp_secret_is_kept_or_audited() {
    let app = mailbox::app().await;
    let mut owner = Browser::new(&app);
    owner.sign_up(&mailbox::address("lee")).await;
    let (_, body) = owner
        .global(
            "mutation($n: String!) { createWorkspace(name: $n, slug: \"evil\") { slug } }",
            json!({ "n": "<img src=x onerror=alert(1)> Corp" }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let to = mailbox::address("max");
    let (_, body) = owner
        .gql_vars(
            "evil",
            "mutation($e: String!) { inviteMember(email: $e, role: MEMBER) { id } }",
            json!({ "e": to }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let mail = &mailbox::wait_for(&to, 1).await[0];
    assert!(!mail.html.contains("<img"), "{}", mail.html);
    assert!(mail.html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    let token = mail.token("/join/evil");
    // Sent: the outbox keeps no payload, and no table holds the token.
    let payloads: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM public.mail_outbox WHERE sealed IS NOT NULL AND status = 'sent'",
    )
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    assert_eq!(payloads, 0);
    let dump: String = sqlx::query_scalar(
        "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM public.invitations) t",
    )
    .fetch_one(&app.db.migrator)
    .await
    .unwrap();
    assert!(!dump.contains(&token[4..]));
    // The audit log has the invitation, not its token.
    let (_, entries) = owner
        .gql(
            "evil",
            "{ auditEntries(actions: [\"inviteMember\"]) { payload } }",
        )
        .await;
    assert!(!entries.to_string().contains(&token[4..]));
    // The SMTP password does not appear in the configuration's debug form.
    let cfg = format!("{:?}", mailbox::config());
    assert!(!cfg.contains(mailbox::SMTP_PASS), "{cfg}");
}
