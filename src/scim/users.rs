//! SCIM Users in the workspace's own schema (`scim_users`), and what they do to membership:
//! an active User is a member (role `member` when added this way), an inactive or deleted
//! one is not — removed with everything that let them in, at once (`members::deprovision`),
//! and back in the teams of their groups when reactivated (`groups::rejoin`).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::ScimError;
use super::filter::Compiled;
use super::resource::{UserInput, UserRow};
use crate::db;
use crate::members::MemberError;
use crate::tenancy::TenantTx;

const COLS: &str =
    "id, user_id, user_name, external_id, active, attributes, created_at, updated_at";

/// What a write changed, for its audit entry.
#[derive(Debug, Default)]
pub struct Outcome {
    pub row: Option<UserRow>,
    /// Membership: `Some(true)` added, `Some(false)` removed.
    pub membership: Option<bool>,
    /// What the membership change recorded (tokens revoked, teams left or rejoined, …).
    pub changes: Vec<Value>,
}

fn member_error(e: MemberError) -> ScimError {
    match e {
        MemberError::LastOwner => ScimError::bad(
            "mutability",
            "this user is the workspace's last owner and cannot be deactivated or deleted: make someone else owner in Tessera first",
        ),
        MemberError::Db(e) => e.into(),
        other => ScimError::internal(&format!("{other:?}")),
    }
}

/// Refuses a `userName` another User of the workspace has (case-insensitively).
async fn unique_name(tx: &mut TenantTx, name: &str, except: Option<Uuid>) -> Result<(), ScimError> {
    let taken: Option<Uuid> = db::query_scalar(
        "SELECT id FROM scim_users WHERE lower(user_name) = lower($1) AND id IS DISTINCT FROM $2",
    )
    .bind(name)
    .bind(except)
    .fetch_optional(tx.conn())
    .await?;
    match taken {
        Some(id) => Err(ScimError::uniqueness(format!(
            "userName {name} is taken by user {id}"
        ))),
        None => Ok(()),
    }
}

/// Makes the account a member (role `member`; an existing membership is kept as it is).
async fn admit(tx: &mut TenantTx, user: Uuid) -> Result<bool, ScimError> {
    let added = db::query(
        "INSERT INTO public.memberships (tenant_id, user_id, role) VALUES ($1, $2, 'member')
         ON CONFLICT DO NOTHING",
    )
    .bind(tx.tenant_id())
    .bind(user)
    .execute(tx.conn())
    .await?
    .rows_affected();
    Ok(added > 0)
}

/// Takes the account out of the workspace; what the removal recorded.
async fn expel(tx: &mut TenantTx, user: Uuid, out: &mut Outcome) -> Result<(), ScimError> {
    if crate::members::deprovision(tx, user)
        .await
        .map_err(member_error)?
    {
        out.membership = Some(false);
        out.changes = tx.take_changes();
    }
    Ok(())
}

/// The User store, for the HTTP layer.
pub struct Users;

impl super::store::Store for Users {
    const KIND: super::Kind = super::Kind::User;
    const PATCH: &'static super::patch::Patchable = &super::patch::USER;
    const TARGET: &'static str = "Member";
    type Row = UserRow;
    type Input = UserInput;
    type Outcome = Outcome;

    fn parse(body: &Value) -> Result<UserInput, ScimError> {
        UserInput::parse(body)
    }
    fn writable(row: &UserRow) -> Value {
        row.writable()
    }
    fn resource(row: &UserRow, base: &str) -> Value {
        row.resource(base)
    }
    fn target_id(row: &UserRow) -> String {
        row.user_id.to_string()
    }
    fn written(out: &Outcome) -> Option<&UserRow> {
        out.row.as_ref()
    }
    fn audit(before: Option<&UserRow>, out: &Outcome) -> Value {
        let view = |r: &UserRow| {
            json!({ "id": r.id, "userName": r.user_name, "externalId": r.external_id,
                    "active": r.active, "attributes": r.attributes })
        };
        let membership = match out.membership {
            Some(true) => "added",
            Some(false) => "removed",
            None => "unchanged",
        };
        json!({
            "before": before.map(view),
            "after": out.row.as_ref().map(view),
            "membership": membership,
            "changes": out.changes,
        })
    }
    async fn get(tx: &mut TenantTx, id: Uuid) -> Result<Option<UserRow>, ScimError> {
        Ok(
            db::query_as(&format!("SELECT {COLS} FROM scim_users WHERE id = $1"))
                .bind(id)
                .fetch_optional(tx.conn())
                .await?,
        )
    }

    /// One page of the Users matching `filter`, oldest first, and how many match in all.
    async fn list(
        tx: &mut TenantTx,
        filter: Option<&Compiled>,
        offset: i64,
        limit: i64,
    ) -> Result<(i64, Vec<UserRow>), ScimError> {
        let query = (COLS, "scim_users WHERE", "created_at, id");
        super::store::page(tx, query, filter, offset, limit).await
    }

    async fn create(
        tx: &mut TenantTx,
        input: &UserInput,
        now: DateTime<Utc>,
    ) -> Result<Outcome, ScimError> {
        unique_name(tx, &input.user_name, None).await?;
        let account: Option<Uuid> = db::query_scalar("SELECT public.tessera_scim_account($1, $2)")
            .bind(&input.email)
            .bind(&input.display)
            .fetch_one(tx.conn())
            .await?;
        let account =
            account.ok_or_else(|| ScimError::internal(&"no workspace for the account"))?;
        let linked: Option<Uuid> = db::query_scalar("SELECT id FROM scim_users WHERE user_id = $1")
            .bind(account)
            .fetch_optional(tx.conn())
            .await?;
        if let Some(id) = linked {
            return Err(ScimError::uniqueness(format!(
                "{} is provisioned already, as user {id}",
                input.email
            )));
        }
        let mut out = Outcome::default();
        if input.active && admit(tx, account).await? {
            out.membership = Some(true);
        }
        let row: UserRow = db::query_as(&format!(
            "INSERT INTO scim_users (id, user_id, user_name, external_id, active, attributes, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLS}"
        ))
        .bind(Uuid::now_v7())
        .bind(account)
        .bind(&input.user_name)
        .bind(&input.external_id)
        .bind(input.active)
        .bind(&input.attributes)
        .bind(now)
        .fetch_one(tx.conn())
        .await?;
        out.row = Some(row);
        Ok(out)
    }

    /// Replaces a User's attributes (PUT, or the result of a PATCH). The account it is linked to
    /// stays: a changed address is recorded, not a different person.
    async fn replace(
        tx: &mut TenantTx,
        before: &UserRow,
        input: &UserInput,
        now: DateTime<Utc>,
    ) -> Result<Outcome, ScimError> {
        unique_name(tx, &input.user_name, Some(before.id)).await?;
        let mut out = Outcome::default();
        if before.active && !input.active {
            expel(tx, before.user_id, &mut out).await?;
        } else if !before.active && input.active {
            if admit(tx, before.user_id).await? {
                out.membership = Some(true);
            }
            // Back in the teams of the groups the provider kept them in.
            super::groups::rejoin(tx, before.id, before.user_id).await?;
            out.changes = tx.take_changes();
        }
        let row: UserRow = db::query_as(&format!(
            "UPDATE scim_users SET user_name = $2, external_id = $3, active = $4, attributes = $5,
                    version = version + 1, updated_at = greatest($6, updated_at)
             WHERE id = $1 RETURNING {COLS}"
        ))
        .bind(before.id)
        .bind(&input.user_name)
        .bind(&input.external_id)
        .bind(input.active)
        .bind(&input.attributes)
        .bind(now)
        .fetch_one(tx.conn())
        .await?;
        out.row = Some(row);
        Ok(out)
    }

    /// Deletes a User: the person is no longer a member; their account stays for their other
    /// workspaces.
    async fn delete(tx: &mut TenantTx, before: &UserRow) -> Result<Outcome, ScimError> {
        let mut out = Outcome::default();
        if before.active {
            expel(tx, before.user_id, &mut out).await?;
        }
        db::query("DELETE FROM scim_users WHERE id = $1")
            .bind(before.id)
            .execute(tx.conn())
            .await?;
        Ok(out)
    }
}
