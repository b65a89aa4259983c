//! Hostile input, driven by the schemas themselves: every argument of every root field of the
//! tenant and global schemas, and the fields of every input object they take, receive values a
//! careless or malicious client sends (NUL characters, escaped lone surrogates, right-to-left
//! overrides, 200 KB strings, malformed ids and cursors, huge numbers, wrong types, missing
//! required variables); so do the REST routes. Any client error is a fine answer. A 5xx or an
//! `INTERNAL` error is a defect: bad input must be refused where it enters, never reach the
//! database as an internal error.

use std::collections::HashMap;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tessera::authz::Role;

use crate::helpers::{Browser, TestApp, TestDb, seed};

const INTROSPECTION: &str = "{ __schema { queryType { name } mutationType { name } types { name kind \
    enumValues { name } inputFields { name defaultValue type { ...T } } \
    fields { name args { name defaultValue type { ...T } } type { ...T } } } } } \
    fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

#[derive(Debug, Clone)]
enum Ty {
    NonNull(Box<Ty>),
    List(Box<Ty>),
    Named(String),
}

impl Ty {
    fn parse(v: &Value) -> Ty {
        match v["kind"].as_str() {
            Some("NON_NULL") => Ty::NonNull(Box::new(Ty::parse(&v["ofType"]))),
            Some("LIST") => Ty::List(Box::new(Ty::parse(&v["ofType"]))),
            _ => Ty::Named(v["name"].as_str().unwrap_or_default().to_owned()),
        }
    }

    fn sdl(&self) -> String {
        match self {
            Ty::NonNull(t) => format!("{}!", t.sdl()),
            Ty::List(t) => format!("[{}]", t.sdl()),
            Ty::Named(n) => n.clone(),
        }
    }

    fn named(&self) -> &str {
        match self {
            Ty::NonNull(t) | Ty::List(t) => t.named(),
            Ty::Named(n) => n,
        }
    }
}

struct Arg {
    name: String,
    ty: Ty,
    has_default: bool,
}

struct Field {
    root: &'static str,
    name: String,
    args: Vec<Arg>,
    /// Whether the field returns an object (needs a selection).
    composite: bool,
}

struct Schema {
    fields: Vec<Field>,
    kinds: HashMap<String, String>,
    enums: HashMap<String, Vec<String>>,
    inputs: HashMap<String, Vec<Arg>>,
}

fn args_of(list: &Value) -> Vec<Arg> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|a| Arg {
            name: a["name"].as_str().unwrap_or_default().to_owned(),
            ty: Ty::parse(&a["type"]),
            has_default: !a["defaultValue"].is_null(),
        })
        .collect()
}

fn schema_of(data: &Value) -> Schema {
    let s = &data["__schema"];
    let mut schema = Schema {
        fields: Vec::new(),
        kinds: HashMap::new(),
        enums: HashMap::new(),
        inputs: HashMap::new(),
    };
    let roots = [
        ("query", s["queryType"]["name"].as_str().unwrap_or_default()),
        (
            "mutation",
            s["mutationType"]["name"].as_str().unwrap_or_default(),
        ),
    ];
    for t in s["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap().to_owned();
        let kind = t["kind"].as_str().unwrap().to_owned();
        if let Some(values) = t["enumValues"].as_array() {
            let v = values
                .iter()
                .map(|e| e["name"].as_str().unwrap().to_owned())
                .collect();
            schema.enums.insert(name.clone(), v);
        }
        if kind == "INPUT_OBJECT" {
            schema
                .inputs
                .insert(name.clone(), args_of(&t["inputFields"]));
        }
        for (root, root_name) in roots {
            if name == root_name {
                for f in t["fields"].as_array().unwrap() {
                    let ret = Ty::parse(&f["type"]);
                    schema.fields.push(Field {
                        root,
                        name: f["name"].as_str().unwrap().to_owned(),
                        args: args_of(&f["args"]),
                        composite: false,
                    });
                    let last = schema.fields.len() - 1;
                    schema.fields[last].args.sort_by(|a, b| a.name.cmp(&b.name));
                    // Resolved below, once every type's kind is known.
                    schema.fields[last].name =
                        format!("{}|{}", schema.fields[last].name, ret.named());
                }
            }
        }
        schema.kinds.insert(name, kind);
    }
    for f in &mut schema.fields {
        let (name, ret) = f.name.split_once('|').unwrap();
        f.composite = matches!(
            schema.kinds.get(ret).map(String::as_str),
            Some("OBJECT" | "INTERFACE" | "UNION")
        );
        f.name = name.to_owned();
    }
    schema
}

impl Schema {
    /// A value of `ty` that is well formed (it may still name nothing).
    fn plausible(&self, ty: &Ty) -> Value {
        match ty {
            Ty::NonNull(t) => self.plausible(t),
            Ty::List(t) => json!([self.plausible(t)]),
            Ty::Named(n) => match n.as_str() {
                "ID" => json!(uuid::Uuid::new_v4().to_string()),
                "String" => json!("x"),
                "Int" => json!(1),
                "Float" => json!(1.0),
                "Boolean" => json!(false),
                "DateTime" => json!("2026-01-01T00:00:00Z"),
                "JSON" => json!({}),
                other => {
                    if let Some(values) = self.enums.get(other) {
                        json!(values[0])
                    } else if let Some(fields) = self.inputs.get(other) {
                        let mut obj = serde_json::Map::new();
                        for f in fields {
                            if matches!(f.ty, Ty::NonNull(_)) && !f.has_default {
                                obj.insert(f.name.clone(), self.plausible(&f.ty));
                            }
                        }
                        Value::Object(obj)
                    } else {
                        Value::Null
                    }
                }
            },
        }
    }

    /// Hostile values of `ty`, as raw JSON text (so escaped lone surrogates survive).
    fn hostile(&self, ty: &Ty, depth: usize) -> Vec<String> {
        let mut out = vec!["null".to_owned()];
        match ty {
            Ty::NonNull(t) => out.extend(self.hostile(t, depth)),
            Ty::List(t) => {
                out.push(r#""not a list""#.to_owned());
                out.extend(self.hostile(t, depth).into_iter().map(|v| format!("[{v}]")));
            }
            Ty::Named(n) => match n.as_str() {
                "ID" | "String" => out.extend(strings()),
                "Int" => out.extend(
                    [
                        "4294967296",
                        "-2147483649",
                        "-1",
                        "0",
                        r#""1""#,
                        "1.5",
                        "1e400",
                    ]
                    .map(str::to_owned),
                ),
                "Float" => out.extend(["1e400", r#""x""#].map(str::to_owned)),
                "Boolean" => out.extend([r#""yes""#, "1"].map(str::to_owned)),
                "DateTime" => out.extend(
                    [
                        r#""not-a-date""#,
                        r#""+275760-09-13T00:00:00Z""#,
                        r#""2026-13-45T99:99:99Z""#,
                        "0",
                    ]
                    .map(str::to_owned),
                ),
                "JSON" => {
                    out.extend(
                        [
                            r#"{"a":"\u0000"}"#,
                            r#"{"\u0000":1}"#,
                            r#""not an object""#,
                            r#"{"a":"\ud800"}"#,
                        ]
                        .map(str::to_owned),
                    );
                    out.push(format!("{}1{}", "[".repeat(100), "]".repeat(100)));
                    out.push(format!(r#"{{"big":"{}"}}"#, "x".repeat(20_000)));
                }
                other => {
                    if self.enums.contains_key(other) {
                        out.extend([r#""NOPE""#, "1", r#""""#].map(str::to_owned));
                    } else if let Some(fields) = self.inputs.get(other) {
                        out.extend([r#""""#, "{}", "[]", "7"].map(str::to_owned));
                        if depth < 2 {
                            let base = self.plausible(ty);
                            for f in fields {
                                for h in self.hostile(&f.ty, depth + 1) {
                                    let mut obj = base.clone();
                                    obj[&f.name] = json!("__HOLE__");
                                    out.push(obj.to_string().replace(r#""__HOLE__""#, &h));
                                }
                            }
                        }
                    }
                }
            },
        }
        out
    }
}

/// Strings a careless or hostile client sends: NUL, an escaped lone surrogate, a right-to-left
/// override, control characters, markup, 200 KB of text, malformed ids and cursors, a number.
fn strings() -> Vec<String> {
    let mut v: Vec<String> = [
        r#""a\u0000b""#,
        r#""\u0000""#,
        r#""\ud800""#,
        r#""\udc00x""#,
        r#""\u202eevil.exe""#,
        r#""\u0007\u001b[31m""#,
        r#""<img src=x onerror=alert(1)>""#,
        r#""""#,
        r#""   ""#,
        r#""not-a-uuid""#,
        r#""00000000-0000-0000-0000-000000000000""#,
        r#""!!!cursor""#,
        r#""AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA""#,
        "12",
        "[]",
        "{}",
    ]
    .map(str::to_owned)
    .to_vec();
    v.push(format!(r#""{}""#, "x".repeat(200_000)));
    v
}

/// One request's variables and query for `field` with `hostile` (raw JSON) in `arg`, or with
/// the variable left out when `hostile` is `None`.
fn request(schema: &Schema, field: &Field, arg: &str, hostile: Option<&str>) -> String {
    let decls: Vec<String> = field
        .args
        .iter()
        .map(|a| format!("${}: {}", a.name, a.ty.sdl()))
        .collect();
    let uses: Vec<String> = field
        .args
        .iter()
        .map(|a| format!("{0}: ${0}", a.name))
        .collect();
    let selection = if field.composite {
        " { __typename }"
    } else {
        ""
    };
    let query = format!(
        "{} H({}) {{ {}({}){} }}",
        field.root,
        decls.join(", "),
        field.name,
        uses.join(", "),
        selection
    );
    let mut vars = Vec::new();
    for a in &field.args {
        if a.name == arg {
            if let Some(h) = hostile {
                vars.push(format!("{:?}: {h}", a.name));
            }
        } else {
            vars.push(format!("{:?}: {}", a.name, schema.plausible(&a.ty)));
        }
    }
    format!(
        r#"{{"query": {}, "variables": {{{}}}}}"#,
        Value::String(query),
        vars.join(", ")
    )
}

/// Sends raw bodies to `path` with the browser's session; returns every answer that is a 5xx
/// or carries an `INTERNAL` error, with what was sent.
async fn attack(app: &TestApp, cookie: &str, path: &str, bodies: Vec<String>) -> Vec<String> {
    let origin = format!("https://{}", app.addr);
    let url = app.url(path);
    futures_util::stream::iter(bodies)
        .map(|body| {
            let req = app
                .http
                .post(&url)
                .header("content-type", "application/json")
                .header("origin", &origin)
                .header("cookie", cookie)
                .body(body.clone());
            async move {
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap_or_default();
                let internal = status >= 500 || text.contains(r#""INTERNAL""#);
                internal.then(|| {
                    let shown: String = body.chars().take(300).collect();
                    format!(
                        "{status} {}\n    sent: {shown}",
                        &text[..text.len().min(300)]
                    )
                })
            }
        })
        .buffer_unordered(8)
        .filter_map(|x| async move { x })
        .collect()
        .await
}

fn requests_for(schema: &Schema) -> Vec<String> {
    let mut bodies = Vec::new();
    for field in &schema.fields {
        for arg in &field.args {
            for h in schema.hostile(&arg.ty, 0) {
                bodies.push(request(schema, field, &arg.name, Some(&h)));
            }
            if matches!(arg.ty, Ty::NonNull(_)) {
                bodies.push(request(schema, field, &arg.name, None));
            }
        }
    }
    bodies
}

/// A server whose rate limits stay out of the way of a few thousand requests.
async fn app() -> TestApp {
    let mut db = TestDb::new().await;
    db.cfg.rate_limits.enabled = false;
    let a = &mut db.cfg.auth;
    a.signup_per_minute_per_ip = 100_000;
    a.signin_per_minute_per_ip = 100_000;
    a.signin_per_minute_per_account = 100_000;
    a.second_factor_per_minute_per_account = 100_000;
    a.second_factor_per_minute_per_ip = 100_000;
    TestApp::spawn_on(db, 8).await
}

#[tokio::test]
async fn no_argument_of_either_schema_turns_hostile_input_into_an_internal_error() {
    let app = app().await;
    let s = seed(&app, "acme").await;
    let mut b = Browser::new(&app);
    let (status, _, _) = b
        .post(
            "/auth/signup",
            json!({ "email": "boss@acme.test", "password": "correct horse battery staple" }),
        )
        .await;
    assert_eq!(status, 201);
    app.db
        .add_user(&s.tenant, "boss@acme.test", Role::Owner)
        .await;
    let cookie = b.cookie.clone().unwrap();
    let mut problems = Vec::new();
    let mut sent = 0;
    for path in ["/w/acme/graphql", "/graphql"] {
        let (_, _, data) = b.post(path, json!({ "query": INTROSPECTION })).await;
        let schema = schema_of(&data["data"]);
        assert!(schema.fields.len() > 10, "{path}: {data}");
        let bodies = requests_for(&schema);
        sent += bodies.len();
        problems.extend(attack(&app, &cookie, path, bodies).await);
    }
    assert!(sent > 1000, "only {sent} requests");
    assert!(
        problems.is_empty(),
        "{} of {sent} hostile requests answered an internal error:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[tokio::test]
async fn the_auth_routes_refuse_hostile_bodies_as_client_errors() {
    let app = app().await;
    let mut b = Browser::new(&app);
    let (status, _, _) = b
        .post(
            "/auth/signup",
            json!({ "email": "ann@x.test", "password": "correct horse battery staple" }),
        )
        .await;
    assert_eq!(status, 201);
    let cookie = b.cookie.clone().unwrap();
    let mut problems = Vec::new();
    let routes: [(&str, &[&str]); 5] = [
        ("/auth/signup", &["email", "password", "displayName"]),
        ("/auth/signin", &["email", "password"]),
        ("/auth/mfa", &["code"]),
        ("/auth/passkey/options", &["x"]),
        ("/auth/passkey", &["ceremonyId", "credential"]),
    ];
    for (path, fields) in routes {
        let mut bodies = Vec::new();
        for field in fields.iter() {
            for h in strings() {
                let mut obj = serde_json::Map::new();
                for f in fields.iter() {
                    obj.insert((*f).to_owned(), json!(format!("{f}@x.test")));
                }
                obj.insert((*field).to_owned(), json!("__HOLE__"));
                bodies.push(Value::Object(obj).to_string().replace(r#""__HOLE__""#, &h));
            }
        }
        bodies.push(r#"{"email": "a\u0000@x.test", "password": 1}"#.to_owned());
        bodies.push("[]".to_owned());
        problems.extend(attack(&app, &cookie, path, bodies).await);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn hostile_paths_and_query_strings_are_client_errors() {
    let app = app().await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    let bad = [
        "%00",
        "a%00b",
        "%E2%80%AE",
        "%ED%A0%80",
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
        "..%2F..%2Fetc%2Fpasswd",
    ];
    let mut problems = Vec::new();
    for v in bad {
        let long = "x".repeat(5000);
        for path in [
            format!("/w/acme/attachments/{v}/content"),
            format!("/w/acme/exports/{v}/content"),
            format!("/w/acme/export/{v}"),
            format!("/w/{v}/graphql"),
            format!("/blobs/{v}/{v}?exp=1&sig={v}"),
            format!("/auth/oidc/{v}/start"),
            format!("/auth/oidc/acme/callback?code={v}&state={v}"),
            format!("/w/acme/attachments/{long}/content"),
        ] {
            let resp = app.get(&path, t).await;
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            if status >= 500 || text.contains(r#""INTERNAL""#) {
                problems.push(format!("GET {path}: {status} {text}"));
            }
        }
        for query in [
            format!("entityType=project&entityId={}&filename={v}", s.project_id),
            format!("entityType={v}&entityId={}&filename=a.txt", s.project_id),
            format!("entityType=project&entityId={v}&filename=a.txt"),
        ] {
            let resp = app
                .http
                .post(app.url(&format!("/w/acme/attachments?{query}")))
                .bearer_auth(t)
                .header("content-type", "text/plain")
                .body("hello")
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            if status >= 500 || text.contains(r#""INTERNAL""#) {
                problems.push(format!("POST attachments?{query}: {status} {text}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn the_client_mistakes_named_in_reviews_get_client_codes() {
    let app = app().await;
    let s = seed(&app, "acme").await;
    let t = &s.owner_token;
    let project = s.project_id.as_str();
    let cases: Vec<(&str, Value, &str)> = vec![
        // A required variable left out.
        (
            "query Q($t: ID!) { idea(id: $t) { id } }",
            json!(null),
            "BAD_USER_INPUT",
        ),
        // An input object given as a string.
        (
            "mutation M($v: CreateRecordInput!) { createRecord(input: $v) { id } }",
            json!({ "v": "" }),
            "BAD_USER_INPUT",
        ),
        // A DateTime that is not one.
        (
            "query Q($f: DateTime) { auditEntries(from: $f) { seq } }",
            json!({ "f": "not-a-date" }),
            "BAD_USER_INPUT",
        ),
        // NUL in a variable and in a literal.
        (
            "mutation M($v: CreateRecordInput!) { createRecord(input: $v) { id } }",
            json!({ "v": { "projectId": project, "title": "a\u{0}b" } }),
            "BAD_USER_INPUT",
        ),
        (
            "mutation { createIdea(input: {title: \"a\\u0000b\"}) { id } }",
            json!(null),
            "BAD_USER_INPUT",
        ),
        (
            "mutation { createTeam(input: {name: \"\\u0000\", visibility: OPEN}) { id } }",
            json!(null),
            "BAD_USER_INPUT",
        ),
        // NUL inside custom fields (jsonb cannot hold it either).
        (
            "mutation M($v: CreateRecordInput!) { createRecord(input: $v) { id } }",
            json!({ "v": { "projectId": project, "title": "t", "fields": { "k": "\u{0}" } } }),
            "BAD_USER_INPUT",
        ),
    ];
    for (query, vars, want) in cases {
        let (status, body) = app.gql("acme", t, query, vars.clone()).await;
        assert!(status < 500, "{query}: {status} {body}");
        assert_eq!(crate::helpers::code(&body), want, "{query} {vars}: {body}");
    }
    // An escaped lone surrogate is not JSON text a server can decode: 400 before anything.
    let resp = app
        .http
        .post(app.url("/w/acme/graphql"))
        .bearer_auth(t)
        .header("content-type", "application/json")
        .body(r#"{"query": "mutation { createIdea(input: {title: \"\ud800\"}) { id } }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Sign-up with NUL in the email: 400, nothing stored.
    let mut b = Browser::new(&app);
    let (status, _, body) = b
        .post(
            "/auth/signup",
            json!({ "email": "a\u{0}@x.test", "password": "correct horse battery staple" }),
        )
        .await;
    assert_eq!(
        (status, crate::helpers::code(&body)),
        (400, "BAD_USER_INPUT")
    );
    let users: i64 =
        sqlx::query_scalar("SELECT count(*) FROM public.users WHERE email LIKE 'a%@x.test'")
            .fetch_one(&app.db.migrator)
            .await
            .unwrap();
    assert_eq!(users, 0);
}
