//! The exactness property: random event sequences on a small cluster, and for every guest
//! the exporter's accounted bytes equal what `/sim/truth` says an exact observer can know,
//! to the byte, for the lifetime totals and for every hour, day, week and month window.
//!
//! pve-sim pushes each node's guest stats at aligned 10 s boundaries; `/cluster/resources`
//! shows only the last push. The bytes a device moved after its guest's last push and before
//! the device ended were never shown to anyone: the truth reports them as `unobservable`.
//! So after a poll that saw every guest's fresh stats, the exporter must have accounted
//! `rx_bytes - unobservable_rx_bytes` (tx likewise) since its first poll, or, when a NIC was
//! re-created while its guest ran (PVE reports only the sum over NICs), anything from that
//! minus the re-created NICs' pushed bytes up to it.
//!
//! The walk: the exporter polls right after pushes, every 30 to 120 s (drawn per step), on
//! every local hour start (so every window boundary is polled unless the exporter is down or
//! PVE fails), and just before any event that ends a running guest's devices. Such an event
//! is applied only if the exporter saw the guest's last push (it is skipped, and logged as
//! skipped, when an outage, a killed exporter or a stale node hid it), because the truth's
//! `unobservable` counts from the last push, not from the last push someone polled.
//!
//! The windows are computed here with jiff (not with the crate's period code) and read from
//! the store's accumulators. A window whose boundary was not polled with the guest's stats
//! fresh (a stalled or offline node, an outage, a killed exporter) is checked as the union
//! with its neighbours, between the nearest boundaries that were.
//!
//! `PROPTEST_CASES` sets the number of cases (8 by default); a failure prints the shrunk
//! sequence and what each step did.

mod run;
mod windows;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};

/// The cluster's nodes.
pub const NODES: [&str; 3] = ["pve1", "pve2", "pve3"];

/// One guest of the scenario.
pub struct GuestDef {
    pub vmid: u32,
    pub lxc: bool,
    pub node: usize,
    pub nics: usize,
}

/// Six guests, QEMU and LXC, one or two NICs, two per node.
pub const GUESTS: [GuestDef; 6] = [
    GuestDef {
        vmid: 100,
        lxc: false,
        node: 0,
        nics: 2,
    },
    GuestDef {
        vmid: 101,
        lxc: true,
        node: 0,
        nics: 1,
    },
    GuestDef {
        vmid: 102,
        lxc: false,
        node: 1,
        nics: 1,
    },
    GuestDef {
        vmid: 103,
        lxc: true,
        node: 1,
        nics: 2,
    },
    GuestDef {
        vmid: 104,
        lxc: false,
        node: 2,
        nics: 2,
    },
    GuestDef {
        vmid: 105,
        lxc: true,
        node: 2,
        nics: 1,
    },
];

/// A NIC's config with MAC number `mac` (0 in the scenario, counting up for new MACs).
pub fn nic_config(g: &GuestDef, nic: usize, mac: u8) -> String {
    let mac = format!("BC:24:11:{:02X}:{nic:02X}:{mac:02X}", g.vmid - 100);
    if g.lxc {
        format!("name=eth{nic},bridge=vmbr{nic},hwaddr={mac},ip=dhcp")
    } else {
        format!("virtio={mac},bridge=vmbr{nic}")
    }
}

/// The scenario: flat, unshaped, odd rates, so traffic flows all the time and no split of
/// time rounds evenly.
pub fn scenario(start: i64) -> String {
    let mut yaml = format!(
        "start_time: {start}\nseed: 5\nnodes: [{{ name: pve1 }}, {{ name: pve2 }}, {{ name: pve3 }}]\nguests:\n"
    );
    for g in &GUESTS {
        let kind = if g.lxc { "lxc" } else { "qemu" };
        yaml += &format!(
            "  - vmid: {}\n    type: {kind}\n    node: {}\n    nics:\n",
            g.vmid, NODES[g.node]
        );
        for nic in 0..g.nics {
            let k = u64::from(g.vmid - 100) * 2 + nic as u64;
            yaml += &format!(
                "      - {{ config: \"{}\", rx_rate: {}, tx_rate: {}, shaped: false }}\n",
                nic_config(g, nic, 0),
                200_003 + 91_337 * k,
                30_011 + 7_919 * k
            );
        }
    }
    yaml
}

/// How PVE fails during an outage.
#[derive(Clone, Copy, Debug)]
pub enum Outage {
    /// A body that is not JSON (the client does not retry).
    Malformed,
    /// 595 (the client retries twice).
    Http595,
}

/// One event; guests and nodes by index into [`GUESTS`] and [`NODES`].
#[derive(Clone, Debug)]
pub enum Event {
    Migrate { guest: usize, to: usize },
    Reboot(usize),
    GuestReboot(usize),
    Stop(usize),
    Start(usize),
    NewMac { guest: usize, nic: usize },
    Offline(usize),
    Online(usize),
    Stall(usize),
    Unstall(usize),
    OutageStart(Outage),
    OutageEnd,
    Kill,
    Reopen,
}

/// Wait `after` seconds (polling every `poll_every`), then `event`.
#[derive(Clone, Debug)]
pub struct Step {
    pub after: u64,
    pub poll_every: u64,
    pub event: Event,
}

fn event() -> impl Strategy<Value = Event> {
    let g = || 0..GUESTS.len();
    let n = || 0..NODES.len();
    prop_oneof![
        3 => (g(), n()).prop_map(|(guest, to)| Event::Migrate { guest, to }),
        2 => g().prop_map(Event::Reboot),
        2 => g().prop_map(Event::GuestReboot),
        2 => g().prop_map(Event::Stop),
        3 => g().prop_map(Event::Start),
        2 => (g(), 0..2usize).prop_map(|(guest, nic)| Event::NewMac { guest, nic }),
        1 => n().prop_map(Event::Offline),
        2 => n().prop_map(Event::Online),
        2 => n().prop_map(Event::Stall),
        2 => n().prop_map(Event::Unstall),
        1 => prop_oneof![3 => Just(Outage::Malformed), 1 => Just(Outage::Http595)]
            .prop_map(Event::OutageStart),
        1 => Just(Event::OutageEnd),
        1 => Just(Event::Kill),
        1 => Just(Event::Reopen),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    // Mostly short waits; sometimes up to 10 minutes, so stalls and outages outlive the
    // 5 minutes a pushed record is served.
    let after = prop_oneof![4 => 0u64..=12, 1 => 13u64..=60];
    (after, 3u64..=12, event()).prop_map(|(after, every, event)| Step {
        after: after * 10,
        poll_every: every * 10,
        event,
    })
}

/// Where and when a case runs: its zone, its start, and an end it runs to at least, so the
/// windows of interest close.
pub struct Zone {
    pub tz: &'static str,
    pub start: &'static str,
    pub until: &'static str,
}

fn check(zone: Zone) {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 8;
    }
    config.failure_persistence = None;
    // A case takes a second or two: bound the shrinking, not the search.
    if std::env::var_os("PROPTEST_MAX_SHRINK_TIME").is_none() {
        config.max_shrink_time = 180_000;
    }
    let mut runner = TestRunner::new(config);
    let strategy = prop::collection::vec(step(), 4..24);
    let result = runner.run(&strategy, |steps| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(run::case(&zone, &steps))
            .map(|_| ())
            .map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{} {}: {e}", zone.tz, zone.start);
    }
}

/// 2026-06-01 is a Monday: hour, day, ISO week and month end together at 00:00Z.
#[test]
fn exact_in_utc() {
    check(Zone {
        tz: "UTC",
        start: "2026-05-31T23:20:00Z",
        until: "2026-06-01T00:40:00Z",
    });
}

/// +05:45: hours start at :15 UTC; Monday 2026-06-01 (day, week, month) at 2026-05-31T18:15Z.
#[test]
fn exact_in_kathmandu() {
    check(Zone {
        tz: "Asia/Kathmandu",
        start: "2026-05-31T17:40:00Z",
        until: "2026-05-31T19:00:00Z",
    });
}

/// At 2026-10-25T01:00Z the clocks go back: the local hour 02:00 comes twice and is one
/// window of two hours, 00:00Z to 02:00Z.
#[test]
fn exact_in_berlin_across_the_autumn_change() {
    check(Zone {
        tz: "Europe/Berlin",
        start: "2026-10-24T23:40:00Z",
        until: "2026-10-25T02:10:00Z",
    });
}

/// Sunday 2026-03-29 starts at 2026-03-28T23:00Z (CET) and at 01:00Z the clocks skip
/// 02:00-03:00.
#[test]
fn exact_in_berlin_across_the_spring_change() {
    check(Zone {
        tz: "Europe/Berlin",
        start: "2026-03-28T22:40:00Z",
        until: "2026-03-29T01:30:00Z",
    });
}

/// The test's own window code against boundaries written out by hand.
#[test]
fn windows_match_hand_written_boundaries() {
    use windows::{next, start, Kind};
    let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap().as_second();
    let cases = [
        (
            "UTC",
            Kind::Week,
            "2026-06-03T12:00:00Z",
            "2026-06-01T00:00:00Z",
            "2026-06-08T00:00:00Z",
        ),
        (
            "UTC",
            Kind::Month,
            "2026-05-31T23:59:50Z",
            "2026-05-01T00:00:00Z",
            "2026-06-01T00:00:00Z",
        ),
        (
            "Asia/Kathmandu",
            Kind::Hour,
            "2026-05-31T18:14:50Z",
            "2026-05-31T17:15:00Z",
            "2026-05-31T18:15:00Z",
        ),
        (
            "Asia/Kathmandu",
            Kind::Day,
            "2026-05-31T18:15:00Z",
            "2026-05-31T18:15:00Z",
            "2026-06-01T18:15:00Z",
        ),
        (
            "Asia/Kathmandu",
            Kind::Week,
            "2026-05-31T18:14:50Z",
            "2026-05-24T18:15:00Z",
            "2026-05-31T18:15:00Z",
        ),
        (
            "Europe/Berlin",
            Kind::Day,
            "2026-10-25T12:00:00Z",
            "2026-10-24T22:00:00Z",
            "2026-10-25T23:00:00Z",
        ),
        // The local hour 02:00 happens twice: one window of two hours.
        (
            "Europe/Berlin",
            Kind::Hour,
            "2026-10-25T00:30:00Z",
            "2026-10-25T00:00:00Z",
            "2026-10-25T02:00:00Z",
        ),
        (
            "Europe/Berlin",
            Kind::Hour,
            "2026-10-25T01:30:00Z",
            "2026-10-25T00:00:00Z",
            "2026-10-25T02:00:00Z",
        ),
        (
            "Europe/Berlin",
            Kind::Hour,
            "2026-03-29T00:59:50Z",
            "2026-03-29T00:00:00Z",
            "2026-03-29T01:00:00Z",
        ),
        (
            "Europe/Berlin",
            Kind::Day,
            "2026-03-29T12:00:00Z",
            "2026-03-28T23:00:00Z",
            "2026-03-29T22:00:00Z",
        ),
        (
            "Europe/Berlin",
            Kind::Hour,
            "2026-03-29T01:10:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-29T02:00:00Z",
        ),
        (
            "Europe/Berlin",
            Kind::Month,
            "2026-03-31T22:00:00Z",
            "2026-03-31T22:00:00Z",
            "2026-04-30T22:00:00Z",
        ),
    ];
    for (zone, kind, at, from, to) in cases {
        let tz = jiff::tz::TimeZone::get(zone).unwrap();
        let s = start(kind, &tz, t(at));
        assert_eq!(
            (s, next(kind, &tz, s)),
            (t(from), t(to)),
            "{zone} {kind:?} {at}"
        );
    }
}
