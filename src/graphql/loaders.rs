//! Batch loaders for nested fields, so a page of N parents costs one query per field, not N.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use async_graphql::dataloader::Loader;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::task::{ArcWake, AtomicWaker, waker_ref};
use uuid::Uuid;

use super::context::TxCell;
use super::errors::ApiError;
use crate::authz::Viewer;
use crate::work::{goals, records, teams};

pub struct Loaders {
    pub tx: Arc<TxCell>,
    pub viewer: Viewer,
}

/// Runs one request's batch loads inside the request's own task, each started only once the
/// executor has nothing left to do but wait.
///
/// async-graphql's `DataLoader` hands each batch to a spawner as a task that sleeps 1 ms and
/// then takes the keys registered so far. The executor does not register a page's keys in
/// one go: its `FuturesUnordered` polls two items of a list and yields, so the 50 items of a
/// page take 25 polls of the request's task, interleaved with every other task on the
/// worker. Spawned with `tokio::spawn`, the batch's timer fired partway through on a busy
/// server: under load a 50-project page cost 4.4 record batches instead of one, and the
/// idle-server count of 3 statements did not hold (`docs/benchmarks.md`).
///
/// Here the loader runs with no delay, and a queued batch is first polled only after a poll
/// of the executor that returned `Pending` without waking itself — when every field that
/// can still register a key is waiting on a batch or on the database. Every key of a pass
/// over the page, however many polls it takes, is then in one batch, whatever the load; and
/// no batch waits on a timer.
#[derive(Clone, Default)]
pub struct BatchTasks(Arc<Mutex<Vec<BoxFuture<'static, ()>>>>);

/// Tells whether the executor woke itself during its last poll (it yielded and has more to
/// do), and passes every wake on to the request's task.
#[derive(Default)]
struct WakeFlag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl ArcWake for WakeFlag {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.woken.store(true, Ordering::SeqCst);
        arc_self.task.wake();
    }
}

impl BatchTasks {
    /// The spawner to give the `DataLoader`: it only queues the batch for [`BatchTasks::run`].
    pub fn spawner(&self) -> impl Fn(BoxFuture<'static, ()>) + Send + Sync + 'static {
        let queue = self.0.clone();
        move |task| {
            queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(task);
        }
    }

    /// Runs `main` (the executor) with the batches it queues. Batches running when `main`
    /// is done (one whose callers gave up after another field failed) are finished before
    /// this returns, so no statement is left half-read on the request's connection; batches
    /// not yet started then have no caller left and are dropped.
    pub async fn run<F: Future>(&self, main: F) -> F::Output {
        let mut main = std::pin::pin!(main);
        let flag = Arc::new(WakeFlag::default());
        let mut running = FuturesUnordered::new();
        let mut output = None;
        std::future::poll_fn(|cx| {
            let mut idle = true;
            if output.is_none() {
                flag.task.register(cx.waker());
                flag.woken.store(false, Ordering::SeqCst);
                let waker = waker_ref(&flag);
                match main.as_mut().poll(&mut Context::from_waker(&waker)) {
                    Poll::Ready(out) => output = Some(out),
                    Poll::Pending => idle = !flag.woken.load(Ordering::SeqCst),
                }
            }
            let mut queued = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            if output.is_some() {
                queued.clear();
            } else if idle {
                running.extend(queued.drain(..));
            }
            drop(queued);
            // A batch that finishes wakes the callers waiting on it, and so this task.
            while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {}
            if running.is_empty()
                && let Some(out) = output.take()
            {
                return Poll::Ready(out);
            }
            Poll::Pending
        })
        .await
    }
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

/// The value is shared: the DataLoader clones each value it hands out, and a deep clone of
/// every record of a page (three strings and the custom fields each) was measurable.
impl Loader<LatestRecordsKey> for Loaders {
    type Value = Arc<Vec<records::Record>>;
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
                    Arc::new(rows),
                );
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll};
    use std::time::Duration;

    use async_graphql::dataloader::{DataLoader, Loader};

    use super::{BatchTasks, HashMap};

    /// Records each batch it is asked for; values are ten times the keys.
    #[derive(Clone, Default)]
    struct Recorder {
        batches: Arc<Mutex<Vec<Vec<u32>>>>,
        hold: Duration,
        finished: Arc<AtomicBool>,
    }

    impl Loader<u32> for Recorder {
        type Value = u32;
        type Error = String;

        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, String> {
            let mut keys = keys.to_vec();
            keys.sort_unstable();
            self.batches.lock().unwrap().push(keys.clone());
            tokio::time::sleep(self.hold).await;
            self.finished.store(true, Ordering::SeqCst);
            Ok(keys.into_iter().map(|k| (k, k * 10)).collect())
        }
    }

    /// Yields the way async-graphql's executor does: wakes itself during the poll.
    struct YieldNow(bool);

    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if std::mem::replace(&mut self.0, true) {
                return Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    /// One key now, another after three yields, each followed by 20 ms of work that holds
    /// the thread (a busy worker): both are meant for one batch.
    async fn keys_across_yields(loader: &DataLoader<Recorder>) -> (Option<u32>, Option<u32>) {
        let later = async {
            for _ in 0..3 {
                YieldNow(false).await;
                std::thread::sleep(Duration::from_millis(20));
            }
            loader.load_one(2).await
        };
        let (a, b) = futures_util::future::join(loader.load_one(1), later).await;
        (a.unwrap(), b.unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keys_registered_across_yields_share_one_batch() {
        let recorder = Recorder::default();
        let batches = BatchTasks::default();
        let loader = DataLoader::new(recorder.clone(), batches.spawner()).delay(Duration::ZERO);
        let got = batches.run(keys_across_yields(&loader)).await;
        assert_eq!(got, (Some(10), Some(20)));
        assert_eq!(*recorder.batches.lock().unwrap(), vec![vec![1, 2]]);
    }

    /// The control: spawned on the runtime with the loader's default 1 ms window, the same
    /// keys are split, which is what the request path did under load.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spawned_with_a_time_window_the_same_keys_are_split() {
        let recorder = Recorder::default();
        let loader = DataLoader::new(recorder.clone(), tokio::spawn);
        let got = keys_across_yields(&loader).await;
        assert_eq!(got, (Some(10), Some(20)));
        assert_eq!(*recorder.batches.lock().unwrap(), vec![vec![1], vec![2]]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_running_when_the_request_ends_is_finished_first() {
        let recorder = Recorder {
            hold: Duration::from_millis(100),
            ..Recorder::default()
        };
        let batches = BatchTasks::default();
        let loader = DataLoader::new(recorder.clone(), batches.spawner()).delay(Duration::ZERO);
        // The load starts (the executor waits on a timer, so it is idle) and its caller is
        // dropped when the other branch wins.
        let main = async {
            let load = std::pin::pin!(loader.load_one(1));
            let other = std::pin::pin!(tokio::time::sleep(Duration::from_millis(10)));
            futures_util::future::select(load, other).await;
        };
        batches.run(main).await;
        assert_eq!(*recorder.batches.lock().unwrap(), vec![vec![1]]);
        assert!(recorder.finished.load(Ordering::SeqCst));
    }
}
