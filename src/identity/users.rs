//! Users are global; memberships attach them to workspaces with a role. These functions run
//! on the migrator connection (CLI and demo provisioning).

use uuid::Uuid;

use crate::authz::Role;
use crate::db;
use crate::tenancy::{Standing, TenantTx};

#[derive(Debug, Clone, db::FromRow)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
}

/// Whether `e` looks like an email address: 3 to 254 characters, no whitespace or control
/// character, a local part and a dotted domain. (Delivery proves the rest.)
pub fn valid_email(e: &str) -> bool {
    let e = e.trim();
    (3..=254).contains(&e.len())
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
}

/// Returns the user with this email, creating it if needed.
pub async fn ensure_user(
    conn: &mut db::Conn,
    email: &str,
    display_name: &str,
) -> Result<User, db::Error> {
    db::query_as(
        "WITH ins AS (
             INSERT INTO public.users (id, email, display_name) VALUES ($1, $2, $3)
             ON CONFLICT ((lower(email))) DO NOTHING
             RETURNING id, email, display_name)
         SELECT id, email, display_name FROM ins
         UNION ALL
         SELECT id, email, display_name FROM public.users WHERE lower(email) = lower($2)
         LIMIT 1",
    )
    .bind(Uuid::now_v7())
    .bind(email.trim())
    .bind(display_name)
    .fetch_one(conn)
    .await
}

/// Adds (or re-roles) a member.
pub async fn add_member(
    conn: &mut db::Conn,
    tenant_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> Result<(), db::Error> {
    db::query(
        "INSERT INTO public.memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = EXCLUDED.role",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(role.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// A workspace member as the tenant API shows it.
#[derive(Debug, Clone, db::FromRow)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: String,
}

const MEMBER_COLS: &str = "m.user_id, u.email, u.display_name, m.role";

/// Members of the transaction's workspace among `ids`. RLS limits both tables to the
/// workspace, and the explicit tenant filter says so again.
pub async fn members_by_ids(tx: &mut TenantTx, ids: &[Uuid]) -> Result<Vec<Member>, db::Error> {
    let tenant_id = tx.tenant_id();
    db::query_as(&format!(
        "SELECT {MEMBER_COLS} FROM public.memberships m JOIN public.users u ON u.id = m.user_id
         WHERE m.tenant_id = $1 AND m.user_id = ANY($2)"
    ))
    .bind(tenant_id)
    .bind(ids)
    .fetch_all(tx.conn())
    .await
}

/// A page of members, ordered by user id.
pub async fn list_members(
    tx: &mut TenantTx,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Member>, db::Error> {
    let tenant_id = tx.tenant_id();
    db::query_as(&format!(
        "SELECT {MEMBER_COLS} FROM public.memberships m JOIN public.users u ON u.id = m.user_id
         WHERE m.tenant_id = $1 AND ($2::uuid IS NULL OR m.user_id > $2)
         ORDER BY m.user_id LIMIT $3"
    ))
    .bind(tenant_id)
    .bind(after)
    .bind(limit)
    .fetch_all(tx.conn())
    .await
}

/// The workspaces of a user, for the global endpoint (RLS: only this user's memberships).
/// `only`: restrict to one workspace (an API token's).
pub async fn workspaces_of(
    conn: &mut db::Conn,
    user_id: Uuid,
    only: Option<Uuid>,
) -> Result<Vec<(String, String, String)>, db::Error> {
    db::query_as(
        "SELECT t.slug, t.name, m.role FROM public.memberships m
         JOIN public.tenants t ON t.id = m.tenant_id AND t.state = 'active'
         WHERE m.user_id = $1 AND ($2::uuid IS NULL OR t.id = $2) ORDER BY t.slug",
    )
    .bind(user_id)
    .bind(only)
    .fetch_all(conn)
    .await
}

/// One user (global endpoint; RLS shows the runtime role only `tessera.user_id`).
pub async fn get_user(conn: &mut db::Conn, user_id: Uuid) -> Result<Option<User>, db::Error> {
    db::query_as("SELECT id, email, display_name FROM public.users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

/// The role the tenant entry found for a signed-in user (`standing` of
/// [`crate::tenancy::Entrant::Member`]; the entry also recorded the user
/// transaction-locally). `None`: not a member.
pub fn member_role(standing: Option<&Standing>) -> Option<Role> {
    standing
        .filter(|s| s.token.is_none())
        .and_then(|s| Role::parse(&s.role))
}
