//! Compiled reads answer exactly as the resolvers do. Random valid queries over the
//! work domain's read fields (`history` and `attachments` included), `members`,
//! `invitations`, `exports`, `export` and the settings reads (`apiTokens`,
//! `secrets`, `webhookEndpoints`, `webhookMessages`, `auditRetention`) — aliases, repeated keys, inline fragments and named
//! fragment spreads, `@skip`/`@include` on variables, page arguments (valid or not, literal
//! or from variables), nested record and project pages, fields that do not compile — go to two servers
//! over the same data: one with compiled reads on, one with them off. Their answers, errors
//! included, must be identical, for an owner (who sees every team) and for a member who is
//! outside one restricted team and inside another, with archived projects and records in
//! the data.

use std::cell::Cell;
use std::fmt::Write as _;

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{Value, json};
use tessera::authz::{Role, Scope};

use crate::helpers::{TestApp, seed};

/// The ids a query may name: real ones, one that exists nowhere and one that is not an id.
#[derive(Debug, Clone)]
struct Data {
    teams: Vec<String>,
    goals: Vec<String>,
    ideas: Vec<String>,
    projects: Vec<String>,
    records: Vec<String>,
    /// Users: the owner, the member and one who left the workspace.
    users: Vec<String>,
    /// Webhook endpoints: the first with messages, the second without.
    endpoints: Vec<String>,
    /// Exports: done, failed, queued.
    exports: Vec<String>,
}

impl Data {
    fn id(list: &[String], i: usize) -> String {
        match i % (list.len() + 2) {
            n if n < list.len() => list[n].clone(),
            n if n == list.len() => "00000000-0000-7000-8000-000000000000".to_owned(),
            _ => "not-an-id".to_owned(),
        }
    }

    fn cursor(list: &[String], i: usize) -> String {
        match list.get(i % (list.len() + 1)) {
            Some(id) => tessera::work::page::encode_cursor(id.parse().unwrap()),
            None => "bm9wZQ".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Dir {
    None,
    Skipped,
    Kept,
    IncludedNot,
    Included,
    LiteralFalse,
}

#[derive(Debug, Clone)]
enum Page {
    Default,
    Literal(i32),
    Variable(i32),
}

#[derive(Debug, Clone)]
enum Sel {
    Leaf {
        name: &'static str,
        alias: bool,
        dir: Dir,
    },
    /// A fixed selection: a field that does not compile (the selection must fall back to
    /// the resolvers), or a deeper nesting than the generator builds.
    Text(&'static str),
    /// A nested object (`team`, `goal`) of type `ty`.
    Object {
        name: &'static str,
        ty: &'static str,
        alias: bool,
        dir: Dir,
        sel: Vec<Sel>,
    },
    /// A nested page: `Project.records`, `Team.projects` or `Goal.projects`.
    Nested {
        field: Nested,
        alias: u8,
        first: Page,
        after: Option<usize>,
        dir: Dir,
        conn: Vec<ConnSel>,
    },
    Inline(Vec<Sel>, Dir),
    Spread(Vec<Sel>, Dir),
}

#[derive(Debug, Clone, Copy)]
enum Nested {
    Records,
    Projects,
}

impl Nested {
    /// The field, its node type and the prefix of its response keys.
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Records => ("records", "Record", "r"),
            Self::Projects => ("projects", "Project", "p"),
        }
    }
}

#[derive(Debug, Clone)]
enum ConnSel {
    Typename,
    Nodes(Vec<Sel>),
    Edges(Vec<EdgeSel>),
    PageInfo(Vec<&'static str>),
}

#[derive(Debug, Clone)]
enum EdgeSel {
    Typename,
    Cursor,
    Node(Vec<Sel>),
}

#[derive(Debug, Clone)]
enum Root {
    Project(usize, Vec<Sel>),
    Record(usize, Vec<Sel>),
    Projects {
        first: Page,
        after: Option<usize>,
        team: Option<usize>,
        goal: Option<usize>,
        archived: Option<bool>,
        conn: Vec<ConnSel>,
    },
    Records {
        project: usize,
        first: Page,
        after: Option<usize>,
        conn: Vec<ConnSel>,
    },
    /// `team(id:)`, `goal(id:)`, `idea(id:)`.
    One(Kind, usize, Vec<Sel>),
    /// `members`.
    Members {
        first: Page,
        after: Option<usize>,
        conn: Vec<ConnSel>,
    },
    /// `apiTokens`, `secrets`, `webhookEndpoints`, `auditRetention`.
    Settings(Settings, Vec<Sel>),
    /// `history(entityType:, id:)`: the type (an index into `HISTORY`) and the id.
    History(usize, usize, Vec<Sel>),
    /// `attachments(entityType:, entityId:)`: the type (an index into `ATTACHED`) and the id.
    Attachments(usize, usize, Vec<Sel>),
    /// `exports(first:)`.
    Exports(Option<i32>, Vec<Sel>),
    /// `export(id:)`.
    Export(usize, Vec<Sel>),
    /// `invitations(status:, first:)`.
    Invitations {
        statuses: Vec<&'static str>,
        first: Option<i32>,
        sel: Vec<Sel>,
    },
    /// `webhookMessages(endpointId:, first:)`.
    Messages {
        endpoint: usize,
        first: Option<i32>,
        sel: Vec<Sel>,
    },
    /// `teams`, `goals`, `ideas`.
    Page {
        kind: Kind,
        first: Page,
        after: Option<usize>,
        conn: Vec<ConnSel>,
    },
}

/// The settings reads: whole lists (or one object) with no arguments.
#[derive(Debug, Clone, Copy)]
enum Settings {
    ApiTokens,
    Secrets,
    WebhookEndpoints,
    AuditRetention,
    Scim,
    Sso,
}

impl Settings {
    /// The field and its (item) type.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::ApiTokens => ("apiTokens", "ApiToken"),
            Self::Secrets => ("secrets", "SecretInfo"),
            Self::WebhookEndpoints => ("webhookEndpoints", "WebhookEndpoint"),
            Self::AuditRetention => ("auditRetention", "AuditRetention"),
            Self::Scim => ("scim", "ScimSettings"),
            Self::Sso => ("sso", "SsoConfig"),
        }
    }

    fn sel(self) -> BoxedStrategy<Vec<Sel>> {
        let leaves = match self {
            Self::ApiTokens => TOKEN_LEAVES,
            Self::Secrets => SECRET_LEAVES,
            Self::WebhookEndpoints => ENDPOINT_LEAVES,
            Self::AuditRetention => RETENTION_LEAVES,
            Self::Sso => SSO_LEAVES,
            // Its tokens: a list of objects.
            Self::Scim => {
                return selection(
                    SCIM_LEAVES,
                    object("tokens", "ScimToken", SCIM_TOKEN_LEAVES, &[]),
                );
            }
        };
        selection(leaves, leaf(leaves).boxed())
    }
}

/// `lastUsedAt` is left out: a token's use may update it between the two servers' answers
/// (it is compared once, in `SETTINGS`, right after the data was written).
const TOKEN_LEAVES: &[&str] = &[
    "id",
    "name",
    "userId",
    "scopes",
    "createdAt",
    "revokedAt",
    "__typename",
];
const SECRET_LEAVES: &[&str] = &["id", "kind", "name", "createdAt", "updatedAt", "__typename"];
const ENDPOINT_LEAVES: &[&str] = &[
    "id",
    "url",
    "events",
    "enabled",
    "disabledReason",
    "consecutiveFailures",
    "previousSecretUntil",
    "createdAt",
    "__typename",
];
const RETENTION_LEAVES: &[&str] = &["days", "firstKept", "__typename"];
const SCIM_LEAVES: &[&str] = &["baseUrl", "__typename"];
const SCIM_TOKEN_LEAVES: &[&str] = &[
    "id",
    "name",
    "createdAt",
    "lastUsedAt",
    "revokedAt",
    "__typename",
];
const SSO_LEAVES: &[&str] = &[
    "issuer",
    "clientId",
    "jitRole",
    "ssoOnly",
    "callbackUrl",
    "startUrl",
    "__typename",
];
/// The entity types `attachments` takes.
const ATTACHED: [&str; 3] = ["PROJECT", "RECORD", "IDEA"];
const ATTACHMENT_LEAVES: &[&str] = &[
    "id",
    "filename",
    "contentType",
    "size",
    "sha256",
    "uploadedBy",
    "createdAt",
    "contentUrl",
    "__typename",
];
const EXPORT_LEAVES: &[&str] = &[
    "id",
    "status",
    "requestedBy",
    "createdAt",
    "finishedAt",
    "expiresAt",
    "size",
    "sha256",
    "manifest",
    "error",
    "contentUrl",
    "__typename",
];

/// The entity types `history` takes.
const HISTORY: [&str; 4] = ["GOAL", "PROJECT", "RECORD", "IDEA"];
const VERSION_LEAVES: &[&str] = &[
    "version",
    "at",
    "actorUser",
    "changes",
    "snapshot",
    "restoredFrom",
    "__typename",
];
const INVITATION_LEAVES: &[&str] = &[
    "id",
    "email",
    "role",
    "teamIds",
    "status",
    "invitedBy",
    "createdAt",
    "expiresAt",
    "sentCount",
    "lastSentAt",
    "revokedAt",
    "acceptedAt",
    "acceptedBy",
    "__typename",
];
const MESSAGE_LEAVES: &[&str] = &[
    "id",
    "eventType",
    "status",
    "attempts",
    "createdAt",
    "deliveredAt",
    "lastStatusCode",
    "lastError",
    "__typename",
];

/// Every field of the settings reads, compared once while no token's use can have moved
/// `lastUsedAt`.
/// `scim` and `sso` in full, as a browser session asks for them.
const SESSION_SETTINGS: &str = "query($no: Boolean!) { s: sso { ...F u: startUrl ssoOnly @skip(if: $no) } \
    scim { __typename tokens { n: name ... on ScimToken @include(if: $no) { id revokedAt } lastUsedAt createdAt id } baseUrl b: baseUrl } } \
    fragment F on SsoConfig { issuer clientId jitRole callbackUrl __typename }";

const SETTINGS: &str = "query($e: ID!, $p: ID!) { exports { id status requestedBy createdAt finishedAt expiresAt size sha256 manifest error contentUrl __typename } \
    attachments(entityType: PROJECT, entityId: $p) { id filename contentType size sha256 uploadedBy createdAt contentUrl __typename } \
    invitations { id email role teamIds status invitedBy createdAt expiresAt sentCount lastSentAt revokedAt acceptedAt acceptedBy __typename } \
    webhookMessages(endpointId: $e) { id eventType status attempts createdAt deliveredAt lastStatusCode lastError __typename } \
    apiTokens { id name userId scopes createdAt lastUsedAt revokedAt __typename } \
    secrets { id kind name createdAt updatedAt __typename } \
    webhookEndpoints { id url events enabled disabledReason consecutiveFailures previousSecretUntil createdAt __typename } \
    auditRetention { days firstKept __typename } }";

#[derive(Debug, Clone, Copy)]
enum Kind {
    Team,
    Goal,
    Idea,
}

impl Kind {
    /// The field by id, the list field and the type.
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Team => ("team", "teams", "Team"),
            Self::Goal => ("goal", "goals", "Goal"),
            Self::Idea => ("idea", "ideas", "Idea"),
        }
    }

    fn ids(self, data: &Data) -> &[String] {
        match self {
            Self::Team => &data.teams,
            Self::Goal => &data.goals,
            Self::Idea => &data.ideas,
        }
    }

    fn sel(self) -> BoxedStrategy<Vec<Sel>> {
        match self {
            Self::Team => team_sel(),
            Self::Goal => goal_sel(),
            Self::Idea => idea_sel(),
        }
    }
}

fn dir() -> impl Strategy<Value = Dir> {
    prop_oneof![
        6 => Just(Dir::None),
        1 => Just(Dir::Skipped),
        1 => Just(Dir::Kept),
        1 => Just(Dir::IncludedNot),
        1 => Just(Dir::Included),
        1 => Just(Dir::LiteralFalse),
    ]
}

fn page() -> impl Strategy<Value = Page> {
    prop_oneof![
        3 => Just(Page::Default),
        4 => (1..6i32).prop_map(Page::Literal),
        2 => (1..6i32).prop_map(Page::Variable),
        1 => prop_oneof![Just(0), Just(101), Just(-1)].prop_map(Page::Literal),
    ]
}

const PROJECT_LEAVES: &[&str] = &[
    "id",
    "name",
    "description",
    "archivedAt",
    "createdAt",
    "updatedAt",
    "__typename",
];
const RECORD_LEAVES: &[&str] = &[
    "id",
    "title",
    "body",
    "status",
    "fields",
    "archivedAt",
    "createdAt",
    "updatedAt",
    "projectId",
    "__typename",
];

fn leaf(names: &'static [&'static str]) -> impl Strategy<Value = Sel> {
    (prop::sample::select(names), any::<bool>(), dir()).prop_map(|(name, alias, dir)| Sel::Leaf {
        name,
        alias,
        dir,
    })
}

const TEAM_LEAVES: &[&str] = &[
    "id",
    "name",
    "visibility",
    "archivedAt",
    "createdAt",
    "__typename",
];
const GOAL_LEAVES: &[&str] = &[
    "id",
    "title",
    "description",
    "archivedAt",
    "createdAt",
    "__typename",
];

const MEMBER_LEAVES: &[&str] = &["id", "email", "displayName", "role", "__typename"];

/// A nested object `name` of type `ty`; `texts`, fixed selections on it.
fn object(
    name: &'static str,
    ty: &'static str,
    leaves: &'static [&'static str],
    texts: &'static [&'static str],
) -> BoxedStrategy<Sel> {
    let extra = if texts.is_empty() {
        leaf(leaves).boxed()
    } else {
        let text = prop::sample::select(texts).prop_map(Sel::Text);
        prop_oneof![4 => leaf(leaves), 1 => text].boxed()
    };
    let sel = selection(leaves, extra);
    (any::<bool>(), dir(), sel)
        .prop_map(move |(alias, dir, sel)| Sel::Object {
            name,
            ty,
            alias,
            dir,
            sel,
        })
        .boxed()
}

/// Selections of `leaves` and `extra` (a field that does not compile), some in inline
/// fragments and fragment spreads, nested.
fn selection(
    leaves: &'static [&'static str],
    extra: BoxedStrategy<Sel>,
) -> BoxedStrategy<Vec<Sel>> {
    let item = prop_oneof![10 => leaf(leaves), 3 => extra];
    let nested = item.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 1..4), dir())
                .prop_map(|(s, d)| Sel::Inline(s, d)),
            (prop::collection::vec(inner, 1..4), dir()).prop_map(|(s, d)| Sel::Spread(s, d)),
        ]
    });
    // Every selection set keeps one unconditional field. An object whose every field is
    // skipped answers null; where such an object shares its key with a non-empty one, the
    // executor merges the two in the order their futures finish, so its answer depends on
    // timing (the compiled path merges in selection order, as the spec's CollectFields
    // does). Empty selections alone are checked in `EMPTY` below.
    prop::collection::vec(nested, 0..5)
        .prop_map(move |mut sels| {
            sels.insert(
                0,
                Sel::Leaf {
                    name: leaves[0],
                    alias: false,
                    dir: Dir::None,
                },
            );
            sels
        })
        .boxed()
}

/// Selections whose every field is skipped: the object answers null.
const EMPTY: &[&str] = &[
    "query($p: ID!) { project(id: $p) { id @skip(if: true) } }",
    "query($p: ID!) { project(id: $p) { ... on Project @include(if: false) { id } team { name @skip(if: true) } } }",
    "{ projects { nodes { id @include(if: false) } pageInfo { hasNextPage } } }",
    "query($p: ID!) { records(projectId: $p) { edges { node { title @skip(if: true) } cursor } } }",
    "{ teams { nodes { id projects { nodes { name @include(if: false) } } } } }",
    "{ goals { edges { node { projects(first: 2) { edges { node { id @skip(if: true) } } } } } } }",
];

/// A team's projects under a project's team: team, projects, team, projects deep, and a
/// goal's under it.
const TEAM_PROJECTS: &str = "projects(first: 2) { nodes { id name team { id projects { nodes { id } pageInfo { hasNextPage } } } goal { title projects(first: 1) { edges { cursor node { name } } } } } pageInfo { hasNextPage endCursor } }";
/// A goal's projects under a project's goal, with their records and teams.
const GOAL_PROJECTS: &str =
    "projects { nodes { id team { name visibility } records(first: 1) { nodes { title } } } }";

/// A selection on `Record`.
fn record_sel() -> BoxedStrategy<Vec<Sel>> {
    selection(
        RECORD_LEAVES,
        prop_oneof![
            3 => leaf(RECORD_LEAVES),
            1 => object("assignee", "Member", MEMBER_LEAVES, &[]),
        ]
        .boxed(),
    )
}

fn conn(node: BoxedStrategy<Vec<Sel>>) -> BoxedStrategy<Vec<ConnSel>> {
    let edge = prop_oneof![
        Just(EdgeSel::Typename),
        Just(EdgeSel::Cursor),
        node.clone().prop_map(EdgeSel::Node),
    ];
    let info = prop::sample::subsequence(
        vec![
            "hasNextPage",
            "hasPreviousPage",
            "startCursor",
            "endCursor",
            "__typename",
        ],
        1..=5,
    );
    let item = prop_oneof![
        1 => Just(ConnSel::Typename),
        4 => node.prop_map(ConnSel::Nodes),
        2 => prop::collection::vec(edge, 1..3).prop_map(ConnSel::Edges),
        2 => info.prop_map(ConnSel::PageInfo),
    ];
    prop::collection::vec(item, 1..4).boxed()
}

/// A nested page `field` whose nodes are selected by `node`.
fn nested(field: Nested, node: BoxedStrategy<Vec<Sel>>) -> BoxedStrategy<Sel> {
    (
        0..3u8,
        page(),
        prop::option::of(0..20usize),
        dir(),
        conn(node),
    )
        .prop_map(move |(alias, first, after, dir, conn)| Sel::Nested {
            field,
            alias,
            first,
            after,
            dir,
            conn,
        })
        .boxed()
}

/// A selection on `Project`, its record pages included.
fn project_sel() -> BoxedStrategy<Vec<Sel>> {
    selection(
        PROJECT_LEAVES,
        prop_oneof![
            6 => nested(Nested::Records, record_sel()),
            2 => object("team", "Team", TEAM_LEAVES, &["members { email }", TEAM_PROJECTS]),
            2 => object("goal", "Goal", GOAL_LEAVES, &[GOAL_PROJECTS]),
        ]
        .boxed(),
    )
}

fn team_sel() -> BoxedStrategy<Vec<Sel>> {
    selection(
        TEAM_LEAVES,
        prop_oneof![
            4 => leaf(TEAM_LEAVES),
            1 => object("members", "Member", MEMBER_LEAVES, &[]),
            2 => nested(Nested::Projects, project_sel()),
        ]
        .boxed(),
    )
}

fn goal_sel() -> BoxedStrategy<Vec<Sel>> {
    selection(
        GOAL_LEAVES,
        prop_oneof![
            4 => leaf(GOAL_LEAVES),
            2 => nested(Nested::Projects, project_sel()),
        ]
        .boxed(),
    )
}

const IDEA_LEAVES: &[&str] = &[
    "id",
    "title",
    "body",
    "archivedAt",
    "createdAt",
    "__typename",
];

fn idea_sel() -> BoxedStrategy<Vec<Sel>> {
    let promoted =
        (any::<bool>(), dir(), project_sel()).prop_map(|(alias, dir, sel)| Sel::Object {
            name: "promotedProject",
            ty: "Project",
            alias,
            dir,
            sel,
        });
    selection(
        IDEA_LEAVES,
        prop_oneof![2 => leaf(IDEA_LEAVES), 1 => promoted].boxed(),
    )
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Team), Just(Kind::Goal), Just(Kind::Idea)]
}

fn root() -> impl Strategy<Value = Root> {
    prop_oneof![
        (kind(), 0..10usize).prop_flat_map(|(k, i)| k.sel().prop_map(move |s| Root::One(k, i, s))),
        (kind(), page(), prop::option::of(0..10usize)).prop_flat_map(|(kind, first, after)| {
            conn(kind.sel()).prop_map(move |conn| Root::Page {
                kind,
                first: first.clone(),
                after,
                conn,
            })
        }),
        (
            page(),
            prop::option::of(0..4usize),
            conn(selection(MEMBER_LEAVES, leaf(MEMBER_LEAVES).boxed()))
        )
            .prop_map(|(first, after, conn)| Root::Members { first, after, conn }),
        prop_oneof![
            Just(Settings::ApiTokens),
            Just(Settings::Secrets),
            Just(Settings::WebhookEndpoints),
            Just(Settings::AuditRetention),
            Just(Settings::Scim),
            Just(Settings::Sso),
        ]
        .prop_flat_map(|k| k.sel().prop_map(move |s| Root::Settings(k, s))),
        (
            0..4usize,
            0..40usize,
            selection(VERSION_LEAVES, leaf(VERSION_LEAVES).boxed())
        )
            .prop_map(|(kind, id, sel)| Root::History(kind, id, sel)),
        (
            0..3usize,
            0..40usize,
            selection(ATTACHMENT_LEAVES, leaf(ATTACHMENT_LEAVES).boxed())
        )
            .prop_map(|(kind, id, sel)| Root::Attachments(kind, id, sel)),
        (
            prop::option::of(0..5i32),
            selection(EXPORT_LEAVES, leaf(EXPORT_LEAVES).boxed())
        )
            .prop_map(|(first, sel)| Root::Exports(first, sel)),
        (
            0..5usize,
            selection(EXPORT_LEAVES, leaf(EXPORT_LEAVES).boxed())
        )
            .prop_map(|(id, sel)| Root::Export(id, sel)),
        (
            prop::sample::subsequence(vec!["PENDING", "EXPIRED", "REVOKED", "ACCEPTED"], 0..=4),
            prop::option::of(0..6i32),
            selection(INVITATION_LEAVES, leaf(INVITATION_LEAVES).boxed())
        )
            .prop_map(|(statuses, first, sel)| Root::Invitations {
                statuses,
                first,
                sel
            }),
        (
            0..4usize,
            prop::option::of(-1..5i32),
            selection(MESSAGE_LEAVES, leaf(MESSAGE_LEAVES).boxed())
        )
            .prop_map(|(endpoint, first, sel)| Root::Messages {
                endpoint,
                first,
                sel
            }),
        (0..20usize, project_sel()).prop_map(|(i, s)| Root::Project(i, s)),
        (0..60usize, record_sel()).prop_map(|(i, s)| Root::Record(i, s)),
        (
            page(),
            prop::option::of(0..20usize),
            prop::option::of(0..6usize),
            prop::option::of(0..3usize),
            prop::option::of(any::<bool>()),
            conn(project_sel()),
        )
            .prop_map(
                |(first, after, team, goal, archived, conn)| Root::Projects {
                    first,
                    after,
                    team,
                    goal,
                    archived,
                    conn,
                }
            ),
        (
            0..20usize,
            page(),
            prop::option::of(0..60usize),
            conn(record_sel())
        )
            .prop_map(|(project, first, after, conn)| Root::Records {
                project,
                first,
                after,
                conn,
            }),
    ]
}

/// Renders a query document and its variables.
struct Render<'a> {
    data: &'a Data,
    fragments: String,
    vars: Vec<(String, &'static str, Value)>,
}

impl Render<'_> {
    fn dir(&mut self, d: Dir) -> &'static str {
        let (text, var) = match d {
            Dir::None => return "",
            Dir::Skipped => (" @skip(if: $yes)", "yes"),
            Dir::Kept => (" @skip(if: $no)", "no"),
            Dir::IncludedNot => (" @include(if: $no)", "no"),
            Dir::Included => (" @include(if: $yes)", "yes"),
            Dir::LiteralFalse => return " @include(if: false)",
        };
        if !self.vars.iter().any(|(n, ..)| n == var) {
            self.vars
                .push((var.to_owned(), "Boolean!", json!(var == "yes")));
        }
        text
    }

    fn page(&mut self, first: &Page, after: Option<usize>, ids: &[String]) -> String {
        let mut args = Vec::new();
        match first {
            Page::Default => {}
            Page::Literal(n) => args.push(format!("first: {n}")),
            Page::Variable(n) => {
                let name = format!("f{}", self.vars.len());
                args.push(format!("first: ${name}"));
                self.vars.push((name, "Int", json!(n)));
            }
        }
        if let Some(i) = after {
            args.push(format!("after: {:?}", Data::cursor(ids, i)));
        }
        args.join(", ")
    }

    fn sels(&mut self, ty: &str, sels: &[Sel], out: &mut String) {
        for s in sels {
            match s {
                Sel::Leaf { name, alias, dir } => {
                    let d = self.dir(*dir);
                    let alias = if *alias {
                        format!("{name}_a: ")
                    } else {
                        String::new()
                    };
                    let _ = write!(out, " {alias}{name}{d}");
                }
                Sel::Text(text) => out.push_str(&format!(" {text}")),
                Sel::Object {
                    name,
                    ty,
                    alias,
                    dir,
                    sel,
                } => {
                    let d = self.dir(*dir);
                    let alias = if *alias {
                        format!("{name}_a: ")
                    } else {
                        String::new()
                    };
                    let _ = write!(out, " {alias}{name}{d} {{");
                    self.sels(ty, sel, out);
                    out.push_str(" }");
                }
                Sel::Nested {
                    field,
                    alias,
                    first,
                    after,
                    dir,
                    conn,
                } => {
                    let d = self.dir(*dir);
                    let (name, node, prefix) = field.names();
                    let ids = match field {
                        Nested::Records => self.data.records.clone(),
                        Nested::Projects => self.data.projects.clone(),
                    };
                    let args = self.page(first, *after, &ids);
                    let args = if args.is_empty() {
                        args
                    } else {
                        format!("({args})")
                    };
                    // A key names one set of arguments. Two `records` fields under one key
                    // with different arguments cannot be merged (the spec's validation
                    // refuses them; async-graphql lets them through and merges the two
                    // answers in the order their futures finish).
                    let first = match first {
                        Page::Default => "d".to_owned(),
                        Page::Literal(n) | Page::Variable(n) => n.to_string().replace('-', "m"),
                    };
                    let after = after.map_or("n".to_owned(), |i| i.to_string());
                    let key = format!("{prefix}{alias}_{first}_{after}");
                    let _ = write!(out, " {key}: {name}{args}{d} {{");
                    self.conn(node, conn, out);
                    out.push_str(" }");
                }
                Sel::Inline(inner, dir) => {
                    let d = self.dir(*dir);
                    let _ = write!(out, " ... on {ty}{d} {{");
                    self.sels(ty, inner, out);
                    out.push_str(" }");
                }
                Sel::Spread(inner, dir) => {
                    let d = self.dir(*dir);
                    let mut body = String::new();
                    self.sels(ty, inner, &mut body);
                    // Named after the fragments the body itself spread.
                    let name = format!("F{}", self.fragments.matches("fragment").count());
                    let _ = write!(self.fragments, " fragment {name} on {ty} {{{body} }}");
                    let _ = write!(out, " ...{name}{d}");
                }
            }
        }
    }

    fn conn(&mut self, ty: &str, conn: &[ConnSel], out: &mut String) {
        for c in conn {
            match c {
                ConnSel::Typename => out.push_str(" __typename"),
                ConnSel::Nodes(s) => {
                    out.push_str(" nodes {");
                    self.sels(ty, s, out);
                    out.push_str(" }");
                }
                ConnSel::Edges(edges) => {
                    out.push_str(" edges {");
                    for e in edges {
                        match e {
                            EdgeSel::Typename => out.push_str(" __typename"),
                            EdgeSel::Cursor => out.push_str(" cursor"),
                            EdgeSel::Node(s) => {
                                out.push_str(" node {");
                                self.sels(ty, s, out);
                                out.push_str(" }");
                            }
                        }
                    }
                    out.push_str(" }");
                }
                ConnSel::PageInfo(items) => {
                    let _ = write!(out, " pageInfo {{ {} }}", items.join(" "));
                }
            }
        }
    }

    fn root(&mut self, root: &Root) -> String {
        let d = self.data.clone();
        let mut out = String::new();
        match root {
            Root::Project(i, s) => {
                let _ = write!(out, "project(id: {:?}) {{", Data::id(&d.projects, *i));
                self.sels("Project", s, &mut out);
            }
            Root::Record(i, s) => {
                let _ = write!(out, "record(id: {:?}) {{", Data::id(&d.records, *i));
                self.sels("Record", s, &mut out);
            }
            Root::Projects {
                first,
                after,
                team,
                goal,
                archived,
                conn,
            } => {
                let mut args = vec![self.page(first, *after, &d.projects)];
                if let Some(t) = team {
                    args.push(format!("teamId: {:?}", Data::id(&d.teams, *t)));
                }
                if let Some(g) = goal {
                    args.push(format!("goalId: {:?}", Data::id(&d.goals, *g)));
                }
                if let Some(a) = archived {
                    args.push(format!("includeArchived: {a}"));
                }
                args.retain(|a| !a.is_empty());
                let args = if args.is_empty() {
                    String::new()
                } else {
                    format!("({})", args.join(", "))
                };
                let _ = write!(out, "projects{args} {{");
                self.conn("Project", conn, &mut out);
            }
            Root::Members { first, after, conn } => {
                let args = self.page(first, *after, &d.users);
                let args = if args.is_empty() {
                    args
                } else {
                    format!("({args})")
                };
                let _ = write!(out, "members{args} {{");
                self.conn("Member", conn, &mut out);
            }
            Root::Attachments(kind, i, sel) => {
                let ids = match kind {
                    0 => &d.projects,
                    1 => &d.records,
                    _ => &d.ideas,
                };
                let _ = write!(
                    out,
                    "attachments(entityType: {}, entityId: {:?}) {{",
                    ATTACHED[*kind % ATTACHED.len()],
                    Data::id(ids, *i)
                );
                self.sels("Attachment", sel, &mut out);
            }
            Root::Exports(first, sel) => {
                let args = first.map_or(String::new(), |n| format!("(first: {n})"));
                let _ = write!(out, "exports{args} {{");
                self.sels("Export", sel, &mut out);
            }
            Root::Export(i, sel) => {
                let _ = write!(out, "export(id: {:?}) {{", Data::id(&d.exports, *i));
                self.sels("Export", sel, &mut out);
            }
            Root::History(kind, i, sel) => {
                let ids = match kind {
                    0 => &d.goals,
                    1 => &d.projects,
                    2 => &d.records,
                    _ => &d.ideas,
                };
                let _ = write!(
                    out,
                    "history(entityType: {}, id: {:?}) {{",
                    HISTORY[*kind % HISTORY.len()],
                    Data::id(ids, *i)
                );
                self.sels("Version", sel, &mut out);
            }
            Root::Invitations {
                statuses,
                first,
                sel,
            } => {
                let mut args = vec![format!("status: [{}]", statuses.join(", "))];
                if let Some(n) = first {
                    args.push(format!("first: {n}"));
                }
                let _ = write!(out, "invitations({}) {{", args.join(", "));
                self.sels("Invitation", sel, &mut out);
            }
            Root::Messages {
                endpoint,
                first,
                sel,
            } => {
                let first = first.map_or(String::new(), |n| format!(", first: {n}"));
                let _ = write!(
                    out,
                    "webhookMessages(endpointId: {:?}{first}) {{",
                    Data::id(&d.endpoints, *endpoint)
                );
                self.sels("WebhookMessage", sel, &mut out);
            }
            Root::Settings(kind, sel) => {
                let (field, ty) = kind.names();
                let _ = write!(out, "{field} {{");
                self.sels(ty, sel, &mut out);
            }
            Root::One(kind, i, sel) => {
                let (field, _, ty) = kind.names();
                let _ = write!(out, "{field}(id: {:?}) {{", Data::id(kind.ids(&d), *i));
                self.sels(ty, sel, &mut out);
            }
            Root::Page {
                kind,
                first,
                after,
                conn,
            } => {
                let (_, field, ty) = kind.names();
                let args = self.page(first, *after, kind.ids(&d));
                let args = if args.is_empty() {
                    args
                } else {
                    format!("({args})")
                };
                let _ = write!(out, "{field}{args} {{");
                self.conn(ty, conn, &mut out);
            }
            Root::Records {
                project,
                first,
                after,
                conn,
            } => {
                let page = self.page(first, *after, &d.records);
                let page = if page.is_empty() {
                    page
                } else {
                    format!(", {page}")
                };
                let _ = write!(
                    out,
                    "records(projectId: {:?}{page}) {{",
                    Data::id(&d.projects, *project)
                );
                self.conn("Record", conn, &mut out);
            }
        }
        out.push_str(" }");
        out
    }
}

fn render(data: &Data, roots: &[Root]) -> (String, Value) {
    let mut r = Render {
        data,
        fragments: String::new(),
        vars: Vec::new(),
    };
    let fields: Vec<String> = roots
        .iter()
        .enumerate()
        .map(|(i, root)| format!("q{i}: {}", r.root(root)))
        .collect();
    let decl: Vec<String> = r
        .vars
        .iter()
        .map(|(n, t, _)| format!("${n}: {t}"))
        .collect();
    let decl = if decl.is_empty() {
        String::new()
    } else {
        format!("({})", decl.join(", "))
    };
    let vars: serde_json::Map<String, Value> = r
        .vars
        .iter()
        .map(|(n, _, v)| (n.clone(), v.clone()))
        .collect();
    (
        format!("query Q{decl} {{ {} }}{}", fields.join(" "), r.fragments),
        Value::Object(vars),
    )
}

/// A workspace with an open, a restricted and a second restricted team the member belongs
/// to; projects in each (one archived per team, some serving a goal); records with every
/// status, custom fields and assignees (one of whom has left), some archived.
/// Part of every record's title: characters JSON escapes or a page must not run, and the
/// form of the placeholder a compiled answer stands as until it is written into the
/// response (`graphql::compiled::raw`), with a nonce of its own.
const HOSTILE: &str =
    "\"q\" \\ \u{1}\t\u{7f}\u{2028}</script>é𝄞 tessera-compiled-00000000000000000000000000000000-0";

async fn populate(app: &TestApp) -> (Data, String, String, tessera::tenancy::Tenant) {
    let s = seed(app, "acme").await;
    let t = s.owner_token.clone();
    let member = app
        .db
        .add_user(&s.tenant, "member@acme.test", Role::Member)
        .await;
    let member_token = app.db.token(&s.tenant, member, &[Scope::Read]).await;
    // Assigned work, then removed from the workspace: the assignee answers null.
    let gone = app
        .db
        .add_user(&s.tenant, "gone@acme.test", Role::Member)
        .await;
    let q = |query: &'static str, vars: Value| {
        let t = t.clone();
        async move { app.ok("acme", &t, query, vars).await }
    };
    let mut teams = vec![s.team_id.clone()];
    for (name, vis) in [
        ("Secret", "RESTRICTED"),
        ("Inner", "RESTRICTED"),
        ("Wide", "LIMITED"),
    ] {
        let team = q(
            "mutation($n: String!, $v: Visibility!) { createTeam(input: {name: $n, visibility: $v}) { id } }",
            json!({ "n": name, "v": vis }),
        )
        .await["createTeam"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        teams.push(team);
    }
    q(
        "mutation($t: ID!, $u: ID!) { addTeamMember(teamId: $t, userId: $u) { id } }",
        json!({ "t": teams[2], "u": member.to_string() }),
    )
    .await;
    let mut goals = Vec::new();
    for title in ["Grow", "Keep"] {
        goals.push(
            crate::helpers::create_goal(app, "acme", &t, title)
                .await
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut projects = vec![s.project_id.clone()];
    let mut records = Vec::new();
    for (ti, team) in teams.iter().enumerate() {
        for pi in 0..3 {
            let goal = (pi % 2 == 0).then(|| goals[(ti + pi) % 2].clone());
            let p = q(
                "mutation($t: ID!, $g: ID, $n: String!, $d: String!) { createProject(input: {teamId: $t, goalId: $g, name: $n, description: $d}) { id } }",
                json!({ "t": team, "g": goal, "n": format!("p{ti}.{pi}"), "d": format!("about <b>{ti}</b> \"{pi}\"\n") }),
            )
            .await["createProject"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            for ri in 0..(ti + pi + 1) % 5 {
                let status = ["OPEN", "IN_PROGRESS", "DONE"][ri % 3];
                let fields = match ri % 3 {
                    0 => json!({}),
                    1 => json!({ "z": 1, "a": [true, null, 2.5], "ü": { "k": "v" } }),
                    _ => json!({ "big": 12345678901234_i64, "neg": -0.125, "s": "x\u{2028}y" }),
                };
                let assignee =
                    [Some(s.owner), Some(gone), Some(member), None][ri % 4].map(|u| u.to_string());
                let r = q(
                    "mutation($p: ID!, $t: String!, $s: RecordStatus, $f: JSON, $a: ID) { createRecord(input: {projectId: $p, title: $t, body: \"b\", status: $s, fields: $f, assigneeId: $a}) { id } }",
                    json!({ "p": p, "t": format!("r{ri} {HOSTILE}"), "s": status, "f": fields, "a": assignee }),
                )
                .await["createRecord"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                if ri == 1 {
                    q(
                        "mutation($r: ID!) { archiveRecord(id: $r) { id } }",
                        json!({ "r": r }),
                    )
                    .await;
                }
                records.push(r);
            }
            if pi == 2 {
                q(
                    "mutation($p: ID!) { archiveProject(id: $p) { id } }",
                    json!({ "p": p }),
                )
                .await;
            }
            projects.push(p);
        }
    }
    // On a team too, before leaving: the team's members answer without them.
    q(
        "mutation($t: ID!, $u: ID!) { addTeamMember(teamId: $t, userId: $u) { id } }",
        json!({ "t": teams[0], "u": gone.to_string() }),
    )
    .await;
    q(
        "mutation($u: ID!) { removeMember(userId: $u) }",
        json!({ "u": gone.to_string() }),
    )
    .await;
    // Ideas: one promoted into the open team, one into a team the member cannot see, one
    // archived.
    let mut ideas = Vec::new();
    for i in 0..4 {
        let idea = q(
            "mutation($t: String!) { createIdea(input: {title: $t, body: \"why\"}) { id } }",
            json!({ "t": format!("idea {i}") }),
        )
        .await["createIdea"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        match i {
            0 | 1 => {
                let team = if i == 0 { &teams[0] } else { &teams[1] };
                q(
                    "mutation($i: ID!, $t: ID!) { promoteIdea(id: $i, teamId: $t) { project { id } } }",
                    json!({ "i": idea, "t": team }),
                )
                .await;
            }
            3 => {
                q(
                    "mutation($i: ID!) { archiveIdea(id: $i) { id } }",
                    json!({ "i": idea }),
                )
                .await;
            }
            _ => {}
        }
        ideas.push(idea);
    }
    // History beyond creation: the first project and goal renamed, then restored to their
    // first version.
    q(
        "mutation($p: ID!) { updateProject(id: $p, input: {name: \"renamed\", description: \"<i>new</i>\"}) { id } }",
        json!({ "p": projects[0] }),
    )
    .await;
    q(
        "mutation($p: ID!) { restoreVersion(entityType: PROJECT, id: $p, version: 1) { version } }",
        json!({ "p": projects[0] }),
    )
    .await;
    q(
        "mutation($g: ID!) { updateGoal(id: $g, input: {title: \"Grow more\"}) { id } }",
        json!({ "g": goals[0] }),
    )
    .await;
    // Settings: secrets of two kinds, two webhook endpoints (one with a rotated secret),
    // created last and for an event nothing sends, so no delivery moves their counters; a
    // revoked token beside the owner's and the member's.
    for (kind, name) in [
        ("INTEGRATION_CREDENTIAL", "crm"),
        ("WEBHOOK_SECRET", "hook"),
    ] {
        app.ok(
            "acme",
            &t,
            &format!("mutation {{ setSecret(kind: {kind}, name: \"{name}\", secret: \"s3cret\") {{ id }} }}"),
            json!({}),
        )
        .await;
    }
    let mut endpoints = Vec::new();
    for (i, events) in [json!(["createIdea", "createGoal"]), json!(["createIdea"])]
        .into_iter()
        .enumerate()
    {
        let endpoint = q(
            "mutation($e: [String!]!) { createWebhookEndpoint(input: {url: \"http://127.0.0.1:9/hook\", events: $e}) { endpoint { id } } }",
            json!({ "e": events }),
        )
        .await["createWebhookEndpoint"]["endpoint"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        if i == 0 {
            q(
                "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
                json!({ "id": endpoint }),
            )
            .await;
        }
        endpoints.push(endpoint);
    }
    // The first endpoint's messages, written as the outbox and the sender would (no job, so
    // nothing sends them): delivered at the first attempt, failed after two (the latest
    // without a status), pending; two created at the same instant, ordered by id.
    let ids: Vec<uuid::Uuid> = (0..3).map(|_| uuid::Uuid::new_v4()).collect();
    sqlx::query(
        "INSERT INTO tenant_acme.webhook_messages
             (id, endpoint_id, event_type, payload, status, attempts, created_at, delivered_at)
         VALUES ($1, $4, 'createIdea', '{}', 'delivered', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:01.5Z'),
                ($2, $4, 'createGoal', '{}', 'failed', 2, '2026-01-01T00:00:00Z', NULL),
                ($3, $4, 'createIdea', '{}', 'pending', 0, '2026-01-02T00:00:00Z', NULL)",
    )
    .bind(ids[0])
    .bind(ids[1])
    .bind(ids[2])
    .bind(endpoints[0].parse::<uuid::Uuid>().unwrap())
    .execute(&app.db.migrator)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO tenant_acme.webhook_attempts (message_id, attempt, status_code, error, duration_ms)
         VALUES ($1, 1, 200, NULL, 5), ($2, 1, 500, 'server error', 7), ($2, 2, NULL, 'timed out', 10000)",
    )
    .bind(ids[0])
    .bind(ids[1])
    .execute(&app.db.migrator)
    .await
    .unwrap();
    // Invitations in every state, a day apart: pending (to a team), expired, revoked,
    // accepted, pending again.
    for (i, (role, teams, expires, revoked, accepted)) in [
        ("member", true, "+7 days", false, false),
        ("admin", false, "-1 day", false, false),
        ("member", false, "+7 days", true, false),
        ("admin", true, "+7 days", false, true),
        ("owner", false, "+2 days", false, false),
    ]
    .into_iter()
    .enumerate()
    {
        sqlx::query(
            "INSERT INTO public.invitations (id, tenant_id, email, role, team_ids, token_hash,
                 invited_by, created_at, expires_at, sent_count, last_sent_at, revoked_at,
                 revoked_by, accepted_at, accepted_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, now() - make_interval(days => 10 - $8),
                     now() + $9::interval, 1 + $8, now() - make_interval(days => 10 - $8),
                     CASE WHEN $10 THEN now() END, CASE WHEN $10 THEN $7 END,
                     CASE WHEN $11 THEN now() END, CASE WHEN $11 THEN $12 END)",
        )
        .bind(uuid::Uuid::new_v4())
        .bind(s.tenant.id)
        .bind(format!("invitee{i}@elsewhere.test"))
        .bind(role)
        .bind(if teams {
            vec![s.team_id.parse::<uuid::Uuid>().unwrap()]
        } else {
            Vec::new()
        })
        .bind(uuid::Uuid::new_v4().as_bytes().repeat(2))
        .bind(s.owner)
        .bind(i as i32)
        .bind(expires)
        .bind(revoked)
        .bind(accepted)
        .bind(member)
        .execute(&app.db.migrator)
        .await
        .unwrap();
    }
    // Attachments (metadata: no content is read): two on each project at the same instant
    // (ordered by id), one on every other record, one on each idea.
    for (kind, table, filter) in [
        ("project", "projects", "true"),
        ("project", "projects", "true"),
        ("record", "records", "x.title IN ('r0', 'r2')"),
        ("idea", "ideas", "true"),
    ] {
        sqlx::query(&format!(
            "INSERT INTO tenant_acme.attachments (id, entity_type, entity_id, filename,
                 content_type, size_bytes, sha256, object_key, uploaded_by)
             SELECT gen_random_uuid(), '{kind}', x.id, 'notes \"' || x.id || '\".txt',
                    'text/plain', 12, sha256(x.id::text::bytea), 'k/' || gen_random_uuid(), $1
             FROM tenant_acme.{table} x WHERE {filter}"
        ))
        .bind(s.owner)
        .execute(&app.db.migrator)
        .await
        .unwrap();
    }
    // Exports: done (with its manifest and content), failed, queued, a day apart.
    let export_ids: Vec<uuid::Uuid> = (0..3).map(|_| uuid::Uuid::new_v4()).collect();
    sqlx::query(
        "INSERT INTO tenant_acme.exports (id, requested_by, status, object_key, size_bytes,
             sha256, manifest, error, created_at, finished_at, expires_at)
         VALUES ($1, $4, 'done', 'exports/' || $1, 2048, sha256('x'), '{\"tables\": {\"projects\": 13}, \"v\": 1.5}',
                 NULL, now() - interval '3 days', now() - interval '3 days', now() + interval '4 days'),
                ($2, $4, 'failed', NULL, NULL, NULL, NULL, 'disk full', now() - interval '2 days',
                 now() - interval '2 days', NULL),
                ($3, $4, 'queued', NULL, NULL, NULL, NULL, NULL, now() - interval '1 day', NULL, NULL)",
    )
    .bind(export_ids[0])
    .bind(export_ids[1])
    .bind(export_ids[2])
    .bind(s.owner)
    .execute(&app.db.migrator)
    .await
    .unwrap();
    let revoked = app.db.token(&s.tenant, s.owner, &[Scope::Read]).await;
    let presented =
        tessera::identity::PresentedToken::from_authorization(&format!("Bearer {revoked}"))
            .unwrap();
    let tessera::tenancy::Entrant::Token { hash, .. } = presented.entrant() else {
        panic!("a token's entrant");
    };
    sqlx::query("UPDATE public.api_tokens SET revoked_at = now() WHERE token_hash = $1")
        .bind(hash.as_slice())
        .execute(&app.db.migrator)
        .await
        .unwrap();
    let data = Data {
        teams,
        goals,
        ideas,
        projects,
        records,
        users: [s.owner, member, gone].map(|u| u.to_string()).to_vec(),
        endpoints,
        exports: export_ids.iter().map(ToString::to_string).collect(),
    };
    (data, s.owner_token, member_token, s.tenant)
}

#[test]
fn compiled_reads_answer_exactly_as_the_resolvers_do() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // Thousands of requests a minute from one token: no request limits on either server.
    let app = rt.block_on(async {
        let mut db = crate::helpers::TestDb::new().await;
        db.cfg.rate_limits.enabled = false;
        // The webhook endpoints of the data point at a loopback address no event reaches.
        db.cfg.network.allow_loopback = true;
        TestApp::spawn_on(db, 8).await
    });
    let (data, owner, member, acme) = rt.block_on(populate(&app));
    let mut cfg = app.db.cfg.clone();
    cfg.limits.compiled_reads = false;
    // The same public origin as the first server: it is part of some answers (`scim`, `sso`).
    cfg.auth.public_origin = format!("https://localhost:{}", app.addr.port());
    let resolvers = rt.block_on(app.replica(cfg));
    let resolvers_url = format!("http://{}/w/acme/graphql", resolvers.addr);
    let compiled_url = app.url("/w/acme/graphql");
    let cases = std::env::var("TESSERA_PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(512);
    let mut runner = TestRunner::new(RunnerConfig {
        cases,
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let (compiled, fell_back, errored) = (Cell::new(0u32), Cell::new(0u32), Cell::new(0u32));
    for query in EMPTY {
        let variables = json!({ "p": data.projects[0] });
        let body = json!({ "query": query, "variables": variables });
        let (a, b) = rt.block_on(async {
            let post = |url: &str| app.http.post(url).bearer_auth(&owner).json(&body).send();
            let a: Value = post(&compiled_url).await.unwrap().json().await.unwrap();
            let b: Value = post(&resolvers_url).await.unwrap().json().await.unwrap();
            (a, b)
        });
        assert_eq!(a["extensions"]["tessera"]["compiled"], 1, "{query}: {a}");
        assert_eq!(a["data"], b["data"], "{query}");
        assert!(
            a.get("errors").is_none() && b.get("errors").is_none(),
            "{a} {b}"
        );
    }
    // Every title comes back exactly as stored, from the answer written straight as JSON.
    let titles = rt.block_on(async {
        let body = json!({ "query": "{ projects(first: 50) { nodes { records(first: 10) { nodes { title } } } } }" });
        let resp = app.http.post(&compiled_url).bearer_auth(&owner).json(&body).send();
        resp.await.unwrap().json::<Value>().await.unwrap()
    });
    assert_eq!(titles["extensions"]["tessera"]["compiled"], 1, "{titles}");
    let titles: Vec<&str> = titles["data"]["projects"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["records"]["nodes"].as_array().unwrap())
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert!(titles.len() > 10, "{titles:?}");
    assert!(titles.iter().all(|t| t.ends_with(HOSTILE)), "{titles:?}");
    // `scim` and `sso` need a browser session (API tokens are refused them, which the random
    // queries below check both ways): an owner signed in, asking each server from its own
    // Origin. Unset first: null and an empty list.
    let mut browser = crate::helpers::Browser::new(&app);
    let (status, _, _) = rt.block_on(browser.post(
        "/auth/signup",
        json!({ "email": "olga@acme.test", "password": crate::helpers::PASSWORD }),
    ));
    assert_eq!(status, 201);
    rt.block_on(app.db.add_user(&acme, "olga@acme.test", Role::Owner));
    let cookie = browser.cookie.clone().unwrap();
    let session = |query: &str, variables: Value| {
        let body = json!({ "query": query, "variables": variables });
        let post = |url: String, origin: String| {
            let (http, body, cookie) = (app.http.clone(), body.clone(), cookie.clone());
            async move {
                let resp = http
                    .post(url)
                    .header("cookie", cookie)
                    .header("origin", origin)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                resp.json::<Value>().await.unwrap()
            }
        };
        rt.block_on(async {
            (
                post(compiled_url.clone(), format!("https://{}", app.addr)).await,
                post(resolvers_url.clone(), format!("https://{}", resolvers.addr)).await,
            )
        })
    };
    let (a, b) = session(
        "{ sso { issuer ssoOnly callbackUrl } scim { baseUrl tokens { id } } }",
        json!({}),
    );
    assert!(a.get("errors").is_none(), "{a}");
    assert_eq!(a["extensions"]["tessera"]["compiled"], 2, "{a}");
    assert_eq!(a["data"], b["data"], "{b}");
    assert_eq!(a["data"]["sso"], Value::Null, "{a}");
    assert_eq!(a["data"]["scim"]["tokens"], json!([]), "{a}");
    // Then configured: SSO with admins created just in time, two SCIM tokens (one revoked,
    // one used).
    rt.block_on(async {
        let tenant = acme.id;
        sqlx::query(
            "INSERT INTO public.tenant_sso (tenant_id, issuer, client_id, jit_role)
             VALUES ($1, 'https://idp.example.test/realms/acme', 'tessera-acme', 'admin')",
        )
        .bind(tenant)
        .execute(&app.db.migrator)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO public.scim_tokens (id, tenant_id, name, token_hash, created_by, created_at,
                 last_used_at, revoked_at)
             SELECT gen_random_uuid(), $1, 'idp ' || i, sha256(('scim' || i)::bytea),
                    (SELECT user_id FROM public.memberships WHERE tenant_id = $1 AND role = 'owner' LIMIT 1),
                    now() - make_interval(days => i), CASE WHEN i = 1 THEN now() END,
                    CASE WHEN i = 2 THEN now() END
             FROM generate_series(1, 2) i",
        )
        .bind(tenant)
        .execute(&app.db.migrator)
        .await
        .unwrap();
    });
    // Configured: every field, with aliases, a fragment, an inline fragment and directives.
    for no in [false, true] {
        let (a, b) = session(SESSION_SETTINGS, json!({ "no": no }));
        assert!(a.get("errors").is_none(), "{a}");
        assert_eq!(a["extensions"]["tessera"]["compiled"], 2, "{a}");
        assert_eq!(a["data"], b["data"], "with $no = {no}");
        assert_eq!(a["data"]["s"]["jitRole"], "ADMIN", "{a}");
        assert_eq!(
            a["data"]["scim"]["tokens"].as_array().unwrap().len(),
            2,
            "{a}"
        );
    }
    // Every field of the settings reads, from both paths, before any token's use can have
    // moved its `lastUsedAt` again (it moves at most once a minute).
    let (a, b) = rt.block_on(async {
        let body = json!({ "query": SETTINGS, "variables": { "e": data.endpoints[0], "p": data.projects[0] } });
        let post = |url: &str| app.http.post(url).bearer_auth(&owner).json(&body).send();
        let a: Value = post(&compiled_url).await.unwrap().json().await.unwrap();
        let b: Value = post(&resolvers_url).await.unwrap().json().await.unwrap();
        (a, b)
    });
    assert_eq!(a["extensions"]["tessera"]["compiled"], 8, "{a}");
    assert!(a.get("errors").is_none(), "{a}");
    assert_eq!(a["data"], b["data"]);
    let tokens = a["data"]["apiTokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 3, "{a}");
    assert!(tokens.iter().any(|t| !t["revokedAt"].is_null()));
    assert!(tokens.iter().any(|t| !t["lastUsedAt"].is_null()));
    assert!(a["data"]["secrets"].as_array().unwrap().len() >= 2, "{a}");
    let endpoints = a["data"]["webhookEndpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 2, "{a}");
    assert!(
        endpoints
            .iter()
            .any(|e| !e["previousSecretUntil"].is_null())
    );
    let exports = a["data"]["exports"].as_array().unwrap();
    assert_eq!(exports.len(), 3, "{a}");
    assert_eq!(exports[2]["status"], "DONE");
    assert!(
        exports[2]["contentUrl"]
            .as_str()
            .unwrap()
            .starts_with("/w/acme/exports/")
    );
    assert!(exports[0]["contentUrl"].is_null());
    let files = a["data"]["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{a}");
    assert_eq!(files[0]["sha256"].as_str().unwrap().len(), 64);
    let invitations = a["data"]["invitations"].as_array().unwrap();
    assert_eq!(invitations.len(), 5, "{a}");
    let statuses: Vec<&str> = invitations
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["PENDING", "ACCEPTED", "REVOKED", "EXPIRED", "PENDING"]
    );
    let messages = a["data"]["webhookMessages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "{a}");
    assert_eq!(messages[0]["status"], "pending");
    assert!(messages.iter().any(|m| m["lastError"] == "timed out"));
    let strategy = (any::<bool>(), prop::collection::vec(root(), 1..3));
    let outcome = runner.run(&strategy, |(as_member, roots)| {
        let (query, variables) = render(&data, &roots);
        let token = if as_member { &member } else { &owner };
        let body = json!({ "query": query, "variables": variables });
        let post = |url: String| {
            let (http, body) = (app.http.clone(), body.clone());
            async move {
                let resp = http
                    .post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
            }
        };
        let ((s1, mut a), (s2, mut b)) = rt.block_on(async {
            (
                post(compiled_url.clone()).await,
                post(resolvers_url.clone()).await,
            )
        });
        let served = a["extensions"]["tessera"]["compiled"].as_u64().unwrap_or(0);
        // (Refused before execution — too many aliases, say — there is no count at all.)
        prop_assert_eq!(
            b["extensions"]["tessera"]["compiled"].as_u64().unwrap_or(0),
            0
        );
        // Root fields run concurrently: their errors are listed in the order they fail.
        for body in [&mut a, &mut b] {
            body.as_object_mut().map(|o| o.remove("extensions"));
            if let Some(errors) = body.get_mut("errors").and_then(Value::as_array_mut) {
                errors.sort_by_key(|e| e.to_string());
            }
        }
        prop_assert_eq!(s1, s2, "status for {}", query);
        prop_assert_eq!(&a, &b, "answers for {} with {}", query, variables);
        let path = if served > 0 { &compiled } else { &fell_back };
        path.set(path.get() + 1);
        if a.get("errors").is_some() {
            errored.set(errored.get() + 1);
        }
        Ok(())
    });
    let (compiled, fell_back, errored) = (compiled.get(), fell_back.get(), errored.get());
    println!(
        "{cases} queries: {compiled} compiled, {fell_back} by the resolvers, {errored} with errors"
    );
    rt.block_on(async move {
        drop(resolvers);
        drop(app);
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
    // The generator reaches both paths and the error cases, so the comparison means something.
    assert!(compiled >= cases / 4, "{compiled} of {cases} compiled");
    assert!(
        fell_back > 0 && errored > 0,
        "{fell_back} fell back, {errored} errored"
    );
}
