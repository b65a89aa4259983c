//! `workspaceChanged`: live updates over the WebSocket endpoint `/w/{slug}/graphql/ws`.
//!
//! A subscriber receives the identifiers of each committed change in its workspace (never
//! contents), and only of changes it may see: before a change of a team-scoped item is
//! delivered, the item is looked up inside a fresh read-only transaction in the workspace,
//! entered as the subscriber, so team visibility and row-level security decide as they do
//! for a query. The client refetches what it shows.

use async_graphql::{Context, ID, Result, SimpleObject, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::authz::{Permission as P, requires};
use crate::graphql::context::perm;
use crate::graphql::errors::ApiError;
use crate::graphql::live::LiveSession;
use crate::live::{Change, Signal};
use crate::work::{self, WorkError};

/// Most entity names one subscription may filter on.
const MAX_FILTER: usize = 16;

#[derive(Default)]
pub struct LiveSubscription;

/// A committed change in the workspace, or a request to refetch everything.
#[derive(SimpleObject, Debug, Clone)]
pub struct WorkspaceChange {
    /// The change's audit entry sequence number; null for a resync.
    pub seq: Option<i64>,
    /// What was done: the mutation's name (`updateRecord`), or `resync`.
    pub action: String,
    /// The type of what changed (`Record`, `Project`, `Member`…); empty for a resync.
    pub entity: String,
    /// The id of what changed, when it has one.
    pub id: Option<ID>,
    pub at: chrono::DateTime<chrono::Utc>,
    /// Changes may have been missed (the server's connection to the database was lost, or
    /// this subscriber fell behind): refetch what is shown.
    pub resync: bool,
}

impl WorkspaceChange {
    fn of(c: &Change) -> Self {
        Self {
            seq: Some(c.seq),
            action: c.action.clone(),
            entity: c.target_type.clone(),
            id: (!c.target_id.is_empty()).then(|| ID(c.target_id.clone())),
            at: c.at,
            resync: false,
        }
    }

    fn resync_at(at: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            seq: None,
            action: "resync".to_owned(),
            entity: String::new(),
            id: None,
            at,
            resync: true,
        }
    }
}

#[Subscription]
impl LiveSubscription {
    /// Changes in this workspace as they commit, limited to what the subscriber may see.
    /// `entities` keeps only changes of those types (for example `["Record", "Project"]`).
    #[graphql(directive = requires::apply(perm(P::WorkspaceRead)))]
    async fn workspace_changed(
        &self,
        ctx: &Context<'_>,
        entities: Option<Vec<String>>,
    ) -> Result<impl Stream<Item = WorkspaceChange> + use<>> {
        let session = ctx
            .data::<LiveSession>()
            .map_err(|_| {
                ApiError::bad_input("subscriptions are served over the WebSocket endpoint")
            })?
            .clone();
        if entities.as_ref().is_some_and(|e| e.len() > MAX_FILTER) {
            return Err(
                ApiError::bad_input(format!("entities: at most {MAX_FILTER} names")).into(),
            );
        }
        let rx = session.hub.subscribe();
        Ok(futures_util::stream::unfold(
            (rx, session, entities),
            |(mut rx, session, entities)| async move {
                loop {
                    let change = match rx.recv().await {
                        Ok(Signal::Change(c)) => c,
                        Ok(Signal::Resync) | Err(RecvError::Lagged(_)) => {
                            let at = session.clock.now();
                            return Some((WorkspaceChange::resync_at(at), (rx, session, entities)));
                        }
                        Ok(Signal::Revoked(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    };
                    let wanted = change.tenant == session.tenant_id
                        && entities
                            .as_ref()
                            .is_none_or(|e| e.iter().any(|n| *n == change.target_type));
                    if !wanted {
                        continue;
                    }
                    match visible(&session, &change).await {
                        Ok(true) => {
                            return Some((WorkspaceChange::of(&change), (rx, session, entities)));
                        }
                        Ok(false) => {}
                        // The subscriber lost access: its subscription ends (and the
                        // connection closes, see `http::live`).
                        Err(_) => return None,
                    }
                }
            },
        ))
    }
}

/// Whether the subscriber may see what `change` touched, decided inside the workspace as
/// the subscriber. Items that are not team-scoped are visible to every member.
async fn visible(session: &LiveSession, change: &Change) -> Result<bool, ApiError> {
    let id = Uuid::parse_str(&change.target_id).unwrap_or_default();
    let team_scoped = matches!(
        change.target_type.as_str(),
        "Record" | "Project" | "Team" | "Attachment"
    );
    // A change that may have taken the subscriber's own access away (their removal, a
    // revoked token) is delivered only if the subscriber still gets in.
    if !team_scoped && !change.may_revoke_access() {
        return Ok(true);
    }
    let (mut tx, viewer) = session.access.enter().await?;
    let seen = match change.target_type.as_str() {
        "Record" => work::records::get(&mut tx, viewer, id).await.map(drop),
        "Project" => work::projects::get(&mut tx, viewer, id).await.map(drop),
        "Team" => work::teams::get(&mut tx, viewer, id).await.map(drop),
        "Attachment" => work::attachments::get(&mut tx, viewer, id).await.map(drop),
        _ => Ok(()),
    };
    let _ = tx.rollback().await;
    match seen {
        Ok(()) => Ok(true),
        Err(WorkError::NotFound | WorkError::Forbidden(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
