//! All guests ranked: the top N as stacked download/upload bars (largest on top), the sums
//! over every guest in the footer. The full table is the HTML page's job.

use charming::element::{AxisLabel, ItemStyle};
use charming::series::Bar;
use pve_traffic_units::format_bytes;

use super::style::{self, Unit};
use super::Definition;
use crate::{Palette, RankRow, Ranking};

/// Longest guest label on the axis, in characters; longer names are cut with "…" (the HTML
/// table shows them whole).
const MAX_LABEL_CHARS: usize = 28;

/// The chart of `ranking`.
pub(super) fn definition(ranking: &Ranking, palette: &Palette) -> Definition {
    let top = &ranking.rows[..ranking.top_n.min(ranking.rows.len())];
    let unit = Unit::for_max(top.iter().map(RankRow::total).max().unwrap_or(0));
    let rx: u64 = ranking.rows.iter().fold(0, |s, r| s.saturating_add(r.rx));
    let tx: u64 = ranking.rows.iter().fold(0, |s, r| s.saturating_add(r.tx));
    let footer = format!(
        "Top {} of {} guests     All guests: download {}, upload {}, total {}",
        top.len(),
        ranking.rows.len(),
        format_bytes(rx),
        format_bytes(tx),
        format_bytes(rx.saturating_add(tx)),
    );
    let labels = top.iter().map(label).collect();
    let (tooltip, formatter) = style::tooltip(unit, palette);
    let chart = style::base(&ranking.title, &ranking.subtitle, &footer, palette)
        .tooltip(tooltip)
        .x_axis(style::value_axis(unit, palette))
        .y_axis(
            style::category_axis(labels, palette)
                .inverse(true)
                .axis_label(AxisLabel::new().color(palette.muted).interval(0)),
        )
        .series(bar("Download", palette.rx, top.iter().map(|r| r.rx), unit))
        .series(bar("Upload", palette.tx, top.iter().map(|r| r.tx), unit));
    Definition {
        chart,
        functions: vec![formatter],
    }
}

/// "name (vmid)", the name cut to [`MAX_LABEL_CHARS`].
fn label(row: &RankRow) -> String {
    let name = if row.name.chars().count() > MAX_LABEL_CHARS {
        let cut: String = row.name.chars().take(MAX_LABEL_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        row.name.clone()
    };
    format!("{name} ({})", row.vmid)
}

/// One stacked bar series.
fn bar(name: &str, colour: &str, values: impl Iterator<Item = u64>, unit: Unit) -> Bar {
    Bar::new()
        .name(name)
        .stack("traffic")
        .item_style(ItemStyle::new().color(colour))
        .data(values.map(|v| unit.scale(v)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{palette, Theme};

    fn row(vmid: u32, name: &str, rx: u64, tx: u64) -> RankRow {
        RankRow {
            vmid,
            name: name.into(),
            rx,
            tx,
        }
    }

    #[test]
    fn only_the_top_rows_are_bars_and_the_footer_sums_all() {
        let ranking = Ranking {
            title: "t".into(),
            subtitle: "s".into(),
            rows: vec![
                row(101, "big", 3 << 20, 1 << 20),
                row(102, "mid", 1 << 20, 0),
                row(103, "small", 1 << 20, 0),
            ],
            top_n: 2,
        };
        let js = definition(&ranking, &palette(Theme::Dark)).to_js();
        assert!(js.contains(r#"["big (101)","mid (102)"]"#), "{js}");
        assert!(!js.contains("small (103)"), "{js}");
        assert!(js.contains(r#""data":[3.0,1.0]"#), "{js}");
        assert!(js.contains("Top 2 of 3 guests"), "{js}");
        assert!(
            js.contains("download 5 MiB, upload 1 MiB, total 6 MiB"),
            "{js}"
        );
    }

    #[test]
    fn long_names_are_cut() {
        let name = "x".repeat(40);
        assert_eq!(
            label(&row(7, &name, 0, 0)),
            format!("{}… (7)", "x".repeat(27))
        );
        assert_eq!(label(&row(7, "short", 0, 0)), "short (7)");
    }
}
