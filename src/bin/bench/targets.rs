//! The targets against what one `bench api` run measured: each target's value in
//! every round, how many rounds met it, and, where a round fell short, what the run measured
//! that keeps it short — the machine time each side spent per request, by process.

use serde_json::json;

use crate::common::median;
use crate::cpu::PerRequest;

/// One target and its value in each round.
pub(crate) struct Target {
    pub(crate) name: &'static str,
    pub(crate) goal: Goal,
    pub(crate) rounds: Vec<f64>,
    /// What the run measured that explains a shortfall; printed only when a round is short.
    pub(crate) reason: Option<String>,
}

/// Which side of the bound meets a target.
#[derive(Clone, Copy)]
pub(crate) enum Goal {
    AtLeast(f64),
    AtMost(f64),
}

impl Goal {
    fn met(self, value: f64) -> bool {
        match self {
            Goal::AtLeast(bound) => value >= bound,
            Goal::AtMost(bound) => value <= bound,
        }
    }

    fn label(self) -> String {
        match self {
            Goal::AtLeast(bound) => format!(">= {bound}"),
            Goal::AtMost(bound) => format!("<= {bound}"),
        }
    }
}

impl Target {
    fn met_rounds(&self) -> usize {
        self.rounds.iter().filter(|v| self.goal.met(**v)).count()
    }
}

/// Prints the targets and answers them as JSON.
pub(crate) fn report(targets: &[Target]) -> serde_json::Value {
    println!("against the targets (each round; a shortfall with what the run measured):");
    targets
        .iter()
        .map(|t| {
            let met = t.met_rounds();
            let rounds: Vec<String> = t.rounds.iter().map(|v| format!("{v:.3}")).collect();
            println!(
                "{:<48} {:>8}  rounds {}  met in {met} of {}",
                t.name,
                t.goal.label(),
                rounds.join(" "),
                t.rounds.len()
            );
            let short = met < t.rounds.len();
            if let (true, Some(reason)) = (short, &t.reason) {
                println!("    short: {reason}");
            }
            json!({
                "target": t.name, "goal": t.goal.label(), "rounds": t.rounds,
                "met_rounds": met, "reason": if short { t.reason.clone() } else { None },
            })
        })
        .collect()
}

/// The median of each process group's CPU time per request over the rounds that measured it.
pub(crate) fn cpu_median<'a>(
    runs: impl IntoIterator<Item = &'a Option<PerRequest>>,
) -> Option<PerRequest> {
    let cpu: Vec<PerRequest> = runs.into_iter().flatten().copied().collect();
    if cpu.is_empty() {
        return None;
    }
    Some(PerRequest {
        server_us: median(cpu.iter().map(|c| c.server_us)),
        database_us: median(cpu.iter().map(|c| c.database_us)),
        machine_us: median(cpu.iter().map(|c| c.machine_us)),
    })
}

/// Read by id against pgbench with the same settings: what a request costs the machine on
/// each side, and what reaching `ratio` would leave Tessera.
pub(crate) fn read_reason(
    tessera: PerRequest,
    pgbench: PerRequest,
    same_sql: Option<PerRequest>,
    ratio: f64,
) -> String {
    let lookup = same_sql
        .map(|s| format!("; pgbench sending Tessera's SQL (the token looked up in the entry) spends {:.0} us in PostgreSQL", s.database_us))
        .unwrap_or_default();
    format!(
        "machine time per request: Tessera {:.0} us (PostgreSQL {:.0}, server {:.0}, load generator {:.0}); pgbench with the settings {:.0} us (PostgreSQL {:.0}, pgbench {:.0}){lookup}. {ratio}x needs Tessera at <= {:.0} us, less than its PostgreSQL and server time together ({:.0} us)",
        tessera.machine_us,
        tessera.database_us,
        tessera.server_us,
        tessera.other_us(),
        pgbench.machine_us,
        pgbench.database_us,
        pgbench.other_us(),
        pgbench.machine_us / ratio,
        tessera.database_us + tessera.server_us,
    )
}

/// The settings' share of a request: what they add to a transaction against what a request
/// costs in all.
pub(crate) fn settings_reason(
    tessera: PerRequest,
    with: PerRequest,
    without: PerRequest,
    share: f64,
) -> String {
    let added = with.machine_us - without.machine_us;
    format!(
        "the settings add {added:.0} us of machine time to a transaction (pgbench {:.0} us with them, {:.0} without); {:.0}% of a request needs requests of >= {:.0} us, and a Tessera read costs {:.0} us",
        with.machine_us,
        without.machine_us,
        share * 100.0,
        added / share,
        tessera.machine_us,
    )
}

/// A page against a peer's: what each costs the machine, and what reaching `ratio` needs.
pub(crate) fn peer_reason(tessera: PerRequest, peer: PerRequest, ratio: f64) -> String {
    format!(
        "machine time per page: Tessera {:.0} us (PostgreSQL {:.0}, server {:.0}, load generator {:.0}); PostGraphile {:.0} us (PostgreSQL {:.0}, Node.js and load generator {:.0}). {ratio}x needs Tessera at <= {:.0} us",
        tessera.machine_us,
        tessera.database_us,
        tessera.server_us,
        tessera.other_us(),
        peer.machine_us,
        peer.database_us,
        peer.other_us(),
        peer.machine_us / ratio,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(database_us: f64, server_us: f64, machine_us: f64) -> Option<PerRequest> {
        Some(PerRequest {
            server_us,
            database_us,
            machine_us,
        })
    }

    #[test]
    fn rounds_meet_a_target_on_its_side_of_the_bound_the_bound_included() {
        let at_least = Target {
            name: "x",
            goal: Goal::AtLeast(0.5),
            rounds: vec![0.4, 0.5, 0.6],
            reason: None,
        };
        assert_eq!(at_least.met_rounds(), 2);
        let at_most = Target {
            name: "y",
            goal: Goal::AtMost(0.1),
            rounds: vec![0.09, 0.1, 0.12],
            reason: None,
        };
        assert_eq!(at_most.met_rounds(), 2);
    }

    #[test]
    fn a_reason_is_reported_only_for_a_target_short_in_some_round() {
        let targets = [
            Target {
                name: "met",
                goal: Goal::AtLeast(2.0),
                rounds: vec![2.1, 2.4],
                reason: Some("a".into()),
            },
            Target {
                name: "short",
                goal: Goal::AtLeast(2.0),
                rounds: vec![2.1, 1.9],
                reason: Some("b".into()),
            },
        ];
        let json = report(&targets);
        assert_eq!(json[0]["met_rounds"], 2);
        assert!(json[0]["reason"].is_null());
        assert_eq!(json[1]["met_rounds"], 1);
        assert_eq!(json[1]["reason"], "b");
    }

    #[test]
    fn the_cpu_median_skips_rounds_without_a_measurement() {
        let m = cpu_median(&[
            cpu(10.0, 1.0, 30.0),
            None,
            cpu(20.0, 3.0, 10.0),
            cpu(30.0, 2.0, 20.0),
        ])
        .unwrap();
        assert_eq!(
            (m.database_us, m.server_us, m.machine_us),
            (20.0, 2.0, 20.0)
        );
        assert!(cpu_median(&[None]).is_none());
    }

    #[test]
    fn the_reasons_say_what_the_target_needs() {
        let read = read_reason(
            cpu(150.0, 140.0, 350.0).unwrap(),
            cpu(80.0, 0.0, 100.0).unwrap(),
            None,
            0.5,
        );
        assert!(read.contains("Tessera at <= 200 us"), "{read}");
        assert!(read.contains("together (290 us)"), "{read}");
        let settings = settings_reason(
            cpu(0.0, 0.0, 350.0).unwrap(),
            cpu(80.0, 0.0, 100.0).unwrap(),
            cpu(60.0, 0.0, 80.0).unwrap(),
            0.1,
        );
        assert!(
            settings.contains("add 20 us") && settings.contains(">= 200 us"),
            "{settings}"
        );
        let peer = peer_reason(
            cpu(300.0, 600.0, 1200.0).unwrap(),
            cpu(900.0, 0.0, 2000.0).unwrap(),
            2.0,
        );
        assert!(peer.contains("Tessera at <= 1000 us"), "{peer}");
    }
}
