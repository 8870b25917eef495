//! One poll cycle's accounting: from PVE's guest list to what the store commits.
//!
//! The [`Ledger`] remembers, per guest, the last raw counters and the accounted totals (it
//! starts from what the store persisted, so a restart loses nothing). For each guest of a
//! poll it asks the accountant for the delta, spreads the delta over the 5-minute buckets and
//! calendar periods it covers (exactly, in proportion to time), and collects it all into one
//! [`CycleWrite`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::accounting::{self, Counters, Outcome};
use crate::guest::GuestType;
use crate::period::{split_even, Cover, PeriodSpec};
use crate::pve::GuestResource;
pub use crate::store::BUCKET_MS;
use crate::store::{CycleWrite, GuestInfo, GuestTotals, GuestWrite, RawCounters, StoredState};

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
    /// Raw counters from the last poll with status data.
    pub last: Option<RawCounters>,
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
    /// Guests without status data (node not reporting), left untouched.
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
            .map(|(vmid, (info, last, totals))| (vmid, Tracked { info, last, totals }))
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
        // Most guests' deltas cover the same interval (last poll to now): compute each
        // interval's period windows once per cycle.
        let mut covers: HashMap<(i64, i64), Vec<Cover>> = HashMap::new();
        for g in polled.iter().filter(|g| selection.wants(g)) {
            let (Some(uptime), Some(netin), Some(netout)) = (g.uptime, g.netin, g.netout) else {
                report.unknown += 1;
                continue;
            };
            report.guests += 1;
            let running = g.status != "stopped";
            let info = GuestInfo {
                vmid: g.vmid,
                guest_type: g.guest_type,
                name: g.name.clone().unwrap_or_default(),
                node: g.node.clone(),
                tags: g.tags.clone(),
                template: g.template,
                running,
            };
            let cur = Counters {
                node: g.node.clone(),
                running,
                uptime,
                netin: if running { netin } else { 0 },
                netout: if running { netout } else { 0 },
                at_ms: now_ms,
            };
            let tracked = self.guests.entry(g.vmid).or_insert_with(|| Tracked {
                info: info.clone(),
                last: None,
                totals: GuestTotals::default(),
            });
            let prev = tracked.last.clone();
            let d = accounting::delta(prev.as_ref(), &cur, self.max_bandwidth);
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
            let counters: RawCounters = cur;
            tracked.last = Some(counters.clone());
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
                counters,
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

/// Epoch milliseconds as a timestamp (clamped into jiff's range).
pub fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}
