//! The work domain: teams, goals, projects, records and ideas of one workspace.
//!
//! Every function takes the request's [`TenantTx`](crate::tenancy::TenantTx), so it can only
//! ever see the current tenant's schema. Team visibility is applied in SQL, in the same
//! statement that reads the rows (`VISIBLE_TEAM` / `EDITABLE_TEAM`), so no list or by-id
//! read can return a row of a team the viewer may not see. Column lists are always
//! explicit: a prepared statement's result shape then stays the same across tenants on
//! different schema versions during a rollout.

use crate::db;

pub mod attachments;
pub mod goals;
pub mod history;
pub mod ideas;
pub mod page;
pub mod projects;
pub mod records;
pub mod teams;
pub mod versions;

pub use page::{Page, PageArgs};

/// Domain errors. Deliberately not `Display`: the GraphQL layer must map them through
/// `ApiError` (see `graphql::errors`), never stringify them.
#[derive(Debug)]
pub enum WorkError {
    NotFound,
    Forbidden(String),
    Invalid(String),
    Conflict(String),
    Db(db::Error),
}

impl From<db::Error> for WorkError {
    fn from(e: db::Error) -> Self {
        Self::Db(e)
    }
}

/// Team visibility for alias `tm`, with the viewer bound as `$1` (user id) and `$2`
/// (sees all teams): open and limited teams are readable by every member, restricted teams
/// only by their members (and owners/admins).
pub(crate) const VISIBLE_TEAM: &str = "($2 OR tm.visibility <> 'restricted' OR EXISTS \
     (SELECT 1 FROM team_members x WHERE x.team_id = tm.id AND x.user_id = $1))";

/// Who may edit a team's entities: everyone on open teams, team members on limited and
/// restricted ones (and owners/admins).
pub(crate) const EDITABLE_TEAM: &str = "($2 OR tm.visibility = 'open' OR EXISTS \
     (SELECT 1 FROM team_members x WHERE x.team_id = tm.id AND x.user_id = $1))";

pub(crate) fn check_text(
    field: &str,
    value: &str,
    max: usize,
    allow_empty: bool,
) -> Result<(), WorkError> {
    let n = value.chars().count();
    if (!allow_empty && value.trim().is_empty()) || n > max {
        let min = if allow_empty { 0 } else { 1 };
        return Err(WorkError::Invalid(format!(
            "{field} must be {min} to {max} characters"
        )));
    }
    Ok(())
}

/// Maps a foreign-key or check violation to a client error instead of an internal one.
pub(crate) fn map_constraint(e: db::Error) -> WorkError {
    match db::violation(&e) {
        Some(db::Violation::ForeignKey) => {
            return WorkError::Invalid("a referenced object does not exist".into());
        }
        Some(db::Violation::Check) => return WorkError::Invalid("a value is out of range".into()),
        Some(db::Violation::Unique) => return WorkError::Conflict("already exists".into()),
        None => {}
    }
    WorkError::Db(e)
}
