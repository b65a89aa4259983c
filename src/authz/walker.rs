//! The schema walker: reads the exported SDL and lists which fields carry `@requires`.
//! Every mutation field must; a permission name must be one the code knows. The server
//! refuses to start, and the test suite fails, when either rule is broken.

use std::collections::HashMap;

use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

use super::Permission;

/// Field (parent type, name) → required permission.
#[derive(Debug, Clone, Default)]
pub struct GuardMap {
    pub fields: HashMap<(String, String), Permission>,
    pub mutation_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    #[error("the SDL does not parse: {0}")]
    Parse(String),
    #[error("mutation fields without @requires: {0:?}")]
    Unguarded(Vec<String>),
    #[error("@requires names unknown permissions: {0:?}")]
    UnknownPermission(Vec<String>),
}

/// Walks `sdl` and returns the guard map, or every violation found.
pub fn guard_map(sdl: &str) -> Result<GuardMap, WalkError> {
    let doc =
        async_graphql::parser::parse_schema(sdl).map_err(|e| WalkError::Parse(e.to_string()))?;
    let mut mutation_type = None;
    for def in &doc.definitions {
        if let TypeSystemDefinition::Schema(s) = def
            && let Some(m) = &s.node.mutation
        {
            mutation_type = Some(m.node.to_string());
        }
    }
    let has_type = |name: &str| {
        doc.definitions.iter().any(
            |d| matches!(d, TypeSystemDefinition::Type(t) if t.node.name.node.as_str() == name),
        )
    };
    if mutation_type.is_none() && has_type("Mutation") {
        mutation_type = Some("Mutation".to_owned());
    }
    let mut map = GuardMap {
        mutation_type: mutation_type.clone(),
        ..GuardMap::default()
    };
    let (mut unguarded, mut unknown) = (Vec::new(), Vec::new());
    for def in &doc.definitions {
        let TypeSystemDefinition::Type(t) = def else {
            continue;
        };
        let TypeKind::Object(obj) = &t.node.kind else {
            continue;
        };
        let type_name = t.node.name.node.to_string();
        let is_mutation = mutation_type.as_deref() == Some(type_name.as_str());
        for field in &obj.fields {
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
    Ok(map)
}
