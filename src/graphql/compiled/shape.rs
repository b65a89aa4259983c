//! From the statement's JSON to the GraphQL answer, in the plan's key order, each value
//! formatted as the schema's own scalars and enums format it.

use async_graphql::indexmap::IndexMap;
use async_graphql::{Name, ScalarType, Value};
use chrono::DateTime;
use serde_json::Value as Json;

use super::plan::{ConnItem, Connection, EdgeItem, Fields, Item, Leaf, PageItem};
use crate::graphql::tenant::MemberRole;
use crate::work::page::encode_cursor;
use crate::work::records::RecordStatus;
use crate::work::teams::Visibility;

/// The statement's answer did not have the planned shape: a defect, never the client's.
#[derive(Debug)]
pub(crate) struct Malformed(&'static str);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "compiled read returned an unexpected {}", self.0)
    }
}

/// Adds `value` under `name`, merging into what an earlier selection of the same key put
/// there, the way the executor merges repeated fields.
fn insert(target: &mut IndexMap<Name, Value>, name: Name, value: Value) {
    let Some(prev) = target.get_mut(&name) else {
        target.insert(name, value);
        return;
    };
    match (prev, value) {
        (Value::Object(prev), Value::Object(next)) => {
            for (k, v) in next {
                insert(prev, k, v);
            }
        }
        (Value::List(prev), Value::List(next)) => {
            for (prev, next) in prev.iter_mut().zip(next) {
                if let (Value::Object(prev), Value::Object(next)) = (prev, next) {
                    for (k, v) in next {
                        insert(prev, k, v);
                    }
                }
            }
        }
        _ => {}
    }
}

/// An object's answer: null when nothing was selected of it (every field skipped), as the
/// executor answers an empty selection.
fn finish(map: IndexMap<Name, Value>) -> Value {
    if map.is_empty() {
        Value::Null
    } else {
        Value::Object(map)
    }
}

fn leaf(leaf: Leaf, v: Option<&Json>) -> Result<Value, Malformed> {
    let v = v.ok_or(Malformed("row width"))?;
    if v.is_null() {
        return Ok(Value::Null);
    }
    Ok(match leaf {
        Leaf::Id | Leaf::Text => Value::String(v.as_str().ok_or(Malformed("text"))?.to_owned()),
        Leaf::Status => {
            let s = v.as_str().ok_or(Malformed("status"))?;
            async_graphql::resolver_utils::enum_value(RecordStatus::parse(s))
        }
        Leaf::Role => {
            let s = v.as_str().ok_or(Malformed("role"))?;
            async_graphql::resolver_utils::enum_value(MemberRole::parse(s))
        }
        Leaf::Visibility => {
            let s = v.as_str().ok_or(Malformed("visibility"))?;
            async_graphql::resolver_utils::enum_value(Visibility::parse(s))
        }
        // As `Json<serde_json::Value>` answers.
        Leaf::Json => async_graphql::to_value(v).unwrap_or_default(),
        Leaf::Time => {
            let micros = v.as_i64().ok_or(Malformed("timestamp"))?;
            DateTime::from_timestamp_micros(micros)
                .ok_or(Malformed("timestamp"))?
                .to_value()
        }
    })
}

/// An object from its row (a JSON array of the planned columns).
pub(crate) fn object(fields: &Fields, row: &Json) -> Result<Value, Malformed> {
    let cols = row.as_array().ok_or(Malformed("row"))?;
    let mut out = IndexMap::with_capacity(fields.len());
    for (name, item) in fields {
        let value = match item {
            Item::Typename(t) => Value::String((*t).to_owned()),
            Item::Leaf(l, col) => leaf(*l, cols.get(*col))?,
            Item::Object(fields, col, required) => match cols.get(*col) {
                Some(Json::Null) if *required => return Err(Malformed("missing object")),
                Some(Json::Null) => Value::Null,
                Some(row) => object(fields, row)?,
                None => return Err(Malformed("row width")),
            },
            Item::Connection(conn, col) => {
                connection(conn, cols.get(*col).ok_or(Malformed("row width"))?)?
            }
        };
        insert(&mut out, name.clone(), value);
    }
    Ok(finish(out))
}

/// A connection from its rows (a JSON array of rows, one more than the page when another
/// page follows).
pub(crate) fn connection(conn: &Connection, rows: &Json) -> Result<Value, Malformed> {
    let rows = rows.as_array().ok_or(Malformed("page"))?;
    let first = usize::try_from(conn.page.first).unwrap_or(0);
    let has_next = rows.len() > first;
    let rows = &rows[..rows.len().min(first)];
    let cursor = |row: &Json| -> Result<Value, Malformed> {
        let id = row
            .as_array()
            .and_then(|cols| cols.get(conn.id_col))
            .and_then(Json::as_str)
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .ok_or(Malformed("id"))?;
        Ok(Value::String(encode_cursor(id)))
    };
    let mut out = IndexMap::with_capacity(conn.items.len());
    for (name, item) in &conn.items {
        let value = match item {
            ConnItem::Typename => Value::String(conn.entity.connection_name().to_owned()),
            ConnItem::Nodes(fields) => Value::List(
                rows.iter()
                    .map(|row| object(fields, row))
                    .collect::<Result<_, _>>()?,
            ),
            ConnItem::Edges(items) => {
                let mut edges = Vec::with_capacity(rows.len());
                for row in rows {
                    let mut edge = IndexMap::with_capacity(items.len());
                    for (name, item) in items {
                        let value = match item {
                            EdgeItem::Typename => Value::String(conn.entity.edge_name().to_owned()),
                            EdgeItem::Cursor => cursor(row)?,
                            EdgeItem::Node(fields) => object(fields, row)?,
                        };
                        insert(&mut edge, name.clone(), value);
                    }
                    edges.push(finish(edge));
                }
                Value::List(edges)
            }
            ConnItem::PageInfo(items) => {
                let mut info = IndexMap::with_capacity(items.len());
                for (name, item) in items {
                    let value = match item {
                        PageItem::Typename => Value::String("PageInfo".to_owned()),
                        PageItem::HasNext => Value::Boolean(has_next),
                        PageItem::HasPrevious => Value::Boolean(conn.page.after.is_some()),
                        PageItem::Start => {
                            rows.first().map(cursor).transpose()?.unwrap_or_default()
                        }
                        PageItem::End => rows.last().map(cursor).transpose()?.unwrap_or_default(),
                    };
                    insert(&mut info, name.clone(), value);
                }
                finish(info)
            }
        };
        insert(&mut out, name.clone(), value);
    }
    Ok(finish(out))
}
