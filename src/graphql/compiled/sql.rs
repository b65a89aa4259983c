//! The statements of compiled reads. Each returns one JSON value: a row as an array of its
//! columns in plan order, a page as an array of such rows, nested pages as arrays inside.
//! A row whose columns are all scalars is a text array until PostgreSQL writes the page as
//! JSON ([`element`]), so its numbers, booleans and timestamps arrive as JSON strings; the
//! shaper reads either form.
//! Every value from the request is bound, never spliced; the text depends only on the
//! selection's shape. Team visibility is the same `VISIBLE_TEAM` condition the resolvers'
//! statements use, inside the same statement, and the tenant's row-level policies apply to
//! it as to any other.

use crate::db::Arguments;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::plan::{Entity, Expr, Leaf, Row};
use crate::authz::Viewer;
use crate::crypto::store::SecretKind;
use crate::db;
use crate::work::PageArgs;
use crate::work::VISIBLE_TEAM;
use crate::work::attachments::AttachedTo;
use crate::work::history::EntityType;
use crate::work::projects::ProjectFilter;

/// Bound values, numbered as they are added; `$1` and `$2` are the viewer, as
/// `VISIBLE_TEAM` expects, and `$3` the workspace's slug, which the content links of
/// attachments and exports name (`plan::Leaf::of`).
pub(crate) struct Binds {
    pub(crate) args: db::Args,
    n: usize,
    /// The request's workspace: members are read from the shared schema by it.
    tenant: Uuid,
    /// A value could not be encoded: the statement must not run with its placeholders
    /// pointing at the wrong values.
    pub(crate) failed: bool,
}

impl Binds {
    pub(crate) fn new(viewer: Viewer, tenant: Uuid, slug: &str) -> Result<Self, db::BindError> {
        let mut args = db::Args::default();
        args.add(viewer.user_id)?;
        args.add(viewer.sees_all_teams)?;
        args.add(slug.to_owned())?;
        Ok(Self {
            args,
            n: 3,
            tenant,
            failed: false,
        })
    }

    /// Binds `value`; returns its placeholder with an explicit type.
    fn bind<T>(&mut self, value: T, ty: &str) -> String
    where
        T: db::Bind,
    {
        // Adding to `db::Args` fails only for a value that cannot be encoded (none of
        // the types bound here can fail); `serve` refuses to run the statement then.
        self.failed |= self.args.add(value).is_err();
        self.n += 1;
        format!("${}::{ty}", self.n)
    }
}

/// Whether the shaper reads `leaf` back from its text: not JSON, whose text would read as
/// a string, nor lists of text.
fn reads_from_text(leaf: Leaf) -> bool {
    !matches!(leaf, Leaf::Json | Leaf::Texts)
}

/// A row's columns, nested pages and objects rendered in place, and whether every one of
/// them is a scalar the shaper reads back from its text.
fn columns(binds: &mut Binds, row: &Row) -> (Vec<String>, bool) {
    // (An empty row stays `json_build_array()`: `ARRAY[]` has no type.)
    let text = !row.exprs.is_empty()
        && row
            .exprs
            .iter()
            .all(|e| matches!(e, Expr::Column(_, leaf) if reads_from_text(*leaf)));
    let cols = row
        .exprs
        .iter()
        .map(|expr| match expr {
            Expr::Column(c, _) if text => format!("({c})::text"),
            Expr::Column(c, _) => c.clone(),
            Expr::Records { page, row } => records_of_project(binds, *page, row, "p.id"),
            Expr::Projects { of, page, row } => projects_of(binds, *of, *page, row),
            Expr::One(Entity::Team, row) => format!(
                "(SELECT {} FROM teams tm WHERE tm.id = p.team_id AND {VISIBLE_TEAM})",
                array(binds, row)
            ),
            Expr::One(Entity::Goal, row) => format!(
                "(SELECT {} FROM goals g WHERE g.id = p.goal_id)",
                array(binds, row)
            ),
            Expr::One(Entity::Project, row) => format!(
                "(SELECT {} FROM projects p JOIN teams tm ON tm.id = p.team_id
                  WHERE p.id = i.promoted_project_id AND {VISIBLE_TEAM})",
                array(binds, row)
            ),
            // As `identity::members_by_ids`: row-level security limits both tables to the
            // workspace, and the explicit tenant filter says so again. A team's members are
            // its `team_members` who are still members of the workspace.
            Expr::Members(row) => {
                let element = element(binds, row);
                let tenant = binds.bind(binds.tenant, "uuid");
                list(
                    &element,
                    &format!(
                        "team_members tmm
                         JOIN public.memberships m ON m.user_id = tmm.user_id AND m.tenant_id = {tenant}
                         JOIN public.users u ON u.id = m.user_id
                         WHERE tmm.team_id = tm.id ORDER BY m.user_id"
                    ),
                )
            }
            // In the function's order, newest first.
            Expr::ScimTokens(row) => list(
                &element(binds, row),
                "public.tessera_scim_tokens() t ORDER BY t.created_at DESC",
            ),
            Expr::One(_, row) => {
                let cols = array(binds, row);
                let tenant = binds.bind(binds.tenant, "uuid");
                format!(
                    "(SELECT {cols} FROM public.memberships m JOIN public.users u ON u.id = m.user_id
                      WHERE m.tenant_id = {tenant} AND m.user_id = r.assignee_id)"
                )
            }
        })
        .collect();
    (cols, text)
}

/// A row as one JSON array of its columns.
fn array(binds: &mut Binds, row: &Row) -> String {
    match columns(binds, row) {
        (cols, true) => format!("array_to_json(ARRAY[{}])", cols.join(", ")),
        (cols, false) => format!("json_build_array({})", cols.join(", ")),
    }
}

/// A row as an element of a [`list`]: a text array of its columns when the shaper reads
/// every one of them back from its text, else a JSON array. PostgreSQL turns a list of text
/// arrays into JSON in one pass, where `json_build_array` looks up how to write each of its
/// values again on every call: most of a nested page's time in the database
/// (`docs/benchmarks.md`).
fn element(binds: &mut Binds, row: &Row) -> String {
    match columns(binds, row) {
        (cols, true) => format!("ARRAY[{}]", cols.join(", ")),
        (cols, false) => format!("json_build_array({})", cols.join(", ")),
    }
}

/// The JSON array of `element` over the rows of `from` (`… ORDER BY …`), in that order:
/// `ARRAY(subquery)` keeps the subquery's order without sorting again, as an ordered
/// aggregate would.
fn list(element: &str, from: &str) -> String {
    format!("array_to_json(ARRAY(SELECT {element} FROM {from}))")
}

/// The page `page` of records of the project `parent` (an SQL expression), newest first,
/// as a JSON array: the nested `Project.records` and the root `records`.
fn records_of_project(binds: &mut Binds, page: PageArgs, row: &Row, parent: &str) -> String {
    let after = match page.after {
        Some(id) => format!(" AND r.id < {}", binds.bind(id, "uuid")),
        None => String::new(),
    };
    let limit = binds.bind(page.limit(), "int8");
    let element = element(binds, row);
    list(
        &element,
        &format!(
            "(SELECT r.* FROM records r
              WHERE r.project_id = {parent} AND r.archived_at IS NULL{after}
              ORDER BY r.id DESC LIMIT {limit}) r ORDER BY r.id DESC"
        ),
    )
}

/// The page `page` of live projects of the enclosing team (`tm`) or goal (`g`) that the
/// viewer can see, in id order, as a JSON array: `Team.projects` and `Goal.projects`.
/// Under a team the project's team is that team, already visible to the viewer and checked
/// again here; under a goal each project's team is joined and checked. Either way the
/// nearest enclosing `tm` or `g` is the parent, however deep the nesting.
fn projects_of(binds: &mut Binds, of: Entity, page: PageArgs, row: &Row) -> String {
    let element = element(binds, row);
    let from = match of {
        Entity::Team => "projects p WHERE p.team_id = tm.id",
        _ => "projects p JOIN teams tm ON tm.id = p.team_id WHERE p.goal_id = g.id",
    };
    let after = match page.after {
        Some(id) => format!(" AND p.id > {}", binds.bind(id, "uuid")),
        None => String::new(),
    };
    let limit = binds.bind(page.limit(), "int8");
    list(
        &element,
        &format!(
            "(SELECT p.* FROM {from} AND {VISIBLE_TEAM} AND p.archived_at IS NULL{after}
              ORDER BY p.id LIMIT {limit}) p ORDER BY p.id"
        ),
    )
}

/// `project(id:)`: one row, none when the project is not visible.
pub(crate) fn project(binds: &mut Binds, row: &Row, id: Uuid) -> String {
    let cols = array(binds, row);
    let id = binds.bind(id, "uuid");
    format!(
        "SELECT {cols} FROM projects p JOIN teams tm ON tm.id = p.team_id
         WHERE p.id = {id} AND {VISIBLE_TEAM}"
    )
}

/// `record(id:)`: one row, none when the record's project is not visible.
pub(crate) fn record(binds: &mut Binds, row: &Row, id: Uuid) -> String {
    let cols = array(binds, row);
    let id = binds.bind(id, "uuid");
    format!(
        "SELECT {cols} FROM records r
         JOIN projects p ON p.id = r.project_id JOIN teams tm ON tm.id = p.team_id
         WHERE r.id = {id} AND {VISIBLE_TEAM}"
    )
}

/// `team(id:)`, `goal(id:)`, `idea(id:)`: one row, none when there is no such (visible)
/// object.
pub(crate) fn by_id(binds: &mut Binds, entity: Entity, row: &Row, id: Uuid) -> String {
    let cols = array(binds, row);
    let id = binds.bind(id, "uuid");
    match entity {
        Entity::Team => {
            format!("SELECT {cols} FROM teams tm WHERE tm.id = {id} AND {VISIBLE_TEAM}")
        }
        Entity::Goal => format!("SELECT {cols} FROM goals g WHERE g.id = {id}"),
        _ => format!("SELECT {cols} FROM ideas i WHERE i.id = {id}"),
    }
}

/// `teams`, `goals`, `ideas`: one page of the live (not archived) ones as a JSON array, in
/// id order.
pub(crate) fn page_of(binds: &mut Binds, entity: Entity, page: PageArgs, row: &Row) -> String {
    let element = element(binds, row);
    let (table, a, visible) = match entity {
        Entity::Team => ("teams", "tm", format!(" AND {VISIBLE_TEAM}")),
        Entity::Goal => ("goals", "g", String::new()),
        _ => ("ideas", "i", String::new()),
    };
    let after = match page.after {
        Some(id) => format!(" AND {a}.id > {}", binds.bind(id, "uuid")),
        None => String::new(),
    };
    let limit = binds.bind(page.limit(), "int8");
    let from = format!(
        "(SELECT {a}.* FROM {table} {a}
          WHERE {a}.archived_at IS NULL{visible}{after}
          ORDER BY {a}.id LIMIT {limit}) {a} ORDER BY {a}.id"
    );
    format!("SELECT {}", list(&element, &from))
}

/// `projects(...)`: one page as a JSON array, in id order.
pub(crate) fn projects(
    binds: &mut Binds,
    page: PageArgs,
    row: &Row,
    filter: ProjectFilter,
) -> String {
    let element = element(binds, row);
    let mut cond = String::new();
    if let Some(after) = page.after {
        cond += &format!(" AND p.id > {}", binds.bind(after, "uuid"));
    }
    if let Some(team) = filter.team_id {
        cond += &format!(" AND p.team_id = {}", binds.bind(team, "uuid"));
    }
    if let Some(goal) = filter.goal_id {
        cond += &format!(" AND p.goal_id = {}", binds.bind(goal, "uuid"));
    }
    if !filter.include_archived {
        cond += " AND p.archived_at IS NULL";
    }
    let limit = binds.bind(page.limit(), "int8");
    let from = format!(
        "(SELECT p.* FROM projects p JOIN teams tm ON tm.id = p.team_id
          WHERE {VISIBLE_TEAM}{cond}
          ORDER BY p.id LIMIT {limit}) p ORDER BY p.id"
    );
    format!("SELECT {}", list(&element, &from))
}

/// `members`: one page of the workspace's members as a JSON array, by user id. Only the
/// shared schema is read, as `identity::list_members` reads it (row-level security and the
/// explicit tenant filter); on Citus that runs on the coordinator, where those tables live.
pub(crate) fn members(binds: &mut Binds, page: PageArgs, row: &Row) -> String {
    let element = element(binds, row);
    let tenant = binds.bind(binds.tenant, "uuid");
    let after = match page.after {
        Some(id) => format!(" AND m.user_id > {}", binds.bind(id, "uuid")),
        None => String::new(),
    };
    let limit = binds.bind(page.limit(), "int8");
    let from = format!(
        "(SELECT {element} AS j, m.user_id AS k
          FROM public.memberships m JOIN public.users u ON u.id = m.user_id
          WHERE m.tenant_id = {tenant}{after}
          ORDER BY m.user_id LIMIT {limit}) x ORDER BY x.k"
    );
    format!("SELECT {}", list("x.j", &from))
}

/// `records(projectId:)`: the page, or no row when the project is not visible.
pub(crate) fn records(binds: &mut Binds, page: PageArgs, row: &Row, project_id: Uuid) -> String {
    let page = records_of_project(binds, page, row, "p.id");
    let id = binds.bind(project_id, "uuid");
    format!(
        "SELECT {page} FROM projects p JOIN teams tm ON tm.id = p.team_id
         WHERE p.id = {id} AND {VISIBLE_TEAM}"
    )
}

/// `apiTokens`, `secrets`, `webhookEndpoints`: the whole list as a JSON array, in the order
/// and with the filters of the resolvers' statements (`identity::list_tokens`,
/// `crypto::store::list`, `webhooks::list`). The shared schema's tables are read with the
/// explicit tenant filter on top of row-level security, as those statements read them; the
/// token's hash and the secret's sealed value are columns no field maps to.
pub(crate) fn list_of(binds: &mut Binds, entity: Entity, row: &Row) -> String {
    let element = element(binds, row);
    let from = match entity {
        Entity::ApiToken => {
            let tenant = binds.bind(binds.tenant, "uuid");
            format!("public.api_tokens k WHERE k.tenant_id = {tenant} ORDER BY k.id")
        }
        Entity::Secret => {
            // Only the kinds the server knows, as `crypto::store::list` keeps them.
            let tenant = binds.bind(binds.tenant, "uuid");
            let kinds = binds.bind(SecretKind::NAMES.map(str::to_owned).to_vec(), "text[]");
            format!(
                "public.tenant_secrets s
                 WHERE s.tenant_id = {tenant} AND s.kind = ANY({kinds}) ORDER BY s.kind, s.name"
            )
        }
        _ => "webhook_endpoints w ORDER BY w.created_at, w.id".to_owned(),
    };
    format!("SELECT {}", list(&element, &from))
}

/// `auditRetention`: the retention function's one row.
pub(crate) fn audit_retention(binds: &mut Binds, row: &Row) -> String {
    let cols = array(binds, row);
    format!("SELECT {cols} FROM public.tessera_audit_retention() a")
}

/// `webhookMessages(endpointId:, first:)`: the endpoint's newest `first` messages with their
/// latest attempt, as a JSON array, as `webhooks::messages` reads them.
pub(crate) fn webhook_messages(binds: &mut Binds, row: &Row, endpoint: Uuid, first: i64) -> String {
    let element = element(binds, row);
    let endpoint = binds.bind(endpoint, "uuid");
    let first = binds.bind(first, "int8");
    let from = format!(
        "(SELECT m.*, a.status_code AS last_status_code, a.error AS last_error
          FROM webhook_messages m
          LEFT JOIN LATERAL (SELECT status_code, error FROM webhook_attempts
                             WHERE message_id = m.id ORDER BY attempt DESC LIMIT 1) a ON true
          WHERE m.endpoint_id = {endpoint}
          ORDER BY m.created_at DESC, m.id DESC LIMIT {first}) m
         ORDER BY m.created_at DESC, m.id DESC"
    );
    format!("SELECT {}", list(&element, &from))
}

/// `invitations(status:, first:)`: the newest `first` invitations, then those whose status
/// (by its GraphQL name) is in `statuses` (all when empty), as a JSON array, as the resolver lists them
/// (`members::list`, then the status of each at `now`, the server's clock). The status is
/// derived here as `Invitation::status` derives it; the token's hash is not selected.
pub(crate) fn invitations(
    binds: &mut Binds,
    row: &Row,
    statuses: Vec<String>,
    first: i64,
    now: DateTime<Utc>,
) -> String {
    let element = element(binds, row);
    let tenant = binds.bind(binds.tenant, "uuid");
    let first = binds.bind(first, "int8");
    let now = binds.bind(now, "timestamptz");
    let statuses = binds.bind(statuses, "text[]");
    let from = format!(
        "(SELECT x.*, CASE WHEN x.accepted_at IS NOT NULL THEN 'ACCEPTED'
                           WHEN x.revoked_at IS NOT NULL THEN 'REVOKED'
                           WHEN x.expires_at <= {now} THEN 'EXPIRED'
                           ELSE 'PENDING' END AS status
          FROM (SELECT id, email, role, team_ids, invited_by, created_at, expires_at,
                       sent_count, last_sent_at, revoked_at, accepted_at, accepted_by
                FROM public.invitations WHERE tenant_id = {tenant}
                ORDER BY created_at DESC LIMIT {first}) x) v
         WHERE cardinality({statuses}) = 0 OR v.status = ANY({statuses})
         ORDER BY v.created_at DESC"
    );
    format!("SELECT {}", list(&element, &from))
}

/// `history(entityType:, id:)`: the entity's versions, oldest first, as a JSON array; no row
/// when the entity is not there or not visible, under the same conditions as reading it by
/// id (`project`, `record`, `goal`, `idea` above; `history::list` checks with the entity's
/// own `get`).
pub(crate) fn history(binds: &mut Binds, row: &Row, entity: EntityType, id: Uuid) -> String {
    let element = element(binds, row);
    let kind = binds.bind(entity.as_str(), "text");
    let id = binds.bind(id, "uuid");
    let source = readable(entity, &id);
    let versions = list(
        &element,
        &format!(
            "versions h WHERE h.entity_type = {kind} AND h.entity_id = {id} ORDER BY h.version"
        ),
    );
    format!("SELECT {versions} FROM {source}")
}

/// The visibility of a goal, project, record or idea by `id` (a bound placeholder): the
/// `FROM` of a statement that has a row only when the caller may read it, under the same
/// conditions as reading it by id.
fn readable(entity: EntityType, id: &str) -> String {
    match entity {
        EntityType::Goal => format!("goals g WHERE g.id = {id}"),
        EntityType::Idea => format!("ideas i WHERE i.id = {id}"),
        EntityType::Project => format!(
            "projects p JOIN teams tm ON tm.id = p.team_id WHERE p.id = {id} AND {VISIBLE_TEAM}"
        ),
        EntityType::Record => format!(
            "records r JOIN projects p ON p.id = r.project_id JOIN teams tm ON tm.id = p.team_id
             WHERE r.id = {id} AND {VISIBLE_TEAM}"
        ),
    }
}

/// `attachments(entityType:, entityId:)`: the entity's attachments, oldest first, as a JSON
/// array; no row when the entity is not there or not visible (`attachments::list` checks
/// with the entity's own `get`).
pub(crate) fn attachments(
    binds: &mut Binds,
    row: &Row,
    to: AttachedTo,
    kind: EntityType,
    id: Uuid,
) -> String {
    let element = element(binds, row);
    let to = binds.bind(to.as_str(), "text");
    let id = binds.bind(id, "uuid");
    let source = readable(kind, &id);
    let files = list(
        &element,
        &format!(
            "attachments f WHERE f.entity_type = {to} AND f.entity_id = {id}
             ORDER BY f.created_at, f.id"
        ),
    );
    format!("SELECT {files} FROM {source}")
}

/// `exports(first:)`: the newest `first` exports as a JSON array, as `export::job::list`
/// orders them.
pub(crate) fn exports(binds: &mut Binds, row: &Row, first: i64) -> String {
    let element = element(binds, row);
    let first = binds.bind(first, "int8");
    let from = format!(
        "(SELECT * FROM exports ORDER BY created_at DESC, id LIMIT {first}) x
         ORDER BY x.created_at DESC, x.id"
    );
    format!("SELECT {}", list(&element, &from))
}

/// `export(id:)`: one row, none when there is no such export (the field is then null).
pub(crate) fn export(binds: &mut Binds, row: &Row, id: Uuid) -> String {
    let cols = array(binds, row);
    let id = binds.bind(id, "uuid");
    format!("SELECT {cols} FROM exports x WHERE x.id = {id}")
}

/// `scim`: one row of the SCIM settings (its tokens inside; the base URL is the server's).
pub(crate) fn scim(binds: &mut Binds, row: &Row) -> String {
    format!("SELECT {}", array(binds, row))
}

/// `sso`: the workspace's configuration, or no row (the field is then null), as
/// `identity::sso::config` reads it (the client secret is not in this table: it lives
/// sealed in the secrets store).
pub(crate) fn sso(binds: &mut Binds, row: &Row) -> String {
    let cols = array(binds, row);
    let tenant = binds.bind(binds.tenant, "uuid");
    format!("SELECT {cols} FROM public.tenant_sso o WHERE o.tenant_id = {tenant}")
}
