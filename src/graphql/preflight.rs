//! Checks run before authentication and before async-graphql validates a document.
//!
//! - [`check`], on the raw text: async-graphql's recursive-descent parser overflows its stack
//!   on deeply nested literals (`f(a: [[[[...]]]])`, `{a:{a:{...}}}` a few thousand levels
//!   deep), which aborts the whole process. Counting bracket depth in a linear scan, skipping
//!   strings and comments, bounds the nesting the parser ever recurses into.
//! - [`analyze`], on the parsed document: its size with every fragment spread expanded,
//!   computed in time linear in the text (see [`Shape`]), so a kilobyte of fragments that
//!   spread each other cannot cost the server minutes of a core before it answers.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
};

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

/// Deepest nesting of fields, inline fragments and fragment spreads the analysis follows
/// (recursion depth). Valid operations stay far below it: selection depth is limited to
/// `limits.max_depth` later, and a chain of fragments each spreading the next is the only way
/// past the bracket-nesting check.
const MAX_WALK_DEPTH: usize = 100;

/// What a document costs, from one walk that computes each fragment's cost once.
///
/// A fragment may spread another several times, and that one the next: `fragment F1 on T
/// { ...F0 ...F0 }`, `fragment F2 on T { ...F1 ...F1 }`, ... is 2^n selections in a few
/// hundred bytes. Any walk that expands spreads as it meets them (async-graphql's validation
/// does, and this module's did) takes time exponential in the document's size. Here each
/// fragment definition is costed once and its cost reused for every spread, with saturating
/// arithmetic, so the analysis is linear in the document whatever its fragments do; the
/// expanded size it finds is refused before anything else walks the document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Selections after every fragment spread is expanded in place, summed over the
    /// document's operations and fragment definitions: what a validating walk visits.
    pub selections: u64,
    /// Aliased fields of the selected operation, a fragment counted each time it is spread.
    pub aliases: u64,
    /// Root fields of the selected operation through fragments, with multiplicity: what rate
    /// limits count (ten aliased mutations are ten operations).
    pub root_fields: u64,
    /// Selection nodes the analysis visited: at most the number the document holds.
    pub visited: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    selections: u64,
    aliases: u64,
    /// Fields at this level, through spreads and inline fragments.
    fields: u64,
}

impl Cost {
    fn add(self, other: Cost) -> Cost {
        Cost {
            selections: self.selections.saturating_add(other.selections),
            aliases: self.aliases.saturating_add(other.aliases),
            fields: self.fields.saturating_add(other.fields),
        }
    }
}

struct Analysis<'d> {
    doc: &'d ExecutableDocument,
    memo: HashMap<&'d str, Cost>,
    in_progress: HashSet<&'d str>,
    visited: u64,
}

impl<'d> Analysis<'d> {
    fn set(&mut self, set: &'d SelectionSet, depth: usize) -> Result<Cost, ApiError> {
        if depth > MAX_WALK_DEPTH {
            return Err(ApiError::new(
                ErrorCode::QueryTooDeep,
                format!("fields and fragments nest deeper than {MAX_WALK_DEPTH} levels"),
            ));
        }
        let mut cost = Cost::default();
        for sel in &set.items {
            self.visited += 1;
            let one = match &sel.node {
                Selection::Field(f) => {
                    let inner = self.set(&f.node.selection_set.node, depth + 1)?;
                    Cost {
                        selections: 1u64.saturating_add(inner.selections),
                        aliases: u64::from(f.node.alias.is_some()).saturating_add(inner.aliases),
                        fields: 1,
                    }
                }
                Selection::InlineFragment(i) => {
                    let inner = self.set(&i.node.selection_set.node, depth + 1)?;
                    Cost {
                        selections: 1u64.saturating_add(inner.selections),
                        ..inner
                    }
                }
                Selection::FragmentSpread(s) => {
                    let inner = self.fragment(s.node.fragment_name.node.as_str(), depth + 1)?;
                    Cost {
                        selections: 1u64.saturating_add(inner.selections),
                        ..inner
                    }
                }
            };
            cost = cost.add(one);
        }
        Ok(cost)
    }

    /// A fragment's cost, computed on first use. A spread of an unknown fragment, or of one
    /// inside itself, costs nothing here: validation refuses both later.
    fn fragment(&mut self, name: &'d str, depth: usize) -> Result<Cost, ApiError> {
        if let Some(cost) = self.memo.get(name) {
            return Ok(*cost);
        }
        let Some((key, def)) = self.doc.fragments.get_key_value(name) else {
            return Ok(Cost::default());
        };
        let key = key.as_str();
        if !self.in_progress.insert(key) {
            return Ok(Cost::default());
        }
        let cost = self.set(&def.node.selection_set.node, depth);
        self.in_progress.remove(key);
        let cost = cost?;
        self.memo.insert(key, cost);
        Ok(cost)
    }
}

/// Analyses a parsed document for `operation` (see [`Shape`]) and refuses it when its
/// expanded size is over `max_selections` (`QUERY_TOO_COMPLEX`) or the operation uses more
/// than `max_aliases` aliases (`TOO_MANY_ALIASES`). Runs before authentication and before
/// async-graphql validates the document; its own work is linear in the document's size.
pub fn analyze(
    doc: &ExecutableDocument,
    operation: &OperationDefinition,
    max_selections: usize,
    max_aliases: usize,
) -> Result<Shape, ApiError> {
    let mut a = Analysis {
        doc,
        memo: HashMap::new(),
        in_progress: HashSet::new(),
        visited: 0,
    };
    let mut selections = 0u64;
    let ops: Vec<&OperationDefinition> = match &doc.operations {
        DocumentOperations::Single(op) => vec![&op.node],
        DocumentOperations::Multiple(ops) => ops.values().map(|o| &o.node).collect(),
    };
    for op in ops {
        selections = selections.saturating_add(a.set(&op.selection_set.node, 0)?.selections);
    }
    for name in doc.fragments.keys() {
        selections = selections.saturating_add(a.fragment(name.as_str(), 0)?.selections);
    }
    let chosen = a.set(&operation.selection_set.node, 0)?;
    let shape = Shape {
        selections,
        aliases: chosen.aliases,
        root_fields: chosen.fields,
        visited: a.visited,
    };
    if shape.selections > u64::try_from(max_selections).unwrap_or(u64::MAX) {
        return Err(ApiError::new(
            ErrorCode::QueryTooComplex,
            format!(
                "the document expands to more than {max_selections} selections (limits.max_complexity)"
            ),
        ));
    }
    if shape.aliases > u64::try_from(max_aliases).unwrap_or(u64::MAX) {
        return Err(ApiError::new(
            ErrorCode::TooManyAliases,
            format!("the operation uses more than {max_aliases} aliases"),
        ));
    }
    Ok(shape)
}

/// Calls `visit` for every root field an operation selects, through fragment spreads and
/// inline fragments (whatever their type condition) and whatever `@skip`/`@include` say: a
/// superset of the fields execution resolves. Each fragment is walked once, however often it
/// is spread, so a field spread many times is visited once per place it is written.
pub fn visit_root_fields<'d>(
    doc: &'d ExecutableDocument,
    operation: &'d OperationDefinition,
    visit: &mut impl FnMut(&'d Field),
) {
    fn walk<'d>(
        doc: &'d ExecutableDocument,
        set: &'d SelectionSet,
        seen: &mut HashSet<&'d str>,
        visit: &mut impl FnMut(&'d Field),
    ) {
        for sel in &set.items {
            match &sel.node {
                Selection::Field(f) => visit(&f.node),
                Selection::InlineFragment(i) => walk(doc, &i.node.selection_set.node, seen, visit),
                Selection::FragmentSpread(s) => {
                    if let Some((name, f)) = doc.fragments.get_key_value(&s.node.fragment_name.node)
                        && seen.insert(name.as_str())
                    {
                        walk(doc, &f.node.selection_set.node, seen, visit);
                    }
                }
            }
        }
    }
    walk(
        doc,
        &operation.selection_set.node,
        &mut HashSet::new(),
        visit,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(query: &str) -> (ExecutableDocument, OperationDefinition) {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        let op = match &doc.operations {
            DocumentOperations::Single(op) => op.node.clone(),
            DocumentOperations::Multiple(ops) => ops.values().next().unwrap().node.clone(),
        };
        (doc, op)
    }

    fn shape(query: &str) -> Result<Shape, ApiError> {
        let (doc, op) = parsed(query);
        analyze(&doc, &op, 20_000, 30)
    }

    fn aliases(query: &str, max: usize) -> Result<Shape, ApiError> {
        let (doc, op) = parsed(query);
        analyze(&doc, &op, 20_000, max)
    }

    /// `fragment F0 on Viewer { __typename }`, each `Fi` spreading `F(i-1)` twice, and an
    /// operation spreading the last: 2^(n-1) selections in about 40 bytes per fragment.
    fn fan_out(n: usize) -> String {
        let mut q = String::from(
            "query Q { viewer { ...F{last} } }\nfragment F0 on Viewer { __typename }\n",
        );
        q = q.replace("{last}", &(n - 1).to_string());
        for i in 1..n {
            q.push_str(&format!(
                "fragment F{i} on Viewer {{ ...F{p} ...F{p} }}\n",
                p = i - 1
            ));
        }
        q
    }

    #[test]
    fn root_fields_count_aliases_and_fragments() {
        let count = |q: &str| shape(q).unwrap().root_fields;
        assert_eq!(count("{ viewer { id } }"), 1);
        assert_eq!(count("mutation { a: x b: x c: x }"), 3);
        assert_eq!(
            count("{ ...F ... on Query { z } } fragment F on Query { a b }"),
            3
        );
        assert_eq!(count("{ ...F } fragment F on Query { ...F a }"), 1);
        assert_eq!(count("{ ...F ...F } fragment F on Query { a b }"), 4);
    }

    #[test]
    fn aliases_are_counted_through_fragments_and_cycles_end() {
        assert!(aliases("{ a: viewer { id } b: viewer { id } }", 2).is_ok());
        let three = aliases("{ a: viewer { id } b: viewer { id } c: viewer { id } }", 2);
        assert_eq!(three.err().map(|e| e.code), Some(ErrorCode::TooManyAliases));
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
    fn fragment_fan_out_is_refused_after_linear_work() {
        for n in [20, 26, 40, 64, 90] {
            let q = fan_out(n);
            let (doc, op) = parsed(&q);
            let mut a = Analysis {
                doc: &doc,
                memo: HashMap::new(),
                in_progress: HashSet::new(),
                visited: 0,
            };
            // The expanded size is exact (saturating) however large...
            let expanded = a.set(&op.selection_set.node, 0).unwrap().selections;
            // F0 is one selection, Fi two spreads of F(i-1), the operation `viewer` and a spread.
            let fi = (1..n).fold(1u64, |s, _| s.saturating_add(1).saturating_mul(2));
            assert_eq!(expanded, fi.saturating_add(2), "n = {n}");
            // ...while the walk visits each written selection once: two spreads per fragment.
            assert!(
                a.visited <= 2 * n as u64 + 2,
                "n = {n}: {} visits",
                a.visited
            );
            let err = analyze(&doc, &op, 20_000, 30).err().map(|e| e.code);
            assert_eq!(err, Some(ErrorCode::QueryTooComplex), "n = {n}");
        }
        // Below the limit the document passes, with its real counts.
        let small = shape(&fan_out(8)).unwrap();
        assert!(
            small.selections > 255 && small.selections < 20_000,
            "{small:?}"
        );
        assert_eq!(small.root_fields, 1);
    }

    #[test]
    fn every_fragment_definition_counts_toward_the_expanded_size() {
        // Validation walks each definition on its own, expanding it: a hundred copies of a
        // large fragment cost a hundred times, even if the operation spreads none.
        let mut q = String::from("{ viewer { id } }\nfragment Big on Query { ...F12 }\n");
        q.push_str("fragment F0 on Query { __typename }\n");
        for i in 1..=12 {
            q.push_str(&format!(
                "fragment F{i} on Query {{ ...F{p} ...F{p} }}\n",
                p = i - 1
            ));
        }
        let s = shape(&q).err().map(|e| e.code);
        assert_eq!(s, Some(ErrorCode::QueryTooComplex));
    }

    #[test]
    fn long_fragment_chains_are_refused_not_recursed_into() {
        let mut q = String::from("{ ...F500 }\nfragment F0 on Query { __typename }\n");
        for i in 1..=500 {
            q.push_str(&format!(
                "fragment F{i} on Query {{ ...F{p} }}\n",
                p = i - 1
            ));
        }
        assert_eq!(
            shape(&q).err().map(|e| e.code),
            Some(ErrorCode::QueryTooDeep)
        );
    }

    #[test]
    fn root_fields_visits_each_fragment_once() {
        let q = fan_out(40)
            .replace("query Q { viewer { ...F39 } }", "query Q { ...F39 }")
            .replace(" on Viewer", " on Query");
        let (doc, op) = parsed(&q);
        let mut n = 0;
        visit_root_fields(&doc, &op, &mut |_| n += 1);
        assert_eq!(n, 1);
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
