//! Charts to draw, shared by the tests and the benchmark.

use pve_traffic_render::{ChartSpec, RankRow, Ranking, TimeSeries};

/// A guest name that would run script if it were not escaped.
pub const EVIL_NAME: &str = "</script><script>alert(1)</script>";

/// One guest over `points` 5-minute buckets, with a daily rhythm so the lines have shape.
pub fn series(points: usize) -> ChartSpec {
    let rx: Vec<u64> = (0..points)
        .map(|i| 50_000_000 + 40_000_000 * ((i % 288) as u64 * 7 % 288) / 288)
        .collect();
    let tx: Vec<u64> = rx.iter().map(|v| v / 3).collect();
    let total: Vec<u64> = rx.iter().zip(&tx).map(|(a, b)| a + b).collect();
    let labels = (0..points)
        .map(|i| {
            format!(
                "11-{:02} {:02}:{:02}",
                1 + i / 288,
                i % 288 / 12,
                i % 12 * 5
            )
        })
        .collect();
    let sum = |v: &[u64]| v.iter().sum::<u64>();
    ChartSpec::TimeSeries(TimeSeries {
        title: "web-01 (100)".into(),
        subtitle: "2026-11-01 00:00 – 2026-12-01 00:00 (Europe/Berlin)".into(),
        labels,
        totals: vec![
            ("Download".into(), sum(&rx)),
            ("Upload".into(), sum(&tx)),
            ("Total".into(), sum(&total)),
        ],
        rx: Some(rx),
        tx: Some(tx),
        total: Some(total),
        cumulative: false,
        limit: None,
    })
}

/// `guests` guests ranked largest first; guest 3 has [`EVIL_NAME`].
pub fn ranking(guests: u32, top_n: usize) -> ChartSpec {
    let rows = (0..guests)
        .map(|i| RankRow {
            vmid: 100 + i,
            name: if i == 3 {
                EVIL_NAME.into()
            } else {
                format!("guest-{i}")
            },
            rx: u64::from(guests - i) * 3_000_000_000,
            tx: u64::from(guests - i) * 1_000_000_000,
        })
        .collect();
    ChartSpec::Ranking(Ranking {
        title: "Traffic by guest".into(),
        subtitle: "November 2026 (Europe/Berlin)".into(),
        rows,
        top_n,
    })
}
