//! The GraphQL front: thin resolvers over the domain services.
//!
//! Two schemas: the tenant schema served at `/w/{slug}/graphql` (exported to
//! `schema/schema.graphql`) and the global schema at `/graphql` (`schema/global.graphql`).
//! Both are built with the `@requires` guard installed from their own SDL; building fails
//! if the walker finds an unguarded mutation.

pub mod apq;
pub mod audit;
mod cache;
mod compiled;
mod connection;
mod context;
pub mod documents;
pub mod errors;
pub mod global;
pub mod idempotency;
pub mod input;
pub mod live;
pub(crate) mod loaders;
pub mod preflight;
mod tenant;

use async_graphql::{EmptySubscription, Schema, SchemaBuilder};

use crate::authz::RequiresGuard;
use crate::authz::walker::{WalkError, guard_map};
use crate::config::Limits;

pub(crate) use compiled::RawAnswers;
pub use context::{RequestState, TxCell};
pub use global::{GlobalMutation, GlobalQuery, GlobalState};
pub use tenant::{Mutation, Query, Subscription};

/// The tenant endpoint's schema, built twice over the same types: once with the guard and
/// audit extensions, for mutations; once without any extension, for queries (see
/// `authz::guard`: the guard's pre-execution check covers both). Introspection through
/// either describes the same schema.
#[derive(Clone)]
pub struct TenantSchema {
    pub(crate) mutations: Schema<Query, Mutation, Subscription>,
    /// Also serves subscriptions (see `http::live`).
    pub(crate) queries: Schema<Query, Mutation, Subscription>,
    pub(crate) guard: RequiresGuard,
}

/// The global endpoint's schema, with the guard extension, and its guard table.
#[derive(Clone)]
pub struct GlobalSchema {
    pub(crate) schema: Schema<GlobalQuery, GlobalMutation, EmptySubscription>,
    pub(crate) guard: RequiresGuard,
}

fn with_limits<Q, M, S>(builder: SchemaBuilder<Q, M, S>, limits: &Limits) -> SchemaBuilder<Q, M, S>
where
    Q: async_graphql::ObjectType + 'static,
    M: async_graphql::ObjectType + 'static,
    S: async_graphql::SubscriptionType + 'static,
{
    let b = builder
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(limits.max_nesting)
        .limit_directives(8)
        .disable_suggestions();
    if limits.introspection {
        b
    } else {
        b.disable_introspection()
    }
}

/// The tenant schema's SDL, as exported to `schema/schema.graphql`.
pub fn tenant_sdl() -> String {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .finish()
    .sdl()
}

/// The global schema's SDL, as exported to `schema/global.graphql`.
pub fn global_sdl() -> String {
    Schema::build(
        GlobalQuery::default(),
        GlobalMutation::default(),
        EmptySubscription,
    )
    .finish()
    .sdl()
}

/// Builds the tenant schema with limits and the `@requires` guard.
pub fn build_tenant_schema(limits: &Limits) -> Result<TenantSchema, WalkError> {
    let guard = RequiresGuard::new(guard_map(&tenant_sdl())?);
    let build = || {
        with_limits(
            Schema::build(
                Query::default(),
                Mutation::default(),
                Subscription::default(),
            ),
            limits,
        )
    };
    Ok(TenantSchema {
        mutations: build()
            .extension(guard.clone())
            .extension(audit::AuditTrail)
            .finish(),
        queries: build().finish(),
        guard,
    })
}

/// Builds the global schema with limits and the `@requires` guard.
pub fn build_global_schema(limits: &Limits) -> Result<GlobalSchema, WalkError> {
    let guard = RequiresGuard::new(guard_map(&global_sdl())?);
    Ok(GlobalSchema {
        schema: with_limits(
            Schema::build(
                GlobalQuery::default(),
                GlobalMutation::default(),
                EmptySubscription,
            ),
            limits,
        )
        .extension(guard.clone())
        .finish(),
        guard,
    })
}
