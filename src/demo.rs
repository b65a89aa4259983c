//! `tessera serve --demo`: a small demo workspace, seeded through the same domain services
//! and tenant transactions as real requests.

use crate::db::AppPool;

use crate::authz::{Principal, Role, Scope};
use crate::db;
use crate::identity::{TokenSecret, add_member, ensure_user, mint_token};
use crate::tenancy::{self, Access, Slug, TenancyError};
use crate::work::{goals, ideas, projects, records, teams};

pub const DEMO_SLUG: &str = "demo";
pub const DEMO_EMAIL: &str = "demo@tessera.invalid";

/// What `serve --demo` prints: an API token and a console sign-in, both fresh.
pub struct DemoAccess {
    pub token: TokenSecret,
    pub email: &'static str,
    pub password: crate::crypto::Secret<String>,
}

/// A new random password for the demo owner (20 characters of a base32 alphabet).
fn demo_password() -> crate::crypto::Secret<String> {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let s: String = (0..20)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    crate::crypto::Secret::new(s)
}

/// Creates the demo workspace if missing and returns a fresh read/write token for it.
pub async fn provision(
    app: &AppPool,
    migrator: &db::MigratorPool,
    keyring: &crate::crypto::Keyring,
    version: i32,
    passwords: &crate::identity::Passwords,
) -> anyhow::Result<DemoAccess> {
    let slug = Slug::parse(DEMO_SLUG)?;
    let (tenant_id, fresh) =
        match tenancy::create_tenant(migrator, keyring, &slug, "Demo workspace", version).await {
            Ok(t) => (t.id, true),
            Err(TenancyError::Conflict) => {
                let id: uuid::Uuid =
                    db::query_scalar("SELECT id FROM public.tenants WHERE slug = $1")
                        .bind(DEMO_SLUG)
                        .fetch_one(&mut *migrator.acquire().await?)
                        .await?;
                (id, false)
            }
            Err(e) => return Err(e.into()),
        };
    let mut conn = migrator.acquire().await?;
    let user = ensure_user(&mut conn, DEMO_EMAIL, "Demo Owner").await?;
    add_member(&mut conn, tenant_id, user.id, Role::Owner).await?;
    if fresh {
        seed(app, &slug, user.id, tenant_id).await?;
    }
    let (_, secret) = mint_token(
        &mut conn,
        tenant_id,
        user.id,
        "demo",
        &[Scope::Read, Scope::Write],
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.describe()))?;
    // A new console password at every start: the demo owner signs in with what was printed
    // last, and its address counts as confirmed.
    let password = demo_password();
    let hash = passwords
        .hash(&password)
        .await
        .map_err(|e| anyhow::anyhow!("hashing the demo password: {e:?}"))?;
    crate::identity::session::set_password(&mut conn, user.id, &hash).await?;
    crate::identity::account::mark_verified(&mut conn, user.id, DEMO_EMAIL).await?;
    Ok(DemoAccess {
        token: secret,
        email: DEMO_EMAIL,
        password,
    })
}

async fn seed(
    app: &AppPool,
    slug: &Slug,
    user_id: uuid::Uuid,
    tenant_id: uuid::Uuid,
) -> anyhow::Result<()> {
    let err = |e: crate::work::WorkError| anyhow::anyhow!("seeding failed: {e:?}");
    let mut tx = tenancy::begin(app, slug, Access::ReadWrite)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo workspace vanished"))?;
    let viewer =
        Principal::for_token(user_id, tenant_id, Role::Owner, uuid::Uuid::nil(), vec![]).viewer();
    let viewer = crate::authz::Viewer {
        sees_all_teams: true,
        ..viewer
    };
    let goal = goals::create(
        &mut tx,
        viewer,
        "Ship v1",
        "Everything a first customer needs",
    )
    .await
    .map_err(err)?;
    for (name, vis) in [
        ("Platform", teams::Visibility::Open),
        ("Design", teams::Visibility::Limited),
        ("Security", teams::Visibility::Restricted),
    ] {
        let team = teams::create(&mut tx, name, vis).await.map_err(err)?;
        teams::add_member(&mut tx, team.id, user_id)
            .await
            .map_err(err)?;
        for n in 1..=2 {
            let project = projects::create(
                &mut tx,
                viewer,
                projects::NewProject {
                    team_id: team.id,
                    goal_id: Some(goal.id),
                    name: &format!("{name} project {n}"),
                    description: "Seeded by --demo",
                },
            )
            .await
            .map_err(err)?;
            for r in 1..=3 {
                records::create(
                    &mut tx,
                    viewer,
                    records::NewRecord {
                        project_id: project.id,
                        title: &format!("{name} task {n}.{r}"),
                        body: "",
                        status: records::RecordStatus::Open,
                        assignee_id: Some(user_id),
                        fields: serde_json::json!({ "estimate": r }),
                    },
                )
                .await
                .map_err(err)?;
            }
        }
    }
    ideas::create(&mut tx, viewer, "Dark mode", "People keep asking")
        .await
        .map_err(err)?;
    tx.commit().await?;
    Ok(())
}
