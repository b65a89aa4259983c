//! Invitations under attack: a token used on another workspace, replayed, revoked, rotated,
//! expired, or held by the wrong account; admins and members reaching past their role; and the
//! workspace's policies at acceptance.

use serde_json::{Value, json};
use tessera::authz::Scope;

use crate::helpers::{Browser, TestApp, code};
use crate::mailbox;

/// A workspace `slug` whose owner is a verified browser session.
async fn workspace<'a>(app: &'a TestApp, slug: &str) -> Browser<'a> {
    let mut owner = Browser::new(app);
    let email = mailbox::address("owner");
    owner.sign_up(&email).await;
    verify(app, &email).await;
    let (_, body) = owner
        .global(
            "mutation($s: String!) { createWorkspace(name: \"W\", slug: $s) { slug } }",
            json!({ "s": slug }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    owner
}

/// Follows the verification link mailed to `email`.
async fn verify(app: &TestApp, email: &str) {
    let token = mailbox::wait_for_link(email, "/verify-email").await;
    let mut anyone = Browser::new(app);
    let (status, _, body) = anyone
        .post("/auth/verify-email", json!({ "token": token }))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Invites `email` as `role` into `slug` and answers (the invitation id, the mailed token).
async fn invite(
    owner: &mut Browser<'_>,
    slug: &str,
    email: &str,
    role: &str,
    nth_mail: usize,
) -> (String, String) {
    let (_, body) = owner
        .gql_vars(
            slug,
            &format!("mutation($e: String!) {{ inviteMember(email: $e, role: {role}) {{ id }} }}"),
            json!({ "e": email }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let id = body["data"]["inviteMember"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mails = mailbox::wait_for(email, nth_mail).await;
    (id, mails[nth_mail - 1].token(&format!("/join/{slug}")))
}

async fn accept(b: &mut Browser<'_>, slug: &str, token: &str) -> Value {
    let (_, body) = b
        .global(
            "mutation($w: String!, $t: String!) { acceptInvitation(workspace: $w, token: $t) { slug role } }",
            json!({ "w": slug, "t": token }),
        )
        .await;
    body
}

/// A verified account signed in as `email`.
async fn person<'a>(app: &'a TestApp, email: &str) -> Browser<'a> {
    let mut b = Browser::new(app);
    b.sign_up(email).await;
    verify(app, email).await;
    b
}

#[tokio::test]
async fn a_token_works_once_in_its_own_workspace_and_nowhere_else() {
    let app = mailbox::app().await;
    let mut alpha = workspace(&app, "alpha").await;
    let _beta = workspace(&app, "beta").await;
    let carol_email = mailbox::address("carol");
    let (_, token) = invite(&mut alpha, "alpha", &carol_email, "MEMBER", 1).await;
    let mut carol = person(&app, &carol_email).await;
    // Alpha's token on beta: the answer of a token that does not exist.
    let on_beta = accept(&mut carol, "beta", &token).await;
    let garbage = accept(
        &mut carol,
        "beta",
        "tsi_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    )
    .await;
    assert_eq!(code(&on_beta), "INVITATION_NOT_FOUND");
    assert_eq!(
        on_beta["errors"][0]["message"],
        garbage["errors"][0]["message"]
    );
    let (_, _, preview) = carol
        .post(
            "/auth/invitation",
            json!({ "workspace": "beta", "token": token }),
        )
        .await;
    assert_eq!(code(&preview), "INVITATION_NOT_FOUND");
    // Accepted in alpha, once.
    let ok = accept(&mut carol, "alpha", &token).await;
    assert_eq!(ok["data"]["acceptInvitation"]["role"], "member", "{ok}");
    let again = accept(&mut carol, "alpha", &token).await;
    assert_eq!(code(&again), "INVITATION_USED");
    // Replayed by someone else (who got hold of the link): used, and never a membership.
    let dave_email = mailbox::address("dave");
    let mut dave = person(&app, &dave_email).await;
    let replay = accept(&mut dave, "alpha", &token).await;
    assert_eq!(code(&replay), "INVITATION_USED");
    let (_, ws) = dave.global("{ workspaces { slug } }", json!({})).await;
    assert_eq!(ws["data"]["workspaces"], json!([]));
}

#[tokio::test]
async fn revoked_rotated_and_expired_tokens_are_refused_with_their_own_codes() {
    let app = mailbox::app().await;
    let mut owner = workspace(&app, "acme").await;
    let email = mailbox::address("erin");
    let mut erin = person(&app, &email).await;
    // Revoked.
    let (id, token) = invite(&mut owner, "acme", &email, "MEMBER", 2).await;
    let (_, body) = owner
        .gql_vars(
            "acme",
            "mutation($i: ID!) { revokeInvitation(id: $i) { status } }",
            json!({ "i": id }),
        )
        .await;
    assert_eq!(
        body["data"]["revokeInvitation"]["status"], "REVOKED",
        "{body}"
    );
    assert_eq!(
        code(&accept(&mut erin, "acme", &token).await),
        "INVITATION_REVOKED"
    );
    // A new invitation, resent: the first link stops working, the second works...
    let (id, first) = invite(&mut owner, "acme", &email, "ADMIN", 3).await;
    let (_, body) = owner
        .gql_vars(
            "acme",
            "mutation($i: ID!) { resendInvitation(id: $i) { sentCount } }",
            json!({ "i": id }),
        )
        .await;
    assert_eq!(body["data"]["resendInvitation"]["sentCount"], 2, "{body}");
    let second = mailbox::wait_for(&email, 4).await[3].token("/join/acme");
    assert_ne!(first, second);
    assert_eq!(
        code(&accept(&mut erin, "acme", &first).await),
        "INVITATION_NOT_FOUND"
    );
    // ...until it expires.
    sqlx::query("UPDATE public.invitations SET expires_at = now() - interval '1 minute' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&app.db.migrator)
        .await
        .unwrap();
    assert_eq!(
        code(&accept(&mut erin, "acme", &second).await),
        "INVITATION_EXPIRED"
    );
    let (_, _, preview) = erin
        .post(
            "/auth/invitation",
            json!({ "workspace": "acme", "token": second }),
        )
        .await;
    assert_eq!(preview["status"], "EXPIRED");
    // Resending an expired invitation renews it.
    owner
        .gql_vars(
            "acme",
            "mutation($i: ID!) { resendInvitation(id: $i) { id } }",
            json!({ "i": id }),
        )
        .await;
    let third = mailbox::wait_for(&email, 5).await[4].token("/join/acme");
    let ok = accept(&mut erin, "acme", &third).await;
    assert_eq!(ok["data"]["acceptInvitation"]["role"], "admin", "{ok}");
}

#[tokio::test]
async fn only_the_invited_verified_address_can_accept() {
    let app = mailbox::app().await;
    let mut owner = workspace(&app, "acme").await;
    let invited = mailbox::address("frank");
    let (_, token) = invite(&mut owner, "acme", &invited, "MEMBER", 1).await;
    // Another account: refused, whatever it holds.
    let other = mailbox::address("mallory");
    let mut mallory = person(&app, &other).await;
    assert_eq!(
        code(&accept(&mut mallory, "acme", &token).await),
        "INVITATION_EMAIL_MISMATCH"
    );
    // Signing up with the link under another address creates nothing.
    let mut sneaky = Browser::new(&app);
    let (status, _, body) = sneaky
        .post(
            "/auth/signup",
            json!({ "email": mailbox::address("sneaky"), "password": crate::helpers::PASSWORD,
                    "invitation": { "workspace": "acme", "token": token } }),
        )
        .await;
    assert_eq!((status, code(&body)), (403, "INVITATION_EMAIL_MISMATCH"));
    assert!(sneaky.cookie.is_none());
    // The invited address, unverified: verify first. The case of the address does not matter.
    let mut frank = Browser::new(&app);
    frank.sign_up(&invited.to_uppercase()).await;
    assert_eq!(
        code(&accept(&mut frank, "acme", &token).await),
        "EMAIL_NOT_VERIFIED"
    );
    verify(&app, &invited).await;
    let ok = accept(&mut frank, "acme", &token).await;
    assert_eq!(ok["data"]["acceptInvitation"]["slug"], "acme", "{ok}");
}

#[tokio::test]
async fn admins_cannot_reach_past_their_role_and_members_cannot_invite() {
    let app = mailbox::app().await;
    let mut owner = workspace(&app, "acme").await;
    let admin_email = mailbox::address("admin");
    let (_, token) = invite(&mut owner, "acme", &admin_email, "ADMIN", 1).await;
    let mut admin = person(&app, &admin_email).await;
    accept(&mut admin, "acme", &token).await;
    // An admin cannot invite an owner...
    let (_, body) = admin
        .gql(
            "acme",
            "mutation { inviteMember(email: \"x@example.test\", role: OWNER) { id } }",
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    // ...make anyone an owner, themselves included, or touch an owner.
    let (_, me) = admin.gql("acme", "{ viewer { userId } }").await;
    let admin_id = me["data"]["viewer"]["userId"].as_str().unwrap().to_owned();
    let (_, owners) = owner.gql("acme", "{ viewer { userId } }").await;
    let owner_id = owners["data"]["viewer"]["userId"]
        .as_str()
        .unwrap()
        .to_owned();
    for (query, user) in [
        (
            "mutation($u: ID!) { changeMemberRole(userId: $u, role: OWNER) { role } }",
            &admin_id,
        ),
        (
            "mutation($u: ID!) { changeMemberRole(userId: $u, role: MEMBER) { role } }",
            &owner_id,
        ),
        ("mutation($u: ID!) { removeMember(userId: $u) }", &owner_id),
    ] {
        let (_, body) = admin.gql_vars("acme", query, json!({ "u": user })).await;
        assert_eq!(code(&body), "FORBIDDEN", "{query}: {body}");
    }
    // A member cannot invite at all (the guard refuses before anything runs).
    let member_email = mailbox::address("member");
    let (_, token) = invite(&mut owner, "acme", &member_email, "MEMBER", 1).await;
    let mut member = person(&app, &member_email).await;
    accept(&mut member, "acme", &token).await;
    let (_, body) = member
        .gql(
            "acme",
            "mutation { inviteMember(email: \"y@example.test\", role: MEMBER) { id } }",
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (_, body) = member.gql("acme", "{ invitations { id } }").await;
    assert_eq!(code(&body), "FORBIDDEN");
    // An owner's API token (settings scope) may invite members, never owners.
    let tenant = tessera::tenancy::Tenant {
        id: sqlx::query_scalar("SELECT id FROM public.tenants WHERE slug = 'acme'")
            .fetch_one(&app.db.migrator)
            .await
            .unwrap(),
        slug: "acme".into(),
        name: "W".into(),
        db_role: String::new(),
        state: "active".into(),
        schema_version: 0,
        created_at: chrono::DateTime::UNIX_EPOCH,
    };
    let owner_user = uuid::Uuid::parse_str(&owner_id).unwrap();
    let token = app
        .db
        .token(&tenant, owner_user, &[Scope::Read, Scope::Settings])
        .await;
    let (_, body) = app
        .gql(
            "acme",
            &token,
            "mutation { inviteMember(email: \"z@example.test\", role: OWNER) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let ok = app
        .ok(
            "acme",
            &token,
            "mutation { inviteMember(email: \"z@example.test\", role: MEMBER) { id } }",
            json!({}),
        )
        .await;
    assert!(ok["inviteMember"]["id"].is_string());
}

#[tokio::test]
async fn the_workspaces_policies_apply_at_acceptance() {
    let app = mailbox::app().await;
    let mut owner = workspace(&app, "acme").await;
    // MFA required: the owner steps up first, then sets the policy.
    crate::mfa::enroll(&mut owner).await;
    let (_, body) = owner
        .gql("acme", "mutation { setMfaRequired(required: true) }")
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let email = mailbox::address("gina");
    let (_, token) = invite(&mut owner, "acme", &email, "MEMBER", 1).await;
    let mut gina = person(&app, &email).await;
    assert_eq!(
        code(&accept(&mut gina, "acme", &token).await),
        "MFA_REQUIRED"
    );
    // With a second factor she may.
    crate::mfa::enroll(&mut gina).await;
    let ok = accept(&mut gina, "acme", &token).await;
    assert_eq!(ok["data"]["acceptInvitation"]["slug"], "acme", "{ok}");
    // Signing up with an invitation to such a workspace verifies the address but leaves the
    // invitation pending, and says why.
    let hank = mailbox::address("hank");
    let (_, token) = invite(&mut owner, "acme", &hank, "MEMBER", 1).await;
    let mut b = Browser::new(&app);
    let (status, _, body) = b
        .post(
            "/auth/signup",
            json!({ "email": hank, "password": crate::helpers::PASSWORD,
                    "invitation": { "workspace": "acme", "token": token } }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["invitation"]["accepted"], false);
    assert_eq!(body["invitation"]["code"], "MFA_REQUIRED");
    // SSO-only workspaces take invited people only through their identity provider.
    sqlx::query("UPDATE public.tenants SET sso_only = true WHERE slug = 'acme'")
        .execute(&app.db.migrator)
        .await
        .unwrap();
    crate::mfa::enroll(&mut b).await;
    assert_eq!(code(&accept(&mut b, "acme", &token).await), "SSO_REQUIRED");
}
