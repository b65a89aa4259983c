//! What the server publishes about itself (RFC 7643 §5–7): its features, the one resource
//! type it serves, and the User schema — only the attributes it keeps (`super::resource`).

use serde_json::{Value, json};

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

pub fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": [RT_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A member of the workspace",
        "schema": USER_SCHEMA,
        "schemaExtensions": [],
        "meta": meta(base, "ResourceType", "ResourceTypes/User"),
    })
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

pub fn user_schema(base: &str) -> Value {
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
