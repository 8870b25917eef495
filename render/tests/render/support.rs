//! Charts to draw and ways to look at the result.

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

/// A decoded PNG.
pub struct Image {
    pub width: u32,
    pub height: u32,
    /// RGBA, row by row (premultiplied alpha; our images are opaque).
    pub pixels: Vec<u8>,
}

impl Image {
    pub fn decode(png: &[u8]) -> Image {
        let pixmap = resvg::tiny_skia::Pixmap::decode_png(png).expect("the PNG decodes");
        Image {
            width: pixmap.width(),
            height: pixmap.height(),
            pixels: pixmap.data().to_vec(),
        }
    }

    /// The RGB colour at (x, y).
    pub fn rgb(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 4) as usize;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }

    /// How many pixels in the rectangle differ from `colour`.
    pub fn count_not(
        &self,
        colour: [u8; 3],
        x: std::ops::Range<u32>,
        y: std::ops::Range<u32>,
    ) -> usize {
        y.flat_map(|y| x.clone().map(move |x| (x, y)))
            .filter(|&(x, y)| self.rgb(x, y) != colour)
            .count()
    }

    /// How many pixels are within `tolerance` (per channel) of `colour`.
    pub fn count_near(&self, colour: [u8; 3], tolerance: u8) -> usize {
        self.pixels
            .chunks_exact(4)
            .filter(|p| (0..3).all(|c| p[c].abs_diff(colour[c]) <= tolerance))
            .count()
    }
}

/// "#rrggbb" as RGB.
pub fn hex(colour: &str) -> [u8; 3] {
    let byte = |i: usize| u8::from_str_radix(&colour[i..i + 2], 16).unwrap();
    [byte(1), byte(3), byte(5)]
}
