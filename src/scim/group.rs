//! The SCIM Group resource as Tessera keeps it: a team. Validation of what a provider sends,
//! and the JSON it gets back.
//!
//! Kept: `displayName` (the team's name), `externalId` and `members` (each a `value`: the id
//! of a User of this workspace; `$ref` and `display` sent with it are ignored). Read-only
//! attributes (`id`, `meta`) are never taken from a request.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::error::ScimError;
use super::resource::{attr, declares, text};
use crate::db;

pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The most members one request may name (a provider pages larger groups through PATCH).
pub const MAX_MEMBERS: usize = 5000;

/// A validated Group as a provider wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInput {
    pub display_name: String,
    pub external_id: Option<String>,
    /// SCIM User ids, each once, in the order given.
    pub members: Vec<Uuid>,
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad("invalidValue", detail)
}

impl GroupInput {
    /// Validates a Group body (POST, PUT, or the result of a PATCH).
    pub fn parse(body: &Value) -> Result<Self, ScimError> {
        let o = body
            .as_object()
            .ok_or_else(|| ScimError::bad("invalidSyntax", "a Group is a JSON object"))?;
        declares(o, GROUP_SCHEMA)?;
        let display_name = text(attr(o, "displayName"), "displayName", 200)?
            .ok_or_else(|| invalid("displayName is required: it is the team's name"))?;
        let external_id = text(attr(o, "externalId"), "externalId", 256)?;
        let list = match attr(o, "members") {
            None | Some(Value::Null) => &Vec::new(),
            Some(Value::Array(a)) => a,
            Some(_) => return Err(invalid("members must be a list")),
        };
        if list.len() > MAX_MEMBERS {
            return Err(ScimError::bad(
                "tooMany",
                format!("at most {MAX_MEMBERS} members in one request: add more with PATCH"),
            ));
        }
        let mut members = Vec::with_capacity(list.len());
        for m in list {
            let value = m
                .as_object()
                .and_then(|m| attr(m, "value"))
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("each member is an object with a value: a User's id"))?;
            let id = Uuid::parse_str(value.trim()).map_err(|_| {
                invalid(format!(
                    "member \"{value}\" is not the id of a User of this workspace"
                ))
            })?;
            if !members.contains(&id) {
                members.push(id);
            }
        }
        Ok(Self {
            display_name,
            external_id,
            members,
        })
    }
}

/// A stored Group: a live team, with what the provider wrote and its provisioned members.
#[derive(Debug, Clone, db::FromRow)]
pub struct GroupRow {
    pub id: Uuid,
    pub display_name: String,
    pub external_id: Option<String>,
    /// SCIM User ids of the team's provisioned, active members, in id order.
    pub members: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl GroupRow {
    /// The writable attributes, as a PATCH starts from.
    pub fn writable(&self) -> Value {
        let mut o = Map::new();
        o.insert("schemas".into(), json!([GROUP_SCHEMA]));
        o.insert("displayName".into(), self.display_name.clone().into());
        if let Some(x) = &self.external_id {
            o.insert("externalId".into(), x.clone().into());
        }
        if !self.members.is_empty() {
            let members: Vec<Value> = self
                .members
                .iter()
                .map(|m| json!({ "value": m.to_string() }))
                .collect();
            o.insert("members".into(), members.into());
        }
        Value::Object(o)
    }

    /// The resource as served; `base` is the workspace's SCIM base URL.
    pub fn resource(&self, base: &str) -> Value {
        let mut v = self.writable();
        if let Some(Value::Array(members)) = v.get_mut("members") {
            for m in members {
                let id = m["value"].as_str().unwrap_or_default().to_owned();
                m["$ref"] = format!("{base}/Users/{id}").into();
            }
        }
        v["id"] = self.id.to_string().into();
        v["meta"] = json!({
            "resourceType": "Group",
            "created": self.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "lastModified": self.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "location": format!("{base}/Groups/{}", self.id),
        });
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_okta_and_entra_send_is_understood() {
        let u = Uuid::now_v7();
        let okta = json!({ "schemas": [GROUP_SCHEMA], "displayName": " Engineering ",
                           "members": [{ "value": u.to_string(), "display": "Ada" }, { "value": u.to_string() }] });
        let g = GroupInput::parse(&okta).unwrap();
        assert_eq!(g.display_name, "Engineering");
        assert_eq!(g.members, vec![u], "a member named twice is one member");
        let entra = json!({ "schemas": [GROUP_SCHEMA], "displayName": "Sales", "externalId": "8f1c", "members": [] });
        let g = GroupInput::parse(&entra).unwrap();
        assert_eq!(
            (g.external_id.as_deref(), g.members.len()),
            (Some("8f1c"), 0)
        );
    }

    #[test]
    fn bad_groups_are_refused_with_the_reason() {
        for (body, needle) in [
            (json!("x"), "JSON object"),
            (json!({ "members": [] }), "displayName is required"),
            (json!({ "displayName": "  " }), "displayName is required"),
            (
                json!({ "displayName": "x".repeat(201) }),
                "at most 200 characters",
            ),
            (
                json!({ "displayName": "A", "members": [{ "value": "not-a-user" }] }),
                "is not the id of a User",
            ),
            (
                json!({ "displayName": "A", "members": ["bare"] }),
                "each member is an object",
            ),
            (
                json!({ "schemas": ["urn:x"], "displayName": "A" }),
                "schemas must include",
            ),
        ] {
            let e = GroupInput::parse(&body).unwrap_err();
            assert!(e.detail.contains(needle), "{body}: {}", e.detail);
        }
    }

    #[test]
    fn members_are_served_with_their_user_location() {
        let (id, member) = (Uuid::now_v7(), Uuid::now_v7());
        let row = GroupRow {
            id,
            display_name: "Eng".into(),
            external_id: None,
            members: vec![member],
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        };
        let v = row.resource("https://t.example/scim/v2/acme");
        assert_eq!(
            v["members"],
            json!([{ "value": member.to_string(), "$ref": format!("https://t.example/scim/v2/acme/Users/{member}") }])
        );
        assert_eq!(
            v["meta"]["location"],
            format!("https://t.example/scim/v2/acme/Groups/{id}")
        );
        assert!(v.get("externalId").is_none());
    }
}
