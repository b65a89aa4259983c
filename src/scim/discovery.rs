//! What the server publishes about itself (RFC 7643 §5–7): its features, the resource types
//! it serves (User, Group), and their schemas — only the attributes it keeps
//! (`super::resource`, `super::group`).

use serde_json::{Value, json};

use super::Kind;
use super::group::GROUP_SCHEMA;
use super::resource::USER_SCHEMA;

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RT_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// The most resources one page holds (`count` above it is lowered).
pub const MAX_PAGE: i64 = 200;

fn meta(base: &str, kind: &str, path: &str) -> Value {
    json!({ "resourceType": kind, "location": format!("{base}/{path}") })
}

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SPC_SCHEMA],
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_PAGE },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": false },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "SCIM token",
            "description": "A SCIM token of the workspace (Settings → Provisioning), sent as Authorization: Bearer tsc_…",
            "primary": true
        }],
        "meta": meta(base, "ServiceProviderConfig", "ServiceProviderConfig"),
    })
}

pub fn resource_type(base: &str, kind: Kind) -> Value {
    let (endpoint, description) = match kind {
        Kind::User => ("/Users", "A member of the workspace"),
        Kind::Group => ("/Groups", "A team of the workspace"),
    };
    json!({
        "schemas": [RT_SCHEMA],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": endpoint,
        "description": description,
        "schema": kind.urn(),
        "schemaExtensions": [],
        "meta": meta(base, "ResourceType", &format!("ResourceTypes/{}", kind.name())),
    })
}

/// The schema of `kind`.
pub fn schema(base: &str, kind: Kind) -> Value {
    match kind {
        Kind::User => user_schema(base),
        Kind::Group => group_schema(base),
    }
}

/// The kind whose schema or resource type `id` names (case-insensitively).
pub fn kind_of(id: &str) -> Option<Kind> {
    [Kind::User, Kind::Group]
        .into_iter()
        .find(|k| id.eq_ignore_ascii_case(k.urn()) || id.eq_ignore_ascii_case(k.name()))
}

fn attribute(
    name: &str,
    kind: &str,
    required: bool,
    multi: bool,
    case_exact: bool,
    unique: &str,
) -> Value {
    json!({
        "name": name, "type": kind, "multiValued": multi, "description": "",
        "required": required, "caseExact": case_exact, "mutability": "readWrite",
        "returned": "default", "uniqueness": unique,
    })
}

fn string(name: &str) -> Value {
    attribute(name, "string", false, false, false, "none")
}

fn user_schema(base: &str) -> Value {
    let mut name = attribute("name", "complex", false, false, false, "none");
    name["subAttributes"] = json!([
        string("formatted"),
        string("familyName"),
        string("givenName")
    ]);
    let mut emails = attribute("emails", "complex", true, true, false, "none");
    emails["subAttributes"] = json!([
        attribute("value", "string", true, false, false, "none"),
        string("type"),
        attribute("primary", "boolean", false, false, false, "none"),
    ]);
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A member of the workspace",
        "attributes": [
            attribute("userName", "string", true, false, false, "server"),
            name,
            string("displayName"),
            emails,
            // Required: membership follows it. Taken as true when a creation omits it.
            attribute("active", "boolean", true, false, false, "none"),
        ],
        "meta": meta(base, "Schema", &format!("Schemas/{USER_SCHEMA}")),
    })
}

fn group_schema(base: &str) -> Value {
    let mut value = attribute("value", "string", false, false, false, "none");
    value["mutability"] = "immutable".into();
    value["description"] = "The id of a User of this workspace".into();
    let mut reference = attribute("$ref", "reference", false, false, false, "none");
    reference["mutability"] = "immutable".into();
    reference["referenceTypes"] = json!(["User"]);
    let mut members = attribute("members", "complex", false, true, false, "none");
    members["description"] = "The team's provisioned members".into();
    members["subAttributes"] = json!([value, reference]);
    let mut name = attribute("displayName", "string", true, false, false, "server");
    name["description"] = "The team's name".into();
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": GROUP_SCHEMA,
        "name": "Group",
        "description": "A team of the workspace",
        "attributes": [name, members],
        "meta": meta(base, "Schema", &format!("Schemas/{GROUP_SCHEMA}")),
    })
}

/// A ListResponse of everything on one page.
pub fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}
