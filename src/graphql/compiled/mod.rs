//! Compiled reads: a root read field and everything selected under it answered from one
//! SQL statement planned from the selection, instead of a resolver per field.
//!
//! The root resolvers of the work domain (`project(s)`, `record(s)`, `team(s)`, `goal(s)`,
//! `idea(s)`, `history`, `attachments`), `members`, `invitations`, `exports`, `export`, and
//! the settings reads `apiTokens`, `secrets`, `webhookEndpoints`, `webhookMessages`,
//! `auditRetention`, `scim` and `sso` call [`serve`] first.
//! When the whole selection under the field compiles ([`plan`]), PostgreSQL returns only
//! the selected columns, nested pages come from correlated subqueries aggregated to JSON in
//! the same statement ([`sql`]), and the answer is shaped from that JSON without a future
//! per field ([`shape`]). When it does not compile, [`serve`] returns `None` and the
//! resolvers answer; what compiles is listed in `docs/compiled-reads.md`, and property
//! tests check that both paths give the same answers.
//!
//! The field keeps its schema type ([`Served`]): validation, the `@requires` guard, depth
//! and complexity limits all run before the resolver, as for any field.

mod plan;
mod raw;
mod shape;
mod sql;

pub(crate) use raw::RawAnswers;

use std::borrow::Cow;

use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{
    Context, ContextSelectionSet, OutputType, Positioned, ServerError, ServerResult, Value,
};
use uuid::Uuid;

use super::context::{state, tx};
use super::errors::ApiError;
use crate::db;
use crate::work::attachments::AttachedTo;
use crate::work::history::EntityType;
use crate::work::projects::ProjectFilter;
use crate::work::{PageArgs, WorkError};
use plan::{Entity, Planner, Row};
use sql::Binds;

/// A compilable root read field with its arguments, parsed by its resolver.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Root {
    Project(Uuid),
    Record(Uuid),
    Projects(ProjectFilter, PageArgs),
    Records(Uuid, PageArgs),
    Team(Uuid),
    Teams(PageArgs),
    Goal(Uuid),
    Goals(PageArgs),
    Idea(Uuid),
    Ideas(PageArgs),
    /// The workspace's members, from the shared schema.
    Members(PageArgs),
    /// Lists of settings, each read whole: `apiTokens`, `secrets`, `webhookEndpoints`.
    ApiTokens,
    Secrets,
    WebhookEndpoints,
    /// `webhookMessages`: the endpoint and how many.
    WebhookMessages(Uuid, i64),
    /// `invitations`: the statuses asked for ([`InvitationFilter`]), how many, and the
    /// server's time that decides which have expired.
    Invitations(InvitationFilter, i64, chrono::DateTime<chrono::Utc>),
    /// `history`: the entity's versions.
    History(EntityType, Uuid),
    /// `attachments`: the entity's files.
    Attachments(AttachedTo, Uuid),
    /// `exports(first:)`, `export(id:)`.
    Exports(i64),
    Export(Uuid),
    /// `scim`, `sso`: the settings objects.
    Scim,
    Sso,
    AuditRetention,
}

/// The statuses `invitations` narrows to, by their GraphQL names (none: all).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct InvitationFilter {
    pub(crate) pending: bool,
    pub(crate) expired: bool,
    pub(crate) revoked: bool,
    pub(crate) accepted: bool,
}

impl InvitationFilter {
    fn names(self) -> Vec<String> {
        [
            (self.pending, "PENDING"),
            (self.expired, "EXPIRED"),
            (self.revoked, "REVOKED"),
            (self.accepted, "ACCEPTED"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| name.to_owned())
        .collect()
    }
}

/// What a root read field answers: its value from the resolvers, or the compiled answer
/// (the same type to the schema).
pub(crate) enum Served<T> {
    Resolved(T),
    Compiled(Answer),
}

/// A compiled answer, built for one field's selection set and handed to the executor once:
/// moved out rather than cloned, since a nested page's answer holds thousands of values.
/// (The executor resolves a field's value once; the lock is never contended.)
pub(crate) struct Answer(std::sync::Mutex<Option<Value>>);

impl Answer {
    fn new(value: Value) -> Self {
        Self(std::sync::Mutex::new(Some(value)))
    }

    fn take(&self) -> Option<Value> {
        self.0.lock().ok().and_then(|mut value| value.take())
    }
}

impl<T: OutputType> OutputType for Served<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        match self {
            Self::Resolved(value) => value.resolve(ctx, field).await,
            // Built for this field's selection set, keyed by its response keys.
            Self::Compiled(answer) => answer.take().ok_or_else(|| {
                ServerError::new("a compiled answer was resolved twice", Some(field.pos))
            }),
        }
    }
}

/// A planned statement and how to shape its answer.
enum Planned {
    Object(plan::Fields),
    /// An object that is null, not an error, when the statement has no row.
    Optional(plan::Fields),
    Connection(plan::Connection),
    List(plan::Fields),
}

impl Planned {
    /// Whether the answer can be written as JSON, not built as values
    /// ([`shape::writable`]).
    fn writable(&self) -> bool {
        match self {
            Self::Object(fields) | Self::Optional(fields) | Self::List(fields) => {
                shape::writable(fields)
            }
            Self::Connection(conn) => shape::writable_connection(conn),
        }
    }
}

/// The fields of a flat `entity` object selected by `sel`, and its row, if they compile.
fn flat(
    planner: &mut Planner<'_>,
    entity: Entity,
    sel: &async_graphql::SelectionField<'_>,
) -> Option<(plan::Fields, Row)> {
    let mut row = Row::default();
    let fields = planner.object(entity, sel, &mut row)?;
    plan::fits(&row).then_some((fields, row))
}

/// Answers `root` from one statement, if its selection compiles (and compiled reads are
/// on); `None` leaves it to the resolvers.
pub(crate) async fn serve(ctx: &Context<'_>, root: Root) -> Result<Option<Answer>, ApiError> {
    let state = state(ctx)?;
    if !state.limits.compiled_reads {
        return Ok(None);
    }
    let (tenant, slug, sso_only) = {
        let tx = tx(ctx).await?;
        (
            tx.tenant_id(),
            tx.tenant().slug.as_str().to_owned(),
            tx.sso_only(),
        )
    };
    let mut binds =
        Binds::new(state.principal.viewer(), tenant, &slug).map_err(|e| ApiError::internal(&e))?;
    let mut planner = Planner {
        limits: &state.limits,
        shared_joins: state.shared_joins,
    };
    let field = ctx.field();
    let (planned, text) = match root {
        Root::Project(id) | Root::Record(id) => {
            let entity = match root {
                Root::Project(_) => Entity::Project,
                _ => Entity::Record,
            };
            let Some((fields, row)) = flat(&mut planner, entity, &field) else {
                return Ok(None);
            };
            let text = match root {
                Root::Project(_) => sql::project(&mut binds, &row, id),
                _ => sql::record(&mut binds, &row, id),
            };
            (Planned::Object(fields), text)
        }
        Root::Team(id) | Root::Goal(id) | Root::Idea(id) => {
            let entity = match root {
                Root::Team(_) => Entity::Team,
                Root::Goal(_) => Entity::Goal,
                _ => Entity::Idea,
            };
            let Some((fields, row)) = flat(&mut planner, entity, &field) else {
                return Ok(None);
            };
            let text = sql::by_id(&mut binds, entity, &row, id);
            (Planned::Object(fields), text)
        }
        Root::Teams(page) | Root::Goals(page) | Root::Ideas(page) => {
            let entity = match root {
                Root::Teams(_) => Entity::Team,
                Root::Goals(_) => Entity::Goal,
                _ => Entity::Idea,
            };
            let Some((conn, row)) = planner.connection(entity, &field, page) else {
                return Ok(None);
            };
            let text = sql::page_of(&mut binds, entity, page, &row);
            (Planned::Connection(conn), text)
        }
        Root::Projects(filter, page) => {
            let Some((conn, row)) = planner.connection(Entity::Project, &field, page) else {
                return Ok(None);
            };
            let text = sql::projects(&mut binds, page, &row, filter);
            (Planned::Connection(conn), text)
        }
        Root::Members(page) => {
            let Some((conn, row)) = planner.connection(Entity::Member, &field, page) else {
                return Ok(None);
            };
            let text = sql::members(&mut binds, page, &row);
            (Planned::Connection(conn), text)
        }
        Root::ApiTokens | Root::Secrets | Root::WebhookEndpoints | Root::AuditRetention => {
            let entity = match root {
                Root::ApiTokens => Entity::ApiToken,
                Root::Secrets => Entity::Secret,
                Root::WebhookEndpoints => Entity::WebhookEndpoint,
                _ => Entity::AuditRetention,
            };
            let Some((fields, row)) = flat(&mut planner, entity, &field) else {
                return Ok(None);
            };
            match entity {
                Entity::AuditRetention => (
                    Planned::Object(fields),
                    sql::audit_retention(&mut binds, &row),
                ),
                _ => (
                    Planned::List(fields),
                    sql::list_of(&mut binds, entity, &row),
                ),
            }
        }
        Root::WebhookMessages(endpoint, first) => {
            let Some((fields, row)) = flat(&mut planner, Entity::WebhookMessage, &field) else {
                return Ok(None);
            };
            let text = sql::webhook_messages(&mut binds, &row, endpoint, first);
            (Planned::List(fields), text)
        }
        Root::Invitations(filter, first, now) => {
            let Some((fields, row)) = flat(&mut planner, Entity::Invitation, &field) else {
                return Ok(None);
            };
            let text = sql::invitations(&mut binds, &row, filter.names(), first, now);
            (Planned::List(fields), text)
        }
        Root::Attachments(to, id) => {
            let kind = match to {
                AttachedTo::Project => EntityType::Project,
                AttachedTo::Record => EntityType::Record,
                AttachedTo::Idea => EntityType::Idea,
            };
            let Some((fields, row)) = flat(&mut planner, Entity::Attachment, &field) else {
                return Ok(None);
            };
            let text = sql::attachments(&mut binds, &row, to, kind, id);
            (Planned::List(fields), text)
        }
        Root::Scim => {
            let Some((fields, row)) = flat(&mut planner, Entity::Scim, &field) else {
                return Ok(None);
            };
            (Planned::Object(fields), sql::scim(&mut binds, &row))
        }
        Root::Sso => {
            let Some((fields, row)) = flat(&mut planner, Entity::Sso, &field) else {
                return Ok(None);
            };
            (Planned::Optional(fields), sql::sso(&mut binds, &row))
        }
        Root::Exports(first) => {
            let Some((fields, row)) = flat(&mut planner, Entity::Export, &field) else {
                return Ok(None);
            };
            (Planned::List(fields), sql::exports(&mut binds, &row, first))
        }
        Root::Export(id) => {
            let Some((fields, row)) = flat(&mut planner, Entity::Export, &field) else {
                return Ok(None);
            };
            (Planned::Optional(fields), sql::export(&mut binds, &row, id))
        }
        Root::History(entity, id) => {
            let Some((fields, row)) = flat(&mut planner, Entity::Version, &field) else {
                return Ok(None);
            };
            let text = sql::history(&mut binds, &row, entity, id);
            (Planned::List(fields), text)
        }
        Root::Records(project, page) => {
            let Some((conn, row)) = planner.connection(Entity::Record, &field, page) else {
                return Ok(None);
            };
            let text = sql::records(&mut binds, page, &row, project);
            (Planned::Connection(conn), text)
        }
    };
    if binds.failed {
        return Err(ApiError::internal(
            &"a compiled read's value could not be bound",
        ));
    }
    // The statement's text as PostgreSQL sent it, shaped without a JSON tree in between.
    // The root field's only statement: with a request of this one field, the transaction's
    // last, sent with its COMMIT (`TenantTx::end_with_next`).
    let found: Option<db::Json<Box<serde_json::value::RawValue>>> = {
        let mut tx = tx(ctx).await?;
        tx.count_compiled_read();
        let rows = tx.fetch_last(db::query_with(&text, binds.args)).await?;
        rows.first()
            .map(|row| db::RowExt::try_get(row, 0))
            .transpose()?
    };
    // No row: the object, or the project whose records were asked for, is not visible (or,
    // for an optional object, not there).
    let Some(db::Json(json)) = found else {
        return match planned {
            Planned::Optional(_) => Ok(Some(Answer::new(Value::Null))),
            _ => Err(WorkError::NotFound.into()),
        };
    };
    let env = shape::Env {
        origin: &state.public_origin,
        slug: &slug,
        sso_only,
    };
    // Written straight as JSON where the response is serialized by the endpoint itself.
    if let Some(raw) = ctx.data_opt::<std::sync::Arc<RawAnswers>>()
        && planned.writable()
    {
        let mut out = Vec::with_capacity(json.get().len() * 2);
        match &planned {
            Planned::Object(fields) | Planned::Optional(fields) => {
                shape::write_object(fields, &json, &env, &mut out)
            }
            Planned::Connection(conn) => shape::write_connection(conn, &json, &env, &mut out),
            Planned::List(fields) => shape::write_list(fields, &json, &env, &mut out),
        }
        .map_err(|e| ApiError::internal(&e))?;
        if let Some(placeholder) = raw.hold(out) {
            return Ok(Some(Answer::new(placeholder)));
        }
    }
    let value = match &planned {
        Planned::Object(fields) | Planned::Optional(fields) => shape::object(fields, &json, &env),
        Planned::Connection(conn) => shape::connection(conn, &json, &env),
        Planned::List(fields) => shape::list(fields, &json, &env),
    };
    value
        .map(|v| Some(Answer::new(v)))
        .map_err(|e| ApiError::internal(&e))
}
