//! The runtime role's connection pool.
//!
//! Two things set it apart from sqlx's pool, both measured (`docs/benchmarks.md`):
//!
//! - **A connection comes back without a round trip when it is known to be sound.** sqlx
//!   pings every connection it takes back, to flush a rollback it may have queued and to find
//!   dead ones; that was one of every four round trips of a read. Here a connection whose
//!   transaction ([`super::TxConn`]) ended with a completed COMMIT or ROLLBACK is returned as it is:
//!   that statement proved it alive and outside any transaction. Any other connection (used
//!   directly, whose last statement may have failed on a dead socket) is pinged by a task
//!   before it goes back, and closed if the ping fails, so a dead connection is not handed
//!   out again. Whatever a cancelled statement left unread is drained by the driver before
//!   its next statement.
//! - **Workspaces have home connections.** Each workspace hashes to two of the pool's slots; a
//!   request for it takes the connection of the first, else of the second, when one is idle,
//!   waits up to [`HOME_WAIT`] for one to come back, and only then takes any idle connection;
//!   it does not wait when its own workspace's requests hold both homes, so affinity never
//!   caps a busy workspace at two connections (a version that always waited cost a
//!   one-workspace read a tenth of its throughput against sqlx's pool). A
//!   PostgreSQL backend caches the catalog entries of every schema it touches and re-plans
//!   for every schema switch; with ten thousand workspaces spread over every backend, each
//!   backend keeps (and keeps missing) all of them. pgbench over 3,000 workspaces: 2.8× the
//!   latency of 10 workspaces with every client on every workspace, 1.4× with each client on
//!   its own share. Two homes rather than one keep a hot workspace from queueing on one
//!   connection while another idles.
//!
//! Connections are opened lazily up to `pool_max_connections`, retired after
//! `pool_max_lifetime_secs` (which also bounds those caches) or, when
//! `pool_max_workspaces_per_connection` is set, on the release after they have served that
//! many distinct workspaces; closed after five idle minutes, and checked with a round trip
//! only after ten idle seconds.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::driver::{Conn, ConnectOptions, Connection, Error};
use tokio::sync::Notify;

use crate::config::Config;

/// How long a connection may sit idle before it is checked with a round trip before use.
const PING_AFTER_IDLE: Duration = Duration::from_secs(10);
/// Idle connections beyond this age are closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a workspace's request waits for one of its home connections before taking any.
pub const HOME_WAIT: Duration = Duration::from_millis(2);

/// The runtime pool. Cheap to clone.
#[derive(Clone)]
pub struct AppPool {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for AppPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppPool")
            .field("max", &self.shared.max)
            .finish_non_exhaustive()
    }
}

struct Shared {
    url: String,
    options: ConnectOptions,
    max: usize,
    acquire_timeout: Duration,
    max_lifetime: Duration,
    /// Distinct workspaces a connection may serve before it is retired (0: no cap).
    workspace_cap: usize,
    state: std::sync::Mutex<State>,
    /// Signalled when any connection is released or a slot frees up.
    released: Notify,
    /// One per slot: signalled when that slot's connection is released or the slot frees up.
    slot_released: Vec<Notify>,
    closed: AtomicBool,
}

struct State {
    /// Idle connections, most recently released last.
    idle: Vec<Idle>,
    /// Whether each slot holds an open connection (idle, handed out, or being opened).
    slots: Vec<bool>,
    /// For each slot handed out, the workspace key it was taken for (0: none, or idle).
    holders: Vec<u64>,
}

struct Idle {
    conn: Conn,
    slot: usize,
    life: Life,
    since: Instant,
}

/// What a connection has done since it was opened.
struct Life {
    created: Instant,
    /// The workspaces (their keys) it has served, counted only when they are capped.
    served: HashSet<u64>,
}

impl Life {
    fn new() -> Self {
        Self {
            created: Instant::now(),
            served: HashSet::new(),
        }
    }
}

enum Found {
    Idle(Idle),
    Open(usize),
    Wait,
}

impl State {
    /// The first home's idle connection, or a new one in its slot if that slot is free; else
    /// the same for the second home; else (when `any`) the most recently released idle
    /// connection, or a new one in any free slot; else nothing. The first home comes first so
    /// that a workspace's traffic goes to one backend unless that one is busy.
    /// `key` is the workspace's: when both homes are held for that same workspace, this
    /// takes any connection even when not `any`, so a busy workspace spreads instead of
    /// queueing on its homes.
    fn take(&mut self, homes: &[usize], key: u64, any: bool) -> Found {
        let found = self.find(homes, key, any);
        if let Found::Idle(Idle { slot, .. }) | Found::Open(slot) = &found
            && let Some(holder) = self.holders.get_mut(*slot)
        {
            *holder = key;
        }
        found
    }

    fn find(&mut self, homes: &[usize], key: u64, any: bool) -> Found {
        for &h in homes {
            if let Some(i) = self.idle.iter().position(|i| i.slot == h) {
                return Found::Idle(self.idle.remove(i));
            }
            if self.slots.get(h) == Some(&false) {
                self.slots[h] = true;
                return Found::Open(h);
            }
        }
        let own_homes = homes.iter().all(|h| self.holders.get(*h) == Some(&key));
        if !any && !own_homes {
            return Found::Wait;
        }
        if let Some(idle) = self.idle.pop() {
            return Found::Idle(idle);
        }
        match self.slots.iter().position(|s| !*s) {
            Some(slot) => {
                self.slots[slot] = true;
                Found::Open(slot)
            }
            None => Found::Wait,
        }
    }
}

impl AppPool {
    /// A pool for `url` sized and timed by `cfg`. Opens one connection to check the URL.
    pub async fn connect(cfg: &Config, url: &str) -> Result<Self, Error> {
        let options: ConnectOptions = url
            .parse::<ConnectOptions>()?
            .application_name("tessera")
            .statement_cache_capacity(cfg.statement_cache_capacity);
        let max = usize::try_from(cfg.pool_max_connections)
            .unwrap_or(usize::MAX)
            .max(1);
        let pool = Self {
            shared: Arc::new(Shared {
                url: url.to_owned(),
                options,
                max,
                acquire_timeout: Duration::from_secs(cfg.pool_acquire_timeout_secs),
                max_lifetime: cfg.pool_max_lifetime(),
                workspace_cap: cfg.pool_max_workspaces_per_connection,
                state: std::sync::Mutex::new(State {
                    idle: Vec::new(),
                    slots: vec![false; max],
                    holders: vec![0; max],
                }),
                released: Notify::new(),
                slot_released: (0..max).map(|_| Notify::new()).collect(),
                closed: AtomicBool::new(false),
            }),
        };
        // Just opened, outside any transaction: it goes back without a check.
        let mut first = pool.acquire().await?;
        first.sound = true;
        drop(first);
        tokio::spawn(reap(Arc::downgrade(&pool.shared)));
        Ok(pool)
    }

    /// The URL this pool connects with (for a connection of its own, such as a
    /// `LISTEN`er's).
    pub fn url(&self) -> &str {
        &self.shared.url
    }

    /// Any connection.
    pub async fn acquire(&self) -> Result<PooledConn, Error> {
        self.acquire_inner(&[], 0).await
    }

    /// A connection for work on the workspace `key` names (its slug): one of its home
    /// connections, unless neither comes back within [`HOME_WAIT`].
    pub async fn acquire_for(&self, key: &str) -> Result<PooledConn, Error> {
        let (homes, key) = self.homes(key);
        self.acquire_inner(&homes, key).await
    }

    /// The two home slots of `key` (one when the pool has one slot), and the key's hash
    /// (never 0).
    fn homes(&self, key: &str) -> (Vec<usize>, u64) {
        use std::hash::{Hash, Hasher};
        let max = self.shared.max as u64;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        let n = h.finish();
        let first = n % max;
        // The second home: another slot, derived from the other half of the hash.
        let second = (first + 1 + (n >> 32) % max.saturating_sub(1).max(1)) % max;
        let mut homes = vec![usize::try_from(first).unwrap_or(0)];
        if second != first {
            homes.push(usize::try_from(second).unwrap_or(0));
        }
        (homes, n.max(1))
    }

    async fn acquire_inner(&self, homes: &[usize], key: u64) -> Result<PooledConn, Error> {
        let shared = &self.shared;
        let start = Instant::now();
        let deadline = start + shared.acquire_timeout;
        let home_deadline = start + HOME_WAIT;
        loop {
            if shared.closed.load(Ordering::Acquire) {
                return Err(Error::PoolClosed);
            }
            let homes_only = !homes.is_empty() && Instant::now() < home_deadline;
            // Interest is registered before looking, so a release between the look and the
            // wait is not missed.
            let any_released = shared.released.notified();
            let home_released: Vec<_> = homes
                .iter()
                .filter_map(|h| shared.slot_released.get(*h))
                .map(Notify::notified)
                .collect();
            let found = shared.lock().take(homes, key, !homes_only);
            match found {
                Found::Idle(idle) => {
                    if let Some(mut conn) = self.check(idle).await {
                        conn.serve(key);
                        return Ok(conn);
                    }
                }
                Found::Open(slot) => {
                    let opened = tokio::time::timeout(
                        deadline.saturating_duration_since(Instant::now()),
                        Conn::connect_with(&shared.options),
                    )
                    .await;
                    return match opened {
                        Ok(Ok(conn)) => {
                            let mut conn = PooledConn::new(conn, slot, Life::new(), self);
                            conn.serve(key);
                            Ok(conn)
                        }
                        Ok(Err(e)) => {
                            shared.free(slot);
                            Err(e)
                        }
                        Err(_) => {
                            shared.free(slot);
                            Err(Error::PoolTimedOut)
                        }
                    };
                }
                Found::Wait if homes_only => {
                    let any_home =
                        futures_util::future::select_all(home_released.into_iter().map(Box::pin));
                    let _ = tokio::time::timeout_at(home_deadline.into(), any_home).await;
                }
                Found::Wait => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() || tokio::time::timeout(left, any_released).await.is_err() {
                        return Err(Error::PoolTimedOut);
                    }
                }
            }
        }
    }

    /// An idle connection made ready for use, or `None` (then closed) when it is too old or
    /// fails its check.
    async fn check(&self, idle: Idle) -> Option<PooledConn> {
        let Idle {
            mut conn,
            slot,
            life,
            since,
        } = idle;
        let expired =
            life.created.elapsed() >= self.shared.max_lifetime || since.elapsed() >= IDLE_TIMEOUT;
        if !expired && (since.elapsed() < PING_AFTER_IDLE || conn.ping().await.is_ok()) {
            return Some(PooledConn::new(conn, slot, life, self));
        }
        self.shared.free(slot);
        close(conn);
        None
    }

    /// `slot`'s connection if it is idle, handed out as by `acquire` (maintenance visits).
    pub async fn take_idle(&self, slot: usize) -> Option<PooledConn> {
        let idle = {
            let mut state = self.shared.lock();
            let i = state.idle.iter().position(|i| i.slot == slot)?;
            state.idle.remove(i)
        };
        self.check(idle).await
    }

    /// Open connections (idle and in use).
    pub fn size(&self) -> usize {
        self.shared.lock().slots.iter().filter(|s| **s).count()
    }

    pub fn num_idle(&self) -> usize {
        self.shared.lock().idle.len()
    }

    pub fn max_connections(&self) -> usize {
        self.shared.max
    }

    /// Closes idle connections now and the others as they are released; acquiring fails.
    pub async fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        let idle = std::mem::take(&mut self.shared.lock().idle);
        for i in idle {
            self.shared.free(i.slot);
            let _ = i.conn.close().await;
        }
        self.shared.released.notify_waiters();
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every critical section leaves the state consistent, so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts a sound connection back among the idle ones (or closes it when the pool closed or
    /// the connection has served its cap of workspaces).
    fn release(&self, conn: Conn, slot: usize, life: Life) {
        let spent = self.workspace_cap > 0 && life.served.len() >= self.workspace_cap;
        if spent || self.closed.load(Ordering::Acquire) {
            self.free(slot);
            close(conn);
            return;
        }
        {
            let mut state = self.lock();
            if let Some(h) = state.holders.get_mut(slot) {
                *h = 0;
            }
            state.idle.push(Idle {
                conn,
                slot,
                life,
                since: Instant::now(),
            });
        }
        self.signal(slot);
    }

    fn free(&self, slot: usize) {
        {
            let mut state = self.lock();
            if let Some(s) = state.slots.get_mut(slot) {
                *s = false;
            }
            if let Some(h) = state.holders.get_mut(slot) {
                *h = 0;
            }
        }
        self.signal(slot);
    }

    fn signal(&self, slot: usize) {
        if let Some(n) = self.slot_released.get(slot) {
            n.notify_one();
        }
        self.released.notify_one();
    }
}

/// Closes connections idle too long or too old, once a minute, while the pool lives.
async fn reap(shared: Weak<Shared>) {
    loop {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let stale: Vec<Idle> = {
            let mut state = shared.lock();
            let (stale, keep): (Vec<_>, Vec<_>) =
                std::mem::take(&mut state.idle).into_iter().partition(|i| {
                    i.since.elapsed() >= IDLE_TIMEOUT
                        || i.life.created.elapsed() >= shared.max_lifetime
                });
            state.idle = keep;
            stale
        };
        for i in stale {
            shared.free(i.slot);
            let _ = i.conn.close().await;
        }
    }
}

/// Closes a connection politely when a runtime is at hand, else drops its socket.
fn close(conn: Conn) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = conn.close().await;
        });
    }
}

/// A connection of the [`AppPool`]; derefs to the driver's connection. Dropping it returns
/// it to the pool as it is (see the module docs for why that is safe), unless
/// [`PooledConn::close_on_drop`] was called.
pub struct PooledConn {
    /// Always `Some`: taken only by `Drop`.
    conn: Option<Conn>,
    slot: usize,
    life: Life,
    close: bool,
    /// Its last statement was a completed COMMIT or ROLLBACK ([`super::TxConn::end`]): alive and
    /// outside a transaction, so it goes back without a check.
    pub(super) sound: bool,
    pool: AppPool,
}

impl PooledConn {
    fn new(conn: Conn, slot: usize, life: Life, pool: &AppPool) -> Self {
        Self {
            conn: Some(conn),
            slot,
            life,
            close: false,
            sound: false,
            pool: pool.clone(),
        }
    }

    /// Counts the workspace `key` (0: none) as served by this connection, when the pool caps
    /// them.
    fn serve(&mut self, key: u64) {
        if key != 0 && self.pool.shared.workspace_cap > 0 {
            self.life.served.insert(key);
        }
    }

    /// Close this connection when it is dropped instead of returning it: its state is not
    /// known to be clean.
    pub fn close_on_drop(&mut self) {
        self.close = true;
    }
}

impl std::ops::Deref for PooledConn {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        let Some(conn) = self.conn.as_ref() else {
            unreachable!("a pooled connection is taken only when it is dropped");
        };
        conn
    }
}

impl std::ops::DerefMut for PooledConn {
    fn deref_mut(&mut self) -> &mut Conn {
        let Some(conn) = self.conn.as_mut() else {
            unreachable!("a pooled connection is taken only when it is dropped");
        };
        conn
    }
}

impl Drop for PooledConn {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let shared = &self.pool.shared;
        if self.close || shared.closed.load(Ordering::Acquire) {
            shared.free(self.slot);
            close(conn);
            return;
        }
        let slot = self.slot;
        let life = std::mem::replace(&mut self.life, Life::new());
        if self.sound {
            shared.release(conn, slot, life);
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            shared.free(slot);
            return;
        };
        let pool = self.pool.clone();
        runtime.spawn(async move {
            let mut conn = conn;
            if conn.ping().await.is_ok() {
                pool.shared.release(conn, slot, life);
            } else {
                pool.shared.free(slot);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(slots: &[bool], holders: &[u64]) -> State {
        State {
            idle: Vec::new(),
            slots: slots.to_vec(),
            holders: holders.to_vec(),
        }
    }

    #[test]
    fn a_workspace_waits_for_homes_others_hold_but_not_for_its_own() {
        // Workspace 5's homes are slots 0 and 1, both handed out; slots 2 and 3 are free.
        let mut others = state(&[true, true, false, false], &[7, 8, 0, 0]);
        assert!(matches!(others.take(&[0, 1], 5, false), Found::Wait));
        assert!(matches!(others.take(&[0, 1], 5, true), Found::Open(2)));
        assert_eq!(others.holders, vec![7, 8, 5, 0]);

        let mut own = state(&[true, true, false, false], &[5, 5, 0, 0]);
        assert!(matches!(own.take(&[0, 1], 5, false), Found::Open(2)));
        assert_eq!(own.holders, vec![5, 5, 5, 0]);

        let mut mixed = state(&[true, true, false, false], &[5, 7, 0, 0]);
        assert!(matches!(mixed.take(&[0, 1], 5, false), Found::Wait));
    }

    #[test]
    fn a_free_home_comes_before_any_other_slot() {
        let mut s = state(&[true, false, false, false], &[7, 0, 0, 0]);
        assert!(matches!(s.take(&[0, 1], 5, false), Found::Open(1)));
        assert_eq!(s.holders, vec![7, 5, 0, 0]);
        let mut full = state(&[true, true, true, true], &[5, 5, 7, 7]);
        assert!(matches!(full.take(&[0, 1], 5, true), Found::Wait));
    }
}
