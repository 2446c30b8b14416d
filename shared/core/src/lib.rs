//! Rempart's core: the domain model, the policy document and every decision
//! Rempart makes, as pure functions over plain data. No AWS SDK, no async
//! runtime, no Lambda: the adapters (`rempart-aws`) fetch and act, the
//! functions' crates run the loop, and this crate decides.

pub mod announce;
pub mod audience;
pub mod audit;
pub mod buckets;
pub mod coverage;
pub mod cron;
pub mod duration;
pub mod enforcement;
pub mod error;
pub mod event;
pub mod incident;
pub mod kind;
pub mod medium;
pub mod metrics;
pub mod model;
pub mod monitoring;
pub mod naming;
pub mod notify;
pub mod policy;
pub mod recovery;
pub mod replication;
pub mod report;
pub mod restore;
pub mod retention;
pub mod scheduling;
pub mod slack_action;
pub mod status;
pub mod tags;
pub mod time;
pub mod vault;

pub use error::{Error, Result};

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    /// Every module's source, as compiled.
    const MODULES: &[(&str, &str)] = &[
        ("announce", include_str!("announce.rs")),
        ("audience", include_str!("audience.rs")),
        ("audit", include_str!("audit.rs")),
        ("buckets", include_str!("buckets.rs")),
        ("coverage", include_str!("coverage.rs")),
        ("cron", include_str!("cron.rs")),
        ("duration", include_str!("duration.rs")),
        ("enforcement", include_str!("enforcement.rs")),
        ("error", include_str!("error.rs")),
        ("event", include_str!("event.rs")),
        ("incident", include_str!("incident.rs")),
        ("kind", include_str!("kind.rs")),
        ("medium", include_str!("medium.rs")),
        ("metrics", include_str!("metrics.rs")),
        ("model", include_str!("model.rs")),
        ("monitoring", include_str!("monitoring.rs")),
        ("naming", include_str!("naming.rs")),
        ("notify", include_str!("notify.rs")),
        ("policy", include_str!("policy.rs")),
        ("recovery", include_str!("recovery.rs")),
        ("replication", include_str!("replication.rs")),
        ("report", include_str!("report.rs")),
        ("restore", include_str!("restore.rs")),
        ("retention", include_str!("retention.rs")),
        ("scheduling", include_str!("scheduling.rs")),
        ("slack_action", include_str!("slack_action.rs")),
        ("status", include_str!("status.rs")),
        ("tags", include_str!("tags.rs")),
        ("time", include_str!("time.rs")),
        ("vault", include_str!("vault.rs")),
    ];

    /// The modules a module's non-test code names (`crate::<module>`).
    fn imports(src: &str) -> BTreeSet<&str> {
        let body = src.split("#[cfg(test)]").next().unwrap_or(src);
        let names: BTreeSet<&str> = MODULES.iter().map(|(m, _)| *m).collect();
        body.match_indices("crate::")
            .filter_map(|(i, _)| {
                let rest = &body[i + "crate::".len()..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                    .unwrap_or(rest.len());
                names.get(&rest[..end]).copied()
            })
            .collect()
    }

    /// Proves: the core's modules import one another in one direction only
    /// (the graph of `crate::<module>` references outside tests has no
    /// cycle), and every module of the crate is in the list this test reads.
    #[test]
    fn modules_import_each_other_in_one_direction() {
        let lib = include_str!("lib.rs");
        let declared: BTreeSet<&str> = lib
            .lines()
            .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
            .collect();
        let listed: BTreeSet<&str> = MODULES.iter().map(|(m, _)| *m).collect();
        assert_eq!(declared, listed, "the test lists every module of lib.rs");
        let graph: BTreeMap<&str, BTreeSet<&str>> = MODULES
            .iter()
            .map(|(m, src)| (*m, imports(src).into_iter().filter(|d| d != m).collect()))
            .collect();
        // Depth-first search from each module: reaching it again is a cycle.
        for start in graph.keys() {
            let mut stack: Vec<Vec<&str>> = vec![vec![start]];
            let mut seen = BTreeSet::new();
            while let Some(path) = stack.pop() {
                let last = *path.last().expect("non-empty");
                for next in &graph[last] {
                    assert!(
                        next != start,
                        "import cycle: {} -> {next}",
                        path.join(" -> ")
                    );
                    if seen.insert(*next) {
                        let mut p = path.clone();
                        p.push(next);
                        stack.push(p);
                    }
                }
            }
        }
    }
}
