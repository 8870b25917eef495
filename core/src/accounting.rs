//! The accountant: how many bytes a guest moved between two pushes of its counters.
//!
//! PVE's `netin`/`netout` are cumulative counters of the host's tap/veth devices, and they
//! start over whenever the device does: stop/start, API reboot, migration, hibernation. A
//! Prometheus `increase()` loses bytes at every such reset. This module is the one place that
//! decides, for one guest and one poll, what the new traffic is and why.
//!
//! **What a poll sees.** In `/cluster/resources` a guest's `status`, `uptime` and counters are
//! the last *push* of pvestatd on its node (every [`PUSH_INTERVAL_SECS`]), while `node` is read
//! live from the cluster config. So two polls may show the same push; after a migration the row
//! names the new node with the old process's uptime and counters until the target pushes; a
//! stalled or offline node's guests show their last push, frozen, for up to 5 minutes and then
//! `unknown` without stats, while the guests may go on moving traffic. The accountant therefore
//! keeps a *baseline*: the last push it saw, with the node the row named and the time the push
//! was first seen, and compares each poll with it:
//!
//! - **the same push** (same run state, uptime and counters, whatever the node says): no new
//!   data. Nothing is counted, nothing is reset, and the baseline stays as it was, time
//!   included: frozen stats count nothing and lose nothing, and the gap is counted when pushes
//!   resume. A guest shown `unknown` keeps its baseline the same way (the caller skips it);
//! - **a fresh push, same process**: `cur - prev` per direction;
//! - **a fresh push from a new process**: `cur`, everything since the process started; the
//!   bytes between the old process's last push and its end were never shown by any push and
//!   are gone. A node change alone is no evidence (the row changes before the stats do); a new
//!   process is known only from fresh stats:
//!   - the uptime is shorter than the same process could show ([`ResetReason::UptimeDecreased`]);
//!   - the baseline push said stopped ([`ResetReason::WasStopped`]);
//!   - the row had already named another node at an earlier poll than this push
//!     ([`ResetReason::Migrated`]): pvestatd pushes only the guests whose config is on its own
//!     node, so once the config moved, the old node stops pushing the guest and every later
//!     push is the new host's, from a process started there (the one gap: an old-node cycle
//!     that listed the guest before the move and pushes after a poll that already showed the
//!     move; that needs a poll inside one cycle's run, and is accepted). A fresh push first
//!     seen *together with* the node change is not such evidence: it may be the old node's
//!     last push, made before the config moved. It is judged by uptime and counters alone,
//!     and the baseline it becomes names the new node, so its process, whichever it is, is
//!     never counted twice;
//! - **a counter went down while the process lived on**: one NIC's device was re-created (a
//!   model or MAC change, a hot-unplug). PVE reports only the sum over NICs, so which NIC
//!   started over is unknowable, and taking `cur` would count the other NICs' bytes twice. Only
//!   what is certainly new is counted: `cur - prev` where it grew, nothing where it fell
//!   ([`ResetReason::DeviceRecreated`]). Never overcount;
//! - a delta implying more than `max_bandwidth` over its interval is discarded, with a reason.
//!
//! **When.** A delta covers the time from its baseline push's first sighting to this push's
//! first sighting (a new process's bytes at most its uptime). With polls right after pushes
//! that is exactly when the bytes moved; across frozen or `unknown` stats it is the whole gap.
//!
//! Pure functions over `(known, cur)`: no clock, no I/O, so every case is a table test and the
//! invariants are property tests.

/// How often pvestatd pushes a node's guest stats into the cluster status, in seconds.
pub const PUSH_INTERVAL_SECS: u64 = 10;

/// The oldest push PVE still serves, in seconds: pmxcfs drops a guest's pushed record once it
/// is more than 300 s old, and the row then shows `unknown` without stats. So a row with stats
/// was pushed at most this long before the poll that read it.
pub const MAX_PUSH_AGE_SECS: u64 = 300;

/// Slack for the uptime test, in seconds.
///
/// The same process's uptime grows by exactly the time between its two pushes. That time is
/// bounded below by what the exporter saw: the baseline push existed when it was first seen,
/// and the new push did not exist yet at the last poll that still showed the baseline (or
/// `unknown`). The bound is off by the parts the exporter cannot see: PVE serves its status
/// dump from a cache up to 2 s old, a poll's request takes time after the poll's timestamp,
/// and uptimes are whole seconds. One push interval covers all of them with room to spare; it
/// costs nothing in practice, because a new process's first push shows an uptime of at most a
/// push interval (more only after a stall, whose length then counts as waiting time), so a
/// reboot is missed only when the old process was itself younger than about two intervals.
pub const UPTIME_TOLERANCE_SECS: u64 = PUSH_INTERVAL_SECS;

/// One push of a guest's stats as a poll saw it; as a baseline, as it was first seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counters {
    /// Node the guest's row named (live, not part of the push).
    pub node: String,
    /// Whether its process existed (running or paused).
    pub running: bool,
    /// Seconds since its process started, as pushed.
    pub uptime: u64,
    /// Bytes sent to the guest since its devices were created.
    pub netin: u64,
    /// Bytes sent by the guest since its devices were created.
    pub netout: u64,
    /// When a poll saw it (as a baseline: first saw it), epoch milliseconds.
    pub at_ms: i64,
}

impl Counters {
    /// Whether `other` shows the same push: same run state, uptime and counters. The node and
    /// the time are not part of a push.
    pub fn same_push(&self, other: &Counters) -> bool {
        (self.running, self.uptime, self.netin, self.netout)
            == (other.running, other.uptime, other.netin, other.netout)
    }
}

/// What the accountant knows of a guest before a poll.
#[derive(Clone, Copy, Debug)]
pub struct Known<'a> {
    /// The last push seen: the baseline of the next delta.
    pub baseline: &'a Counters,
    /// The node the row named at the last poll that listed the guest.
    pub node: &'a str,
    /// When that poll was made, epoch ms (not before `baseline.at_ms`). Across a restart the
    /// baseline's own time, which only weakens the uptime test.
    pub seen_ms: i64,
}

/// Why the counters are known to have started over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetReason {
    /// `netin` or `netout` went down while the process lived on: a NIC device was
    /// re-created, and only growth is counted.
    DeviceRecreated,
    /// The uptime is shorter than the same process could show.
    UptimeDecreased,
    /// The guest had left the baseline's node before this push (a new process elsewhere).
    Migrated,
    /// The baseline push said stopped and this one says running.
    WasStopped,
}

/// Why a delta was thrown away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscardReason {
    /// It implies more than `monitor.max_bandwidth`.
    TooFast,
}

impl DiscardReason {
    /// Metric label `reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscardReason::TooFast => "exceeds_max_bandwidth",
        }
    }
}

/// How a delta came about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// First sight of the guest: its counters become the baseline, nothing is counted.
    Baseline,
    /// The same push as the baseline again (frozen or not yet refreshed): no new data.
    Unchanged,
    /// Counters continued: `cur - prev`.
    Continued,
    /// Counters started over: `cur`.
    Reset(ResetReason),
    /// The guest is not running: its counters read 0 and nothing is counted.
    Stopped,
    /// The computed delta was implausible and thrown away.
    Discarded(DiscardReason),
}

/// Bytes a guest moved between two pushes, and the time they cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delta {
    /// Bytes to the guest.
    pub rx: u64,
    /// Bytes from the guest.
    pub tx: u64,
    /// Start of the covered interval, epoch ms (the baseline push's first sighting).
    pub from_ms: i64,
    /// End of the covered interval, epoch ms (this poll).
    pub to_ms: i64,
    /// How it came about.
    pub outcome: Outcome,
}

/// One poll of one guest accounted: the delta and the baseline for the next poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// What to count.
    pub delta: Delta,
    /// What to compare the next poll with (the old baseline, untouched, on
    /// [`Outcome::Unchanged`]).
    pub baseline: Counters,
}

/// Accounts `cur` against what is known. `max_bandwidth` is in bytes per second per direction.
pub fn step(known: Option<Known<'_>>, cur: &Counters, max_bandwidth: u64) -> Step {
    let nothing = |outcome| Delta {
        rx: 0,
        tx: 0,
        from_ms: cur.at_ms,
        to_ms: cur.at_ms,
        outcome,
    };
    let Some(known) = known else {
        return Step {
            delta: nothing(Outcome::Baseline),
            baseline: cur.clone(),
        };
    };
    let prev = known.baseline;
    if prev.same_push(cur) {
        return Step {
            delta: nothing(Outcome::Unchanged),
            baseline: prev.clone(),
        };
    }
    let delta = fresh_delta(&known, cur, max_bandwidth);
    Step {
        delta,
        baseline: cur.clone(),
    }
}

/// The delta of a push that differs from the baseline.
fn fresh_delta(known: &Known<'_>, cur: &Counters, max_bandwidth: u64) -> Delta {
    let prev = known.baseline;
    let from = prev.at_ms.min(cur.at_ms);
    let make = |rx, tx, from_ms, outcome| Delta {
        rx,
        tx,
        from_ms,
        to_ms: cur.at_ms,
        outcome,
    };
    if !cur.running {
        return make(0, 0, from, Outcome::Stopped);
    }
    let grown = (
        cur.netin.saturating_sub(prev.netin),
        cur.netout.saturating_sub(prev.netout),
    );
    let (rx, tx, outcome) = match reset_reason(known, cur) {
        // Which NIC started over is unknowable from the sum: count only growth.
        Some(ResetReason::DeviceRecreated) => (
            grown.0,
            grown.1,
            Outcome::Reset(ResetReason::DeviceRecreated),
        ),
        Some(reason) => (cur.netin, cur.netout, Outcome::Reset(reason)),
        None => (grown.0, grown.1, Outcome::Continued),
    };
    // A new process's bytes were all moved since it started: the delta covers at most its
    // uptime, which places it correctly when it is spread over periods.
    let from = match outcome {
        Outcome::Reset(r) if r != ResetReason::DeviceRecreated => from.max(
            cur.at_ms
                .saturating_sub(cur.uptime.saturating_mul(1000) as i64),
        ),
        _ => from,
    };
    let ceiling = u128::from(max_bandwidth) * ((cur.at_ms - from).max(1000) as u128) / 1000;
    if u128::from(rx) > ceiling || u128::from(tx) > ceiling {
        return make(0, 0, from, Outcome::Discarded(DiscardReason::TooFast));
    }
    make(rx, tx, from, outcome)
}

/// The first reset signal that applies to a fresh push, if any.
fn reset_reason(known: &Known<'_>, cur: &Counters) -> Option<ResetReason> {
    let prev = known.baseline;
    if known.node != prev.node {
        return Some(ResetReason::Migrated);
    }
    if !prev.running {
        return Some(ResetReason::WasStopped);
    }
    // The same process's uptime grew by at least the time from the baseline's first sighting
    // to the moment this push was surely made: after the last poll that still showed the
    // baseline, and at most `MAX_PUSH_AGE_SECS` before this poll (PVE serves no older push),
    // which bounds the wait across an exporter restart or a PVE outage too.
    let pushed_after = known
        .seen_ms
        .max(cur.at_ms.saturating_sub(MAX_PUSH_AGE_SECS as i64 * 1000));
    let waited = u64::try_from(pushed_after - prev.at_ms).unwrap_or(0) / 1000;
    if cur.uptime.saturating_add(UPTIME_TOLERANCE_SECS) < prev.uptime.saturating_add(waited) {
        return Some(ResetReason::UptimeDecreased);
    }
    if cur.netin < prev.netin || cur.netout < prev.netout {
        return Some(ResetReason::DeviceRecreated);
    }
    None
}

#[cfg(test)]
mod history_tests;
#[cfg(test)]
mod tests;
