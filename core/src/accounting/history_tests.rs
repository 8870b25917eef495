//! Property tests over whole histories: one guest on a two-node cluster whose host pushes its
//! stats every [`PUSH_INTERVAL_SECS`] (not while the node is stalled), `unknown` after 5
//! minutes without a push, with reboots, stop/start, migrations, NIC re-creation, stalls and
//! exporter restarts, polled by the accountant as the exporter's cycle does.
//!
//! What the guest could ever be seen to move is, per device, what its last push showed: bytes
//! moved after a device's last push are shown by no push at all.

use std::collections::BTreeMap;

use super::*;
use proptest::prelude::*;

/// Something that happens to the guest, its nodes or the exporter.
#[derive(Clone, Copy, Debug)]
enum Event {
    Reboot,
    Stop,
    Start,
    Migrate,
    /// NIC `n`'s device is re-created (its counters start over, the process lives on).
    Recreate(usize),
    /// Node `n`'s pvestatd stops or resumes pushing.
    ToggleStall(usize),
    /// The exporter restarts: what it keeps only in memory is gone.
    Restart,
}

const NODES: [&str; 2] = ["pve1", "pve2"];
const STATS_EXPIRE_SECS: i64 = 300;

/// One device's counters: `(now, as last pushed)`.
#[derive(Clone, Copy, Default)]
struct Device {
    now: (u64, u64),
    pushed: (u64, u64),
}

struct Process {
    start: i64,
    nics: [Device; 2],
}

/// The cluster as the test knows it: the truth.
struct World {
    node: usize,
    stalled: [bool; 2],
    process: Option<Process>,
    /// What ended devices' last pushes showed.
    ended: (u64, u64),
    /// The guest's last push: when, and what it said.
    push: Option<(i64, Counters)>,
}

impl World {
    fn end_device(&mut self, d: Device) {
        self.ended.0 += d.pushed.0;
        self.ended.1 += d.pushed.1;
    }

    fn end_process(&mut self) {
        if let Some(p) = self.process.take() {
            p.nics.into_iter().for_each(|d| self.end_device(d));
        }
    }

    fn apply(&mut self, e: Event, t: i64, exporter: &mut Exporter) {
        let new = || Process {
            start: t,
            nics: [Device::default(); 2],
        };
        match e {
            Event::Reboot if self.process.is_some() => {
                self.end_process();
                self.process = Some(new());
            }
            Event::Stop => self.end_process(),
            Event::Start if self.process.is_none() => self.process = Some(new()),
            Event::Migrate => {
                self.node = 1 - self.node;
                if self.process.is_some() {
                    self.end_process();
                    self.process = Some(new());
                }
            }
            Event::Recreate(n) => {
                if let Some(p) = &mut self.process {
                    let old = std::mem::take(&mut p.nics[n]);
                    self.end_device(old);
                }
            }
            Event::ToggleStall(n) => self.stalled[n] = !self.stalled[n],
            Event::Restart => exporter.restart(),
            _ => {}
        }
    }

    fn traffic(&mut self, rates: &[(u64, u64)], t: i64) {
        if let Some(p) = &mut self.process {
            for (i, d) in p.nics.iter_mut().enumerate() {
                let (rx, tx) = rates[(t as usize + i) % rates.len()];
                d.now.0 += rx;
                d.now.1 += tx;
            }
        }
    }

    fn push(&mut self, t: i64) {
        if t % PUSH_INTERVAL_SECS as i64 != 0 || self.stalled[self.node] {
            return;
        }
        let stats = match &mut self.process {
            Some(p) => {
                p.nics.iter_mut().for_each(|d| d.pushed = d.now);
                let sum = |f: fn(&Device) -> u64| p.nics.iter().map(f).sum();
                (
                    true,
                    (t - p.start) as u64,
                    sum(|d| d.now.0),
                    sum(|d| d.now.1),
                )
            }
            None => (false, 0, 0, 0),
        };
        let (running, uptime, netin, netout) = stats;
        let node = NODES[self.node].to_string();
        let at_ms = t * 1000;
        self.push = Some((
            t,
            Counters {
                node,
                running,
                uptime,
                netin,
                netout,
                at_ms,
            },
        ));
    }

    /// The guest's row at `t`: its live node and its stats, `None` when `unknown`.
    fn row(&self, t: i64) -> (&'static str, Option<Counters>) {
        let stats = self
            .push
            .as_ref()
            .filter(|(at, _)| t - at <= STATS_EXPIRE_SECS)
            .map(|(_, c)| Counters {
                node: NODES[self.node].to_string(),
                at_ms: t * 1000,
                ..c.clone()
            });
        (NODES[self.node], stats)
    }

    /// Bytes some push showed, per direction.
    fn observable(&self) -> (u64, u64) {
        let live = self.process.iter().flat_map(|p| p.nics);
        live.fold(self.ended, |(rx, tx), d| (rx + d.pushed.0, tx + d.pushed.1))
    }
}

/// The exporter's part: what its ledger keeps (baseline and node persisted, `seen` not).
#[derive(Default)]
struct Exporter {
    baseline: Option<Counters>,
    node: String,
    seen_ms: i64,
    accounted: (u64, u64),
}

impl Exporter {
    fn poll(&mut self, node: &str, stats: Option<Counters>, t: i64) {
        let Some(cur) = stats else {
            if self.baseline.is_some() {
                self.node = node.to_string();
                self.seen_ms = t * 1000;
            }
            return;
        };
        let known = self.baseline.as_ref().map(|baseline| Known {
            baseline,
            node: &self.node,
            seen_ms: self.seen_ms,
        });
        let s = step(known, &cur, u64::MAX);
        self.accounted.0 += s.delta.rx;
        self.accounted.1 += s.delta.tx;
        self.baseline = Some(s.baseline);
        self.node = node.to_string();
        self.seen_ms = t * 1000;
    }

    fn restart(&mut self) {
        if let Some(b) = &self.baseline {
            self.seen_ms = b.at_ms;
        }
    }
}

/// Runs a history of `secs` seconds; `check` sees the world and the exporter after each poll.
fn run(
    events: &BTreeMap<i64, Event>,
    polls: impl Fn(i64) -> bool,
    rates: &[(u64, u64)],
    secs: i64,
    mut check: impl FnMut(&World, &Exporter) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError> {
    let mut world = World {
        node: 0,
        stalled: [false; 2],
        process: Some(Process {
            start: -100,
            nics: [Device::default(); 2],
        }),
        ended: (0, 0),
        push: None,
    };
    let mut exporter = Exporter::default();
    for t in 0..secs {
        if let Some(e) = events.get(&t) {
            world.apply(*e, t, &mut exporter);
        }
        world.traffic(rates, t);
        world.push(t);
        if polls(t) {
            let (node, stats) = world.row(t);
            exporter.poll(node, stats, t);
            check(&world, &exporter)?;
        }
    }
    Ok(())
}

fn any_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        Just(Event::Reboot),
        Just(Event::Stop),
        Just(Event::Start),
        Just(Event::Migrate),
        (0usize..2).prop_map(Event::Recreate),
        (0usize..2).prop_map(Event::ToggleStall),
        Just(Event::Restart),
    ]
}

/// Events that a push can always reveal: no NIC re-creation, no restart.
fn revealable_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        Just(Event::Reboot),
        Just(Event::Stop),
        Just(Event::Start),
        Just(Event::Migrate),
        (0usize..2).prop_map(Event::ToggleStall),
    ]
}

fn rates() -> impl Strategy<Value = Vec<(u64, u64)>> {
    prop::collection::vec((0u64..2_000_000, 0u64..200_000), 1..7)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever happens and whenever the exporter polls, it never counts a byte no push
    /// showed.
    #[test]
    fn never_overcounts(
        events in prop::collection::btree_map(1i64..1_500, any_event(), 0..25),
        polls in prop::collection::btree_set(0i64..1_500, 1..300),
        rates in rates(),
    ) {
        run(&events, |t| polls.contains(&t), &rates, 1_500, |world, exporter| {
            let (rx, tx) = exporter.accounted;
            let (orx, otx) = world.observable();
            prop_assert!(rx <= orx && tx <= otx, "accounted ({rx}, {tx}) > shown ({orx}, {otx})");
            Ok(())
        })?;
    }

    /// Polled right after every push, with events at least 30 s apart (so every process is
    /// pushed at least twice unless a stall hides it), the exporter counts exactly what the
    /// pushes showed after its first poll (its baseline): across stalls, `unknown` stats,
    /// migrations, reboots and stop/start.
    #[test]
    fn exact_when_every_push_is_seen(
        gaps in prop::collection::vec((30i64..400, revealable_event()), 0..12),
        rates in rates(),
    ) {
        let mut events = BTreeMap::new();
        let mut t = 0;
        for (gap, e) in gaps {
            t += gap;
            events.insert(t, e);
        }
        let secs = t + 2 * PUSH_INTERVAL_SECS as i64 + 2;
        let (mut first, mut last) = (None, None);
        run(&events, |t| t % 10 == 1, &rates, secs, |world, exporter| {
            first.get_or_insert(world.observable());
            last = Some((world.observable(), exporter.accounted));
            Ok(())
        })?;
        let ((rx0, tx0), (observable, (rx, tx))) = (first.unwrap(), last.unwrap());
        prop_assert_eq!((rx + rx0, tx + tx0), observable);
    }
}
