//! SCIM filters (RFC 7644 §3.4.2.2) over the workspace's users or groups, compiled to a SQL
//! condition with bound values — no filter text is ever spliced into SQL.
//!
//! Supported: `eq ne co sw ew pr`, `and`, `or`, `not (…)`, parentheses. Users: `id`,
//! `userName`, `externalId`, `displayName`, `active`, `name.givenName|familyName|formatted`,
//! `emails.value` (also `emails`) and `emails.type`. Groups: `id`, `displayName`,
//! `externalId` and `members.value` (also `members`). `userName`, names, display names and
//! emails compare case-insensitively, as their schema says (`caseExact: false`). Anything
//! else is an `invalidFilter` error that names what was not understood.

use super::Kind;
use super::error::ScimError;

/// The longest filter accepted, and how deep parentheses may nest.
const MAX_LEN: usize = 2000;
const MAX_DEPTH: usize = 16;

/// A value bound into the compiled condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    Text(String),
    Bool(bool),
}

/// A compiled filter: a SQL condition over `scim_users` (users) or `teams tm` left-joined to
/// `scim_groups g` (groups) whose parameters are numbered from
/// the `first` given to [`compile`], and their values in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    pub sql: String,
    pub values: Vec<Bound>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad("invalidFilter", detail)
}

fn lex(s: &str) -> Result<Vec<Tok>, ScimError> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                out.push(Tok::Close);
            }
            '"' => {
                // A JSON string: find its end, let serde decode the escapes.
                let start = i;
                chars.next();
                let mut escaped = false;
                let mut end = None;
                for (j, d) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == '"' {
                        end = Some(j);
                        break;
                    }
                }
                let end = end.ok_or_else(|| invalid("a string in the filter is not closed"))?;
                let text: String = serde_json::from_str(&s[start..=end])
                    .map_err(|_| invalid("a string in the filter is not valid JSON"))?;
                out.push(Tok::Str(text));
            }
            _ => {
                let start = i;
                let mut end = s.len();
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_whitespace() || d == '(' || d == ')' || d == '"' {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                out.push(Tok::Word(s[start..end].to_owned()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    values: Vec<Bound>,
    first: usize,
    kind: Kind,
}

impl Parser {
    fn peek_word(&self) -> Option<String> {
        match self.toks.get(self.at) {
            Some(Tok::Word(w)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn bind(&mut self, v: Bound) -> String {
        self.values.push(v);
        format!("${}", self.first + self.values.len() - 1)
    }

    fn expr(&mut self, depth: usize) -> Result<String, ScimError> {
        let mut sql = self.term(depth)?;
        while self.peek_word().as_deref() == Some("or") {
            self.at += 1;
            sql = format!("({sql} OR {})", self.term(depth)?);
        }
        Ok(sql)
    }

    fn term(&mut self, depth: usize) -> Result<String, ScimError> {
        let mut sql = self.factor(depth)?;
        while self.peek_word().as_deref() == Some("and") {
            self.at += 1;
            sql = format!("({sql} AND {})", self.factor(depth)?);
        }
        Ok(sql)
    }

    fn factor(&mut self, depth: usize) -> Result<String, ScimError> {
        if depth > MAX_DEPTH {
            return Err(invalid("the filter nests too deeply"));
        }
        let negated = self.peek_word().as_deref() == Some("not");
        if negated {
            self.at += 1;
        }
        let sql = match self.toks.get(self.at) {
            Some(Tok::Open) => {
                self.at += 1;
                let inner = self.expr(depth + 1)?;
                if self.toks.get(self.at) != Some(&Tok::Close) {
                    return Err(invalid("a parenthesis in the filter is not closed"));
                }
                self.at += 1;
                inner
            }
            Some(Tok::Word(_)) if !negated => self.comparison()?,
            _ => {
                return Err(invalid(
                    "expected an attribute or a parenthesis in the filter",
                ));
            }
        };
        Ok(if negated {
            format!("(NOT coalesce({sql}, false))")
        } else {
            sql
        })
    }

    fn comparison(&mut self) -> Result<String, ScimError> {
        let Some(Tok::Word(path)) = self.toks.get(self.at).cloned() else {
            return Err(invalid("expected an attribute in the filter"));
        };
        self.at += 1;
        let op = self
            .peek_word()
            .ok_or_else(|| invalid(format!("expected an operator after {path}")))?;
        self.at += 1;
        let attr = Attr::parse(self.kind, &path)?;
        if op == "pr" {
            return Ok(attr.present());
        }
        let value = match self.toks.get(self.at).cloned() {
            Some(Tok::Str(s)) => Bound::Text(s),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => Bound::Bool(true),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => Bound::Bool(false),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => {
                self.at += 1;
                return match op.as_str() {
                    "eq" => Ok(format!("(NOT {})", attr.present())),
                    "ne" => Ok(attr.present()),
                    _ => Err(invalid("null compares only with eq or ne")),
                };
            }
            _ => return Err(invalid(format!("expected a value after {path} {op}"))),
        };
        self.at += 1;
        attr.compare(self, &op, value)
    }
}

/// An attribute a filter may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attr {
    Id(Kind),
    UserName,
    ExternalId(Kind),
    DisplayName(Kind),
    Active,
    Name(&'static str),
    Email(&'static str),
    Member,
}

impl Attr {
    fn parse(kind: Kind, path: &str) -> Result<Self, ScimError> {
        let p = super::strip_urn(path, kind.urn()).to_ascii_lowercase();
        Ok(match (kind, p.as_str()) {
            (_, "id") => Self::Id(kind),
            (_, "externalid") => Self::ExternalId(kind),
            (_, "displayname") => Self::DisplayName(kind),
            (Kind::User, "username") => Self::UserName,
            (Kind::User, "active") => Self::Active,
            (Kind::User, "name.givenname") => Self::Name("givenName"),
            (Kind::User, "name.familyname") => Self::Name("familyName"),
            (Kind::User, "name.formatted") => Self::Name("formatted"),
            (Kind::User, "emails" | "emails.value") => Self::Email("value"),
            (Kind::User, "emails.type") => Self::Email("type"),
            (Kind::Group, "members" | "members.value") => Self::Member,
            _ => {
                return Err(invalid(format!(
                    "filtering {}s on {path} is not supported",
                    kind.name()
                )));
            }
        })
    }

    /// The column expression (text attributes), and whether it compares case-exactly.
    fn column(self) -> (String, bool) {
        match self {
            Self::Id(Kind::User) => ("id::text".into(), false),
            Self::Id(Kind::Group) => ("tm.id::text".into(), false),
            Self::UserName => ("user_name".into(), false),
            Self::ExternalId(Kind::User) => ("external_id".into(), true),
            Self::ExternalId(Kind::Group) => ("g.external_id".into(), true),
            Self::DisplayName(Kind::User) => ("(attributes->>'displayName')".into(), false),
            Self::DisplayName(Kind::Group) => ("tm.name".into(), false),
            Self::Name(sub) => (format!("(attributes->'name'->>'{sub}')"), false),
            Self::Email(sub) => (format!("(e->>'{sub}')"), false),
            Self::Member => ("m.scim_user_id::text".into(), false),
            Self::Active => ("active::text".into(), true),
        }
    }

    /// `cond` over the element variable of a multi-valued attribute, as a condition on the
    /// resource.
    fn within(self, cond: String) -> String {
        match self {
            Self::Email(_) => format!(
                "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(attributes->'emails') = 'array' \
                 THEN attributes->'emails' ELSE '[]'::jsonb END) AS x(e) WHERE {cond})"
            ),
            Self::Member => format!(
                "EXISTS (SELECT 1 FROM scim_group_members m WHERE m.team_id = tm.id AND {cond})"
            ),
            _ => cond,
        }
    }

    fn present(self) -> String {
        let (col, _) = self.column();
        match self {
            Self::Active => "true".into(),
            _ => self.within(format!("({col} IS NOT NULL AND {col} <> '')")),
        }
    }

    fn compare(self, p: &mut Parser, op: &str, value: Bound) -> Result<String, ScimError> {
        if self == Self::Active {
            let Bound::Bool(b) = value else {
                return Err(invalid("active compares with true or false"));
            };
            let v = p.bind(Bound::Bool(b));
            return match op {
                "eq" => Ok(format!("(active = {v})")),
                "ne" => Ok(format!("(active <> {v})")),
                _ => Err(invalid("active compares only with eq or ne")),
            };
        }
        let Bound::Text(text) = value else {
            return Err(invalid("this attribute compares with a string"));
        };
        let (col, exact) = self.column();
        let v = p.bind(Bound::Text(text));
        let (a, b) = if exact {
            (col, v)
        } else {
            (format!("lower({col})"), format!("lower({v})"))
        };
        let cond = match op {
            "eq" => format!("({a} = {b})"),
            "ne" => format!("({a} IS DISTINCT FROM {b})"),
            "co" => format!("(strpos({a}, {b}) > 0)"),
            "sw" => format!("starts_with({a}, {b})"),
            "ew" => format!("(right({a}, length({b})) = {b})"),
            "gt" | "ge" | "lt" | "le" => {
                return Err(invalid(format!("{op} is not supported on this attribute")));
            }
            other => return Err(invalid(format!("unknown operator {other}"))),
        };
        Ok(self.within(cond))
    }
}

/// Compiles `filter` over resources of `kind`; its parameters are numbered from `$first`.
pub fn compile(kind: Kind, filter: &str, first: usize) -> Result<Compiled, ScimError> {
    if filter.len() > MAX_LEN {
        return Err(invalid(format!("a filter is at most {MAX_LEN} characters")));
    }
    let mut p = Parser {
        toks: lex(filter)?,
        at: 0,
        values: Vec::new(),
        first,
        kind,
    };
    if p.toks.is_empty() {
        return Err(invalid("the filter is empty"));
    }
    let sql = p.expr(0)?;
    if p.at != p.toks.len() {
        return Err(invalid(
            "the filter has something left over after a complete expression",
        ));
    }
    Ok(Compiled {
        sql,
        values: p.values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_providers_filters_compile_with_bound_values() {
        let c = compile(Kind::User, r#"userName eq "Bjensen@Example.com""#, 1).unwrap();
        assert_eq!(c.sql, "(lower(user_name) = lower($1))");
        assert_eq!(c.values, vec![Bound::Text("Bjensen@Example.com".into())]);
        let c = compile(
            Kind::User,
            r#"externalId eq "00u1" and (emails.value eq "a@b.c" or emails[type eq "work"] pr)"#,
            3,
        );
        // Value paths (`emails[…]`) are not supported: named in the error.
        assert!(c.is_err());
        let c = compile(
            Kind::User,
            r#"externalId eq "00u1" and (emails.value eq "a@b.c" or not (active eq false))"#,
            3,
        )
        .unwrap();
        assert!(c.sql.starts_with("((external_id = $3) AND"), "{}", c.sql);
        assert_eq!(c.values.len(), 3);
        assert_eq!(c.values[2], Bound::Bool(false));
    }

    #[test]
    fn group_filters_name_teams_and_their_provisioned_members() {
        let c = compile(Kind::Group, r#"displayName eq "Engineering""#, 1).unwrap();
        assert_eq!(c.sql, "(lower(tm.name) = lower($1))");
        let c = compile(
            Kind::Group,
            r#"urn:ietf:params:scim:schemas:core:2.0:Group:externalId eq "g1" and members eq "u1""#,
            1,
        )
        .unwrap();
        assert!(
            c.sql
                .starts_with("((g.external_id = $1) AND EXISTS (SELECT 1 FROM scim_group_members"),
            "{}",
            c.sql
        );
        assert!(
            c.sql
                .contains("AND (lower(m.scim_user_id::text) = lower($2))"),
            "{}",
            c.sql
        );
        // User attributes are not Group attributes, and the other way round.
        for (kind, f) in [
            (Kind::Group, r#"userName eq "a""#),
            (Kind::Group, r#"emails.value eq "a@b.c""#),
            (Kind::User, r#"members eq "a""#),
        ] {
            let e = compile(kind, f, 1).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidFilter"), "{f}");
        }
    }

    #[test]
    fn injection_stays_a_value() {
        let c = compile(Kind::User, r#"userName eq "x') OR true --""#, 1).unwrap();
        assert_eq!(c.sql, "(lower(user_name) = lower($1))");
        assert_eq!(c.values, vec![Bound::Text("x') OR true --".into())]);
        assert!(compile(Kind::User, "userName eq x'); DROP TABLE scim_users; --", 1).is_err());
    }

    #[test]
    fn bad_filters_are_invalid_filter_errors() {
        for bad in [
            "",
            "userName",
            "userName eq",
            r#"password eq "x""#,
            r#"userName gt "a""#,
            r#"(userName eq "a""#,
            r#"userName eq "a" extra"#,
            r#"active eq "yes""#,
            r#"userName eq "unterminated"#,
        ] {
            let e = compile(Kind::User, bad, 1).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidFilter"), "{bad}");
        }
        let deep = format!("{}userName pr{}", "(".repeat(40), ")".repeat(40));
        assert!(compile(Kind::User, &deep, 1).is_err());
    }
}
