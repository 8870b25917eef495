//! What to draw, in neutral terms: titles, labels and byte counts.
//!
//! The report layer builds these from the store; this crate knows nothing about guests' state,
//! PVE or time zones. Labels arrive already formatted, so every output format shows the same
//! text and the same chart definition serves HTML, SVG and PNG alike.

/// A chart to draw.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartSpec {
    /// One guest (or a quota statement) over time.
    TimeSeries(TimeSeries),
    /// All guests ranked by traffic.
    Ranking(Ranking),
}

impl ChartSpec {
    /// The main title, whichever kind of chart this is.
    pub fn title(&self) -> &str {
        match self {
            ChartSpec::TimeSeries(s) => &s.title,
            ChartSpec::Ranking(r) => &r.title,
        }
    }
}

/// Time series of one guest, or a quota statement when `limit` is set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeSeries {
    /// Main title, e.g. "web-01 (100)".
    pub title: String,
    /// Subtitle, e.g. "2026-11-01 00:00 – 2026-12-01 00:00 (Europe/Berlin)".
    pub subtitle: String,
    /// One x label per bucket, already formatted in the report's time zone.
    pub labels: Vec<String>,
    /// Download bytes per bucket; `None` when the report's direction excludes it.
    pub rx: Option<Vec<u64>>,
    /// Upload bytes per bucket; `None` when the report's direction excludes it.
    pub tx: Option<Vec<u64>>,
    /// Download + upload bytes per bucket; `None` when not wanted.
    pub total: Option<Vec<u64>>,
    /// Draw running sums instead of per-bucket values (quota statements).
    pub cumulative: bool,
    /// A quota limit in bytes, drawn as a dashed line.
    pub limit: Option<u64>,
    /// Summary rows shown under the chart, e.g. `("Download", 1_234_567)`.
    pub totals: Vec<(String, u64)>,
}

/// Ranking of all guests: the top `top_n` as bars, every row in the HTML table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ranking {
    /// Main title, e.g. "Traffic by guest".
    pub title: String,
    /// Subtitle, e.g. the period and its time zone.
    pub subtitle: String,
    /// All guests, already sorted (largest first).
    pub rows: Vec<RankRow>,
    /// How many of the first rows the chart draws as bars.
    pub top_n: usize,
}

/// One guest's traffic in a [`Ranking`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RankRow {
    /// PVE guest id.
    pub vmid: u32,
    /// Guest name as PVE reports it (any text: it is escaped wherever it is shown).
    pub name: String,
    /// Download bytes in the period.
    pub rx: u64,
    /// Upload bytes in the period.
    pub tx: u64,
}

impl RankRow {
    /// Download + upload bytes (saturating: no sum of real traffic reaches 16 EiB).
    pub fn total(&self) -> u64 {
        self.rx.saturating_add(self.tx)
    }
}
