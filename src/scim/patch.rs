//! PATCH (RFC 7644 §3.5.2) applied to a User's or a Group's writable attributes. The result
//! is validated like a PUT body, so a PATCH can never store what a PUT could not.
//!
//! Paths: an attribute (`displayName`, `active`), a sub-attribute (`name.givenName`), a
//! multi-valued attribute (`emails`, `members`) or its elements chosen by one comparison
//! (`emails[type eq "work"]`, optionally `.value`; `members[value eq "…"]`), each optionally
//! prefixed by the schema's URN. Without a path, the value is an object of attributes (what
//! Entra ID sends to deactivate: `{"op": "Replace", "value": {"active": false}}`; read-only
//! attributes in it, such as the `id` Okta sends when it renames a group, are skipped).
//! Operation names are case-insensitive. Adding an element whose `value` is already there
//! replaces it; `remove` on `members` with a value list removes those members (as Entra ID
//! sends it), and removing a member who is not there changes nothing, so a provider's retry
//! is harmless.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::resource::USER_SCHEMA;

/// What a PATCH may touch in one resource type.
#[derive(Debug)]
pub struct Patchable {
    urn: &'static str,
    noun: &'static str,
    writable: &'static [&'static str],
    read_only: &'static [&'static str],
    /// The multi-valued attribute whose elements a path may select.
    list: &'static str,
    /// The complex attribute with sub-attributes, if any.
    complex: Option<&'static str>,
    /// Whether removing elements that match nothing is a `noTarget` error.
    strict_remove: bool,
}

pub const USER: Patchable = Patchable {
    urn: USER_SCHEMA,
    noun: "User",
    writable: &[
        "userName",
        "externalId",
        "active",
        "displayName",
        "name",
        "emails",
    ],
    read_only: &["id", "meta", "groups", "schemas"],
    list: "emails",
    complex: Some("name"),
    strict_remove: true,
};

pub const GROUP: Patchable = Patchable {
    urn: super::group::GROUP_SCHEMA,
    noun: "Group",
    writable: &["displayName", "externalId", "members"],
    read_only: &["id", "meta", "schemas"],
    list: "members",
    complex: None,
    strict_remove: false,
};

const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const MAX_OPERATIONS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// A parsed path: `attr`, `attr.sub`, `attr[key eq value]` or `attr[key eq value].sub`.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    attr: String,
    select: Option<(String, Value)>,
    sub: Option<String>,
}

fn bad_path(detail: impl Into<String>) -> ScimError {
    ScimError::bad("invalidPath", detail)
}

impl Patchable {
    /// The stored spelling of a known writable attribute (names are case-insensitive).
    fn known(&self, name: &str) -> Result<&'static str, ScimError> {
        if let Some(k) = self.writable.iter().find(|k| k.eq_ignore_ascii_case(name)) {
            return Ok(k);
        }
        if self.is_read_only(name) {
            return Err(ScimError::bad(
                "mutability",
                format!("{name} cannot be changed"),
            ));
        }
        Err(bad_path(format!(
            "{name} is not an attribute of this server's {}",
            self.noun
        )))
    }

    fn is_read_only(&self, name: &str) -> bool {
        self.read_only.iter().any(|k| k.eq_ignore_ascii_case(name))
    }

    fn parse_path(&self, path: &str) -> Result<Target, ScimError> {
        let p = super::strip_urn(path, self.urn);
        if let Some(open) = p.find('[') {
            let close = p
                .rfind(']')
                .filter(|c| *c > open)
                .ok_or_else(|| bad_path(format!("{path}: a [ is not closed")))?;
            let attr = self.known(&p[..open])?;
            let inner = p[open + 1..close].trim();
            let mut parts = inner.splitn(3, ' ');
            let (Some(key), Some(op), Some(raw)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(bad_path(format!(
                    "{path}: write the selection as [key eq \"value\"]"
                )));
            };
            if !op.eq_ignore_ascii_case("eq") {
                return Err(bad_path(format!("{path}: only eq selects elements")));
            }
            let value: Value = serde_json::from_str(raw.trim())
                .map_err(|_| bad_path(format!("{path}: the value to select by is not JSON")))?;
            let rest = &p[close + 1..];
            let sub = match rest.strip_prefix('.') {
                Some(s) if !s.is_empty() => Some(s.to_owned()),
                None if rest.is_empty() => None,
                _ => return Err(bad_path(format!("{path}: unexpected {rest}"))),
            };
            return Ok(Target {
                attr: attr.to_owned(),
                select: Some((key.to_owned(), value)),
                sub,
            });
        }
        let (attr, sub) = match p.split_once('.') {
            Some((a, s)) => (a, Some(s.to_owned())),
            None => (p, None),
        };
        Ok(Target {
            attr: self.known(attr)?.to_owned(),
            select: None,
            sub,
        })
    }
}

fn get_ci<'a>(o: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Value> {
    let k = o.keys().find(|k| k.eq_ignore_ascii_case(key))?.clone();
    o.get_mut(&k)
}

fn remove_ci(o: &mut Map<String, Value>, key: &str) {
    if let Some(k) = o.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned() {
        o.remove(&k);
    }
}

fn matches(element: &Value, (key, value): &(String, Value)) -> bool {
    element.as_object().is_some_and(|o| {
        o.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case(key)
                && match (v, value) {
                    (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
                    (a, b) => a == b,
                }
        })
    })
}

/// The `value` of a list element, for matching elements by it.
fn element_value(e: &Value) -> Option<(String, Value)> {
    let o = e.as_object()?;
    super::resource::attr(o, "value").map(|v| ("value".to_owned(), v.clone()))
}

fn apply_one(
    kind: &Patchable,
    doc: &mut Map<String, Value>,
    op: Op,
    path: Option<&str>,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let Some(path) = path else {
        // No path: an object of attributes.
        if op == Op::Remove {
            return Err(ScimError::bad("noTarget", "remove needs a path"));
        }
        let Some(Value::Object(attrs)) = value else {
            return Err(ScimError::bad(
                "invalidValue",
                "without a path, the value is an object of attributes",
            ));
        };
        for (k, v) in attrs {
            let k = super::strip_urn(&k, kind.urn);
            if !kind.is_read_only(k) {
                apply_one(kind, doc, op, Some(k), Some(v))?;
            }
        }
        return Ok(());
    };
    let t = kind.parse_path(path)?;
    let need_value = || {
        value
            .clone()
            .ok_or_else(|| ScimError::bad("invalidValue", format!("{op:?} {path} needs a value")))
    };
    let list_of = |v: Value| match v {
        Value::Array(a) => a,
        one => vec![one],
    };
    match (&t.select, &t.sub) {
        (None, None) if t.attr == kind.list && op != Op::Replace => {
            let gone = match (op, &value) {
                (Op::Add, _) => None,
                // Entra ID: remove `members` with the members to remove as the value.
                (Op::Remove, Some(v @ (Value::Array(_) | Value::Object(_)))) => {
                    Some(list_of(v.clone()))
                }
                (Op::Remove, _) => {
                    remove_ci(doc, &t.attr);
                    return Ok(());
                }
                (Op::Replace, _) => None,
            };
            let list = doc
                .entry(kind.list)
                .or_insert_with(|| Value::Array(Vec::new()));
            if !list.is_array() {
                *list = Value::Array(Vec::new());
            }
            let Value::Array(a) = list else {
                return Ok(());
            };
            if let Some(gone) = gone {
                let keys: Vec<(String, Value)> = gone.iter().filter_map(element_value).collect();
                a.retain(|e| !keys.iter().any(|k| matches(e, k)));
                return Ok(());
            }
            for v in list_of(need_value()?) {
                match element_value(&v).and_then(|k| a.iter().position(|e| matches(e, &k))) {
                    Some(i) => a[i] = v,
                    None => a.push(v),
                }
            }
        }
        (None, None) => match op {
            Op::Remove => remove_ci(doc, &t.attr),
            Op::Add if Some(t.attr.as_str()) == kind.complex => {
                let Value::Object(new) = need_value()? else {
                    return Err(ScimError::bad(
                        "invalidValue",
                        format!("{} is an object", t.attr),
                    ));
                };
                let complex = doc
                    .entry(t.attr.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                match complex {
                    Value::Object(o) => o.extend(new),
                    other => *other = Value::Object(new),
                }
            }
            Op::Add | Op::Replace => {
                remove_ci(doc, &t.attr);
                doc.insert(t.attr.clone(), need_value()?);
            }
        },
        (None, Some(sub)) => {
            if Some(t.attr.as_str()) != kind.complex {
                return Err(bad_path(format!(
                    "{path}: {} has no sub-attributes here",
                    t.attr
                )));
            }
            let complex = doc
                .entry(t.attr.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(o) = complex else {
                return Err(ScimError::bad(
                    "invalidValue",
                    format!("{} is an object", t.attr),
                ));
            };
            match op {
                Op::Remove => remove_ci(o, sub),
                Op::Add | Op::Replace => {
                    remove_ci(o, sub);
                    o.insert(sub.clone(), need_value()?);
                }
            }
        }
        (Some(select), sub) => {
            if t.attr != kind.list {
                return Err(bad_path(format!(
                    "{path}: only {} can be selected from",
                    kind.list
                )));
            }
            let list = doc
                .entry(kind.list)
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(a) = list else {
                return Err(ScimError::bad(
                    "invalidValue",
                    format!("{} is a list", kind.list),
                ));
            };
            let hits: Vec<usize> = (0..a.len()).filter(|i| matches(&a[*i], select)).collect();
            match (op, sub) {
                (Op::Remove, None) => {
                    if hits.is_empty() && kind.strict_remove {
                        return Err(ScimError::bad(
                            "noTarget",
                            format!("nothing in {} matches {path}", kind.list),
                        ));
                    }
                    let mut i = 0;
                    a.retain(|_| {
                        i += 1;
                        !hits.contains(&(i - 1))
                    });
                }
                (Op::Remove, Some(sub)) => {
                    for i in hits {
                        if let Some(o) = a[i].as_object_mut() {
                            remove_ci(o, sub);
                        }
                    }
                }
                (_, None) => {
                    let v = need_value()?;
                    if hits.is_empty() {
                        a.push(v);
                    } else {
                        for i in hits {
                            a[i] = v.clone();
                        }
                    }
                }
                (_, Some(sub)) => {
                    let v = need_value()?;
                    if hits.is_empty() {
                        // Entra adds `emails[type eq "work"].value` to a user without one.
                        let mut o = Map::new();
                        o.insert(select.0.clone(), select.1.clone());
                        o.insert(sub.clone(), v);
                        a.push(Value::Object(o));
                    } else {
                        for i in hits {
                            if let Some(o) = a[i].as_object_mut() {
                                match get_ci(o, sub) {
                                    Some(slot) => *slot = v.clone(),
                                    None => {
                                        o.insert(sub.clone(), v.clone());
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Applies a PatchOp request body to the writable attributes of a resource of `kind` (see
/// `UserRow::writable`, `GroupRow::writable`).
pub fn apply(kind: &Patchable, writable: &Value, body: &Value) -> Result<Value, ScimError> {
    let o = body
        .as_object()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "a PATCH body is a PatchOp object"))?;
    let is_patch = super::resource::attr(o, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_SCHEMA))
            })
        });
    if !is_patch {
        return Err(ScimError::bad(
            "invalidSyntax",
            format!("schemas must include {PATCH_SCHEMA}"),
        ));
    }
    let ops = super::resource::attr(o, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::bad("invalidSyntax", "Operations is a list of operations"))?;
    if ops.is_empty() || ops.len() > MAX_OPERATIONS {
        return Err(ScimError::bad(
            "invalidSyntax",
            format!("1 to {MAX_OPERATIONS} operations"),
        ));
    }
    let mut doc = writable.as_object().cloned().unwrap_or_default();
    for raw in ops {
        let op_obj = raw
            .as_object()
            .ok_or_else(|| ScimError::bad("invalidSyntax", "each operation is an object"))?;
        let op = match super::resource::attr(op_obj, "op").and_then(Value::as_str) {
            Some(s) if s.eq_ignore_ascii_case("add") => Op::Add,
            Some(s) if s.eq_ignore_ascii_case("replace") => Op::Replace,
            Some(s) if s.eq_ignore_ascii_case("remove") => Op::Remove,
            _ => {
                return Err(ScimError::bad(
                    "invalidSyntax",
                    "op is add, replace or remove",
                ));
            }
        };
        let path = match super::resource::attr(op_obj, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => Some(p.as_str()),
            Some(_) => return Err(bad_path("path is a string")),
        };
        let value = super::resource::attr(op_obj, "value").cloned();
        apply_one(kind, &mut doc, op, path, value)?;
    }
    Ok(Value::Object(doc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(ops: Value) -> Value {
        json!({ "schemas": [PATCH_SCHEMA], "Operations": ops })
    }

    fn user() -> Value {
        json!({ "userName": "ada@example.com", "active": true, "displayName": "Ada",
                "name": { "givenName": "Ada" },
                "emails": [{ "value": "ada@example.com", "type": "work", "primary": true }] })
    }

    #[test]
    fn what_providers_send_applies() {
        // Entra: deactivate without a path, capitalised op, string boolean.
        let out = apply(
            &USER,
            &user(),
            &patch(json!([{ "op": "Replace", "value": { "active": "False" } }])),
        )
        .unwrap();
        assert_eq!(out["active"], "False");
        // Okta: replace active with a path.
        let out = apply(
            &USER,
            &user(),
            &patch(json!([{ "op": "replace", "path": "active", "value": false }])),
        )
        .unwrap();
        assert_eq!(out["active"], false);
        let out = apply(
            &USER,
            &user(),
            &patch(json!([
                { "op": "replace", "path": "name.familyName", "value": "Lovelace" },
                { "op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada@analytical.example" },
                { "op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:User:displayName", "value": "Ada L." },
                { "op": "remove", "path": "externalId" }
            ])),
        )
        .unwrap();
        assert_eq!(
            out["name"],
            json!({ "givenName": "Ada", "familyName": "Lovelace" })
        );
        assert_eq!(out["emails"][0]["value"], "ada@analytical.example");
        assert_eq!(out["displayName"], "Ada L.");
        let out = apply(
            &USER,
            &user(),
            &patch(json!([{ "op": "add", "path": "emails", "value": [{ "value": "b@c.d" }] }])),
        )
        .unwrap();
        assert_eq!(out["emails"].as_array().unwrap().len(), 2);
        let out = apply(
            &USER,
            &user(),
            &patch(json!([{ "op": "remove", "path": "emails[value eq \"ADA@example.com\"]" }])),
        )
        .unwrap();
        assert_eq!(out["emails"], json!([]));
    }

    #[test]
    fn bad_patches_say_what_is_wrong() {
        for (ops, kind) in [
            (json!([{ "op": "remove" }]), "noTarget"),
            (
                json!([{ "op": "replace", "path": "id", "value": "x" }]),
                "mutability",
            ),
            (
                json!([{ "op": "replace", "path": "password", "value": "x" }]),
                "invalidPath",
            ),
            (
                json!([{ "op": "replace", "path": "emails[type gt \"a\"]", "value": "x" }]),
                "invalidPath",
            ),
            (
                json!([{ "op": "remove", "path": "emails[type eq \"home\"]" }]),
                "noTarget",
            ),
            (json!([{ "op": "move", "path": "active" }]), "invalidSyntax"),
            (json!([]), "invalidSyntax"),
        ] {
            let e = apply(&USER, &user(), &patch(ops.clone())).unwrap_err();
            assert_eq!(e.scim_type, Some(kind), "{ops}: {}", e.detail);
        }
        let e = apply(&USER, &user(), &json!({ "Operations": [] })).unwrap_err();
        assert_eq!(e.scim_type, Some("invalidSyntax"));
    }

    #[test]
    fn group_membership_patches_as_okta_and_entra_send_them() {
        let group =
            json!({ "displayName": "Eng", "members": [{ "value": "u1" }, { "value": "u2" }] });
        // Okta: rename with the id in the value; add with display; remove by selection.
        let out = apply(
            &GROUP,
            &group,
            &patch(json!([
                { "op": "replace", "value": { "id": "g1", "displayName": "Engineering" } },
                { "op": "add", "path": "members", "value": [{ "value": "u3", "display": "C" }, { "value": "U1" }] },
                { "op": "remove", "path": "members[value eq \"u2\"]" },
                { "op": "remove", "path": "members[value eq \"absent\"]" }
            ])),
        )
        .unwrap();
        assert_eq!(out["displayName"], "Engineering");
        assert_eq!(
            out["members"],
            json!([{ "value": "U1" }, { "value": "u3", "display": "C" }])
        );
        // Entra ID: remove with the members as the value; a path without one removes all.
        let out = apply(
            &GROUP,
            &group,
            &patch(json!([{ "op": "Remove", "path": "members", "value": [{ "value": "u1" }] }])),
        )
        .unwrap();
        assert_eq!(out["members"], json!([{ "value": "u2" }]));
        let out = apply(
            &GROUP,
            &group,
            &patch(json!([{ "op": "remove", "path": "members" }])),
        )
        .unwrap();
        assert!(out.get("members").is_none());
        // Group attributes only.
        for (ops, kind) in [
            (
                json!([{ "op": "replace", "path": "active", "value": false }]),
                "invalidPath",
            ),
            (
                json!([{ "op": "replace", "path": "id", "value": "x" }]),
                "mutability",
            ),
        ] {
            let e = apply(&GROUP, &group, &patch(ops.clone())).unwrap_err();
            assert_eq!(e.scim_type, Some(kind), "{ops}: {}", e.detail);
        }
    }
}
