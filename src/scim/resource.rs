//! The SCIM User resource as Tessera keeps it: validation of what a provider sends, and the
//! JSON it gets back.
//!
//! Kept: `userName`, `externalId`, `active`, `displayName`, `name` (`formatted`,
//! `familyName`, `givenName`) and `emails` (`value`, `type`, `primary`) — what the published
//! schema lists (`super::discovery`). Other attributes a provider sends are ignored, as the
//! schema does not offer them; read-only ones (`id`, `meta`, `groups`) are never taken from
//! a request.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::error::ScimError;
use crate::db;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const MAX_EMAILS: usize = 20;

/// A validated User as a provider wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    /// `displayName`, `name`, `emails`, as stored.
    pub attributes: Value,
    /// The address the account is found or made by.
    pub email: String,
    /// A name for a new account.
    pub display: String,
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad("invalidValue", detail)
}

/// A string attribute, trimmed; `None` when absent or null.
pub(super) fn text(v: Option<&Value>, what: &str, max: usize) -> Result<Option<String>, ScimError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.chars().count() > max {
                return Err(invalid(format!("{what} is at most {max} characters")));
            }
            Ok((!s.is_empty()).then(|| s.to_owned()))
        }
        Some(_) => Err(invalid(format!("{what} must be a string"))),
    }
}

/// A boolean; `"True"`/`"False"` strings too (some providers send them).
pub fn boolean(v: &Value, what: &str) -> Result<bool, ScimError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(invalid(format!("{what} must be true or false"))),
    }
}

/// Case-insensitive lookup of an attribute (SCIM attribute names are case-insensitive).
pub fn attr<'a>(o: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    o.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Refuses a body whose `schemas`, when given, leave out `urn`.
pub(super) fn declares(o: &Map<String, Value>, urn: &str) -> Result<(), ScimError> {
    let Some(schemas) = attr(o, "schemas") else {
        return Ok(());
    };
    let named = schemas.as_array().is_some_and(|a| {
        a.iter()
            .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)))
    });
    if named {
        Ok(())
    } else {
        Err(ScimError::bad(
            "invalidSyntax",
            format!("schemas must include {urn}"),
        ))
    }
}

impl UserInput {
    /// Validates a User body (POST, PUT, or the result of a PATCH).
    pub fn parse(body: &Value) -> Result<Self, ScimError> {
        let o = body
            .as_object()
            .ok_or_else(|| ScimError::bad("invalidSyntax", "a User is a JSON object"))?;
        declares(o, USER_SCHEMA)?;
        let user_name = text(attr(o, "userName"), "userName", 256)?
            .ok_or_else(|| invalid("userName is required"))?;
        let external_id = text(attr(o, "externalId"), "externalId", 256)?;
        let active = match attr(o, "active") {
            None | Some(Value::Null) => true,
            Some(v) => boolean(v, "active")?,
        };
        let display_name = text(attr(o, "displayName"), "displayName", 200)?;
        let mut name = Map::new();
        match attr(o, "name") {
            None | Some(Value::Null) => {}
            Some(Value::Object(n)) => {
                for sub in ["formatted", "familyName", "givenName"] {
                    if let Some(v) = text(attr(n, sub), &format!("name.{sub}"), 200)? {
                        name.insert(sub.to_owned(), v.into());
                    }
                }
            }
            Some(_) => return Err(invalid("name must be an object")),
        }
        let emails = emails(attr(o, "emails"))?;
        let email = emails
            .iter()
            .find(|e| e["primary"] == true)
            .or_else(|| emails.first())
            .and_then(|e| e["value"].as_str().map(str::to_owned))
            .or_else(|| crate::identity::valid_email(&user_name).then(|| user_name.clone()))
            .ok_or_else(|| {
                invalid("a user needs an email address: send emails[].value, or an email address as userName")
            })?;
        let display = display_name
            .clone()
            .or_else(|| {
                name.get("formatted")
                    .and_then(|v| v.as_str().map(str::to_owned))
            })
            .or_else(|| {
                let parts: Vec<&str> = ["givenName", "familyName"]
                    .iter()
                    .filter_map(|k| name.get(*k).and_then(Value::as_str))
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            })
            .unwrap_or_else(|| user_name.clone());
        let mut attributes = Map::new();
        if let Some(d) = display_name {
            attributes.insert("displayName".into(), d.into());
        }
        if !name.is_empty() {
            attributes.insert("name".into(), Value::Object(name));
        }
        if !emails.is_empty() {
            attributes.insert("emails".into(), Value::Array(emails));
        }
        Ok(Self {
            user_name,
            external_id,
            active,
            attributes: Value::Object(attributes),
            email,
            display,
        })
    }
}

fn emails(v: Option<&Value>) -> Result<Vec<Value>, ScimError> {
    let list = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(invalid("emails must be a list")),
    };
    if list.len() > MAX_EMAILS {
        return Err(ScimError::bad(
            "tooMany",
            format!("at most {MAX_EMAILS} emails"),
        ));
    }
    let mut out: Vec<Value> = Vec::new();
    let mut primaries = 0;
    for e in list {
        let o = e
            .as_object()
            .ok_or_else(|| invalid("each email is an object with a value"))?;
        let value = text(attr(o, "value"), "emails.value", 254)?
            .ok_or_else(|| invalid("each email needs a value"))?;
        if !crate::identity::valid_email(&value) {
            return Err(invalid(format!("\"{value}\" is not an email address")));
        }
        let mut kept = Map::new();
        kept.insert("value".into(), value.into());
        if let Some(t) = text(attr(o, "type"), "emails.type", 50)? {
            kept.insert("type".into(), t.into());
        }
        if let Some(p) = attr(o, "primary").filter(|p| !p.is_null()) {
            let p = boolean(p, "emails.primary")?;
            primaries += usize::from(p);
            kept.insert("primary".into(), p.into());
        }
        out.push(Value::Object(kept));
    }
    if primaries > 1 {
        return Err(invalid("at most one email is primary"));
    }
    Ok(out)
}

/// A stored User.
#[derive(Debug, Clone, db::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    pub attributes: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl UserRow {
    /// The writable attributes, as a PATCH starts from.
    pub fn writable(&self) -> Value {
        let mut o = self.attributes.as_object().cloned().unwrap_or_default();
        o.insert("schemas".into(), json!([USER_SCHEMA]));
        o.insert("userName".into(), self.user_name.clone().into());
        o.insert("active".into(), self.active.into());
        if let Some(x) = &self.external_id {
            o.insert("externalId".into(), x.clone().into());
        }
        Value::Object(o)
    }

    /// The resource as served; `base` is the workspace's SCIM base URL.
    pub fn resource(&self, base: &str) -> Value {
        let mut v = self.writable();
        v["id"] = self.id.to_string().into();
        v["meta"] = json!({
            "resourceType": "User",
            "created": self.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "lastModified": self.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "location": format!("{base}/Users/{}", self.id),
        });
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_okta_and_entra_send_is_understood() {
        let okta = json!({
            "schemas": [USER_SCHEMA], "userName": "ada@example.com",
            "name": { "givenName": "Ada", "familyName": "Lovelace" },
            "emails": [{ "primary": true, "value": "ada@example.com", "type": "work" }],
            "displayName": "Ada Lovelace", "locale": "en-GB", "externalId": "00u1", "active": true
        });
        let u = UserInput::parse(&okta).unwrap();
        assert_eq!(u.email, "ada@example.com");
        assert_eq!(u.display, "Ada Lovelace");
        assert_eq!(u.external_id.as_deref(), Some("00u1"));
        assert!(u.attributes.get("locale").is_none());
        // Entra: capitalised booleans as strings, no emails, an address as userName.
        let entra = json!({ "schemas": [USER_SCHEMA], "userName": "grace@contoso.com", "active": "False",
                            "name": { "formatted": "Grace Hopper" } });
        let u = UserInput::parse(&entra).unwrap();
        assert!(!u.active);
        assert_eq!(
            (u.email.as_str(), u.display.as_str()),
            ("grace@contoso.com", "Grace Hopper")
        );
    }

    #[test]
    fn bad_users_are_refused_with_the_reason() {
        for (body, needle) in [
            (json!([]), "JSON object"),
            (
                json!({ "emails": [{ "value": "a@b.c" }] }),
                "userName is required",
            ),
            (json!({ "userName": "x" }), "needs an email"),
            (
                json!({ "userName": "x", "emails": [{ "value": "not an address" }] }),
                "not an email",
            ),
            (
                json!({ "userName": "x", "emails": [{ "value": "a@b.c", "primary": true }, { "value": "c@d.e", "primary": true }] }),
                "one email is primary",
            ),
            (json!({ "userName": 7 }), "must be a string"),
            (
                json!({ "userName": "a@b.c", "active": "maybe" }),
                "true or false",
            ),
            (
                json!({ "schemas": ["urn:x"], "userName": "a@b.c" }),
                "schemas must include",
            ),
        ] {
            let e = UserInput::parse(&body).unwrap_err();
            assert!(e.detail.contains(needle), "{body}: {}", e.detail);
        }
    }
}
