//! Which entity a history request is about: the one place that maps an [`EntityType`] to
//! its implementation of [`history::Versioned`], so history itself imports no entity.

use uuid::Uuid;

use super::history::{self, EntityType, Version};
use super::{WorkError, goals, ideas, projects, records};
use crate::authz::Viewer;
use crate::tenancy::TenantTx;

/// The versions of a visible entity, oldest first.
pub async fn list(
    tx: &mut TenantTx,
    viewer: Viewer,
    entity: EntityType,
    id: Uuid,
) -> Result<Vec<Version>, WorkError> {
    match entity {
        EntityType::Goal => history::list::<goals::Goals>(tx, viewer, id).await,
        EntityType::Project => history::list::<projects::Projects>(tx, viewer, id).await,
        EntityType::Record => history::list::<records::Records>(tx, viewer, id).await,
        EntityType::Idea => history::list::<ideas::Ideas>(tx, viewer, id).await,
    }
}

/// Brings back the state of `version` as a new version; returns the new version.
pub async fn restore(
    tx: &mut TenantTx,
    viewer: Viewer,
    entity: EntityType,
    id: Uuid,
    version: i32,
) -> Result<Version, WorkError> {
    match entity {
        EntityType::Goal => history::restore::<goals::Goals>(tx, viewer, id, version).await,
        EntityType::Project => {
            history::restore::<projects::Projects>(tx, viewer, id, version).await
        }
        EntityType::Record => history::restore::<records::Records>(tx, viewer, id, version).await,
        EntityType::Idea => history::restore::<ideas::Ideas>(tx, viewer, id, version).await,
    }
}
