//! Copy latency at the HTTP level. moto makes every snapshot copy available
//! at once; AWS takes minutes to hours. Put between a client and moto (as a
//! [`crate::proxy::Rewrite`] hook), this keeps every copy it sees started
//! (`CopyDBSnapshot`, `CopyDBClusterSnapshot`, EC2 `CopySnapshot`) "in
//! flight" (RDS status `copying`, EBS state `pending` in the describe
//! answers of the copy's region) until [`CopyLatency::complete`] lets it
//! finish, and records how many were in flight at once, per destination
//! region and service.

use crate::http::Request;
use crate::proxy::{operation, Rewrite};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct State {
    /// (region, service) -> copies in flight, oldest first.
    in_flight: BTreeMap<(String, String), VecDeque<String>>,
    /// (region, service) -> the most in flight at once.
    max: BTreeMap<(String, String), usize>,
    started: usize,
}

#[derive(Clone, Debug, Default)]
pub struct CopyLatency {
    state: Arc<Mutex<State>>,
}

/// The region of a signed request (SigV4 credential scope).
pub fn region_of(r: &Request) -> String {
    r.header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(2))
        .unwrap_or("?")
        .to_string()
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

/// In `body`, for every element whose id (`<id_tag>ID</id_tag>`) is in
/// `ids`, replaces the first `from` after it (before `end_tag`) with `to`.
fn mark(
    body: &str,
    id_tag: &str,
    ids: &VecDeque<String>,
    end_tag: &str,
    from: &str,
    to: &str,
) -> String {
    let mut out = body.to_string();
    for id in ids {
        let needle = format!("<{id_tag}>{id}</{id_tag}>");
        let Some(at) = out.find(&needle) else {
            continue;
        };
        let rest = &out[at..];
        let limit = rest[needle.len()..]
            .find(end_tag)
            .map_or(rest.len(), |p| p + needle.len());
        if let Some(pos) = rest[..limit].find(from) {
            let abs = at + pos;
            out.replace_range(abs..abs + from.len(), to);
        }
    }
    out
}

impl CopyLatency {
    pub fn new() -> Self {
        Self::default()
    }

    /// The proxy hook.
    pub fn hook(&self) -> Rewrite {
        let state = self.state.clone();
        Arc::new(move |req: &Request, body: &str| {
            let op = operation(req);
            let region = region_of(req);
            let mut st = state.lock().expect("latency lock");
            let started = match op.as_str() {
                "rds:CopyDBSnapshot" => {
                    between(body, "<DBSnapshotIdentifier>", "</DBSnapshotIdentifier>")
                }
                "rds:CopyDBClusterSnapshot" => between(
                    body,
                    "<DBClusterSnapshotIdentifier>",
                    "</DBClusterSnapshotIdentifier>",
                ),
                "ec2:CopySnapshot" => between(body, "<snapshotId>", "</snapshotId>"),
                _ => None,
            };
            if let Some(id) = started {
                let service = op.split(':').next().unwrap_or("?").to_string();
                let key = (region.clone(), service);
                let q = st.in_flight.entry(key.clone()).or_default();
                q.push_back(id.to_string());
                let n = q.len();
                let m = st.max.entry(key).or_insert(0);
                *m = (*m).max(n);
                st.started += 1;
                return None;
            }
            let rewrite = |service: &str, f: &dyn Fn(&VecDeque<String>) -> String| {
                st.in_flight
                    .get(&(region.clone(), service.to_string()))
                    .filter(|q| !q.is_empty())
                    .map(f)
            };
            match op.as_str() {
                "rds:DescribeDBSnapshots" => rewrite("rds", &|q| {
                    mark(
                        body,
                        "DBSnapshotIdentifier",
                        q,
                        "</DBSnapshot>",
                        "<Status>available</Status>",
                        "<Status>copying</Status>",
                    )
                }),
                "rds:DescribeDBClusterSnapshots" => rewrite("rds", &|q| {
                    mark(
                        body,
                        "DBClusterSnapshotIdentifier",
                        q,
                        "</DBClusterSnapshot>",
                        "<Status>available</Status>",
                        "<Status>copying</Status>",
                    )
                }),
                "ec2:DescribeSnapshots" => rewrite("ec2", &|q| {
                    mark(
                        body,
                        "snapshotId",
                        q,
                        "<snapshotId>",
                        "<status>completed</status>",
                        "<status>pending</status>",
                    )
                }),
                _ => None,
            }
        })
    }

    /// AWS finishes the `n` oldest copies in flight to `region` of `service`
    /// (`rds` or `ec2`).
    pub fn complete(&self, region: &str, service: &str, n: usize) {
        let mut st = self.state.lock().expect("latency lock");
        if let Some(q) = st
            .in_flight
            .get_mut(&(region.to_string(), service.to_string()))
        {
            for _ in 0..n.min(q.len()) {
                q.pop_front();
            }
        }
    }

    /// Copies in flight now to `region` of `service`.
    pub fn in_flight(&self, region: &str, service: &str) -> usize {
        let st = self.state.lock().expect("latency lock");
        st.in_flight
            .get(&(region.to_string(), service.to_string()))
            .map_or(0, VecDeque::len)
    }

    /// The most copies ever in flight at once, per (region, service).
    pub fn max_in_flight(&self) -> BTreeMap<(String, String), usize> {
        self.state.lock().expect("latency lock").max.clone()
    }

    /// Copies started so far.
    pub fn started(&self) -> usize {
        self.state.lock().expect("latency lock").started
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves: only the named element's status changes.
    #[test]
    fn marks_only_the_named_elements() {
        let body = "<DBSnapshot><DBSnapshotIdentifier>a</DBSnapshotIdentifier><Status>available</Status></DBSnapshot>\
                    <DBSnapshot><DBSnapshotIdentifier>b</DBSnapshotIdentifier><Status>available</Status></DBSnapshot>";
        let out = mark(
            body,
            "DBSnapshotIdentifier",
            &VecDeque::from(["b".to_string()]),
            "</DBSnapshot>",
            "<Status>available</Status>",
            "<Status>copying</Status>",
        );
        assert_eq!(out.matches("<Status>copying</Status>").count(), 1);
        assert!(out.find("copying") > out.find("<DBSnapshotIdentifier>b"));
        // The end tag may be the id's own tag (EC2 items).
        let ec2 = "<item><snapshotId>snap-a</snapshotId><status>completed</status></item>\
                   <item><snapshotId>snap-b</snapshotId><status>completed</status></item>";
        let out = mark(
            ec2,
            "snapshotId",
            &VecDeque::from(["snap-a".to_string()]),
            "<snapshotId>",
            "<status>completed</status>",
            "<status>pending</status>",
        );
        assert_eq!(
            out,
            ec2.replacen("<status>completed</status>", "<status>pending</status>", 1)
        );
    }
}
