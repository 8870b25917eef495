//! The colours of every chart, one palette per theme.
//!
//! HTML, SVG and PNG all take their colours from here (through the one chart definition), so
//! a guest's download is the same blue in a browser and in a mailed PNG. The series colours
//! differ in hue and in lightness, so they stay apart for colour-blind readers and in print.

/// Light (default) or dark (`--dark`) rendering.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Theme {
    /// Dark text on white.
    #[default]
    Light,
    /// Light text on a near-black background.
    Dark,
}

/// CSS colours (`#rrggbb`) of one theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    /// Download (rx) series and bars.
    pub rx: &'static str,
    /// Upload (tx) series and bars.
    pub tx: &'static str,
    /// Download + upload series.
    pub total: &'static str,
    /// Quota limit line.
    pub limit: &'static str,
    /// Page and chart background.
    pub background: &'static str,
    /// Titles, labels and table text.
    pub text: &'static str,
    /// Secondary text: subtitles, axis labels.
    pub muted: &'static str,
    /// Grid lines, axis lines and table rules.
    pub grid: &'static str,
}

/// The palette of `theme`.
pub fn palette(theme: Theme) -> Palette {
    match theme {
        Theme::Light => Palette {
            rx: "#2563eb",
            tx: "#ea580c",
            total: "#059669",
            limit: "#dc2626",
            background: "#ffffff",
            text: "#111827",
            muted: "#4b5563",
            grid: "#e5e7eb",
        },
        Theme::Dark => Palette {
            rx: "#60a5fa",
            tx: "#fb923c",
            total: "#34d399",
            limit: "#f87171",
            background: "#111827",
            text: "#f3f4f6",
            muted: "#9ca3af",
            grid: "#374151",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_themes_differ_in_every_colour() {
        let (l, d) = (palette(Theme::Light), palette(Theme::Dark));
        let light = [
            l.rx,
            l.tx,
            l.total,
            l.limit,
            l.background,
            l.text,
            l.muted,
            l.grid,
        ];
        let dark = [
            d.rx,
            d.tx,
            d.total,
            d.limit,
            d.background,
            d.text,
            d.muted,
            d.grid,
        ];
        for (a, b) in light.iter().zip(dark) {
            assert_ne!(*a, b);
        }
    }

    #[test]
    fn series_colours_are_distinct_within_a_theme() {
        for theme in [Theme::Light, Theme::Dark] {
            let p = palette(theme);
            let series = [p.rx, p.tx, p.total, p.limit, p.background];
            for (i, a) in series.iter().enumerate() {
                for b in &series[i + 1..] {
                    assert_ne!(a, b, "{theme:?}");
                }
            }
        }
    }
}
