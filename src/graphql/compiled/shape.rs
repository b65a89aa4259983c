//! From the statement's JSON to the GraphQL answer, in the plan's key order, each value
//! formatted as the schema's own scalars and enums format it.
//!
//! The JSON is read where it lies: each row is split into its columns as slices of the
//! statement's text ([`RawValue`]), and each leaf is parsed from its slice straight into the
//! answer's value, without a `serde_json::Value` tree in between (that tree cost an
//! allocation per string and per row that the answer then copied again).

use async_graphql::indexmap::IndexMap;
use async_graphql::{Name, ScalarType, Value};
use chrono::DateTime;
use serde_json::value::RawValue;

use super::plan::{ConnItem, Connection, EdgeItem, EnvItem, Fields, Item, Leaf, PageItem};
use crate::crypto::store::SecretKind;
use crate::graphql::tenant::member_role::MemberRole;
use crate::work::page::encode_cursor;
use crate::work::records::RecordStatus;
use crate::work::teams::Visibility;

/// What the request knows that no statement does: the fields the server derives from its
/// own settings and the entry's answer ([`EnvItem`]).
pub(crate) struct Env<'a> {
    /// The server's public origin.
    pub(crate) origin: &'a str,
    pub(crate) slug: &'a str,
    /// The workspace accepts only sessions from its own SSO (the entry's answer).
    pub(crate) sso_only: bool,
}

impl Env<'_> {
    /// As the resolvers answer them (`graphql::tenant::scim`, `graphql::tenant::sso`).
    fn value(&self, item: EnvItem) -> Value {
        let (origin, slug) = (self.origin, self.slug);
        match item {
            EnvItem::ScimBaseUrl => Value::String(crate::scim::tokens::base_url(origin, slug)),
            EnvItem::SsoCallbackUrl => {
                Value::String(crate::identity::sso::callback_url(origin, slug))
            }
            EnvItem::SsoStartUrl => Value::String(crate::identity::sso::start_url(origin, slug)),
            EnvItem::SsoOnly => Value::Boolean(self.sso_only),
        }
    }
}

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

/// The columns of a row (a JSON array), each a slice of the statement's text.
fn columns(row: &RawValue) -> Result<Vec<&RawValue>, Malformed> {
    serde_json::from_str(row.get()).map_err(|_| Malformed("row"))
}

fn is_null(v: &RawValue) -> bool {
    v.get() == "null"
}

fn parse<'a, T: serde::Deserialize<'a>>(
    v: &'a RawValue,
    what: &'static str,
) -> Result<T, Malformed> {
    serde_json::from_str(v.get()).map_err(|_| Malformed(what))
}

/// A number, boolean or timestamp: its JSON, or the JSON string of its text, as a row of
/// text arrays carries it (`sql::element`). Neither form has escapes.
fn scalar<T: std::str::FromStr>(v: &RawValue, what: &'static str) -> Result<T, Malformed> {
    let s = v.get();
    let s = s
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s);
    s.parse().map_err(|_| Malformed(what))
}

fn leaf(leaf: Leaf, v: Option<&&RawValue>) -> Result<Value, Malformed> {
    let v: &RawValue = v.ok_or(Malformed("row width"))?;
    if is_null(v) {
        return Ok(Value::Null);
    }
    Ok(match leaf {
        Leaf::Id | Leaf::Text => Value::String(parse(v, "text")?),
        // Stored as the enums' own names: no escapes, read in place.
        Leaf::Status => {
            async_graphql::resolver_utils::enum_value(RecordStatus::parse(parse(v, "status")?))
        }
        Leaf::Role => {
            async_graphql::resolver_utils::enum_value(MemberRole::parse(parse(v, "role")?))
        }
        Leaf::Visibility => {
            async_graphql::resolver_utils::enum_value(Visibility::parse(parse(v, "visibility")?))
        }
        // As `Json<serde_json::Value>` answers: through `serde_json::Value`, so that numbers
        // keep exactly the form the resolvers give them.
        Leaf::Json => {
            async_graphql::to_value(parse::<serde_json::Value>(v, "json")?).unwrap_or_default()
        }
        Leaf::Int => Value::Number(scalar::<i64>(v, "integer")?.into()),
        Leaf::Bool => Value::Boolean(scalar(v, "boolean")?),
        Leaf::Texts => Value::List(
            parse::<Vec<String>>(v, "list of text")?
                .into_iter()
                .map(Value::String)
                .collect(),
        ),
        Leaf::SecretKind => async_graphql::resolver_utils::enum_value(
            SecretKind::parse(parse(v, "secret kind")?).ok_or(Malformed("secret kind"))?,
        ),
        Leaf::MessageId => Value::String(crate::webhooks::message_id(parse(v, "message id")?)),
        Leaf::EnumName => {
            let name: &str = parse(v, "enum")?;
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
                return Err(Malformed("enum"));
            }
            Value::Enum(Name::new(name))
        }
        Leaf::Time => DateTime::from_timestamp_micros(scalar(v, "timestamp")?)
            .ok_or(Malformed("timestamp"))?
            .to_value(),
    })
}

/// An object from its row (a JSON array of the planned columns).
pub(crate) fn object(fields: &Fields, row: &RawValue, env: &Env<'_>) -> Result<Value, Malformed> {
    object_of(fields, &columns(row)?, env)
}

fn object_of(fields: &Fields, cols: &[&RawValue], env: &Env<'_>) -> Result<Value, Malformed> {
    let mut out = IndexMap::with_capacity(fields.len());
    for (name, item) in fields {
        let value = match item {
            Item::Typename(t) => Value::String((*t).to_owned()),
            Item::Leaf(l, col) => leaf(*l, cols.get(*col))?,
            Item::Object(fields, col, required) => match cols.get(*col) {
                Some(row) if is_null(row) && *required => {
                    return Err(Malformed("missing object"));
                }
                Some(row) if is_null(row) => Value::Null,
                Some(row) => object(fields, row, env)?,
                None => return Err(Malformed("row width")),
            },
            Item::Connection(conn, col) => {
                connection(conn, cols.get(*col).ok_or(Malformed("row width"))?, env)?
            }
            Item::List(fields, col) => {
                list(fields, cols.get(*col).ok_or(Malformed("row width"))?, env)?
            }
            Item::Env(item) => env.value(*item),
        };
        insert(&mut out, name.clone(), value);
    }
    Ok(finish(out))
}

/// A list of objects from its rows (a JSON array of rows).
pub(crate) fn list(fields: &Fields, rows: &RawValue, env: &Env<'_>) -> Result<Value, Malformed> {
    let rows: Vec<&RawValue> = parse(rows, "list")?;
    Ok(Value::List(
        rows.into_iter()
            .map(|row| object(fields, row, env))
            .collect::<Result<_, _>>()?,
    ))
}

/// A connection's rows, each split into its columns, and whether another page follows: the
/// statement fetches one row beyond the page.
fn page<'a>(
    conn: &Connection,
    rows: &'a RawValue,
) -> Result<(Vec<Vec<&'a RawValue>>, bool), Malformed> {
    let rows: Vec<&RawValue> = parse(rows, "page")?;
    let first = usize::try_from(conn.page.first).unwrap_or(0);
    let has_next = rows.len() > first;
    let rows = rows[..rows.len().min(first)]
        .iter()
        .map(|row| columns(row))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((rows, has_next))
}

/// The cursor of a row of the connection: from its id.
fn cursor(conn: &Connection, cols: &[&RawValue]) -> Result<String, Malformed> {
    let id = cols
        .get(conn.id_col)
        .and_then(|id| parse::<&str>(id, "id").ok())
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .ok_or(Malformed("id"))?;
    Ok(encode_cursor(id))
}

/// A connection from its rows (a JSON array of rows, one more than the page when another
/// page follows).
pub(crate) fn connection(
    conn: &Connection,
    rows: &RawValue,
    env: &Env<'_>,
) -> Result<Value, Malformed> {
    let (rows, has_next) = page(conn, rows)?;
    let cursor = |cols: &Vec<&RawValue>| cursor(conn, cols).map(Value::String);
    let mut out = IndexMap::with_capacity(conn.items.len());
    for (name, item) in &conn.items {
        let value = match item {
            ConnItem::Typename => Value::String(conn.entity.connection_name().to_owned()),
            ConnItem::Nodes(fields) => Value::List(
                rows.iter()
                    .map(|cols| object_of(fields, cols, env))
                    .collect::<Result<_, _>>()?,
            ),
            ConnItem::Edges(items) => {
                let mut edges = Vec::with_capacity(rows.len());
                for cols in &rows {
                    let mut edge = IndexMap::with_capacity(items.len());
                    for (name, item) in items {
                        let value = match item {
                            EdgeItem::Typename => Value::String(conn.entity.edge_name().to_owned()),
                            EdgeItem::Cursor => cursor(cols)?,
                            EdgeItem::Node(fields) => object_of(fields, cols, env)?,
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

/// Whether each object of the plan has every response key once, so that its answer can be
/// written straight as JSON ([`write_object`]) with nothing to merge. Repeated keys (the
/// same field selected twice, or through two fragments) go through values and [`insert`].
pub(crate) fn writable(fields: &Fields) -> bool {
    distinct(fields.iter().map(|(name, _)| name))
        && fields.iter().all(|(_, item)| match item {
            Item::Object(fields, ..) | Item::List(fields, _) => writable(fields),
            Item::Connection(conn, _) => writable_connection(conn),
            Item::Typename(_) | Item::Leaf(..) | Item::Env(_) => true,
        })
}

pub(crate) fn writable_connection(conn: &Connection) -> bool {
    distinct(conn.items.iter().map(|(name, _)| name))
        && conn.items.iter().all(|(_, item)| match item {
            ConnItem::Typename => true,
            ConnItem::Nodes(fields) => writable(fields),
            ConnItem::Edges(items) => {
                distinct(items.iter().map(|(name, _)| name))
                    && items.iter().all(|(_, item)| match item {
                        EdgeItem::Node(fields) => writable(fields),
                        EdgeItem::Typename | EdgeItem::Cursor => true,
                    })
            }
            ConnItem::PageInfo(items) => distinct(items.iter().map(|(name, _)| name)),
        })
}

fn distinct<'a>(names: impl Iterator<Item = &'a Name>) -> bool {
    let mut seen: Vec<&str> = Vec::new();
    for name in names {
        if seen.contains(&name.as_str()) {
            return false;
        }
        seen.push(name.as_str());
    }
    true
}

/// Writes `value` as JSON.
fn write_value<T: serde::Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> Result<(), Malformed> {
    serde_json::to_writer(out, value).map_err(|_| Malformed("value"))
}

/// Writes a leaf: an id or a text as PostgreSQL wrote the string (already valid JSON,
/// checked when the row was split), anything else as [`leaf`] reads it.
fn write_leaf(l: Leaf, v: Option<&&RawValue>, out: &mut Vec<u8>) -> Result<(), Malformed> {
    match (l, v) {
        (Leaf::Id | Leaf::Text, Some(v)) if v.get().starts_with('"') => {
            out.extend_from_slice(v.get().as_bytes());
            Ok(())
        }
        _ => write_value(out, &leaf(l, v)?),
    }
}

/// Writes the answer [`object`] would give, as JSON. The plan must be [`writable`].
pub(crate) fn write_object(
    fields: &Fields,
    row: &RawValue,
    env: &Env<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Malformed> {
    write_object_of(fields, &columns(row)?, env, out)
}

fn write_object_of(
    fields: &Fields,
    cols: &[&RawValue],
    env: &Env<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Malformed> {
    write_members(out, fields, |item, out| match item {
        Item::Typename(t) => write_value(out, t),
        Item::Leaf(l, col) => write_leaf(*l, cols.get(*col), out),
        Item::Object(fields, col, required) => match cols.get(*col) {
            Some(row) if is_null(row) && *required => Err(Malformed("missing object")),
            Some(row) if is_null(row) => write_value(out, &()),
            Some(row) => write_object(fields, row, env, out),
            None => Err(Malformed("row width")),
        },
        Item::Connection(conn, col) => write_connection(
            conn,
            cols.get(*col).ok_or(Malformed("row width"))?,
            env,
            out,
        ),
        Item::List(fields, col) => write_list(
            fields,
            cols.get(*col).ok_or(Malformed("row width"))?,
            env,
            out,
        ),
        Item::Env(item) => write_value(out, &env.value(*item)),
    })
}

/// Writes a JSON array of `items`, each by `write`.
fn write_array<T>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = T>,
    mut write: impl FnMut(T, &mut Vec<u8>) -> Result<(), Malformed>,
) -> Result<(), Malformed> {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(item, out)?;
    }
    out.push(b']');
    Ok(())
}

/// Writes a JSON object of `members` (null when there are none, as [`finish`] answers),
/// each value by `write`.
fn write_members<'a, T: 'a>(
    out: &mut Vec<u8>,
    members: &'a [(Name, T)],
    mut write: impl FnMut(&'a T, &mut Vec<u8>) -> Result<(), Malformed>,
) -> Result<(), Malformed> {
    if members.is_empty() {
        out.extend_from_slice(b"null");
        return Ok(());
    }
    out.push(b'{');
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // A GraphQL name: nothing to escape.
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        write(value, out)?;
    }
    out.push(b'}');
    Ok(())
}

/// Writes the answer [`list`] would give, as JSON.
pub(crate) fn write_list(
    fields: &Fields,
    rows: &RawValue,
    env: &Env<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Malformed> {
    let rows: Vec<&RawValue> = parse(rows, "list")?;
    write_array(out, rows, |row, out| write_object(fields, row, env, out))
}

/// Writes the answer [`connection`] would give, as JSON.
pub(crate) fn write_connection(
    conn: &Connection,
    rows: &RawValue,
    env: &Env<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Malformed> {
    let (rows, has_next) = page(conn, rows)?;
    let cursor = |cols: Option<&Vec<&RawValue>>, out: &mut Vec<u8>| match cols {
        Some(cols) => write_value(out, &cursor(conn, cols)?),
        None => write_value(out, &()),
    };
    write_members(out, &conn.items, |item, out| match item {
        ConnItem::Typename => write_value(out, conn.entity.connection_name()),
        ConnItem::Nodes(fields) => write_array(out, &rows, |cols, out| {
            write_object_of(fields, cols, env, out)
        }),
        ConnItem::Edges(items) => write_array(out, &rows, |cols, out| {
            write_members(out, items, |item, out| match item {
                EdgeItem::Typename => write_value(out, conn.entity.edge_name()),
                EdgeItem::Cursor => cursor(Some(cols), out),
                EdgeItem::Node(fields) => write_object_of(fields, cols, env, out),
            })
        }),
        ConnItem::PageInfo(items) => write_members(out, items, |item, out| match item {
            PageItem::Typename => write_value(out, "PageInfo"),
            PageItem::HasNext => write_value(out, &has_next),
            PageItem::HasPrevious => write_value(out, &conn.page.after.is_some()),
            PageItem::Start => cursor(rows.first(), out),
            PageItem::End => cursor(rows.last(), out),
        }),
    })
}
