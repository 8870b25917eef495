//! The exporter's `/metrics` at 10,000 guests, rendered by the project's own encoder
//! (`pve_traffic_core::exposition`, classic text and OpenMetrics) and by the `prometheus-client`
//! crate (OpenMetrics only) from the same snapshot, side by side in one run.
//!
//! `prometheus-client` is used in its two idiomatic ways:
//! - a [`Collector`] that yields every sample from the snapshot at scrape time (what its
//!   `custom-metric.rs` example and `Collector` docs show for data owned elsewhere);
//! - registered `Family`s of atomic gauges and counters, set from the snapshot after each
//!   poll (its usual instrumentation style; the update is timed separately, a scrape only
//!   encodes).
//!
//! Before timing, the collector's output is checked to be the same exposition as ours, sample
//! by sample (values compared as numbers: the crate writes `1.0` where we write `1`), and the
//! families' output the same set of samples (a `Family` iterates a hash map, so its order
//! differs). Runs are interleaved so that the shared machine's drifting speed hits every
//! contender alike.
//!
//! Run: `cargo bench -p pve-traffic-exporter --bench metrics_encoder`. It prints a Markdown table
//! and rewrites its own section of `BENCHMARKS.md`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Metric, Registry};
use pve_traffic_core::exposition::Format;
use pve_traffic_core::guest::GuestType;
use pve_traffic_exporter::metrics;
use pve_traffic_exporter::snapshot::{GuestSnapshot, QuotaSnapshot, Snapshot, PERIODS};

const GUESTS: u32 = 10_000;
const RUNS: usize = 30;

/// Every HELP text of the exporter's families, by name after the `pve_traffic_` prefix. The
/// equivalence check fails if these drift from the exporter's.
const HELP: &[(&str, &str)] = &[
    ("up", "Whether the last poll of the PVE API succeeded (1) or not (0)."),
    ("last_poll_timestamp_seconds", "When the last successful poll ended, Unix time."),
    ("poll_duration_seconds", "How long the last poll cycle took."),
    ("poll_errors", "Failed polls since the exporter started, by reason."),
    ("discarded_deltas", "Implausible counter deltas thrown away, by reason."),
    ("guest_info", "Guest metadata; always 1."),
    ("guest_running", "Whether the guest runs (1) or not (0)."),
    ("guest_stats_age_seconds", "Seconds since the guest's PVE stats last changed; grows while its node does not push them (stalled or offline) and while it stays stopped."),
    ("receive_bytes", "Bytes sent to the guest (download), accounted across counter resets and restarts."),
    ("transmit_bytes", "Bytes sent by the guest (upload), accounted across counter resets and restarts."),
    ("guest_resets", "Times the guest's PVE traffic counters started over (restart, migration, re-created NIC)."),
    ("period_receive_bytes", "Bytes sent to the guest in the current calendar period."),
    ("period_transmit_bytes", "Bytes sent by the guest in the current calendar period."),
    ("quota_limit_bytes", "Bytes a rule allows per period."),
    ("quota_used_bytes", "Bytes used in the rule's current period, in the rule's direction."),
    ("quota_period_end_timestamp_seconds", "End of the rule's current period, Unix time."),
];

fn help(name: &str) -> &'static str {
    HELP.iter()
        .find(|(n, _)| *n == name)
        .expect("a HELP text")
        .1
}

fn main() {
    let snapshot = Arc::new(snapshot());
    let collector = collector_registry(&snapshot);
    let (families, handles) = family_registry();
    handles.update(&snapshot);

    let ours = metrics::render(&snapshot, Format::OpenMetrics);
    assert_same_exposition(&ours, &encode(&collector), true);
    assert_same_exposition(&ours, &encode(&families), false);

    let mut times: [Vec<Duration>; 5] = Default::default();
    let mut bytes = [0usize; 5];
    for _ in 0..RUNS {
        let contenders: [&dyn Fn() -> usize; 5] = [
            &|| metrics::render(&snapshot, Format::Classic).len(),
            &|| metrics::render(&snapshot, Format::OpenMetrics).len(),
            &|| encode(&collector).len(),
            &|| encode(&families).len(),
            &|| {
                handles.update(&snapshot);
                0
            },
        ];
        for (i, run) in contenders.iter().enumerate() {
            let t = Instant::now();
            bytes[i] = run();
            times[i].push(t.elapsed());
        }
    }
    let table = table(&snapshot, &ours, times, bytes);
    println!("{table}");
    bench_record::write_section(
        env!("CARGO_MANIFEST_DIR"),
        "/metrics encoder: own vs prometheus-client",
        "cargo bench -p pve-traffic-exporter --bench metrics_encoder",
        &table,
    );
}

fn table(s: &Snapshot, ours: &str, times: [Vec<Duration>; 5], bytes: [usize; 5]) -> String {
    let stats: Vec<(f64, f64, f64)> = times.into_iter().map(spread).collect();
    let ours_om = stats[1].0;
    let mut out = format!(
        "{} guests, {} quotas ({} samples), median of {RUNS} interleaved runs, one thread. \
         prometheus-client {} writes OpenMetrics only: compare it with our OpenMetrics row.\n\n\
         | encoder | format | median ms | min ms | max ms | output MB | median vs ours (OpenMetrics) |\n\
         |---|---|---|---|---|---|---|\n",
        s.guests.len(),
        s.quotas.len(),
        ours.lines().filter(|l| !l.starts_with('#')).count(),
        "0.23",
    );
    let rows = [
        ("own (`exposition::Encoder`)", "classic 0.0.4"),
        ("own (`exposition::Encoder`)", "OpenMetrics 1.0"),
        (
            "prometheus-client, `Collector` of const samples",
            "OpenMetrics 1.0",
        ),
        (
            "prometheus-client, registered `Family`s: encode",
            "OpenMetrics 1.0",
        ),
        (
            "prometheus-client, registered `Family`s: set all values after a poll",
            "(no output)",
        ),
    ];
    for (i, (who, format)) in rows.iter().enumerate() {
        let (med, min, max) = stats[i];
        let size = if bytes[i] > 0 {
            format!("{:.2}", bytes[i] as f64 / 1e6)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "| {who} | {format} | {med:.1} | {min:.1} | {max:.1} | {size} | {:.2}x |\n",
            med / ours_om
        ));
    }
    out
}

/// Median, min, max in ms.
fn spread(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(v[v.len() / 2]), ms(v[0]), ms(v[v.len() - 1]))
}

/// A snapshot like the exporter's after a month at 10,000 guests on 20 nodes with the
/// benchmark rules of the exporter bench: two rules on every guest, one on the `prod` third.
fn snapshot() -> Snapshot {
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |max: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % max
    };
    let mut s = Snapshot {
        up: true,
        last_poll_ms: Some(1_767_225_600_123),
        poll_duration: 0.164_9,
        poll_errors: BTreeMap::from([("timeout".into(), 3), ("http_5xx".into(), 1)]),
        discarded: BTreeMap::from([("negative".into(), 2)]),
        ..Snapshot::default()
    };
    for vmid in 100..100 + GUESTS {
        let lxc = vmid % 4 == 0;
        let guest_type = if lxc { GuestType::Lxc } else { GuestType::Qemu };
        let id = format!("{}/{vmid}", guest_type.as_str());
        let prod = vmid % 3 == 0;
        let month = (next(4_000) + 1) * 1_000_000_000 + next(1_000_000_000);
        let periods =
            [month / 720, month / 30, month / 4, month].map(|rx| (rx, rx / 3 + next(1_000)));
        s.guests.push(GuestSnapshot {
            vmid,
            id: id.clone(),
            guest_type,
            name: format!("{}-{vmid}", if lxc { "ct-app" } else { "vm-web" }),
            node: format!("pve{:02}", vmid % 20 + 1),
            tags: if prod {
                "prod;web".into()
            } else {
                "dev".into()
            },
            template: false,
            running: next(10) != 0,
            stats_age: next(10_000) as f64 / 1000.0,
            rx_total: month * 6 + next(1 << 20),
            tx_total: month * 2 + next(1 << 20),
            resets: next(5),
            periods,
        });
        let rules: &[(&str, u64, u64)] = &[
            ("monthly", 1_000_000_000_000, month),
            ("daily", 50_000_000_000, month / 30),
            ("billing", 2_000_000_000_000, month),
        ];
        for &(rule, limit, used) in &rules[..if prod { 3 } else { 2 }] {
            s.quotas.push(QuotaSnapshot {
                vmid,
                id: id.clone(),
                guest_type,
                rule: rule.into(),
                limit,
                used,
                period_end: 1_769_904_000,
            });
        }
    }
    s
}

fn encode(registry: &Registry) -> String {
    let mut out = String::with_capacity(1024 + GUESTS as usize * 1400);
    prometheus_client::encoding::text::encode(&mut out, registry).expect("encodes");
    out
}

fn collector_registry(snapshot: &Arc<Snapshot>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(SnapshotCollector(snapshot.clone())));
    registry
}

/// Yields the whole snapshot as const samples on each scrape.
#[derive(Debug)]
struct SnapshotCollector(Arc<Snapshot>);

impl Collector for SnapshotCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), fmt::Error> {
        let s = &*self.0;
        poll_families(&mut enc, s)?;
        guest_families(&mut enc, s)?;
        period_families(&mut enc, s)?;
        quota_families(&mut enc, s)
    }
}

fn poll_families(enc: &mut DescriptorEncoder, s: &Snapshot) -> fmt::Result {
    let poll_end = s.last_poll_ms.map_or(0.0, |ms| ms as f64 / 1000.0);
    family(enc, "up", MetricType::Gauge, |m| {
        m.encode_gauge(&(s.up as i64))
    })?;
    family(enc, "last_poll_timestamp_seconds", MetricType::Gauge, |m| {
        m.encode_gauge(&poll_end)
    })?;
    family(enc, "poll_duration_seconds", MetricType::Gauge, |m| {
        m.encode_gauge(&s.poll_duration)
    })?;
    for (name, by_reason) in [
        ("poll_errors", &s.poll_errors),
        ("discarded_deltas", &s.discarded),
    ] {
        family(enc, name, MetricType::Counter, |m| {
            by_reason
                .iter()
                .try_for_each(|(r, n)| counter(m, &[("reason", r.as_str())], *n))
        })?;
    }
    Ok(())
}

fn guest_families(enc: &mut DescriptorEncoder, s: &Snapshot) -> fmt::Result {
    family(enc, "guest_info", MetricType::Gauge, |m| {
        s.guests.iter().try_for_each(|g| {
            let labels = [
                ("id", g.id.as_str()),
                ("name", &g.name),
                ("node", &g.node),
                ("guest_type", g.guest_type.as_str()),
                ("tags", &g.tags),
                ("template", if g.template { "1" } else { "0" }),
            ];
            m.encode_family(&labels)?.encode_gauge(&1i64)
        })
    })?;
    per_guest_gauge(enc, s, "guest_running", |g| g.running as i64)?;
    family(enc, "guest_stats_age_seconds", MetricType::Gauge, |m| {
        s.guests.iter().try_for_each(|g| {
            m.encode_family(&[("id", g.id.as_str())])?
                .encode_gauge(&g.stats_age)
        })
    })?;
    let totals: [Field<GuestSnapshot, u64>; 3] = [
        ("receive_bytes", |g| g.rx_total),
        ("transmit_bytes", |g| g.tx_total),
        ("guest_resets", |g| g.resets),
    ];
    for (name, value) in totals {
        family(enc, name, MetricType::Counter, |m| {
            s.guests
                .iter()
                .try_for_each(|g| counter(m, &[("id", g.id.as_str())], value(g)))
        })?;
    }
    Ok(())
}

fn period_families(enc: &mut DescriptorEncoder, s: &Snapshot) -> fmt::Result {
    for (name, rx) in [
        ("period_receive_bytes", true),
        ("period_transmit_bytes", false),
    ] {
        family(enc, name, MetricType::Gauge, |m| {
            s.guests.iter().try_for_each(|g| {
                PERIODS
                    .iter()
                    .zip(g.periods)
                    .try_for_each(|(period, (r, t))| {
                        let labels = [("id", g.id.as_str()), ("period", period.as_str())];
                        m.encode_family(&labels)?
                            .encode_gauge(&if rx { r } else { t })
                    })
            })
        })?;
    }
    Ok(())
}

fn quota_families(enc: &mut DescriptorEncoder, s: &Snapshot) -> fmt::Result {
    let quotas: [Field<QuotaSnapshot, i64>; 3] = [
        ("quota_limit_bytes", |q| q.limit as i64),
        ("quota_used_bytes", |q| q.used as i64),
        ("quota_period_end_timestamp_seconds", |q| q.period_end),
    ];
    for (name, value) in quotas {
        family(enc, name, MetricType::Gauge, |m| {
            s.quotas.iter().try_for_each(|q| {
                let labels = [("id", q.id.as_str()), ("rule", q.rule.as_str())];
                m.encode_family(&labels)?.encode_gauge(&value(q))
            })
        })?;
    }
    Ok(())
}

/// A family's name after the prefix and its value for one item.
type Field<T, V> = (&'static str, fn(&T) -> V);

/// One family: its descriptor (`pve_traffic_` + `name`), then what `samples` writes.
fn family(
    enc: &mut DescriptorEncoder,
    name: &str,
    kind: MetricType,
    samples: impl FnOnce(&mut MetricEncoder) -> fmt::Result,
) -> fmt::Result {
    let full = format!("{}_{name}", metrics::PREFIX);
    samples(&mut enc.encode_descriptor(&full, help(name), None, kind)?)
}

fn per_guest_gauge(
    enc: &mut DescriptorEncoder,
    s: &Snapshot,
    name: &str,
    value: fn(&GuestSnapshot) -> i64,
) -> fmt::Result {
    family(enc, name, MetricType::Gauge, |m| {
        s.guests.iter().try_for_each(|g| {
            m.encode_family(&[("id", g.id.as_str())])?
                .encode_gauge(&value(g))
        })
    })
}

fn counter(m: &mut MetricEncoder, labels: &impl EncodeLabelSet, v: u64) -> fmt::Result {
    m.encode_family(labels)?
        .encode_counter::<NoLabelSet, _, u64>(&v, None)
}

type Labels<const N: usize> = [(&'static str, String); N];
type IntGauge = Gauge<i64>;
type U64Gauge = Gauge<u64, AtomicU64>;
type F64Gauge = Gauge<f64, AtomicU64>;

/// The registered families, as an exporter instrumented the crate's usual way would keep
/// them, and what it sets after each poll.
struct Families {
    up: IntGauge,
    last_poll: F64Gauge,
    poll_duration: F64Gauge,
    poll_errors: Family<Labels<1>, Counter>,
    discarded: Family<Labels<1>, Counter>,
    info: Family<Labels<6>, IntGauge>,
    running: Family<Labels<1>, IntGauge>,
    stats_age: Family<Labels<1>, F64Gauge>,
    totals: [Family<Labels<1>, Counter>; 3],
    periods: [Family<Labels<2>, U64Gauge>; 2],
    quotas: [Family<Labels<2>, IntGauge>; 3],
}

fn family_registry() -> (Registry, Families) {
    let f = Families {
        up: Default::default(),
        last_poll: Default::default(),
        poll_duration: Default::default(),
        poll_errors: Default::default(),
        discarded: Default::default(),
        info: Default::default(),
        running: Default::default(),
        stats_age: Default::default(),
        totals: Default::default(),
        periods: Default::default(),
        quotas: Default::default(),
    };
    let mut r = Registry::with_prefix(metrics::PREFIX);
    register(&mut r, "up", f.up.clone());
    register(&mut r, "last_poll_timestamp_seconds", f.last_poll.clone());
    register(&mut r, "poll_duration_seconds", f.poll_duration.clone());
    register(&mut r, "poll_errors", f.poll_errors.clone());
    register(&mut r, "discarded_deltas", f.discarded.clone());
    register(&mut r, "guest_info", f.info.clone());
    register(&mut r, "guest_running", f.running.clone());
    register(&mut r, "guest_stats_age_seconds", f.stats_age.clone());
    for (name, m) in ["receive_bytes", "transmit_bytes", "guest_resets"]
        .iter()
        .zip(&f.totals)
    {
        register(&mut r, name, m.clone());
    }
    for (name, m) in ["period_receive_bytes", "period_transmit_bytes"]
        .iter()
        .zip(&f.periods)
    {
        register(&mut r, name, m.clone());
    }
    let quota_names = [
        "quota_limit_bytes",
        "quota_used_bytes",
        "quota_period_end_timestamp_seconds",
    ];
    for (name, m) in quota_names.iter().zip(&f.quotas) {
        register(&mut r, name, m.clone());
    }
    (r, f)
}

/// `register` appends a full stop to the HELP text.
fn register(r: &mut Registry, name: &str, metric: impl Metric) {
    r.register(name, help(name).trim_end_matches('.'), metric)
}

impl Families {
    /// Sets every value from the snapshot (counters by their increase since the last set).
    fn update(&self, s: &Snapshot) {
        self.up.set(s.up as i64);
        self.last_poll
            .set(s.last_poll_ms.map_or(0.0, |ms| ms as f64 / 1000.0));
        self.poll_duration.set(s.poll_duration);
        for (family, by_reason) in [
            (&self.poll_errors, &s.poll_errors),
            (&self.discarded, &s.discarded),
        ] {
            for (reason, n) in by_reason {
                raise(&family.get_or_create(&[("reason", reason.clone())]), *n);
            }
        }
        for g in &s.guests {
            let id = || [("id", g.id.clone())];
            let info = [
                ("id", g.id.clone()),
                ("name", g.name.clone()),
                ("node", g.node.clone()),
                ("guest_type", g.guest_type.as_str().to_string()),
                ("tags", g.tags.clone()),
                ("template", if g.template { "1" } else { "0" }.to_string()),
            ];
            self.info.get_or_create(&info).set(1);
            self.running.get_or_create(&id()).set(g.running as i64);
            self.stats_age.get_or_create(&id()).set(g.stats_age);
            for (family, v) in self.totals.iter().zip([g.rx_total, g.tx_total, g.resets]) {
                raise(&family.get_or_create(&id()), v);
            }
            for (period, (r, t)) in PERIODS.iter().zip(g.periods) {
                let labels = [("id", g.id.clone()), ("period", period.to_string())];
                self.periods[0].get_or_create(&labels).set(r);
                self.periods[1].get_or_create(&labels).set(t);
            }
        }
        for q in &s.quotas {
            let labels = [("id", q.id.clone()), ("rule", q.rule.clone())];
            for (family, v) in self
                .quotas
                .iter()
                .zip([q.limit as i64, q.used as i64, q.period_end])
            {
                family.get_or_create(&labels).set(v);
            }
        }
    }
}

/// A counter only goes up: add what `total` has over it.
fn raise(c: &Counter, total: u64) {
    c.inc_by(total.saturating_sub(c.get()));
}

/// `ours` and `theirs` hold the same families (same HELP and TYPE lines) and the same samples
/// with equal values; in the same order if `ordered`, else as sets within each family.
fn assert_same_exposition(ours: &str, theirs: &str, ordered: bool) {
    let (a, b) = (normalised(ours, ordered), normalised(theirs, ordered));
    assert_eq!(a.len(), b.len(), "line counts differ");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
}

/// Each line as (text before the value, value as a number); comment lines whole. Unordered:
/// samples sorted within each family.
fn normalised(text: &str, ordered: bool) -> Vec<(String, Option<f64>)> {
    let mut out: Vec<(String, Option<f64>)> = Vec::new();
    let mut family_start = 0;
    for line in text.lines() {
        if line.starts_with('#') {
            if !ordered {
                out[family_start..].sort_by(|x, y| x.0.cmp(&y.0));
            }
            out.push((line.to_string(), None));
            family_start = out.len();
        } else {
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            out.push((series.to_string(), Some(value.parse().expect("a number"))));
        }
    }
    out
}
