//! From a field's selection set to a plan: which columns each object needs (in the order
//! the statement returns them) and how to shape the answer from them.
//!
//! Planning walks the selection as async-graphql hands it to the resolver: `@skip` and
//! `@include` already applied, fragments spread, variables resolved through
//! `SelectionField::arguments`. Anything the planner does not know — a field it does not
//! compile (`Team.members` and `Record.assignee` on Citus), an argument it cannot read, a
//! page size out of range — makes it give up, and the resolvers answer instead, errors
//! included.

use async_graphql::{Name, SelectionField, Value};

use crate::config::Limits;
use crate::work::PageArgs;

/// The types the planner compiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entity {
    Project,
    Record,
    Team,
    Goal,
    Idea,
    /// A member of the workspace (`Record.assignee`), from the shared schema.
    Member,
    /// The workspace's API tokens, from the shared schema (`apiTokens`).
    ApiToken,
    /// The workspace's stored secrets, their metadata only (`secrets`).
    Secret,
    /// The workspace's webhook endpoints (`webhookEndpoints`).
    WebhookEndpoint,
    /// An endpoint's messages with their latest attempt (`webhookMessages`).
    WebhookMessage,
    /// The workspace's invitations, from the shared schema (`invitations`).
    Invitation,
    /// A version of a goal, project, record or idea (`history`).
    Version,
    /// A file attached to a project, record or idea (`attachments`).
    Attachment,
    /// A background export (`exports`, `export`).
    Export,
    /// The workspace's SCIM settings (`scim`): no table of its own.
    Scim,
    /// A SCIM token (`Scim.tokens`), from `tessera_scim_tokens()`.
    ScimToken,
    /// The workspace's SSO configuration (`sso`).
    Sso,
    /// The audit log's retention (`auditRetention`).
    AuditRetention,
}

impl Entity {
    /// The SQL alias the entity's row has in every statement.
    pub(crate) fn alias(self) -> &'static str {
        match self {
            Self::Project => "p",
            Self::Record => "r",
            Self::Team => "tm",
            Self::Goal => "g",
            Self::Idea => "i",
            Self::Member => "m",
            Self::ApiToken => "k",
            Self::Secret => "s",
            Self::WebhookEndpoint => "w",
            Self::WebhookMessage => "m",
            Self::Invitation => "v",
            Self::Version => "h",
            Self::Attachment => "f",
            Self::Export => "x",
            Self::Scim => "sc",
            Self::ScimToken => "t",
            Self::Sso => "o",
            Self::AuditRetention => "a",
        }
    }

    fn type_name(self) -> &'static str {
        match self {
            Self::Project => "Project",
            Self::Record => "Record",
            Self::Team => "Team",
            Self::Goal => "Goal",
            Self::Idea => "Idea",
            Self::Member => "Member",
            Self::ApiToken => "ApiToken",
            Self::Secret => "SecretInfo",
            Self::WebhookEndpoint => "WebhookEndpoint",
            Self::WebhookMessage => "WebhookMessage",
            Self::Invitation => "Invitation",
            Self::Version => "Version",
            Self::Attachment => "Attachment",
            Self::Export => "Export",
            Self::Scim => "ScimSettings",
            Self::ScimToken => "ScimToken",
            Self::Sso => "SsoConfig",
            Self::AuditRetention => "AuditRetention",
        }
    }

    pub(crate) fn connection_name(self) -> &'static str {
        match self {
            Self::Project => "ProjectConnection",
            Self::Record => "RecordConnection",
            Self::Team => "TeamConnection",
            Self::Goal => "GoalConnection",
            Self::Idea => "IdeaConnection",
            Self::Member => "MemberConnection",
            // Lists and single objects: never paged.
            Self::ApiToken
            | Self::Secret
            | Self::WebhookEndpoint
            | Self::WebhookMessage
            | Self::Invitation
            | Self::Version
            | Self::Attachment
            | Self::Export
            | Self::Scim
            | Self::ScimToken
            | Self::Sso
            | Self::AuditRetention => "",
        }
    }

    pub(crate) fn edge_name(self) -> &'static str {
        match self {
            Self::Project => "ProjectEdge",
            Self::Record => "RecordEdge",
            Self::Team => "TeamEdge",
            Self::Goal => "GoalEdge",
            Self::Idea => "IdeaEdge",
            Self::Member => "MemberEdge",
            Self::ApiToken
            | Self::Secret
            | Self::WebhookEndpoint
            | Self::WebhookMessage
            | Self::Invitation
            | Self::Version
            | Self::Attachment
            | Self::Export
            | Self::Scim
            | Self::ScimToken
            | Self::Sso
            | Self::AuditRetention => "",
        }
    }
}

/// `Export.status` by its GraphQL name, as `export::job::Status::parse` reads the stored one
/// (anything unknown is expired).
const EXPORT_STATUS: &str = "(CASE x.status WHEN 'queued' THEN 'QUEUED' WHEN 'running' THEN 'RUNNING' \
     WHEN 'done' THEN 'DONE' WHEN 'failed' THEN 'FAILED' WHEN 'cancelled' THEN 'CANCELLED' \
     ELSE 'EXPIRED' END)";

/// A scalar field read from one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leaf {
    /// A UUID, answered as its text.
    Id,
    Text,
    /// `Record.status`, stored as text, answered as the enum.
    Status,
    /// `Team.visibility`, the same.
    Visibility,
    /// `Member.role`, the same.
    Role,
    /// Custom fields: JSON.
    Json,
    /// A timestamp, fetched as microseconds since the epoch and formatted as the
    /// `DateTime` scalar formats it.
    Time,
    Int,
    Bool,
    /// A list of text (`text[]`): `ApiToken.scopes`, `WebhookEndpoint.events`.
    Texts,
    /// `SecretInfo.kind`, stored as text, answered as the enum.
    SecretKind,
    /// `WebhookMessage.id`: the message's UUID, answered as the `webhook-id` receivers see.
    MessageId,
    /// An enum the statement already answers by its GraphQL name (`Export.status`,
    /// `Invitation.status`, `SsoConfig.jitRole`).
    EnumName,
}

impl Leaf {
    /// The leaf type and column of `entity.field` (qualified when it is not the entity's
    /// own table's), or `None` if the field is not a column.
    fn of(entity: Entity, field: &str) -> Option<(Self, &'static str)> {
        Some(match (entity, field) {
            (Entity::Member, "id") => (Self::Id, "m.user_id"),
            (Entity::Member, "email") => (Self::Text, "u.email"),
            (Entity::Member, "displayName") => (Self::Text, "u.display_name"),
            (Entity::Member, "role") => (Self::Role, "m.role"),
            (Entity::Member, _) => return None,
            (Entity::ApiToken, "name") => (Self::Text, "name"),
            (Entity::ApiToken, "userId") => (Self::Id, "user_id"),
            (Entity::ApiToken, "scopes") => (Self::Texts, "scopes"),
            (Entity::ApiToken, "lastUsedAt") => (Self::Time, "last_used_at"),
            (Entity::ApiToken, "revokedAt") => (Self::Time, "revoked_at"),
            (Entity::Secret, "kind") => (Self::SecretKind, "kind"),
            (Entity::Secret, "name") => (Self::Text, "name"),
            (Entity::Secret, "updatedAt") => (Self::Time, "updated_at"),
            (Entity::WebhookEndpoint, "url") => (Self::Text, "url"),
            (Entity::WebhookEndpoint, "events") => (Self::Texts, "events"),
            (Entity::WebhookEndpoint, "enabled") => (Self::Bool, "enabled"),
            (Entity::WebhookEndpoint, "disabledReason") => (Self::Text, "disabled_reason"),
            (Entity::WebhookEndpoint, "consecutiveFailures") => (Self::Int, "consecutive_failures"),
            (Entity::WebhookEndpoint, "previousSecretUntil") => {
                (Self::Time, "previous_secret_until")
            }
            (Entity::WebhookMessage, "id") => (Self::MessageId, "id"),
            (Entity::WebhookMessage, "eventType") => (Self::Text, "event_type"),
            (Entity::WebhookMessage, "status") => (Self::Text, "status"),
            (Entity::WebhookMessage, "attempts") => (Self::Int, "attempts"),
            (Entity::WebhookMessage, "deliveredAt") => (Self::Time, "delivered_at"),
            (Entity::WebhookMessage, "lastStatusCode") => (Self::Int, "last_status_code"),
            (Entity::WebhookMessage, "lastError") => (Self::Text, "last_error"),
            (Entity::Invitation, "email") => (Self::Text, "email"),
            (Entity::Invitation, "role") => (Self::Role, "role"),
            (Entity::Invitation, "teamIds") => (Self::Texts, "team_ids"),
            (Entity::Invitation, "status") => (Self::EnumName, "status"),
            (Entity::Invitation, "invitedBy") => (Self::Id, "invited_by"),
            (Entity::Invitation, "expiresAt") => (Self::Time, "expires_at"),
            (Entity::Invitation, "sentCount") => (Self::Int, "sent_count"),
            (Entity::Invitation, "lastSentAt") => (Self::Time, "last_sent_at"),
            (Entity::Invitation, "revokedAt") => (Self::Time, "revoked_at"),
            (Entity::Invitation, "acceptedAt") => (Self::Time, "accepted_at"),
            (Entity::Invitation, "acceptedBy") => (Self::Id, "accepted_by"),
            (Entity::Version, "version") => (Self::Int, "version"),
            (Entity::Version, "at") => (Self::Time, "at"),
            (Entity::Version, "actorUser") => (Self::Id, "actor_user"),
            (Entity::Version, "changes") => (Self::Json, "changes"),
            (Entity::Version, "snapshot") => (Self::Json, "snapshot"),
            (Entity::Version, "restoredFrom") => (Self::Int, "restored_from"),
            (Entity::Version, _) => return None,
            (Entity::Attachment, "filename") => (Self::Text, "filename"),
            (Entity::Attachment, "contentType") => (Self::Text, "content_type"),
            (Entity::Attachment, "size") => (Self::Int, "size_bytes"),
            (Entity::Attachment, "sha256") => (Self::Text, "encode(f.sha256, 'hex')"),
            (Entity::Attachment, "uploadedBy") => (Self::Id, "uploaded_by"),
            // The path the server answers with a redirect to a short-lived signed link, after
            // checking access again; `$3` is the workspace's slug (`sql::Binds`).
            (Entity::Attachment, "contentUrl") => (
                Self::Text,
                "('/w/' || $3::text || '/attachments/' || f.id || '/content')",
            ),
            (Entity::Export, "status") => (Self::EnumName, EXPORT_STATUS),
            (Entity::Export, "requestedBy") => (Self::Id, "requested_by"),
            (Entity::Export, "finishedAt") => (Self::Time, "finished_at"),
            (Entity::Export, "expiresAt") => (Self::Time, "expires_at"),
            (Entity::Export, "size") => (Self::Int, "size_bytes"),
            (Entity::Export, "sha256") => (Self::Text, "encode(x.sha256, 'hex')"),
            (Entity::Export, "manifest") => (Self::Json, "manifest"),
            (Entity::Export, "error") => (Self::Text, "error"),
            // Only a finished export has content to follow.
            (Entity::Export, "contentUrl") => (
                Self::Text,
                "(CASE WHEN x.status = 'done' THEN '/w/' || $3::text || '/exports/' || x.id || '/content' END)",
            ),
            (Entity::ScimToken, "name") => (Self::Text, "name"),
            (Entity::ScimToken, "lastUsedAt") => (Self::Time, "last_used_at"),
            (Entity::ScimToken, "revokedAt") => (Self::Time, "revoked_at"),
            (Entity::Sso, "issuer") => (Self::Text, "issuer"),
            (Entity::Sso, "clientId") => (Self::Text, "client_id"),
            // As `SsoConfigObj::new` reads it: `admin`, any other role a member, none invite-only.
            (Entity::Sso, "jitRole") => (
                Self::EnumName,
                "(CASE WHEN o.jit_role IS NULL THEN NULL WHEN o.jit_role = 'admin' THEN 'ADMIN' ELSE 'MEMBER' END)",
            ),
            (Entity::Scim | Entity::Sso, _) => return None,
            (Entity::AuditRetention, "days") => (Self::Int, "days"),
            (Entity::AuditRetention, "firstKept") => (Self::Int, "first_kept"),
            (Entity::AuditRetention, _) => return None,
            (_, "id") => (Self::Id, "id"),
            (_, "archivedAt") => (Self::Time, "archived_at"),
            (_, "createdAt") => (Self::Time, "created_at"),
            (Entity::Project | Entity::Record, "updatedAt") => (Self::Time, "updated_at"),
            (Entity::Team, "name") => (Self::Text, "name"),
            (Entity::Team, "visibility") => (Self::Visibility, "visibility"),
            (Entity::Goal, "title") => (Self::Text, "title"),
            (Entity::Goal, "description") => (Self::Text, "description"),
            (Entity::Idea, "title") => (Self::Text, "title"),
            (Entity::Idea, "body") => (Self::Text, "body"),
            (Entity::Project, "name") => (Self::Text, "name"),
            (Entity::Project, "description") => (Self::Text, "description"),
            (Entity::Record, "title") => (Self::Text, "title"),
            (Entity::Record, "body") => (Self::Text, "body"),
            (Entity::Record, "status") => (Self::Status, "status"),
            (Entity::Record, "fields") => (Self::Json, "fields"),
            (Entity::Record, "projectId") => (Self::Id, "project_id"),
            _ => return None,
        })
    }

    fn expr(self, alias: &str, column: &str) -> String {
        let column = if column.contains('.') {
            column.to_owned()
        } else {
            format!("{alias}.{column}")
        };
        match self {
            // `extract(epoch ...)` is numeric: exact to the microsecond.
            Self::Time => format!("(extract(epoch FROM {column}) * 1000000)::int8"),
            _ => column,
        }
    }
}

/// One column of a row: a column expression and the leaf it answers, or a nested page or
/// object (rendered to SQL, with its bound values, by `sql`).
#[derive(Debug)]
pub(crate) enum Expr {
    Column(String, Leaf),
    /// The project's records: a page of rows.
    Records {
        page: PageArgs,
        row: Row,
    },
    /// The team's or goal's projects (`of`): a page of rows.
    Projects {
        of: Entity,
        page: PageArgs,
        row: Row,
    },
    /// The project's team or goal, the record's assignee, the idea's project: one row, or
    /// null.
    One(Entity, Row),
    /// The team's members: a list of rows.
    Members(Row),
    /// The workspace's SCIM tokens: a list of rows.
    ScimTokens(Row),
}

/// The columns of one row, each column expression once; fields refer to them by position.
#[derive(Debug, Default)]
pub(crate) struct Row {
    pub(crate) exprs: Vec<Expr>,
}

impl Row {
    fn column(&mut self, leaf: Leaf, expr: String) -> usize {
        let found = self
            .exprs
            .iter()
            .position(|e| matches!(e, Expr::Column(c, _) if *c == expr));
        found.unwrap_or_else(|| self.push(Expr::Column(expr, leaf)))
    }

    fn push(&mut self, expr: Expr) -> usize {
        self.exprs.push(expr);
        self.exprs.len() - 1
    }
}

/// A field of an object, under its response key. Keys may repeat (the same field selected
/// twice, or through two fragments): the answer merges them as the executor does.
pub(crate) type Fields = Vec<(Name, Item)>;

#[derive(Debug)]
pub(crate) enum Item {
    Typename(&'static str),
    Leaf(Leaf, usize),
    /// A nested object, its row a JSON array (or null) in column `usize`; `true` when the
    /// field is non-null in the schema.
    Object(Fields, usize, bool),
    /// A nested connection, its rows a JSON array in column `usize`.
    Connection(Box<Connection>, usize),
    /// A list of objects (`Team.members`), their rows a JSON array in column `usize`.
    List(Fields, usize),
    /// A field the server answers from the request, not from the statement.
    Env(EnvItem),
}

/// Fields of the settings objects that are not stored: derived from the server's public
/// origin and the workspace's slug, or the entry's answer (`shape::Env`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum EnvItem {
    ScimBaseUrl,
    SsoCallbackUrl,
    SsoStartUrl,
    SsoOnly,
}

/// A connection: its page (rows are fetched one beyond it, to learn whether another
/// follows), the position of the id among their columns (for cursors), and what was
/// selected of it. Its rows' columns are a [`Row`] of their own.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) entity: Entity,
    pub(crate) page: PageArgs,
    pub(crate) id_col: usize,
    pub(crate) items: Vec<(Name, ConnItem)>,
}

#[derive(Debug)]
pub(crate) enum ConnItem {
    Typename,
    Nodes(Fields),
    Edges(Vec<(Name, EdgeItem)>),
    PageInfo(Vec<(Name, PageItem)>),
}

#[derive(Debug)]
pub(crate) enum EdgeItem {
    Typename,
    Cursor,
    Node(Fields),
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum PageItem {
    Typename,
    HasNext,
    HasPrevious,
    Start,
    End,
}

fn key(f: &SelectionField<'_>) -> Name {
    Name::new(f.alias().unwrap_or_else(|| f.name()))
}

/// Plans objects and connections.
pub(crate) struct Planner<'a> {
    pub(crate) limits: &'a Limits,
    /// Whether a workspace's statement may read the shared schema's tables (memberships
    /// and users, for `Record.assignee` and `Team.members`): not on Citus, where the workspace's tables live on
    /// a worker and the shared ones on the coordinator.
    pub(crate) shared_joins: bool,
}

impl Planner<'_> {
    /// The fields of an `entity` object selected by `sel`, their columns added to `row`.
    pub(crate) fn object(
        &mut self,
        entity: Entity,
        sel: &SelectionField<'_>,
        row: &mut Row,
    ) -> Option<Fields> {
        let alias = entity.alias();
        let mut out = Vec::new();
        for f in sel.selection_set() {
            let item = match (entity, f.name()) {
                (_, "__typename") => Item::Typename(entity.type_name()),
                (Entity::Project, "records") => {
                    let page = self.page_of(&f)?;
                    let (conn, rows) = self.connection(Entity::Record, &f, page)?;
                    let col = row.push(Expr::Records { page, row: rows });
                    Item::Connection(Box::new(conn), col)
                }
                (Entity::Team | Entity::Goal, "projects") => {
                    let page = self.page_of(&f)?;
                    let (conn, rows) = self.connection(Entity::Project, &f, page)?;
                    let col = row.push(Expr::Projects {
                        of: entity,
                        page,
                        row: rows,
                    });
                    Item::Connection(Box::new(conn), col)
                }
                (Entity::Scim, "baseUrl") => Item::Env(EnvItem::ScimBaseUrl),
                (Entity::Sso, "ssoOnly") => Item::Env(EnvItem::SsoOnly),
                (Entity::Sso, "callbackUrl") => Item::Env(EnvItem::SsoCallbackUrl),
                (Entity::Sso, "startUrl") => Item::Env(EnvItem::SsoStartUrl),
                (Entity::Scim, "tokens") => {
                    let mut sub = Row::default();
                    let fields = self.object(Entity::ScimToken, &f, &mut sub)?;
                    if !fits(&sub) {
                        return None;
                    }
                    Item::List(fields, row.push(Expr::ScimTokens(sub)))
                }
                (Entity::Record, "assignee") | (Entity::Team, "members") if !self.shared_joins => {
                    return None;
                }
                // The members still in the workspace, by user id, as the resolver lists them.
                (Entity::Team, "members") => {
                    let mut sub = Row::default();
                    let fields = self.object(Entity::Member, &f, &mut sub)?;
                    if !fits(&sub) {
                        return None;
                    }
                    Item::List(fields, row.push(Expr::Members(sub)))
                }
                // The project's team is visible (the project was read through it), and
                // the statement checks it again; its goal is not subject to visibility.
                // An assignee who has left the workspace is null, as the loader answers; so
                // is a promoted project the viewer cannot see.
                (Entity::Project, "team" | "goal")
                | (Entity::Record, "assignee")
                | (Entity::Idea, "promotedProject") => {
                    let (nested, required) = match f.name() {
                        "team" => (Entity::Team, true),
                        "goal" => (Entity::Goal, false),
                        "assignee" => (Entity::Member, false),
                        _ => (Entity::Project, false),
                    };
                    let mut sub = Row::default();
                    let fields = self.object(nested, &f, &mut sub)?;
                    if !fits(&sub) {
                        return None;
                    }
                    Item::Object(fields, row.push(Expr::One(nested, sub)), required)
                }
                (_, name) => {
                    let (leaf, column) = Leaf::of(entity, name)?;
                    Item::Leaf(leaf, row.column(leaf, leaf.expr(alias, column)))
                }
            };
            out.push((key(&f), item));
        }
        Some(out)
    }

    /// A connection of `entity` selected by `sel`, for page `page`, and its rows' columns.
    pub(crate) fn connection(
        &mut self,
        entity: Entity,
        sel: &SelectionField<'_>,
        page: PageArgs,
    ) -> Option<(Connection, Row)> {
        let mut row = Row::default();
        let (_, id) = Leaf::of(entity, "id")?;
        let id_col = row.column(Leaf::Id, Leaf::Id.expr(entity.alias(), id));
        let mut items = Vec::new();
        for f in sel.selection_set() {
            let item = match f.name() {
                "__typename" => ConnItem::Typename,
                "nodes" => ConnItem::Nodes(self.object(entity, &f, &mut row)?),
                "edges" => {
                    let mut edge = Vec::new();
                    for e in f.selection_set() {
                        let item = match e.name() {
                            "__typename" => EdgeItem::Typename,
                            "cursor" => EdgeItem::Cursor,
                            "node" => EdgeItem::Node(self.object(entity, &e, &mut row)?),
                            _ => return None,
                        };
                        edge.push((key(&e), item));
                    }
                    ConnItem::Edges(edge)
                }
                "pageInfo" => {
                    let mut info = Vec::new();
                    for p in f.selection_set() {
                        let item = match p.name() {
                            "__typename" => PageItem::Typename,
                            "hasNextPage" => PageItem::HasNext,
                            "hasPreviousPage" => PageItem::HasPrevious,
                            "startCursor" => PageItem::Start,
                            "endCursor" => PageItem::End,
                            _ => return None,
                        };
                        info.push((key(&p), item));
                    }
                    ConnItem::PageInfo(info)
                }
                _ => return None,
            };
            items.push((key(&f), item));
        }
        fits(&row).then_some((
            Connection {
                entity,
                page,
                id_col,
                items,
            },
            row,
        ))
    }

    /// The page arguments of a nested connection field (`first`, `after`), as the resolver
    /// would read them; `None` for anything it would refuse, so that it does.
    fn page_of(&self, f: &SelectionField<'_>) -> Option<PageArgs> {
        let (mut first, mut after) = (None, None);
        for (name, value) in f.arguments().ok()? {
            match (name.as_str(), value) {
                (_, Value::Null) => {}
                ("first", Value::Number(n)) => first = Some(i32::try_from(n.as_i64()?).ok()?),
                ("after", Value::String(s)) => after = Some(s),
                _ => return None,
            }
        }
        PageArgs::parse(
            first,
            after.as_deref(),
            self.limits.default_page_size,
            self.limits.max_page_size,
        )
        .ok()
    }
}

/// Whether a row fits in one `json_build_array` (PostgreSQL takes at most 100 arguments).
pub(crate) fn fits(row: &Row) -> bool {
    row.exprs.len() <= 100
}
