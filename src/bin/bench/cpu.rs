//! CPU time per request, by process group, read from `/proc` around a measured window: the
//! server (the bench process, which serves Tessera in-process), PostgreSQL (every process
//! named `postgres`) and the whole machine (`/proc/stat`). On two shared cores, CPU time is
//! what the processes compete for, so it says where a request's cost lies better than
//! throughput alone, and it moves less with the host's noise.

/// Clock ticks per second of `/proc`'s CPU times: `USER_HZ`, fixed at 100 in Linux's ABI.
const TICKS_PER_SECOND: u64 = 100;

/// Cumulative CPU ticks at one instant; PostgreSQL's by process, so that a backend that
/// exits in the window (its ticks gone from the sum) does not cancel others' work.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    server: u64,
    database: std::collections::HashMap<u32, u64>,
    machine: u64,
}

/// Microseconds of CPU time per request in a window.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) struct PerRequest {
    /// The process serving Tessera (the bench itself; idle while a peer is measured).
    pub(crate) server_us: f64,
    /// Every PostgreSQL backend and auxiliary process.
    pub(crate) database_us: f64,
    /// The whole machine: the above, the load generator, a peer server, the kernel's own.
    pub(crate) machine_us: f64,
}

impl PerRequest {
    /// What is neither the server nor PostgreSQL: the load generator, a peer's Node.js.
    pub(crate) fn other_us(&self) -> f64 {
        (self.machine_us - self.server_us - self.database_us).max(0.0)
    }
}

/// The CPU ticks spent so far by process `server`, by PostgreSQL and by the machine.
pub(crate) fn snapshot(server: u32) -> Snapshot {
    let database = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            match process_ticks(&stat) {
                Some(("postgres", ticks)) => Some((pid, ticks)),
                _ => None,
            }
        })
        .collect();
    let server = std::fs::read_to_string(format!("/proc/{server}/stat"))
        .ok()
        .and_then(|stat| process_ticks(&stat).map(|(_, ticks)| ticks))
        .unwrap_or(0);
    let machine = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|stat| machine_ticks(&stat))
        .unwrap_or(0);
    Snapshot {
        server,
        database,
        machine,
    }
}

/// CPU time per request between `before` and `after`, when any request completed. A
/// PostgreSQL process that exited in between is missed for its last moments; one that
/// started counts whole.
pub(crate) fn per_request(
    before: &Snapshot,
    after: &Snapshot,
    requests: u64,
) -> Option<PerRequest> {
    if requests == 0 {
        return None;
    }
    let database: u64 = after
        .database
        .iter()
        .map(|(pid, ticks)| ticks.saturating_sub(before.database.get(pid).copied().unwrap_or(0)))
        .sum();
    let us = |a: u64, b: u64| {
        (b.saturating_sub(a) * 1_000_000 / TICKS_PER_SECOND) as f64 / requests as f64
    };
    Some(PerRequest {
        server_us: us(before.server, after.server),
        database_us: us(0, database),
        machine_us: us(before.machine, after.machine),
    })
}

/// A process's name and its user plus system ticks, from its `/proc/<pid>/stat` line.
fn process_ticks(stat: &str) -> Option<(&str, u64)> {
    // `pid (comm) state ...`: the name may hold spaces and parentheses, so split at the last ')'.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?;
    // After the name: state (field 3), ..., utime (field 14) and stime (field 15).
    let mut fields = stat.get(close + 1..)?.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((name, user + system))
}

/// The machine's busy ticks (user, nice, system, irq, softirq) from `/proc/stat`'s `cpu` line.
fn machine_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    Some([0, 1, 2, 5, 6].iter().filter_map(|&i| f.get(i)).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_with_spaces_and_parentheses_in_the_name_parses() {
        let stat =
            "4242 (post gres) (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 17 5 0 0 20 0 1 0 100 0 0";
        assert_eq!(process_ticks(stat), Some(("post gres) (x)", 22)));
        assert_eq!(process_ticks("garbage"), None);
    }

    #[test]
    fn the_machine_counts_user_nice_system_irq_and_softirq_not_idle_or_steal() {
        let stat = "cpu  10 1 4 1000 7 2 3 50 0 0\ncpu0 5 0 2 500 3 1 1 25 0 0\n";
        assert_eq!(machine_ticks(stat), Some(10 + 1 + 4 + 2 + 3));
    }

    #[test]
    fn ticks_become_microseconds_per_request_and_an_exited_backend_cancels_nothing() {
        let before = Snapshot {
            server: 100,
            database: [(1, 50), (2, 900)].into(),
            machine: 400,
        };
        // Backend 2 exited; backend 3 started in the window.
        let after = Snapshot {
            server: 130,
            database: [(1, 60), (3, 10)].into(),
            machine: 460,
        };
        let per = per_request(&before, &after, 1_000).unwrap();
        assert_eq!(
            (per.server_us, per.database_us, per.machine_us),
            (300.0, 200.0, 600.0)
        );
        assert_eq!(per.other_us(), 100.0);
        assert!(per_request(&before, &after, 0).is_none());
    }
}
