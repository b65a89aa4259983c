//! Batch loaders for nested fields, so a page of N parents costs one query per field, not N.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use super::context::TxCell;
use super::errors::ApiError;
use crate::authz::Viewer;
use crate::work::{goals, records, teams};

pub struct Loaders {
    pub tx: Arc<TxCell>,
    pub viewer: Viewer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TeamKey(pub Uuid);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GoalKey(pub Uuid);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserKey(pub Uuid);

/// The newest `first` records of a project (the loader fetches one more, to tell
/// whether a next page exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LatestRecordsKey {
    pub project_id: Uuid,
    pub first: i32,
}

impl Loader<TeamKey> for Loaders {
    type Value = teams::Team;
    type Error = ApiError;

    async fn load(&self, keys: &[TeamKey]) -> Result<HashMap<TeamKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut tx = self.tx.lock().await?;
        let found = teams::by_ids(&mut tx, self.viewer, &ids).await?;
        Ok(found.into_iter().map(|t| (TeamKey(t.id), t)).collect())
    }
}

impl Loader<GoalKey> for Loaders {
    type Value = goals::Goal;
    type Error = ApiError;

    async fn load(&self, keys: &[GoalKey]) -> Result<HashMap<GoalKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut tx = self.tx.lock().await?;
        let found = goals::by_ids(&mut tx, &ids).await?;
        Ok(found.into_iter().map(|g| (GoalKey(g.id), g)).collect())
    }
}

impl Loader<UserKey> for Loaders {
    type Value = crate::identity::Member;
    type Error = ApiError;

    async fn load(&self, keys: &[UserKey]) -> Result<HashMap<UserKey, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut tx = self.tx.lock().await?;
        let found = crate::identity::members_by_ids(&mut tx, &ids).await?;
        Ok(found.into_iter().map(|m| (UserKey(m.user_id), m)).collect())
    }
}

impl Loader<LatestRecordsKey> for Loaders {
    type Value = Vec<records::Record>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[LatestRecordsKey],
    ) -> Result<HashMap<LatestRecordsKey, Self::Value>, Self::Error> {
        // Group by page size: one statement per distinct `first` (normally exactly one).
        let mut by_first: HashMap<i32, Vec<Uuid>> = HashMap::new();
        for k in keys {
            by_first.entry(k.first).or_default().push(k.project_id);
        }
        let mut out = HashMap::with_capacity(keys.len());
        let mut tx = self.tx.lock().await?;
        for (first, ids) in by_first {
            let mut found =
                records::latest_for_projects(&mut tx, self.viewer, &ids, i64::from(first) + 1)
                    .await?;
            for id in ids {
                let rows = found.remove(&id).unwrap_or_default();
                out.insert(
                    LatestRecordsKey {
                        project_id: id,
                        first,
                    },
                    rows,
                );
            }
        }
        Ok(out)
    }
}
