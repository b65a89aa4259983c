//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5): which attributes of a resource
//! an answer carries. `id` and `schemas` are always returned; names are case-insensitive and
//! may carry the schema's URN; `name.givenName` keeps or drops one sub-attribute.

use serde_json::{Map, Value};

use super::Kind;

/// The attribute lists of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    only: Vec<(String, Option<String>)>,
    except: Vec<(String, Option<String>)>,
}

fn names(kind: Kind, list: Option<&str>) -> Vec<(String, Option<String>)> {
    list.unwrap_or_default()
        .split(',')
        .map(|s| super::strip_urn(s.trim(), kind.urn()).to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .map(|s| match s.split_once('.') {
            Some((a, b)) => (a.to_owned(), Some(b.to_owned())),
            None => (s, None),
        })
        .collect()
}

impl Projection {
    pub fn new(kind: Kind, attributes: Option<&str>, excluded: Option<&str>) -> Self {
        Self {
            only: names(kind, attributes),
            except: names(kind, excluded),
        }
    }

    /// `resource` with only what the request asked for.
    pub fn apply(&self, resource: Value) -> Value {
        let Value::Object(o) = resource else {
            return resource;
        };
        let always = |k: &str| k.eq_ignore_ascii_case("id") || k.eq_ignore_ascii_case("schemas");
        let mut out = Map::new();
        for (k, v) in o {
            let key = k.to_ascii_lowercase();
            if always(&key) {
                out.insert(k, v);
                continue;
            }
            let v = if self.only.is_empty() {
                Some(v)
            } else {
                let wanted: Vec<&Option<String>> = self
                    .only
                    .iter()
                    .filter(|(a, _)| *a == key)
                    .map(|(_, s)| s)
                    .collect();
                if wanted.is_empty() {
                    None
                } else if wanted.iter().any(|s| s.is_none()) {
                    Some(v)
                } else {
                    Some(keep_subs(v, &wanted))
                }
            };
            let Some(v) = v else { continue };
            let dropped: Vec<&Option<String>> = self
                .except
                .iter()
                .filter(|(a, _)| *a == key)
                .map(|(_, s)| s)
                .collect();
            if dropped.iter().any(|s| s.is_none()) {
                continue;
            }
            out.insert(k, drop_subs(v, &dropped));
        }
        Value::Object(out)
    }
}

fn filter_subs(v: Value, keep: &dyn Fn(&str) -> bool) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .filter(|(k, _)| keep(&k.to_ascii_lowercase()))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(|e| filter_subs(e, keep)).collect()),
        other => other,
    }
}

fn keep_subs(v: Value, wanted: &[&Option<String>]) -> Value {
    filter_subs(v, &|k| wanted.iter().any(|s| s.as_deref() == Some(k)))
}

fn drop_subs(v: Value, dropped: &[&Option<String>]) -> Value {
    if dropped.is_empty() {
        return v;
    }
    filter_subs(v, &|k| !dropped.iter().any(|s| s.as_deref() == Some(k)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::resource::USER_SCHEMA;
    use serde_json::json;

    fn user() -> Value {
        json!({ "schemas": [USER_SCHEMA], "id": "1", "userName": "a@b.c", "active": true,
                "name": { "givenName": "A", "familyName": "B" },
                "emails": [{ "value": "a@b.c", "type": "work" }], "meta": { "resourceType": "User" } })
    }

    #[test]
    fn attributes_keep_and_excluded_attributes_drop() {
        let p = Projection::new(Kind::User, Some("userName, name.givenName"), None);
        assert_eq!(
            p.apply(user()),
            json!({ "schemas": [USER_SCHEMA], "id": "1", "userName": "a@b.c", "name": { "givenName": "A" } })
        );
        let p = Projection::new(Kind::User, None, Some("emails,name.familyName,id"));
        let out = p.apply(user());
        assert!(out.get("emails").is_none());
        assert_eq!(out["name"], json!({ "givenName": "A" }));
        assert_eq!(out["id"], "1", "id is always returned");
        let p = Projection::new(
            Kind::User,
            Some("urn:ietf:params:scim:schemas:core:2.0:User:emails.value"),
            None,
        );
        assert_eq!(p.apply(user())["emails"], json!([{ "value": "a@b.c" }]));
    }
}
