//! The one check every string a client sends passes before it can reach a resolver or the
//! database: GraphQL variables, every literal in the document (arguments, directive arguments,
//! variable defaults, in operations and fragments alike), and the JSON bodies of the REST
//! routes.
//!
//! PostgreSQL's `text` and `jsonb` cannot hold U+0000, so a NUL reaching a statement fails
//! there as a database error: an `INTERNAL` answer and an ERROR log line for what is a client's
//! mistake. Refused here, it is `BAD_USER_INPUT` naming the problem. (Lone surrogates cannot
//! reach this far: JSON parsing refuses an unpaired `\ud800`, and Rust strings cannot hold
//! one.) The walk visits each value once, so it is linear in the request's size.

use async_graphql::Positioned;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use async_graphql_value::{ConstValue, Value};

use super::errors::ApiError;

/// The answer for text holding U+0000.
pub fn nul_refused() -> ApiError {
    ApiError::bad_input("text must not contain NUL characters (U+0000)")
}

/// Refuses a JSON value (a REST body, GraphQL variables) holding U+0000 in any string or key.
pub fn check_json(v: &serde_json::Value) -> Result<(), ApiError> {
    let clean = match v {
        serde_json::Value::String(s) => !s.contains('\0'),
        serde_json::Value::Array(items) => return items.iter().try_for_each(check_json),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if k.contains('\0') {
                    return Err(nul_refused());
                }
                check_json(v)?;
            }
            true
        }
        _ => true,
    };
    if clean { Ok(()) } else { Err(nul_refused()) }
}

/// Refuses text (a path segment, a query parameter) holding U+0000.
pub fn check_text(s: &str) -> Result<(), ApiError> {
    if s.contains('\0') {
        Err(nul_refused())
    } else {
        Ok(())
    }
}

fn check_const(v: &ConstValue) -> Result<(), ApiError> {
    match v {
        ConstValue::String(s) => check_text(s),
        ConstValue::List(items) => items.iter().try_for_each(check_const),
        ConstValue::Object(map) => map.iter().try_for_each(|(k, v)| {
            check_text(k.as_str())?;
            check_const(v)
        }),
        ConstValue::Enum(n) => check_text(n.as_str()),
        _ => Ok(()),
    }
}

fn check_value(v: &Value) -> Result<(), ApiError> {
    match v {
        Value::String(s) => check_text(s),
        Value::List(items) => items.iter().try_for_each(check_value),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            check_text(k.as_str())?;
            check_value(v)
        }),
        _ => Ok(()),
    }
}

fn check_directives(
    directives: &[Positioned<async_graphql::parser::types::Directive>],
) -> Result<(), ApiError> {
    for d in directives {
        for (_, v) in &d.node.arguments {
            check_value(&v.node)?;
        }
    }
    Ok(())
}

fn check_set(set: &SelectionSet) -> Result<(), ApiError> {
    for sel in &set.items {
        match &sel.node {
            Selection::Field(f) => {
                for (_, v) in &f.node.arguments {
                    check_value(&v.node)?;
                }
                check_directives(&f.node.directives)?;
                check_set(&f.node.selection_set.node)?;
            }
            Selection::InlineFragment(i) => {
                check_directives(&i.node.directives)?;
                check_set(&i.node.selection_set.node)?;
            }
            // The fragment itself is checked once, with the document's definitions.
            Selection::FragmentSpread(s) => check_directives(&s.node.directives)?,
        }
    }
    Ok(())
}

/// Refuses a document whose literals hold U+0000 (its variables are JSON: [`check_json`]).
pub fn check_document(doc: &ExecutableDocument) -> Result<(), ApiError> {
    let ops: Vec<_> = match &doc.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(ops) => ops.values().collect(),
    };
    for op in ops {
        for def in &op.node.variable_definitions {
            if let Some(v) = &def.node.default_value {
                check_const(&v.node)?;
            }
            check_directives(&def.node.directives)?;
        }
        check_directives(&op.node.directives)?;
        check_set(&op.node.selection_set.node)?;
    }
    for f in doc.fragments.values() {
        check_directives(&f.node.directives)?;
        check_set(&f.node.selection_set.node)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str, vars: serde_json::Value) -> Result<(), ApiError> {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        check_json(&vars)?;
        check_document(&doc)
    }

    #[test]
    fn nul_is_refused_wherever_a_string_can_enter() {
        let ok =
            "query Q($t: String = \"x\") { a(t: $t, o: {k: [\"v\"]}) @include(if: true) { b } }";
        assert!(request(ok, serde_json::json!({ "t": "fine \u{202e} text" })).is_ok());
        for (query, vars) in [
            ("{ a(t: \"x\\u0000y\") }", serde_json::json!({})),
            ("{ a(o: {k: [\"\\u0000\"]}) }", serde_json::json!({})),
            (
                "query Q($t: String = \"\\u0000\") { a(t: $t) }",
                serde_json::json!({}),
            ),
            (
                "{ ...F } fragment F on Q { a(t: \"\\u0000\") }",
                serde_json::json!({}),
            ),
            ("{ a @skip(if: \"\\u0000\") }", serde_json::json!({})),
            (
                "query Q($t: String) { a(t: $t) }",
                serde_json::json!({ "t": "a\u{0}" }),
            ),
            (
                "query Q($t: JSON) { a(t: $t) }",
                serde_json::json!({ "t": { "k\u{0}": 1 } }),
            ),
            (
                "query Q($t: [String]) { a(t: $t) }",
                serde_json::json!({ "t": ["ok", "\u{0}"] }),
            ),
        ] {
            let err = request(query, vars).err().map(|e| e.code);
            assert_eq!(
                err,
                Some(super::super::errors::ErrorCode::BadUserInput),
                "{query}"
            );
        }
    }

    #[test]
    fn json_bodies_are_checked_in_keys_and_values() {
        assert!(check_json(&serde_json::json!({ "a": ["b", { "c": "d" }] })).is_ok());
        assert!(check_json(&serde_json::json!({ "a": ["b", { "c": "\u{0}" }] })).is_err());
        assert!(check_json(&serde_json::json!({ "\u{0}": 1 })).is_err());
    }
}
