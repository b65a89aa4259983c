//! The tenant schema served at `/w/{slug}/graphql`, one part per domain, merged into one
//! query root and one mutation root. Every root field carries `@requires`, which the guard
//! enforces; domain services add the row-level checks (team visibility and editability,
//! membership of assignees). Resolvers parse input, call a domain service and map the result.

mod attachments;
mod audit;
mod exports;
mod history;
mod ideas;
mod invitations;
mod live;
pub(crate) mod member_role;
mod members;
mod network;
pub(crate) mod objects;
mod planning;
mod projects;
mod scim;
mod settings;
mod sso;
mod tokens;
mod webhooks;

use async_graphql::{MergedObject, MergedSubscription};

/// Tenant queries, served inside a read-only tenant transaction.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(
    members::MembersQuery,
    invitations::InvitationsQuery,
    planning::PlanningQuery,
    projects::ProjectsQuery,
    ideas::IdeasQuery,
    history::HistoryQuery,
    attachments::AttachmentsQuery,
    audit::AuditQuery,
    settings::SettingsQuery,
    network::NetworkQuery,
    scim::ScimQuery,
    sso::SsoQuery,
    webhooks::WebhooksQuery,
    exports::ExportsQuery,
    tokens::TokensQuery,
);

/// Tenant mutations, each request in one read-write tenant transaction.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(
    members::MembersMutation,
    invitations::InvitationsMutation,
    planning::PlanningMutation,
    projects::ProjectsMutation,
    ideas::IdeasMutation,
    history::HistoryMutation,
    settings::SettingsMutation,
    network::NetworkMutation,
    scim::ScimMutation,
    sso::SsoMutation,
    exports::ExportsMutation,
    webhooks::WebhooksMutation,
    tokens::TokensMutation,
);

/// Tenant subscriptions, served only over the WebSocket endpoint `/w/{slug}/graphql/ws`
/// (the `graphql-transport-ws` protocol).
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct Subscription(live::LiveSubscription);
