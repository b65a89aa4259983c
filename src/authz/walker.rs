//! The schema walker: reads the exported SDL and lists which fields carry `@requires`.
//! Every mutation field must; a permission name must be one the code knows; and only fields
//! of the root operation types may carry it, because that is where the guard checks (before
//! execution, over the root fields an operation selects). The server refuses to start, and
//! the test suite fails, when any rule is broken.

use std::collections::HashMap;

use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

use super::Permission;

/// Field (parent type, name) → required permission.
#[derive(Debug, Clone, Default)]
pub struct GuardMap {
    pub fields: HashMap<(String, String), Permission>,
    pub query_type: Option<String>,
    pub mutation_type: Option<String>,
    pub subscription_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    #[error("the SDL does not parse: {0}")]
    Parse(String),
    #[error("mutation or subscription fields without @requires: {0:?}")]
    Unguarded(Vec<String>),
    #[error("@requires names unknown permissions: {0:?}")]
    UnknownPermission(Vec<String>),
    #[error("@requires on fields of non-root types (the guard checks root fields only): {0:?}")]
    NotOnRoot(Vec<String>),
}

/// Walks `sdl` and returns the guard map, or every violation found.
pub fn guard_map(sdl: &str) -> Result<GuardMap, WalkError> {
    let doc =
        async_graphql::parser::parse_schema(sdl).map_err(|e| WalkError::Parse(e.to_string()))?;
    let (mut query_type, mut mutation_type, mut subscription_type) = (None, None, None);
    for def in &doc.definitions {
        if let TypeSystemDefinition::Schema(s) = def {
            query_type = s.node.query.as_ref().map(|q| q.node.to_string());
            mutation_type = s.node.mutation.as_ref().map(|m| m.node.to_string());
            subscription_type = s.node.subscription.as_ref().map(|m| m.node.to_string());
        }
    }
    let has_type = |name: &str| {
        doc.definitions.iter().any(
            |d| matches!(d, TypeSystemDefinition::Type(t) if t.node.name.node.as_str() == name),
        )
    };
    if query_type.is_none() && has_type("Query") {
        query_type = Some("Query".to_owned());
    }
    if mutation_type.is_none() && has_type("Mutation") {
        mutation_type = Some("Mutation".to_owned());
    }
    if subscription_type.is_none() && has_type("Subscription") {
        subscription_type = Some("Subscription".to_owned());
    }
    let mut map = GuardMap {
        query_type: query_type.clone(),
        mutation_type: mutation_type.clone(),
        subscription_type: subscription_type.clone(),
        ..GuardMap::default()
    };
    let (mut unguarded, mut unknown, mut off_root) = (Vec::new(), Vec::new(), Vec::new());
    for def in &doc.definitions {
        let TypeSystemDefinition::Type(t) = def else {
            continue;
        };
        let fields = match &t.node.kind {
            TypeKind::Object(obj) => &obj.fields,
            TypeKind::Interface(i) => &i.fields,
            _ => continue,
        };
        let type_name = t.node.name.node.to_string();
        // Mutations and subscriptions must each carry a guard; queries may be open.
        let is_mutation = mutation_type.as_deref() == Some(type_name.as_str())
            || subscription_type.as_deref() == Some(type_name.as_str());
        let is_root = is_mutation || query_type.as_deref() == Some(type_name.as_str());
        for field in fields {
            let field_name = field.node.name.node.to_string();
            let required = field
                .node
                .directives
                .iter()
                .find(|d| d.node.name.node.as_str() == "requires")
                .and_then(|d| d.node.get_argument("permission"))
                .map(|v| match &v.node {
                    async_graphql::Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
            match required {
                Some(_) if !is_root => off_root.push(format!("{type_name}.{field_name}")),
                Some(name) => match Permission::parse(&name) {
                    Some(p) => {
                        map.fields.insert((type_name.clone(), field_name), p);
                    }
                    None => unknown.push(format!("{type_name}.{field_name}: {name}")),
                },
                None if is_mutation => unguarded.push(format!("{type_name}.{field_name}")),
                None => {}
            }
        }
    }
    if !unguarded.is_empty() {
        return Err(WalkError::Unguarded(unguarded));
    }
    if !unknown.is_empty() {
        return Err(WalkError::UnknownPermission(unknown));
    }
    if !off_root.is_empty() {
        return Err(WalkError::NotOnRoot(off_root));
    }
    Ok(map)
}
