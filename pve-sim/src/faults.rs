//! Injected faults: make the next requests fail the way a sick PVE fails.
//!
//! A test posts `{"kind": "http500", "count": 3, "path_prefix": "/cluster"}` to
//! `/sim/faults`, and the next three matching API requests fail without touching the cluster.
//! `slow` is the exception: the request is served, only late.

use serde::{Deserialize, Serialize};

/// What goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// `500 Internal Server Error` with a JSON body.
    Http500,
    /// No answer for `delay_ms` (default 120 s), then `596 Connection timed out`.
    Timeout,
    /// `200 OK` with a body that is not valid JSON.
    Malformed,
    /// `401` as if the token had been revoked.
    Unauthorized,
    /// The real answer, after `delay_ms` (default 2 s).
    Slow,
    /// `595` as when the target node is unreachable.
    Http595,
    /// `596` as when pveproxy times out talking to pvedaemon.
    Http596,
}

/// One armed fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// What goes wrong.
    pub kind: FaultKind,
    /// How many requests it hits; 0 = every matching request until cleared.
    #[serde(default = "one")]
    pub count: u32,
    /// Only paths (below `/api2/json`) starting with this are hit.
    #[serde(default)]
    pub path_prefix: String,
    /// Delay for `timeout` and `slow`, milliseconds.
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

fn one() -> u32 {
    1
}

/// The armed faults, first match wins.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    armed: Vec<Fault>,
}

impl Faults {
    /// Arms a fault.
    pub fn arm(&mut self, fault: Fault) {
        self.armed.push(fault);
    }

    /// Disarms everything.
    pub fn clear(&mut self) {
        self.armed.clear();
    }

    /// The faults still armed.
    pub fn armed(&self) -> &[Fault] {
        &self.armed
    }

    /// Takes the fault for a request to `path`, if one is armed, using up one of its count.
    pub fn take(&mut self, path: &str) -> Option<Fault> {
        let i = self
            .armed
            .iter()
            .position(|f| path.starts_with(&f.path_prefix))?;
        let fault = self.armed[i].clone();
        if fault.count == 1 {
            self.armed.remove(i);
        } else if fault.count > 1 {
            self.armed[i].count -= 1;
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(kind: FaultKind, count: u32, prefix: &str) -> Fault {
        Fault {
            kind,
            count,
            path_prefix: prefix.to_string(),
            delay_ms: None,
        }
    }

    #[test]
    fn a_fault_hits_matching_paths_count_times() {
        let mut f = Faults::default();
        f.arm(fault(FaultKind::Http500, 2, "/cluster"));
        assert_eq!(f.take("/version"), None);
        assert_eq!(
            f.take("/cluster/resources").map(|x| x.kind),
            Some(FaultKind::Http500)
        );
        assert!(f.take("/cluster/status").is_some());
        assert_eq!(f.take("/cluster/resources"), None);
    }

    #[test]
    fn count_zero_lasts_until_cleared() {
        let mut f = Faults::default();
        f.arm(fault(FaultKind::Timeout, 0, ""));
        for _ in 0..5 {
            assert!(f.take("/nodes").is_some());
        }
        f.clear();
        assert_eq!(f.take("/nodes"), None);
    }
}
