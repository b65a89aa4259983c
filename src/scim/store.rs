//! What the HTTP layer needs of a resource type's store (`users::Users`, `groups::Groups`),
//! so one set of handlers serves both, and the filtered, paged read they share.

use std::future::Future;

use crate::db::Arguments;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::Kind;
use super::error::ScimError;
use super::filter::{Bound, Compiled};
use super::patch::Patchable;
use crate::db;
use crate::tenancy::TenantTx;

pub type Result<T> = std::result::Result<T, ScimError>;

/// A resource type's validation, representation and storage.
pub trait Store: Send + Sync + 'static {
    const KIND: Kind;
    const PATCH: &'static Patchable;
    /// The audit entry's target type (`Member`, `Team`).
    const TARGET: &'static str;
    type Row: Clone + Send + Sync;
    type Input: Send + Sync;
    type Outcome: Send;

    fn parse(body: &Value) -> Result<Self::Input>;
    /// The writable attributes, as a PATCH starts from.
    fn writable(row: &Self::Row) -> Value;
    /// The resource as served; `base` is the workspace's SCIM base URL.
    fn resource(row: &Self::Row, base: &str) -> Value;
    /// The audit entry's target id.
    fn target_id(row: &Self::Row) -> String;
    /// The row a write left, if any.
    fn written(out: &Self::Outcome) -> Option<&Self::Row>;
    /// The audit entry's payload for a write.
    fn audit(before: Option<&Self::Row>, out: &Self::Outcome) -> Value;

    fn get(tx: &mut TenantTx, id: Uuid) -> impl Future<Output = Result<Option<Self::Row>>> + Send;
    fn list(
        tx: &mut TenantTx,
        filter: Option<&Compiled>,
        offset: i64,
        limit: i64,
    ) -> impl Future<Output = Result<(i64, Vec<Self::Row>)>> + Send;
    fn create(
        tx: &mut TenantTx,
        input: &Self::Input,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Self::Outcome>> + Send;
    fn replace(
        tx: &mut TenantTx,
        before: &Self::Row,
        input: &Self::Input,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Self::Outcome>> + Send;
    fn delete(
        tx: &mut TenantTx,
        before: &Self::Row,
    ) -> impl Future<Output = Result<Self::Outcome>> + Send;
}

/// The filter's values, then `extra`, as the arguments of a statement.
fn arguments(filter: Option<&Compiled>, extra: &[i64]) -> Result<db::Args> {
    let mut args = db::Args::default();
    let values = filter.map(|f| f.values.as_slice()).unwrap_or_default();
    let added = values
        .iter()
        .try_for_each(|v| match v {
            Bound::Text(t) => args.add(t.clone()),
            Bound::Bool(b) => args.add(*b),
        })
        .and_then(|()| extra.iter().try_for_each(|n| args.add(*n)));
    added.map_err(|e| ScimError::internal(&e))?;
    Ok(args)
}

/// One page of rows matching `filter`, and how many match in all. `from` is the FROM clause
/// up to a `WHERE` the filter's condition completes; `select` the columns.
pub async fn page<T>(
    tx: &mut TenantTx,
    (select, from, order): (&str, &str, &str),
    filter: Option<&Compiled>,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<T>)>
where
    T: db::Record,
{
    let cond = filter.map_or("true", |f| f.sql.as_str());
    let n = filter.map_or(0, |f| f.values.len());
    let total: i64 = db::query_scalar_with(
        &format!("SELECT count(*) FROM {from} {cond}"),
        arguments(filter, &[])?,
    )
    .fetch_one(tx.conn())
    .await?;
    let rows = db::query_as_with(
        &format!(
            "SELECT {select} FROM {from} {cond} ORDER BY {order} OFFSET ${} LIMIT ${}",
            n + 1,
            n + 2
        ),
        arguments(filter, &[offset, limit])?,
    )
    .fetch_all(tx.conn())
    .await?;
    Ok((total, rows))
}
