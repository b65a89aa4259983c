//! The global endpoint `/graphql`: operations outside any workspace (`me`, my workspaces,
//! my sessions, my password).

mod account;
mod factors;
mod state;
mod workspaces;

use async_graphql::MergedObject;

pub use state::{Effects, GlobalState};

/// Queries of the global endpoint.
#[derive(MergedObject, Default)]
#[graphql(name = "GlobalQuery")]
pub struct GlobalQuery(account::AccountQuery, factors::FactorsQuery);

/// Self-service mutations of the global endpoint: browser sessions only.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct GlobalMutation(
    account::AccountMutation,
    workspaces::WorkspacesMutation,
    factors::FactorsMutation,
);
