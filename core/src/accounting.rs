//! The accountant: how many bytes a guest moved between two observations of its counters.
//!
//! PVE's `netin`/`netout` are cumulative counters of the host's tap/veth devices, and they
//! start over whenever the device does: stop/start, API reboot, migration, hibernation. A
//! Prometheus `increase()` loses bytes at every such reset; the original tool lost whole
//! periods. This module is the one place that decides, for one guest and one poll, what the
//! new traffic is and why (DESIGN §3.1–3.2):
//!
//! - no reset: `cur - prev` per direction;
//! - a new process since `prev` (the uptime is shorter than it can be, the guest moved to
//!   another node, the guest was stopped at `prev`): `cur`, everything since the process
//!   started — the bytes between `prev` and the restart are gone from the counters themselves;
//! - a counter went down while the process lived on: one NIC's device was re-created (a model
//!   or MAC change, a hot-unplug). PVE reports only the sum over NICs, so which NIC started
//!   over is unknowable, and taking `cur` would count the other NICs' bytes twice (the
//!   original tool's overcount). Only what is certainly new is counted: `cur - prev` where it
//!   grew, nothing where it fell. This is where DESIGN §3.1's "a counter decreasing" is
//!   deliberately narrowed: never overcount;
//! - a delta implying more than `max_bandwidth` over its interval is discarded, with a reason.
//!
//! Pure functions over `(prev, cur)`: no clock, no I/O, so every case is a table test and the
//! invariants are property tests.

/// What one poll saw of one guest's counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counters {
    /// Node the guest was on.
    pub node: String,
    /// Whether its process existed (running or paused).
    pub running: bool,
    /// Seconds since its process started, as PVE reports it.
    pub uptime: u64,
    /// Bytes sent to the guest since its devices were created.
    pub netin: u64,
    /// Bytes sent by the guest since its devices were created.
    pub netout: u64,
    /// When we polled, epoch milliseconds.
    pub at_ms: i64,
}

/// Why the counters are known to have started over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetReason {
    /// `netin` or `netout` went down while the process lived on: a NIC device was
    /// re-created, and only growth is counted.
    DeviceRecreated,
    /// The uptime is shorter than the time since the last poll allows.
    UptimeDecreased,
    /// The guest is on another node (a new process there).
    Migrated,
    /// The guest was stopped at the last poll and runs now.
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
    /// Counters continued: `cur - prev`.
    Continued,
    /// Counters started over: `cur`.
    Reset(ResetReason),
    /// The guest is not running: its counters read 0 and nothing is counted.
    Stopped,
    /// The computed delta was implausible and thrown away.
    Discarded(DiscardReason),
}

/// Bytes a guest moved between two polls, and the time they cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delta {
    /// Bytes to the guest.
    pub rx: u64,
    /// Bytes from the guest.
    pub tx: u64,
    /// Start of the covered interval, epoch ms (the previous poll).
    pub from_ms: i64,
    /// End of the covered interval, epoch ms (this poll).
    pub to_ms: i64,
    /// How it came about.
    pub outcome: Outcome,
}

/// Slack for the uptime test, in seconds. `/cluster/resources` serves a status cache up to
/// 10 s old, so two polls `elapsed` apart may see uptimes that grew by up to ~10 s less.
pub const UPTIME_TOLERANCE_SECS: u64 = 15;

/// The delta between `prev` and `cur` (DESIGN §3.1–3.2). `max_bandwidth` is in bytes per
/// second per direction.
pub fn delta(prev: Option<&Counters>, cur: &Counters, max_bandwidth: u64) -> Delta {
    let make = |rx, tx, from_ms, outcome| Delta {
        rx,
        tx,
        from_ms,
        to_ms: cur.at_ms,
        outcome,
    };
    let Some(prev) = prev else {
        return make(0, 0, cur.at_ms, Outcome::Baseline);
    };
    let from = prev.at_ms.min(cur.at_ms);
    if !cur.running {
        return make(0, 0, from, Outcome::Stopped);
    }
    let grown = (
        cur.netin.saturating_sub(prev.netin),
        cur.netout.saturating_sub(prev.netout),
    );
    let (rx, tx, outcome) = match reset_reason(prev, cur) {
        // Which NIC started over is unknowable from the sum: count only growth.
        Some(ResetReason::DeviceRecreated) => (
            grown.0,
            grown.1,
            Outcome::Reset(ResetReason::DeviceRecreated),
        ),
        Some(reason) => (cur.netin, cur.netout, Outcome::Reset(reason)),
        None => (grown.0, grown.1, Outcome::Continued),
    };
    // A reset delta's bytes were all moved since the process started: it covers at most the
    // uptime, which places it correctly when it is later spread over periods.
    let from = match outcome {
        Outcome::Reset(r) if r != ResetReason::DeviceRecreated => {
            from.max(cur.at_ms - cur.uptime as i64 * 1000)
        }
        _ => from,
    };
    let ceiling = u128::from(max_bandwidth) * ((cur.at_ms - from).max(1000) as u128) / 1000;
    if u128::from(rx) > ceiling || u128::from(tx) > ceiling {
        return make(0, 0, from, Outcome::Discarded(DiscardReason::TooFast));
    }
    make(rx, tx, from, outcome)
}

/// The first reset signal that applies, if any.
fn reset_reason(prev: &Counters, cur: &Counters) -> Option<ResetReason> {
    if cur.node != prev.node {
        return Some(ResetReason::Migrated);
    }
    if !prev.running {
        return Some(ResetReason::WasStopped);
    }
    let elapsed = u64::try_from(cur.at_ms - prev.at_ms).unwrap_or(0) / 1000;
    if cur.uptime + UPTIME_TOLERANCE_SECS < prev.uptime + elapsed {
        return Some(ResetReason::UptimeDecreased);
    }
    if cur.netin < prev.netin || cur.netout < prev.netout {
        return Some(ResetReason::DeviceRecreated);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GBIT: u64 = 125_000_000;

    fn c(node: &str, running: bool, uptime: u64, netin: u64, netout: u64, at_s: i64) -> Counters {
        Counters {
            node: node.to_string(),
            running,
            uptime,
            netin,
            netout,
            at_ms: at_s * 1000,
        }
    }

    #[test]
    fn each_signal_table() {
        let prev = c("pve1", true, 1000, 5_000, 800, 100);
        let cases = [
            (
                "continued",
                c("pve1", true, 1060, 9_000, 900, 160),
                Outcome::Continued,
                (4_000, 100),
            ),
            (
                "nic re-created",
                c("pve1", true, 1060, 3_000, 900, 160),
                Outcome::Reset(ResetReason::DeviceRecreated),
                (0, 100),
            ),
            (
                "uptime short",
                c("pve1", true, 30, 9_000, 900, 160),
                Outcome::Reset(ResetReason::UptimeDecreased),
                (9_000, 900),
            ),
            (
                "migrated",
                c("pve2", true, 1060, 9_000, 900, 160),
                Outcome::Reset(ResetReason::Migrated),
                (9_000, 900),
            ),
            (
                "stopped now",
                c("pve1", false, 0, 0, 0, 160),
                Outcome::Stopped,
                (0, 0),
            ),
            (
                "too fast",
                c("pve1", true, 1060, 5_000 + 61 * GBIT, 900, 160),
                Outcome::Discarded(DiscardReason::TooFast),
                (0, 0),
            ),
        ];
        for (name, cur, outcome, (rx, tx)) in cases {
            let d = delta(Some(&prev), &cur, GBIT);
            assert_eq!((d.outcome, d.rx, d.tx), (outcome, rx, tx), "{name}");
            // A reset's bytes are placed after the process start: 30 s of uptime.
            let from = if name == "uptime short" {
                130_000
            } else {
                100_000
            };
            assert_eq!((d.from_ms, d.to_ms), (from, 160_000), "{name}");
        }
    }

    #[test]
    fn first_sight_is_a_baseline_and_a_stopped_guest_counts_from_its_start() {
        let first = c("pve1", true, 500, 7_000, 70, 100);
        assert_eq!(delta(None, &first, GBIT).outcome, Outcome::Baseline);
        assert_eq!(delta(None, &first, GBIT).rx, 0);
        let stopped = c("pve1", false, 0, 0, 0, 100);
        let started = c("pve1", true, 50, 4_000, 40, 160);
        let d = delta(Some(&stopped), &started, GBIT);
        assert_eq!(
            (d.outcome, d.rx, d.tx),
            (Outcome::Reset(ResetReason::WasStopped), 4_000, 40)
        );
    }

    #[test]
    fn snapshot_lag_within_tolerance_is_not_a_reset() {
        // The second poll sees a status cache 10 s staler than the first.
        let prev = c("pve1", true, 1000, 5_000, 800, 100);
        let cur = c("pve1", true, 1050, 6_000, 900, 160);
        assert_eq!(delta(Some(&prev), &cur, GBIT).outcome, Outcome::Continued);
    }

    #[test]
    fn a_long_outage_is_covered_by_one_delta() {
        let prev = c("pve1", true, 1000, 5_000, 800, 100);
        let cur = c("pve1", true, 1000 + 600, 905_000, 800, 700);
        let d = delta(Some(&prev), &cur, GBIT);
        assert_eq!((d.rx, d.from_ms, d.to_ms), (900_000, 100_000, 700_000));
    }

    proptest! {
        #[test]
        fn deltas_never_exceed_what_the_counters_show(
            pn in 0u64..1 << 40, po in 0u64..1 << 40, cn in 0u64..1 << 40, co in 0u64..1 << 40,
            pu in 0u64..1 << 30, cu in 0u64..1 << 30, dt in 0i64..100_000,
            prun: bool, crun: bool, moved: bool,
        ) {
            let prev = c("pve1", prun, pu, if prun { pn } else { 0 }, if prun { po } else { 0 }, 1_000);
            let cur = c(if moved { "pve2" } else { "pve1" }, crun, cu, if crun { cn } else { 0 }, if crun { co } else { 0 }, 1_000 + dt);
            let d = delta(Some(&prev), &cur, u64::MAX / 2);
            // Never negative (u64), never more than the current counters hold.
            prop_assert!(d.rx <= cur.netin && d.tx <= cur.netout);
            // Only a new process may count more than the growth.
            if !matches!(d.outcome, Outcome::Reset(r) if r != ResetReason::DeviceRecreated) {
                prop_assert!(d.rx <= cur.netin.saturating_sub(prev.netin));
                prop_assert!(d.tx <= cur.netout.saturating_sub(prev.netout));
            }
            // A continued delta is exactly the difference.
            if d.outcome == Outcome::Continued {
                prop_assert_eq!((d.rx, d.tx), (cur.netin - prev.netin, cur.netout - prev.netout));
            }
            prop_assert!(d.from_ms <= d.to_ms);
        }
    }
}
