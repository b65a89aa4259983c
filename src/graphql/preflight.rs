//! Checks run on the raw query text before any GraphQL parser sees it.
//!
//! async-graphql's recursive-descent parser overflows its stack on deeply nested literals
//! (`f(a: [[[[...]]]])`, `{a:{a:{...}}}` a few thousand levels deep), which aborts the
//! whole process. Counting bracket depth in a linear scan, skipping strings and comments,
//! bounds the nesting the parser ever recurses into.

use super::errors::{ApiError, ErrorCode};

/// Refuses queries longer than `max_bytes` or nested deeper than `max_nesting`.
pub fn check(query: &str, max_bytes: usize, max_nesting: usize) -> Result<(), ApiError> {
    if query.len() > max_bytes {
        return Err(ApiError::new(
            ErrorCode::QueryTooLarge,
            format!("the query is longer than {max_bytes} bytes"),
        ));
    }
    let too_deep = || {
        ApiError::new(
            ErrorCode::QueryTooDeep,
            format!("the query nests brackets deeper than {max_nesting} levels"),
        )
    };
    let bytes = query.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > max_nesting {
                    return Err(too_deep());
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // `\"""` is an escaped triple quote inside a block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Refuses an operation that selects more than `max` aliased fields, counting each fragment
/// spread as often as it is spread (a fragment of aliases spread many times is many aliases).
/// Aliases are how one request asks for the same expensive or rate-limited field many times.
pub fn check_aliases(
    doc: &async_graphql::parser::types::ExecutableDocument,
    operation: &async_graphql::parser::types::OperationDefinition,
    max: usize,
) -> Result<(), ApiError> {
    use async_graphql::parser::types::{Selection, SelectionSet};

    fn walk(
        doc: &async_graphql::parser::types::ExecutableDocument,
        set: &SelectionSet,
        spreads: &mut Vec<String>,
        n: &mut usize,
        max: usize,
    ) -> bool {
        for sel in &set.items {
            let more = match &sel.node {
                Selection::Field(f) => {
                    *n += usize::from(f.node.alias.is_some());
                    walk(doc, &f.node.selection_set.node, spreads, n, max)
                }
                Selection::InlineFragment(i) => {
                    walk(doc, &i.node.selection_set.node, spreads, n, max)
                }
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    // A cycle is refused by validation later; here it just stops the walk.
                    match doc.fragments.get(&s.node.fragment_name.node) {
                        Some(f) if !spreads.iter().any(|x| x == name) => {
                            spreads.push(name.to_owned());
                            let ok = walk(doc, &f.node.selection_set.node, spreads, n, max);
                            spreads.pop();
                            ok
                        }
                        _ => true,
                    }
                }
            };
            if !more || *n > max {
                return false;
            }
        }
        true
    }

    let mut n = 0;
    if walk(
        doc,
        &operation.selection_set.node,
        &mut Vec::new(),
        &mut n,
        max,
    ) && n <= max
    {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::TooManyAliases,
            format!("the operation uses more than {max} aliases"),
        ))
    }
}

/// Calls `visit` for every root field an operation selects, through fragment spreads and
/// inline fragments (whatever their type condition) and whatever `@skip`/`@include` say: a
/// superset of the fields execution resolves. A fragment spread inside itself is followed
/// once (validation refuses the cycle later).
pub fn visit_root_fields<'d>(
    doc: &'d async_graphql::parser::types::ExecutableDocument,
    operation: &'d async_graphql::parser::types::OperationDefinition,
    visit: &mut impl FnMut(&'d async_graphql::parser::types::Field),
) {
    use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};

    fn walk<'d>(
        doc: &'d ExecutableDocument,
        set: &'d SelectionSet,
        spreads: &mut Vec<&'d str>,
        visit: &mut impl FnMut(&'d Field),
    ) {
        for sel in &set.items {
            match &sel.node {
                Selection::Field(f) => visit(&f.node),
                Selection::InlineFragment(i) => {
                    walk(doc, &i.node.selection_set.node, spreads, visit)
                }
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    if let Some(f) = doc.fragments.get(&s.node.fragment_name.node)
                        && !spreads.contains(&name)
                    {
                        spreads.push(name);
                        walk(doc, &f.node.selection_set.node, spreads, visit);
                        spreads.pop();
                    }
                }
            }
        }
    }
    walk(doc, &operation.selection_set.node, &mut Vec::new(), visit);
}

/// The root fields an operation selects, through fragments: what rate limits count, so ten
/// aliased mutations in one request count as ten operations.
pub fn root_fields(
    doc: &async_graphql::parser::types::ExecutableDocument,
    operation: &async_graphql::parser::types::OperationDefinition,
) -> usize {
    let mut n = 0usize;
    visit_root_fields(doc, operation, &mut |_| n = n.saturating_add(1));
    n.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aliases(query: &str, max: usize) -> Result<(), ApiError> {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        let op = match &doc.operations {
            async_graphql::parser::types::DocumentOperations::Single(op) => op.node.clone(),
            async_graphql::parser::types::DocumentOperations::Multiple(ops) => {
                ops.values().next().unwrap().node.clone()
            }
        };
        check_aliases(&doc, &op, max)
    }

    #[test]
    fn root_fields_count_aliases_and_fragments() {
        let count = |q: &str| {
            let doc = async_graphql::parser::parse_query(q).unwrap();
            let op = match &doc.operations {
                async_graphql::parser::types::DocumentOperations::Single(op) => op.node.clone(),
                async_graphql::parser::types::DocumentOperations::Multiple(ops) => {
                    ops.values().next().unwrap().node.clone()
                }
            };
            root_fields(&doc, &op)
        };
        assert_eq!(count("{ viewer { id } }"), 1);
        assert_eq!(count("mutation { a: x b: x c: x }"), 3);
        assert_eq!(
            count("{ ...F ... on Query { z } } fragment F on Query { a b }"),
            3
        );
        assert_eq!(count("{ ...F } fragment F on Query { ...F a }"), 1);
    }

    #[test]
    fn aliases_are_counted_through_fragments_and_cycles_end() {
        assert!(aliases("{ a: viewer { id } b: viewer { id } }", 2).is_ok());
        assert!(aliases("{ a: viewer { id } b: viewer { id } c: viewer { id } }", 2).is_err());
        // One alias in a fragment spread three times is three aliases.
        let spread = "{ ...F ...F ...F } fragment F on Query { x: viewer { id } }";
        assert!(aliases(spread, 3).is_ok());
        assert!(aliases(spread, 2).is_err());
        // Nested spreads multiply; a cycle does not loop forever.
        let nested = "{ ...G ...G } fragment G on Query { ...F ...F } fragment F on Query { x: viewer { id } }";
        assert!(aliases(nested, 3).is_err());
        assert!(aliases("{ ...F } fragment F on Query { a: viewer { id } ...F }", 5).is_ok());
    }

    #[test]
    fn deep_brackets_are_refused_before_parsing() {
        for depth in [49, 1_000, 100_000] {
            let q = format!("{{ f(a: {}1{}) }}", "[".repeat(depth), "]".repeat(depth));
            let err = check(&q, usize::MAX, 48).err().map(|e| e.code);
            assert_eq!(err, Some(ErrorCode::QueryTooDeep), "{depth}");
        }
        let obj = format!("{{ f(a: {}1{}) }}", "{a:".repeat(5000), "}".repeat(5000));
        assert!(check(&obj, usize::MAX, 48).is_err());
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let q = format!(
            "{{ f(a: \"{}\", b: \"\"\"{}\"\"\") # {}\n }}",
            "[".repeat(500),
            "{".repeat(500),
            "(".repeat(500)
        );
        assert!(check(&q, usize::MAX, 48).is_ok());
        let normal = "query Q { projects(first: 5) { edges { node { id records { edges { node { id } } } } } } }";
        assert!(check(normal, usize::MAX, 48).is_ok());
        assert!(check(normal, 10, 48).is_err());
    }
}
