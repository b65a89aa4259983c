//! Splits a migration file into its statements.
//!
//! Citus forwards a DDL command on a distributed table to the workers with the text it came
//! in, and refuses a text holding several commands ("cannot insert multiple commands into a
//! prepared statement"). Tenant migrations therefore run statement by statement, in the same
//! transaction. The splitter knows PostgreSQL's lexical forms that may contain a `;`: quoted
//! strings and identifiers (`''` and `""` escapes), escape strings (`E'\''`), dollar-quoted
//! bodies (`$tag$ … $tag$`), line comments and nested block comments.

/// The statements of `sql`, trimmed, without empty ones (a trailing `;` or comments only).
pub fn statements(sql: &str) -> Vec<&str> {
    let b = sql.as_bytes();
    let (mut out, mut start, mut i) = (Vec::new(), 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'\'' => {
                let escapes =
                    i > 0 && matches!(b[i - 1], b'E' | b'e') && (i < 2 || !ident_byte(b, i - 2));
                i = quoted(b, i, b'\'', escapes);
            }
            b'"' => i = quoted(b, i, b'"', false),
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(b.len(), |n| i + n + 1);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => i = block_comment(b, i),
            b'$' if !ident_byte(b, i.wrapping_sub(1)) => i = dollar_quoted(sql, i),
            b';' => {
                push(&mut out, &sql[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    push(&mut out, &sql[start..]);
    out
}

fn push<'a>(out: &mut Vec<&'a str>, s: &'a str) {
    let s = s.trim();
    if !only_comments(s) {
        out.push(s);
    }
}

/// Whether the byte at `i` continues an identifier (so `$` there is part of a name like
/// `a$b`, and `E` before a quote is not an escape-string prefix).
fn ident_byte(b: &[u8], i: usize) -> bool {
    b.get(i)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$')
}

/// Past the quoted text starting at `i` (`quote` doubled inside escapes it; with `escapes`,
/// a backslash escapes the next byte too).
fn quoted(b: &[u8], mut i: usize, quote: u8, escapes: bool) -> usize {
    i += 1;
    while i < b.len() {
        if escapes && b[i] == b'\\' {
            i += 2;
        } else if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// Past the block comment starting at `i` (they nest in PostgreSQL).
fn block_comment(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// Past the dollar-quoted body starting at `i`, or just past the `$` when it opens none
/// (a parameter like `$1`).
fn dollar_quoted(sql: &str, i: usize) -> usize {
    let rest = &sql[i + 1..];
    let tag_len = rest
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count();
    if rest.as_bytes().get(tag_len) != Some(&b'$')
        || rest.as_bytes().first().is_some_and(u8::is_ascii_digit)
    {
        return i + 1;
    }
    let delimiter = &sql[i..i + tag_len + 2];
    let body = i + delimiter.len();
    sql[body..]
        .find(delimiter)
        .map_or(sql.len(), |n| body + n + delimiter.len())
}

fn only_comments(s: &str) -> bool {
    let mut rest = s.trim_start();
    loop {
        if rest.is_empty() {
            return true;
        }
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.find('\n').map_or("", |n| &r[n + 1..]).trim_start();
        } else if rest.starts_with("/*") {
            let end = block_comment(rest.as_bytes(), 0);
            rest = rest[end..].trim_start();
        } else {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::statements;

    #[test]
    fn semicolons_inside_literals_bodies_and_comments_do_not_split() {
        let sql = "-- a comment; still one\n\
            CREATE TABLE t (a text DEFAULT 'x;y', \"we;ird\" int);\n\
            /* block; /* nested; */ still comment */\n\
            CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$;\n\
            SELECT E'it\\'s; fine', $1, a$b FROM t;\n\
            DO $$ BEGIN PERFORM 1; END $$;\n\
            -- trailing comment only\n";
        let got = statements(sql);
        assert_eq!(got.len(), 4, "{got:#?}");
        assert!(got[0].ends_with("\"we;ird\" int)"));
        assert!(got[1].starts_with("/* block;") && got[1].ends_with("$body$"));
        assert!(got[2].starts_with("SELECT E'it\\'s; fine'"));
        assert_eq!(got[3], "DO $$ BEGIN PERFORM 1; END $$");
    }

    #[test]
    fn unterminated_forms_end_at_the_end_of_the_text() {
        assert_eq!(statements("SELECT 'open; ended"), ["SELECT 'open; ended"]);
        assert_eq!(statements("SELECT 1; /* open"), ["SELECT 1"]);
        assert!(statements("  ;; -- nothing\n").is_empty());
    }
}
