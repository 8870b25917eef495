//! Per-guest round-robin history, answering `GET /nodes/{node}/{qemu|lxc}/{vmid}/rrddata`.
//!
//! Real PVE keeps one RRD file per guest: `pvestatd` feeds it every 60-second step, rrdtool
//! consolidates the steps into coarser rows (AVERAGE and MAX), and the `rrddata` handler
//! (`PVE::RRD::create_rrd_data`) fetches a fixed number of rows ending just before the
//! current row. Clients read `netin`/`netout` there as DERIVE *rates* (bytes per second), so
//! the simulator must reproduce the row layout, the rates and the unknown rows exactly,
//! or a client that works against pve-sim will misreport on a real cluster.
//!
//! This module only keeps and consolidates history. It does not know guests, nodes or time:
//! the simulator's traffic model calls [`Rrd::record`] once per 60-s step with what the guest
//! did, and the API handler calls [`Rrd::rows`] with "now" and the current gauges
//! (`maxcpu`, `maxmem`, …). Parameter checking beyond [`Timeframe`] and [`Cf`] parsing,
//! privileges and JSON envelopes belong to the handler.
//!
//! Memory matters more than speed: a scenario may hold 10,000 guests. So archives are
//! allocated lazily and grow as steps arrive (never beyond their capacity), rows store byte
//! sums and counts rather than both consolidation functions' values, and timeframes that
//! share a resolution share one archive, as PVE 9's RRAs do (hour and day are both 60 s).

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

/// The primary data point length: `pvestatd` feeds the RRD, and the RRD steps, every 60 s.
const STEP: u64 = 60;

/// Names of the DERIVE data sources, in the order rows store them.
const COUNTERS: [&str; 4] = ["netin", "netout", "diskread", "diskwrite"];

/// `mem` value of a 60-s row whose step was recorded as unknown. Real memory never reaches
/// it (record clamps below it), and a sentinel keeps [`StepRow`] at 48 bytes.
const UNKNOWN_MEM: u64 = u64::MAX;

/// Which PVE generation's RRD layout to imitate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RrdLayout {
    /// PVE ≤ 8.x `pve2-vm` files: hour 60 s × 70, day 1800 s × 70, week 10800 s × 70,
    /// month 43200 s × 70, year 604800 s × 70.
    Pve8,
    /// PVE 9.x with pve-cluster ≥ 9.0.7: hour 60 s × 60, day 60 s × 1440, week 1800 s × 336,
    /// month 1800 s × 1440, year 21600 s × 1440; a trailing row holding only `time` is
    /// dropped ("fix #6615").
    Pve9,
}

impl RrdLayout {
    /// `(resolution in seconds, row count)` that `rrddata` returns for `timeframe`.
    ///
    /// This table is the single definition of the layout: the archives an [`Rrd`] keeps
    /// are derived from it.
    pub const fn shape(self, timeframe: Timeframe) -> (u64, usize) {
        match (self, timeframe) {
            (RrdLayout::Pve8, Timeframe::Hour) => (60, 70),
            (RrdLayout::Pve8, Timeframe::Day) => (1800, 70),
            (RrdLayout::Pve8, Timeframe::Week) => (10800, 70),
            (RrdLayout::Pve8, Timeframe::Month) => (43200, 70),
            (RrdLayout::Pve8, Timeframe::Year) => (604800, 70),
            (RrdLayout::Pve9, Timeframe::Hour) => (60, 60),
            (RrdLayout::Pve9, Timeframe::Day) => (60, 1440),
            (RrdLayout::Pve9, Timeframe::Week) => (1800, 336),
            (RrdLayout::Pve9, Timeframe::Month) => (1800, 1440),
            (RrdLayout::Pve9, Timeframe::Year) => (21600, 1440),
        }
    }
}

/// The `timeframe` parameter of `rrddata`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeframe {
    /// `hour`
    Hour,
    /// `day`
    Day,
    /// `week`
    Week,
    /// `month`
    Month,
    /// `year`
    Year,
}

impl Timeframe {
    /// Every timeframe, in the order PVE's schema lists them.
    pub const ALL: [Timeframe; 5] = [
        Timeframe::Hour,
        Timeframe::Day,
        Timeframe::Week,
        Timeframe::Month,
        Timeframe::Year,
    ];

    /// The parameter value, e.g. `"hour"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Timeframe::Hour => "hour",
            Timeframe::Day => "day",
            Timeframe::Week => "week",
            Timeframe::Month => "month",
            Timeframe::Year => "year",
        }
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Timeframe {
    type Err = ParseEnumError;

    /// Parses exactly as PVE's schema does: lower case only.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timeframe::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ParseEnumError {
                value: s.to_owned(),
                enumeration: "hour, day, week, month, year",
            })
    }
}

/// The `cf` (consolidation function) parameter of `rrddata`; PVE defaults to `AVERAGE`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cf {
    /// `AVERAGE`: the mean of the row's known 60-s steps.
    #[default]
    Average,
    /// `MAX`: the largest of the row's known 60-s steps.
    Max,
}

impl Cf {
    /// The parameter value, `"AVERAGE"` or `"MAX"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Cf::Average => "AVERAGE",
            Cf::Max => "MAX",
        }
    }
}

impl fmt::Display for Cf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Cf {
    type Err = ParseEnumError;

    /// Parses exactly as PVE's schema does: upper case only.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Cf::Average, Cf::Max]
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| ParseEnumError {
                value: s.to_owned(),
                enumeration: "AVERAGE, MAX",
            })
    }
}

/// A `timeframe` or `cf` value outside PVE's enumeration.
///
/// Its `Display` is PVE's own per-parameter message, so the handler can put it as is under
/// `errors.<param>` of a `400 Parameter verification failed.` (see `api::response`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseEnumError {
    /// The rejected value, as the client sent it.
    pub value: String,
    /// The accepted values, comma-separated as PVE prints them.
    pub enumeration: &'static str,
}

impl fmt::Display for ParseEnumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "value '{}' does not have a value in the enumeration '{}'",
            self.value, self.enumeration
        )
    }
}

impl std::error::Error for ParseEnumError {}

/// What one guest did during one 60-second step. Built by the simulator's traffic model.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepSample {
    /// Bytes sent to the guest during the step (host TX of its tap/veth devices).
    pub netin: u64,
    /// Bytes sent by the guest during the step (host RX of its tap/veth devices).
    pub netout: u64,
    /// Bytes the guest read from its disks during the step.
    pub diskread: u64,
    /// Bytes the guest wrote to its disks during the step.
    pub diskwrite: u64,
    /// CPU usage as a fraction of `maxcpu` (PVE's `cpu` gauge), averaged over the step.
    pub cpu: f64,
    /// Memory in use, in bytes (PVE's `mem` gauge).
    pub mem: u64,
}

/// One guest's history.
///
/// Holds one 60-s archive and, per coarser resolution of the layout, one consolidated
/// archive; each keeps at most the largest row count any timeframe asks of it (PVE 9's
/// 60-s archive serves hour and day, so it holds 1440 rows). Rows are stored only for steps
/// that were recorded, so a guest that exists for an hour costs about an hour of rows.
#[derive(Clone, Debug)]
pub struct Rrd {
    /// Decides resolutions, capacities and the fix #6615 row drop.
    layout: RrdLayout,
    /// One row per recorded step: the 60-s rows of hour (and PVE 9's day).
    fine: Archive<StepRow>,
    /// Consolidated archives, one per resolution above 60 s, in increasing resolution.
    coarse: Vec<Archive<ConsRow>>,
    /// Start of the newest recorded step; later records must be newer. It also tells which
    /// consolidated rows are complete, as rrdtool writes a row only once its last step is in.
    last_step: Option<u64>,
}

impl Rrd {
    /// An empty history laid out like `layout`; it allocates no rows until steps arrive.
    pub fn new(layout: RrdLayout) -> Self {
        let mut fine_cap = 0;
        let mut coarse: Vec<Archive<ConsRow>> = Vec::new();
        for tf in Timeframe::ALL {
            let (reso, count) = layout.shape(tf);
            if reso == STEP {
                fine_cap = fine_cap.max(count);
            } else if let Some(a) = coarse.iter_mut().find(|a| a.reso == reso) {
                a.cap = a.cap.max(count);
            } else {
                coarse.push(Archive::new(reso, count));
            }
        }
        coarse.sort_by_key(|a| a.reso);
        Rrd {
            layout,
            fine: Archive::new(STEP, fine_cap),
            coarse,
            last_step: None,
        }
    }

    /// The layout this history imitates.
    pub fn layout(&self) -> RrdLayout {
        self.layout
    }

    /// Record the 60-s step starting at `step_start` (epoch seconds, multiple of 60; steps
    /// arrive in increasing order, gaps allowed = unknown). `None` = unknown (guest stopped,
    /// or its counters reset during the step: DERIVE cannot compute a rate across a reset).
    ///
    /// A `None` step still counts as "fed": like `pvestatd` for a stopped guest, it makes the
    /// row carry the caller's fixed gauges, only the measured fields are absent. A step never
    /// recorded at all leaves its row holding only `time`.
    ///
    /// `step_start` is rounded down to a multiple of 60. A step not newer than the last one
    /// recorded is ignored, as rrdtool refuses an update that is not newer ("illegal attempt
    /// to update using time … when last update time is …"). Cost: one row per archive.
    pub fn record(&mut self, step_start: u64, sample: Option<StepSample>) {
        let step = step_start / STEP * STEP;
        if self.last_step.is_some_and(|last| step <= last) {
            return;
        }
        self.last_step = Some(step);
        let sample = sample.as_ref();
        self.fine.row_mut(step).set(sample);
        for archive in &mut self.coarse {
            archive.row_mut(step).add(sample);
        }
    }

    /// The rows PVE would return for `timeframe`/`cf` at time `now` (epoch s).
    ///
    /// Ascending `time` aligned to the resolution, the table's row count (see
    /// [`RrdLayout::shape`]), ending with the last complete row: PVE fetches up to
    /// `floor(now/reso)*reso - 1`, so the last row starts at `floor(now/reso)*reso - reso`.
    /// A row's `time` is the start of the interval it covers.
    ///
    /// Each row is a JSON object holding `time`, then, if at least half of the row's steps
    /// were recorded, the gauges in `fixed` (e.g. `maxcpu`, `maxmem`, `maxdisk`, `disk`;
    /// the guest's current values, given by the caller), then `cpu`, `mem`, `netin`,
    /// `netout`, `diskread`, `diskwrite` if at least half of its steps are known (rrdtool's
    /// xff 0.5), averaged over the known steps. netin/netout/diskread/diskwrite are DERIVE
    /// rates in bytes per second: the average over the row ([`Cf::Average`]) or the largest
    /// 60-s rate in it ([`Cf::Max`]); `cpu` and `mem` likewise. A consolidated row whose
    /// last step is not recorded yet holds only `time`: rrdtool has not written it.
    ///
    /// With [`RrdLayout::Pve9`], a last row holding only `time` is dropped (pve-cluster
    /// 9.0.7, "fix #6615"). Numbers are emitted as Perl's JSON encoder prints them: 15
    /// significant digits, and integral values without a fraction (`"diskread":0`).
    ///
    /// If `now` is so small that the range would start before the epoch, rows start at 0.
    pub fn rows(
        &self,
        timeframe: Timeframe,
        cf: Cf,
        now: u64,
        fixed: &Map<String, Value>,
    ) -> Vec<Value> {
        let (reso, count) = self.layout.shape(timeframe);
        let end = now / reso * reso;
        let first = end.saturating_sub(reso * count as u64);
        let cells: Vec<(u64, Cell)> = if reso == STEP {
            self.fine
                .window(first, end)
                .map(|(t, row)| (t, row.map_or(Cell::Empty, StepRow::cell)))
                .collect()
        } else {
            let archive = self
                .coarse
                .iter()
                .find(|a| a.reso == reso)
                .expect("Rrd::new builds an archive for every resolution of the layout");
            // rrdtool writes a consolidated row when its last primary data point is in.
            let written_until = self.last_step.map_or(0, |last| last + STEP);
            archive
                .window(first, end)
                .map(|(t, row)| {
                    let cell = match row {
                        Some(row) if t + reso <= written_until => row.cell(cf, reso / STEP),
                        _ => Cell::Empty,
                    };
                    (t, cell)
                })
                .collect()
        };
        let mut out: Vec<Value> = cells
            .into_iter()
            .map(|(t, cell)| cell.into_json(t, fixed))
            .collect();
        if self.layout == RrdLayout::Pve9
            && out
                .last()
                .and_then(Value::as_object)
                .is_some_and(|o| o.len() == 1)
        {
            out.pop();
        }
        out
    }
}

/// A ring of rows at one resolution, oldest first, holding only rows that were fed.
///
/// Rows carry their slot (`time / reso`), so a stopped-and-forgotten stretch costs nothing
/// and a gap costs no filler rows: `record` stays O(1) per archive whatever the gap.
#[derive(Clone, Debug)]
struct Archive<R> {
    /// Seconds per row.
    reso: u64,
    /// Most rows kept; as in rrdtool, rows older than `cap` rows before the newest are gone.
    cap: usize,
    /// Fed rows in increasing slot order; never longer than `cap`.
    rows: VecDeque<R>,
}

impl<R: Row> Archive<R> {
    fn new(reso: u64, cap: usize) -> Self {
        Archive {
            reso,
            cap,
            rows: VecDeque::new(),
        }
    }

    /// The row covering `time`, created (and the oldest rows dropped) if it is new.
    /// `time` must not be older than the newest row.
    fn row_mut(&mut self, time: u64) -> &mut R {
        let slot = slot_of(time, self.reso);
        if self.rows.back().map(R::slot) != Some(slot) {
            let cap = self.cap as u64;
            while self
                .rows
                .front()
                .is_some_and(|r| u64::from(r.slot()) + cap <= u64::from(slot))
            {
                self.rows.pop_front();
            }
            // Grow by doubling but never past `cap`: VecDeque's own growth would round
            // 1440 rows up to 2048, wasting 30% of the largest allocation.
            let len = self.rows.len();
            if len == self.rows.capacity() {
                self.rows.reserve_exact(len.max(4).min(self.cap - len));
            }
            self.rows.push_back(R::new(slot));
        }
        self.rows.back_mut().expect("a row was just ensured")
    }

    /// `(time, row)` for every row time in `[first, end)`, `None` where nothing was fed.
    fn window(&self, first: u64, end: u64) -> impl Iterator<Item = (u64, Option<&R>)> + '_ {
        let reso = self.reso;
        let first_slot = slot_of(first, reso);
        let start = self.rows.partition_point(|r| r.slot() < first_slot);
        let mut stored = self.rows.range(start..).peekable();
        (first..end).step_by(reso as usize).map(move |t| {
            let slot = slot_of(t, reso);
            let row = stored.next_if(|r| r.slot() == slot);
            (t, row)
        })
    }
}

/// Row index of `time`. Saturates after the year 10000, where the simulator does not go.
fn slot_of(time: u64, reso: u64) -> u32 {
    u32::try_from(time / reso).unwrap_or(u32::MAX)
}

/// What both archive kinds' rows do.
trait Row {
    fn new(slot: u32) -> Self;
    fn slot(&self) -> u32;
}

/// One 60-s step: the values themselves (48 bytes). AVERAGE and MAX of a single primary
/// data point are the same value, so one copy serves both.
#[derive(Clone, Debug)]
struct StepRow {
    slot: u32,
    /// `cpu` gauge; f32 is finer than the percentage precision anyone reads.
    cpu: f32,
    /// Bytes moved in the step, per [`COUNTERS`]; kept exact so rate × 60 gives them back.
    bytes: [u64; 4],
    /// `mem` gauge, or [`UNKNOWN_MEM`] when the step was fed as unknown.
    mem: u64,
}

impl Row for StepRow {
    fn new(slot: u32) -> Self {
        StepRow {
            slot,
            cpu: 0.0,
            bytes: [0; 4],
            mem: UNKNOWN_MEM,
        }
    }

    fn slot(&self) -> u32 {
        self.slot
    }
}

impl StepRow {
    fn set(&mut self, sample: Option<&StepSample>) {
        if let Some(s) = sample {
            self.cpu = s.cpu as f32;
            self.bytes = [s.netin, s.netout, s.diskread, s.diskwrite];
            self.mem = s.mem.min(UNKNOWN_MEM - 1);
        }
    }

    fn cell(&self) -> Cell {
        if self.mem == UNKNOWN_MEM {
            return Cell::Gauges;
        }
        Cell::Known(Values {
            cpu: f64::from(self.cpu),
            mem: self.mem as f64,
            rates: self.bytes.map(|b| b as f64 / STEP as f64),
        })
    }
}

/// One consolidated row: what is needed for both AVERAGE and MAX (104 bytes), instead of
/// the two rows rrdtool keeps.
#[derive(Clone, Debug)]
struct ConsRow {
    slot: u32,
    /// Steps fed (known or not): decides whether the fixed gauges are known.
    seen: u16,
    /// Steps fed with a sample: decides, by xff 0.5, whether the values are known.
    known: u16,
    /// Largest `cpu` of a known step.
    cpu_max: f32,
    /// Sum of `cpu` over known steps.
    cpu_sum: f64,
    /// Sum of bytes over known steps, per [`COUNTERS`].
    bytes_sum: [u64; 4],
    /// Most bytes in one known step, per [`COUNTERS`].
    bytes_max: [u64; 4],
    /// Sum of `mem` over known steps (saturating; it would need petabytes of RAM).
    mem_sum: u64,
    /// Largest `mem` of a known step.
    mem_max: u64,
}

impl Row for ConsRow {
    fn new(slot: u32) -> Self {
        ConsRow {
            slot,
            seen: 0,
            known: 0,
            cpu_max: 0.0,
            cpu_sum: 0.0,
            bytes_sum: [0; 4],
            bytes_max: [0; 4],
            mem_sum: 0,
            mem_max: 0,
        }
    }

    fn slot(&self) -> u32 {
        self.slot
    }
}

impl ConsRow {
    fn add(&mut self, sample: Option<&StepSample>) {
        self.seen = self.seen.saturating_add(1);
        let Some(s) = sample else { return };
        self.known = self.known.saturating_add(1);
        self.cpu_sum += s.cpu;
        self.cpu_max = self.cpu_max.max(s.cpu as f32);
        let bytes = [s.netin, s.netout, s.diskread, s.diskwrite];
        for (i, b) in bytes.into_iter().enumerate() {
            self.bytes_sum[i] = self.bytes_sum[i].saturating_add(b);
            self.bytes_max[i] = self.bytes_max[i].max(b);
        }
        self.mem_sum = self.mem_sum.saturating_add(s.mem);
        self.mem_max = self.mem_max.max(s.mem);
    }

    /// The row as `fetch` would show it, given how many steps make a row.
    fn cell(&self, cf: Cf, steps: u64) -> Cell {
        // xff 0.5: a row is unknown when more than half of its steps are.
        if u64::from(self.seen) * 2 < steps {
            return Cell::Empty;
        }
        if u64::from(self.known) * 2 < steps {
            return Cell::Gauges;
        }
        let known = f64::from(self.known);
        let step = STEP as f64;
        Cell::Known(match cf {
            Cf::Average => Values {
                cpu: self.cpu_sum / known,
                mem: self.mem_sum as f64 / known,
                rates: self.bytes_sum.map(|b| b as f64 / step / known),
            },
            Cf::Max => Values {
                cpu: f64::from(self.cpu_max),
                mem: self.mem_max as f64,
                rates: self.bytes_max.map(|b| b as f64 / step),
            },
        })
    }
}

/// How much of one returned row is known.
enum Cell {
    /// Nothing: only `time`.
    Empty,
    /// The guest was fed but not measured (stopped, counter reset): `time` and fixed gauges.
    Gauges,
    /// Everything.
    Known(Values),
}

/// The measured fields of a known row, already consolidated.
struct Values {
    cpu: f64,
    mem: f64,
    /// Bytes per second, per [`COUNTERS`].
    rates: [f64; 4],
}

impl Cell {
    fn into_json(self, time: u64, fixed: &Map<String, Value>) -> Value {
        let mut row = Map::new();
        row.insert("time".to_owned(), Value::from(time));
        if !matches!(self, Cell::Empty) {
            for (k, v) in fixed {
                if k != "time" {
                    row.insert(k.clone(), v.clone());
                }
            }
        }
        if let Cell::Known(v) = self {
            row.insert("cpu".to_owned(), perl_number(v.cpu));
            row.insert("mem".to_owned(), perl_number(v.mem));
            for (name, rate) in COUNTERS.into_iter().zip(v.rates) {
                row.insert(name.to_owned(), perl_number(rate));
            }
        }
        Value::Object(row)
    }
}

/// `v` as PVE's JSON encoder prints an RRD value: Perl numbers carry 15 significant digits
/// (`10240.5333333333`), and integral values print without a fraction (`0`, not `0.0`).
fn perl_number(v: f64) -> Value {
    let v: f64 = format!("{v:.14e}").parse().unwrap_or(v);
    if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
        Value::from(v as i64)
    } else {
        Value::from(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A Monday 00:00 UTC, a multiple of every resolution except the 7-day one.
    const T0: u64 = 1_717_977_600;

    fn sample(netin: u64) -> StepSample {
        StepSample {
            netin,
            netout: netin / 2,
            diskread: 0,
            diskwrite: 4096,
            cpu: 0.25,
            mem: 1 << 30,
        }
    }

    fn fixed() -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("maxcpu".to_owned(), Value::from(2));
        m.insert("maxmem".to_owned(), Value::from(2_147_483_648_u64));
        m
    }

    fn f(row: &Value, key: &str) -> Option<f64> {
        row.get(key).map(|v| v.as_f64().expect("numeric field"))
    }

    /// Equal up to the 15 significant digits Perl prints.
    fn approx(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-13 * a.abs().max(b.abs()).max(1.0)
    }

    fn time(row: &Value) -> u64 {
        row["time"].as_u64().expect("time")
    }

    fn row_at(rows: &[Value], t: u64) -> &Value {
        rows.iter()
            .find(|r| time(r) == t)
            .unwrap_or_else(|| panic!("no row at {t}"))
    }

    #[test]
    fn known_60s_row_rate_is_bytes_over_60() {
        let mut rrd = Rrd::new(RrdLayout::Pve8);
        rrd.record(T0, Some(sample(6_000)));
        let rows = rrd.rows(Timeframe::Hour, Cf::Average, T0 + 60, &fixed());
        let last = rows.last().unwrap();
        assert_eq!(time(last), T0);
        assert_eq!(f(last, "netin"), Some(100.0));
        assert_eq!(f(last, "netout"), Some(50.0));
        assert!(approx(f(last, "diskwrite").unwrap(), 4096.0 / 60.0));
        assert_eq!(f(last, "diskread"), Some(0.0));
        assert_eq!(f(last, "cpu"), Some(0.25));
        assert_eq!(f(last, "mem"), Some((1u64 << 30) as f64));
        assert_eq!(f(last, "maxcpu"), Some(2.0));
    }

    #[test]
    fn consolidated_row_averages_its_known_steps() {
        // Pve8 day: 1800-s rows of 30 steps. 20 known steps with netin 60*i, 10 unknown.
        let mut rrd = Rrd::new(RrdLayout::Pve8);
        let mut bytes = 0;
        for i in 0..30 {
            let s = (i % 3 != 0).then(|| StepSample {
                cpu: i as f64 / 100.0,
                mem: 1000 * i,
                ..sample(60 * i)
            });
            if let Some(s) = &s {
                bytes += s.netin;
            }
            rrd.record(T0 + 60 * i, s);
        }
        rrd.record(T0 + 1800, Some(sample(1)));
        let rows = rrd.rows(Timeframe::Day, Cf::Average, T0 + 1800, &fixed());
        let row = rows.last().unwrap();
        assert_eq!(time(row), T0);
        let known: Vec<u64> = (0..30).filter(|i| i % 3 != 0).collect();
        assert_eq!(known.len(), 20);
        let want = bytes as f64 / 60.0 / 20.0;
        assert!((f(row, "netin").unwrap() - want).abs() < 1e-9);
        let cpu = known.iter().map(|&i| i as f64 / 100.0).sum::<f64>() / 20.0;
        assert!((f(row, "cpu").unwrap() - cpu).abs() < 1e-6);
        let mem = known.iter().map(|&i| 1000.0 * i as f64).sum::<f64>() / 20.0;
        assert_eq!(f(row, "mem"), Some(mem));
    }

    #[test]
    fn row_with_fewer_than_half_known_steps_is_unknown() {
        let mut rrd = Rrd::new(RrdLayout::Pve8);
        // Row T0: 14 of 30 known. Row T0+1800: 15 of 30 known (exactly half: known).
        for i in 0..60 {
            let known = if i < 30 { i < 14 } else { i < 45 };
            rrd.record(T0 + 60 * i, known.then(|| sample(600)));
        }
        let rows = rrd.rows(Timeframe::Day, Cf::Average, T0 + 3600, &fixed());
        let unknown = row_at(&rows, T0);
        for key in ["netin", "netout", "diskread", "diskwrite", "cpu", "mem"] {
            assert!(unknown.get(key).is_none(), "{key} in {unknown}");
        }
        // The guest was fed every step, so the fixed gauges are there, as for a stopped VM.
        assert_eq!(f(unknown, "maxcpu"), Some(2.0));
        let half = row_at(&rows, T0 + 1800);
        assert_eq!(f(half, "netin"), Some(10.0));
    }

    #[test]
    fn rows_before_any_data_hold_only_time() {
        let mut rrd = Rrd::new(RrdLayout::Pve8);
        rrd.record(T0, Some(sample(600)));
        let rows = rrd.rows(Timeframe::Hour, Cf::Average, T0 + 60, &fixed());
        assert_eq!(rows.len(), 70);
        for r in &rows[..69] {
            assert_eq!(r.as_object().unwrap().len(), 1, "{r}");
        }
        assert!(rows[69].get("maxcpu").is_some());
    }

    #[test]
    fn cf_max_picks_the_largest_step_rate() {
        let mut rrd = Rrd::new(RrdLayout::Pve9);
        for (i, netin) in [600, 60_000, 6_000, 0].into_iter().enumerate() {
            let s = StepSample {
                cpu: [0.1, 0.9, 0.5, 0.2][i],
                mem: [5, 7, 6, 1][i],
                ..sample(netin)
            };
            rrd.record(T0 + 60 * i as u64, Some(s));
        }
        for i in 4..30 {
            let s = StepSample {
                cpu: 0.3,
                mem: 3,
                ..sample(0)
            };
            rrd.record(T0 + 60 * i, Some(s));
        }
        let rows = rrd.rows(Timeframe::Week, Cf::Max, T0 + 1800, &fixed());
        let row = rows.last().unwrap();
        assert_eq!(time(row), T0);
        assert_eq!(f(row, "netin"), Some(1000.0));
        assert_eq!(f(row, "netout"), Some(500.0));
        assert_eq!(f(row, "mem"), Some(7.0));
        assert!((f(row, "cpu").unwrap() - 0.9).abs() < 1e-6);
        let avg = rrd.rows(Timeframe::Week, Cf::Average, T0 + 1800, &fixed());
        assert!(f(avg.last().unwrap(), "netin").unwrap() < 1000.0);
    }

    #[test]
    fn row_count_and_alignment_for_every_layout_and_timeframe() {
        for layout in [RrdLayout::Pve8, RrdLayout::Pve9] {
            for tf in Timeframe::ALL {
                let (reso, count) = layout.shape(tf);
                let now = T0 + 5 * 604_800 + 12_345;
                let end = now / reso * reso;
                let mut rrd = Rrd::new(layout);
                // Feed the last complete row only.
                let mut t = end - reso;
                while t < end {
                    rrd.record(t, Some(sample(60)));
                    t += 60;
                }
                let rows = rrd.rows(tf, Cf::Average, now, &fixed());
                assert_eq!(rows.len(), count, "{layout:?} {tf}");
                assert_eq!(time(&rows[0]), end - reso * count as u64, "{layout:?} {tf}");
                for (i, r) in rows.iter().enumerate() {
                    assert_eq!(time(r) % reso, 0, "{layout:?} {tf}");
                    assert_eq!(time(r), time(&rows[0]) + reso * i as u64);
                }
                assert_eq!(time(rows.last().unwrap()), end - reso);
                assert_eq!(
                    f(rows.last().unwrap(), "netin"),
                    Some(1.0),
                    "{layout:?} {tf}"
                );
            }
        }
    }

    #[test]
    fn rows_end_with_the_last_complete_row() {
        let mut rrd = Rrd::new(RrdLayout::Pve8);
        for i in 0..100 {
            rrd.record(T0 + 60 * i, Some(sample(60 * i)));
        }
        // now inside the row of step 60 (T0+3600..T0+3660): last row is step 59.
        let rows = rrd.rows(Timeframe::Hour, Cf::Average, T0 + 3600 + 59, &fixed());
        assert_eq!(time(rows.last().unwrap()), T0 + 3540);
        assert_eq!(f(rows.last().unwrap(), "netin"), Some(59.0));
        // Step 60 is recorded but its row is not complete at `now`, so it is not returned.
        assert!(rows.iter().all(|r| time(r) < T0 + 3600));
        // Day rows: now in the third 1800-s row → the second is last.
        let day = rrd.rows(Timeframe::Day, Cf::Average, T0 + 3600 + 59, &fixed());
        assert_eq!(time(day.last().unwrap()), T0 + 1800);
    }

    #[test]
    fn consolidated_row_is_unwritten_until_its_last_step_arrives() {
        let mut rrd = Rrd::new(RrdLayout::Pve8);
        for i in 0..29 {
            rrd.record(T0 + 60 * i, Some(sample(600)));
        }
        let rows = rrd.rows(Timeframe::Day, Cf::Average, T0 + 1800, &fixed());
        assert_eq!(rows.last().unwrap().as_object().unwrap().len(), 1);
        rrd.record(T0 + 60 * 29, None);
        let rows = rrd.rows(Timeframe::Day, Cf::Average, T0 + 1800, &fixed());
        assert_eq!(f(rows.last().unwrap(), "netin"), Some(10.0));
    }

    #[test]
    fn ring_keeps_only_capacity_rows() {
        let mut rrd = Rrd::new(RrdLayout::Pve8);
        for i in 0..3000 {
            rrd.record(T0 + 60 * i, Some(sample(60 * i)));
        }
        assert!(rrd.fine.rows.len() <= 70 && rrd.fine.rows.capacity() <= 70);
        for a in &rrd.coarse {
            assert!(a.rows.len() <= 70 && a.rows.capacity() <= 70, "{}", a.reso);
        }
        let rows = rrd.rows(Timeframe::Hour, Cf::Average, T0 + 60 * 3000, &fixed());
        assert_eq!(rows.len(), 70);
        for (k, r) in rows.iter().enumerate() {
            let i = 3000 - 70 + k as u64;
            assert_eq!(time(r), T0 + 60 * i);
            assert_eq!(f(r, "netin"), Some(i as f64));
        }
        // Asking later still finds nothing older than 70 rows before the newest.
        let later = rrd.rows(Timeframe::Hour, Cf::Average, T0 + 60 * 3030, &fixed());
        assert_eq!(
            later.iter().filter(|r| r.get("netin").is_some()).count(),
            40
        );
    }

    #[test]
    fn pve9_drops_a_trailing_time_only_row() {
        for layout in [RrdLayout::Pve8, RrdLayout::Pve9] {
            let mut rrd = Rrd::new(layout);
            for i in 0..10 {
                rrd.record(T0 + 60 * i, Some(sample(600)));
            }
            // Step 10 not recorded yet: the last complete row holds only time.
            let rows = rrd.rows(Timeframe::Hour, Cf::Average, T0 + 660, &fixed());
            let (_, count) = layout.shape(Timeframe::Hour);
            match layout {
                RrdLayout::Pve8 => {
                    assert_eq!(rows.len(), count);
                    assert_eq!(time(rows.last().unwrap()), T0 + 600);
                }
                RrdLayout::Pve9 => {
                    assert_eq!(rows.len(), count - 1);
                    assert_eq!(time(rows.last().unwrap()), T0 + 540);
                }
            }
            // A stopped guest's row keeps its fixed gauges, so it is not dropped.
            rrd.record(T0 + 600, None);
            let rows = rrd.rows(Timeframe::Hour, Cf::Average, T0 + 660, &fixed());
            assert_eq!(rows.len(), count);
            assert!(rows.last().unwrap().get("netin").is_none());
        }
    }

    #[test]
    fn pve9_hour_and_day_share_one_60s_archive() {
        let rrd = Rrd::new(RrdLayout::Pve9);
        assert_eq!(rrd.fine.cap, 1440);
        let coarse: Vec<(u64, usize)> = rrd.coarse.iter().map(|a| (a.reso, a.cap)).collect();
        assert_eq!(coarse, [(1800, 1440), (21600, 1440)]);
        let rrd = Rrd::new(RrdLayout::Pve8);
        assert_eq!(rrd.coarse.len(), 4);
    }

    #[test]
    fn rows_stay_as_small_as_documented() {
        // 10,000 PVE 9 guests after a simulated day: 1440 step rows and 52 consolidated rows
        // each, about 740 MB; keep an eye on these numbers before adding a field.
        assert_eq!(std::mem::size_of::<StepRow>(), 48);
        assert_eq!(std::mem::size_of::<ConsRow>(), 104);
    }

    #[test]
    fn out_of_order_steps_are_ignored() {
        let mut rrd = Rrd::new(RrdLayout::Pve8);
        rrd.record(T0 + 60, Some(sample(600)));
        rrd.record(T0, Some(sample(6000)));
        rrd.record(T0 + 60, Some(sample(6000)));
        let rows = rrd.rows(Timeframe::Hour, Cf::Average, T0 + 120, &fixed());
        assert_eq!(f(&rows[69], "netin"), Some(10.0));
        assert_eq!(rows[68].as_object().unwrap().len(), 1);
    }

    #[test]
    fn numbers_print_as_perl_does() {
        assert_eq!(perl_number(0.0).to_string(), "0");
        assert_eq!(perl_number(2_147_483_648.0).to_string(), "2147483648");
        assert_eq!(
            perl_number(614_432.0 / 60.0).to_string(),
            "10240.5333333333"
        );
    }

    #[test]
    fn parse_errors_are_pves_messages() {
        assert_eq!("week".parse::<Timeframe>(), Ok(Timeframe::Week));
        assert_eq!("MAX".parse::<Cf>(), Ok(Cf::Max));
        let err = "minute".parse::<Timeframe>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "value 'minute' does not have a value in the enumeration 'hour, day, week, month, year'"
        );
        let err = "max".parse::<Cf>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "value 'max' does not have a value in the enumeration 'AVERAGE, MAX'"
        );
        for tf in Timeframe::ALL {
            assert_eq!(tf.as_str().parse::<Timeframe>(), Ok(tf));
        }
    }

    proptest! {
        /// Bytes are conserved: rate × 60 over the known 60-s rows gives back every byte of
        /// the known steps the 60-s archive still holds.
        #[test]
        fn fine_rows_conserve_bytes(
            pve9 in any::<bool>(),
            steps in prop::collection::vec(
                (1u64..4, prop::option::weighted(0.8, (0u64..1 << 40, 0u64..1 << 40))),
                1..2500,
            ),
        ) {
            let layout = if pve9 { RrdLayout::Pve9 } else { RrdLayout::Pve8 };
            let tf = if pve9 { Timeframe::Day } else { Timeframe::Hour };
            let (_, count) = layout.shape(tf);
            let mut rrd = Rrd::new(layout);
            let mut t = T0;
            let mut fed = Vec::new();
            for (gap, s) in steps {
                t += 60 * gap;
                let s = s.map(|(netin, netout)| StepSample { netin, netout, ..sample(0) });
                rrd.record(t, s);
                fed.push((t, s));
            }
            let oldest = t + 60 - 60 * count as u64;
            let (want_in, want_out) = fed
                .iter()
                .filter(|(st, _)| *st >= oldest)
                .filter_map(|(_, s)| *s)
                .fold((0u64, 0u64), |(a, b), s| (a + s.netin, b + s.netout));
            let rows = rrd.rows(tf, Cf::Average, t + 60, &fixed());
            let got_in: f64 = rows.iter().filter_map(|r| f(r, "netin")).map(|r| r * 60.0).sum();
            let got_out: f64 = rows.iter().filter_map(|r| f(r, "netout")).map(|r| r * 60.0).sum();
            prop_assert!((got_in - want_in as f64).abs() <= 1e-9 * (want_in as f64).max(1.0));
            prop_assert!((got_out - want_out as f64).abs() <= 1e-9 * (want_out as f64).max(1.0));
        }
    }
}
