//! One poll cycle's accounting: from PVE's guest list to what the store commits.
//!
//! The [`Ledger`] remembers, per guest, the baseline push (the last one seen, with the time it
//! was first seen) and the accounted totals (it starts from what the store persisted, so a
//! restart loses nothing). For each guest of a poll it asks the accountant for the delta,
//! spreads the delta over the 5-minute buckets and calendar periods it covers (exactly, in
//! proportion to time), and collects it all into one [`CycleWrite`]. Every listed guest with a
//! baseline is written each cycle, its baseline unchanged when the poll showed no new push,
//! so the stored baseline keeps its first sighting across restarts.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::tz::TimeZone;

use pve_traffic_core::accounting::{self, Counters, Known, Outcome};
use pve_traffic_core::guest::GuestType;
use pve_traffic_core::period::{split_even, ts, Cover, PeriodSpec};
use pve_traffic_core::pve::GuestResource;
pub use pve_traffic_store::BUCKET_MS;
use pve_traffic_store::{CycleWrite, GuestInfo, GuestTotals, GuestWrite, RawCounters, StoredState};

/// Which guests the exporter accounts.
#[derive(Clone, Debug)]
pub struct Selection {
    /// Guest types to account.
    pub guest_types: Vec<GuestType>,
    /// Whether templates are accounted.
    pub include_templates: bool,
    /// Only guests on this node, when set.
    pub node: Option<String>,
}

impl Selection {
    fn wants(&self, g: &GuestResource) -> bool {
        self.guest_types.contains(&g.guest_type)
            && (self.include_templates || !g.template)
            && self.node.as_ref().is_none_or(|n| *n == g.node)
    }
}

/// One guest as the ledger knows it.
#[derive(Clone, Debug)]
pub struct Tracked {
    /// Identity and state from the last poll.
    pub info: GuestInfo,
    /// The last push seen, as first seen: the baseline of the next delta.
    pub last: Option<RawCounters>,
    /// When a poll last listed the guest, epoch ms (with or without stats). Not persisted:
    /// after a restart it is the baseline's time, which only weakens the uptime test.
    pub seen_ms: i64,
    /// Accounted lifetime totals.
    pub totals: GuestTotals,
}

/// The accountant's memory across cycles.
#[derive(Debug)]
pub struct Ledger {
    /// Guests by VMID.
    pub guests: BTreeMap<u32, Tracked>,
    /// Discarded deltas ever, by reason.
    pub discarded: BTreeMap<String, u64>,
    /// Period keys to accumulate: the calendar periods plus every rule's period.
    specs: Vec<PeriodSpec>,
    /// `specs[i].key()`, computed once and shared by every guest's write (no copy each).
    keys: Vec<Arc<str>>,
    tz: TimeZone,
    max_bandwidth: u64,
}

/// A delta spread out: `(bucket start, rx, tx)` per 5-minute bucket and
/// `(period key, window start, rx, tx)` per period window, as [`GuestWrite`] holds them.
type Spread = (Vec<(i64, u64, u64)>, Vec<(Arc<str>, i64, u64, u64)>);

/// What a cycle saw, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CycleReport {
    /// Guests accounted.
    pub guests: usize,
    /// Counter resets detected.
    pub resets: usize,
    /// Deltas discarded.
    pub discarded: usize,
    /// Guests without status data (`unknown`: node not pushing), baselines kept.
    pub unknown: usize,
}

impl Ledger {
    /// A ledger continuing from the persisted state.
    pub fn new(
        state: StoredState,
        specs: Vec<PeriodSpec>,
        tz: TimeZone,
        max_bandwidth: u64,
    ) -> Ledger {
        let guests = state
            .guests
            .into_iter()
            .map(|(vmid, (info, last, totals))| {
                let seen_ms = last.as_ref().map_or(i64::MIN, |c| c.at_ms);
                let tracked = Tracked {
                    info,
                    last,
                    seen_ms,
                    totals,
                };
                (vmid, tracked)
            })
            .collect();
        Ledger {
            guests,
            discarded: state.discarded,
            keys: specs.iter().map(|s| Arc::from(s.key())).collect(),
            specs,
            tz,
            max_bandwidth,
        }
    }

    /// Accumulates these periods from now on (the rules changed).
    pub fn set_specs(&mut self, specs: Vec<PeriodSpec>) {
        self.keys = specs.iter().map(|s| Arc::from(s.key())).collect();
        self.specs = specs;
    }

    /// The time zone periods are local to.
    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }

    /// Accounts one poll taken at `now_ms` and returns what to commit. The ledger is
    /// updated as if the commit succeeds; if it fails, the caller must reload from the store.
    pub fn account(
        &mut self,
        polled: &[GuestResource],
        selection: &Selection,
        now_ms: i64,
    ) -> (CycleWrite, CycleReport) {
        let mut write = CycleWrite {
            at_ms: now_ms,
            guests: Vec::new(),
            discarded: Vec::new(),
        };
        let mut report = CycleReport::default();
        let mut discarded: BTreeMap<String, u64> = BTreeMap::new();
        // Most guests' deltas cover the same interval (last push to now): compute each
        // interval's period windows once per cycle.
        let mut covers: HashMap<(i64, i64), Vec<Cover>> = HashMap::new();
        for g in polled.iter().filter(|g| selection.wants(g)) {
            let Some(cur) = counters(g, now_ms) else {
                report.unknown += 1;
                write.guests.extend(self.keep_unknown(g, now_ms));
                continue;
            };
            report.guests += 1;
            let info = GuestInfo {
                vmid: g.vmid,
                guest_type: g.guest_type,
                name: g.name.clone().unwrap_or_default(),
                node: g.node.clone(),
                tags: g.tags.clone(),
                template: g.template,
                running: cur.running,
            };
            let tracked = self.guests.entry(g.vmid).or_insert_with(|| Tracked {
                info: info.clone(),
                last: None,
                seen_ms: now_ms,
                totals: GuestTotals::default(),
            });
            let known = tracked.last.as_ref().map(|baseline| Known {
                baseline,
                node: &tracked.info.node,
                seen_ms: tracked.seen_ms,
            });
            let step = accounting::step(known, &cur, self.max_bandwidth);
            let d = step.delta;
            let reset = matches!(d.outcome, Outcome::Reset(_));
            if reset {
                report.resets += 1;
                tracked.totals.resets += 1;
            }
            if let Outcome::Discarded(why) = d.outcome {
                report.discarded += 1;
                *discarded.entry(why.as_str().to_string()).or_default() += 1;
                tracing::warn!(
                    vmid = g.vmid,
                    reason = why.as_str(),
                    "discarded an implausible traffic delta"
                );
            }
            tracked.totals.rx += d.rx;
            tracked.totals.tx += d.tx;
            tracked.info = info.clone();
            tracked.last = Some(step.baseline.clone());
            tracked.seen_ms = now_ms;
            let (buckets, periods) = if d.rx == 0 && d.tx == 0 {
                (Vec::new(), Vec::new())
            } else {
                let covers = covers.entry((d.from_ms, d.to_ms)).or_insert_with(|| {
                    let (from, to) = (ts(d.from_ms), ts(d.to_ms));
                    self.specs
                        .iter()
                        .map(|s| Cover::new(from, to, *s, &self.tz))
                        .collect()
                });
                self.spread(d.rx, d.tx, d.from_ms, d.to_ms, covers)
            };
            write.guests.push(GuestWrite {
                info,
                counters: step.baseline,
                rx: d.rx,
                tx: d.tx,
                reset,
                buckets,
                periods,
            });
        }
        for (reason, n) in discarded {
            *self.discarded.entry(reason.clone()).or_default() += n;
            write.discarded.push((reason, n));
        }
        (write, report)
    }

    /// A guest listed without stats (`unknown`: its node has not pushed for 5 minutes):
    /// nothing is counted and its baseline stays, so the gap is counted at its next push. Its
    /// live identity (node, tags) is kept up to date; what only a push tells (name, template,
    /// run state) stays as last pushed. A guest never seen with stats is left out.
    fn keep_unknown(&mut self, g: &GuestResource, now_ms: i64) -> Option<GuestWrite> {
        let tracked = self.guests.get_mut(&g.vmid)?;
        let baseline = tracked.last.clone()?;
        tracked.info.node = g.node.clone();
        tracked.info.tags = g.tags.clone();
        tracked.seen_ms = now_ms;
        Some(GuestWrite {
            info: tracked.info.clone(),
            counters: baseline,
            rx: 0,
            tx: 0,
            reset: false,
            buckets: Vec::new(),
            periods: Vec::new(),
        })
    }

    /// Spreads a delta over 5-minute buckets and over every tracked period's windows.
    fn spread(&self, rx: u64, tx: u64, from_ms: i64, to_ms: i64, covers: &[Cover]) -> Spread {
        let buckets = split_even(rx, tx, from_ms, to_ms, BUCKET_MS);
        let mut periods = Vec::new();
        for (key, cover) in self.keys.iter().zip(covers) {
            for (w, r, t) in cover.split(rx, tx) {
                if r != 0 || t != 0 {
                    periods.push((key.clone(), w.start.as_millisecond(), r, t));
                }
            }
        }
        (buckets, periods)
    }
}

/// What a poll shows of a guest's last push, `None` without stats (`unknown`). A stopped
/// guest's counters read 0.
fn counters(g: &GuestResource, now_ms: i64) -> Option<Counters> {
    let (Some(uptime), Some(netin), Some(netout)) = (g.uptime, g.netin, g.netout) else {
        return None;
    };
    let running = g.status != "stopped";
    Some(Counters {
        node: g.node.clone(),
        running,
        uptime,
        netin: if running { netin } else { 0 },
        netout: if running { netout } else { 0 },
        at_ms: now_ms,
    })
}

#[cfg(test)]
mod tests;
