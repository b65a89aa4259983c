//! Live updates: what changed in which workspace, fanned out from PostgreSQL.
//!
//! Every audit entry is announced with `NOTIFY` on [`CHANNEL`] in the transaction that
//! appends it (see `audit::append`), so an announcement is delivered only when the change
//! committed, and in commit order. Session revocations are announced on the same channel.
//! One listener per server process turns the announcements into [`Signal`]s on a broadcast
//! channel; each WebSocket subscription filters them by workspace and re-checks, as its
//! subscriber and inside the workspace's own transaction, that it may see what changed
//! (see `graphql::tenant::live`).
//!
//! Announcements carry identifiers only (workspace, audit sequence, action, target); never
//! contents. When the listener's connection drops, announcements may have been missed:
//! subscribers get a [`Signal::Resync`] and the console refetches what it shows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::db;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::broadcast;
use uuid::Uuid;

/// The `NOTIFY` channel of every announcement.
pub const CHANNEL: &str = "tessera_changes";

/// Announcements buffered per subscriber before it is told to resync instead.
const BUFFER: usize = 1024;

/// A committed change in a workspace: its audit entry's identifiers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Change {
    #[serde(rename = "t")]
    pub tenant: Uuid,
    #[serde(rename = "s")]
    pub seq: i64,
    #[serde(rename = "a")]
    pub action: String,
    #[serde(rename = "tt")]
    pub target_type: String,
    #[serde(rename = "ti")]
    pub target_id: String,
    pub at: DateTime<Utc>,
}

impl Change {
    /// Whether the change may take away someone's access to the workspace (membership,
    /// roles, tokens, sign-in policy, the workspace itself): connections re-check their
    /// credentials at once. Changes to work items cannot.
    pub fn may_revoke_access(&self) -> bool {
        !matches!(
            self.target_type.as_str(),
            "Record"
                | "Project"
                | "Goal"
                | "Idea"
                | "Team"
                | "Attachment"
                | "Version"
                | "Export"
                | "Webhook"
                | "WebhookEndpoint"
        )
    }
}

/// A revocation: one session, or every session of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub struct Revocation {
    #[serde(rename = "session")]
    pub session: Option<Uuid>,
    #[serde(rename = "user")]
    pub user: Option<Uuid>,
}

/// What the listener hands to subscribers.
#[derive(Debug, Clone)]
pub enum Signal {
    Change(Arc<Change>),
    Revoked(Revocation),
    /// Announcements may have been missed: refetch.
    Resync,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Announcement {
    Change(Change),
    Revoked { revoked: Revocation },
}

fn parse(payload: &str) -> Option<Signal> {
    match serde_json::from_str::<Announcement>(payload).ok()? {
        Announcement::Change(c) => Some(Signal::Change(Arc::new(c))),
        Announcement::Revoked { revoked } => Some(Signal::Revoked(revoked)),
    }
}

/// Announces that `session` (or every session of `user`) was revoked, in the caller's
/// transaction: delivered when it commits.
pub async fn announce_revoked(
    conn: &mut db::Conn,
    session: Option<Uuid>,
    user: Option<Uuid>,
) -> Result<(), db::Error> {
    let payload = serde_json::json!({ "revoked": { "session": session, "user": user } });
    db::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// The fan-out: one listener, many subscribers; and the count of live connections per user.
pub struct Hub {
    signals: broadcast::Sender<Signal>,
    connections: Mutex<HashMap<Uuid, usize>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            signals: broadcast::channel(BUFFER).0,
            connections: Mutex::new(HashMap::new()),
        }
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("subscribers", &self.signals.receiver_count())
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// Every signal from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.signals.subscribe()
    }

    /// Hands a signal to every subscriber (the listener's job; tests use it too).
    pub fn publish(&self, signal: Signal) {
        // No subscriber is not an error.
        let _ = self.signals.send(signal);
    }

    /// Counts a new connection of `user`, unless `user` already holds `max`. The count
    /// goes down when the permit drops.
    pub fn admit(self: &Arc<Self>, user: Uuid, max: usize) -> Option<ConnectionPermit> {
        let mut counts = self
            .connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = counts.entry(user).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ConnectionPermit {
            hub: self.clone(),
            user,
        })
    }

    /// Listens on [`CHANNEL`] with its own connection (not from the request pool) until the
    /// process ends, reconnecting after a loss and telling subscribers to resync.
    /// `url` is checked before anything is spawned.
    pub fn listen(self: &Arc<Self>, url: &str) -> Result<tokio::task::JoinHandle<()>, sqlx::Error> {
        let options: PgConnectOptions = url.parse()?;
        let hub = self.clone();
        Ok(tokio::spawn(async move {
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect_lazy_with(options.application_name("tessera-live"));
            loop {
                match listen_once(&hub, &pool).await {
                    Ok(()) => {}
                    Err(e) => tracing::warn!(error = %e, "live updates: listener connection lost"),
                }
                hub.publish(Signal::Resync);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }))
    }
}

async fn listen_once(hub: &Hub, pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    // Anything announced while the connection was down is gone: subscribers refetch.
    hub.publish(Signal::Resync);
    // `try_recv` answers `None` when the connection is lost, instead of reconnecting
    // silently: then the loop above tells subscribers to resync.
    while let Some(n) = listener.try_recv().await? {
        match parse(n.payload()) {
            Some(signal) => hub.publish(signal),
            None => tracing::warn!("live updates: an announcement did not parse"),
        }
    }
    Ok(())
}

/// One counted connection of a user (see [`Hub::admit`]).
pub struct ConnectionPermit {
    hub: Arc<Hub>,
    user: Uuid,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut counts = self
            .hub
            .connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_parse() {
        let t = Uuid::now_v7();
        let change = format!(
            r#"{{"t":"{t}","s":7,"a":"updateRecord","tt":"Record","ti":"x","at":"2026-12-04T10:00:00.123456+00:00"}}"#
        );
        let Some(Signal::Change(c)) = parse(&change) else {
            unreachable!("a change announcement parses as a change")
        };
        assert_eq!((c.tenant, c.seq, c.target_type.as_str()), (t, 7, "Record"));
        assert!(!c.may_revoke_access());
        let revoked = format!(r#"{{"revoked":{{"session":null,"user":"{t}"}}}}"#);
        assert!(matches!(
            parse(&revoked),
            Some(Signal::Revoked(Revocation { session: None, user: Some(u) })) if u == t
        ));
        assert!(parse("not json").is_none());
        assert!(parse(r#"{"t":"nope"}"#).is_none());
    }

    #[test]
    fn connections_are_counted_per_user() {
        let hub = Arc::new(Hub::default());
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let first = hub.admit(a, 2);
        let second = hub.admit(a, 2);
        assert!(first.is_some() && second.is_some());
        assert!(hub.admit(a, 2).is_none(), "a third connection is refused");
        assert!(hub.admit(b, 2).is_some(), "another user is not affected");
        drop(first);
        assert!(
            hub.admit(a, 2).is_some(),
            "a closed connection frees its place"
        );
    }
}
