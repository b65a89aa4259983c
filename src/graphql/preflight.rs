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

#[cfg(test)]
mod tests {
    use super::*;

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
