//! One guest's traffic over time: download, upload and total as lines, an optional quota
//! limit as a dashed line, the period totals in the footer.

use charming::element::{BoundaryGap, ItemStyle, LineStyle, LineStyleType, Sampling, Symbol};
use charming::series::Line;
use pve_traffic_units::format_bytes;

use super::sampling;
use super::style::{self, Unit};
use super::Definition;
use crate::{Palette, TimeSeries};

/// The chart of `series`, with at most `max_points` points per line when given (see
/// [`sampling`]).
pub(super) fn definition(
    series: &TimeSeries,
    palette: &Palette,
    max_points: Option<usize>,
) -> Definition {
    let mut labels = series.labels.clone();
    let mut lines: Vec<(&str, &str, Vec<u64>)> = [
        ("Download", palette.rx, &series.rx),
        ("Upload", palette.tx, &series.tx),
        ("Total", palette.total, &series.total),
    ]
    .into_iter()
    .filter_map(|(name, colour, values)| {
        let values = values.as_ref()?;
        let drawn = if series.cumulative {
            running_sums(values)
        } else {
            values.clone()
        };
        Some((name, colour, drawn))
    })
    .collect();
    if let Some(max_points) = max_points.filter(|&m| labels.len() > m) {
        // One choice of points for all lines, so they stay aligned on the category axis:
        // the points that shape their sum.
        let sum: Vec<u64> = (0..labels.len())
            .map(|i| {
                lines.iter().fold(0u64, |s, (_, _, values)| {
                    s.saturating_add(values.get(i).copied().unwrap_or(0))
                })
            })
            .collect();
        let keep = sampling::lttb(&sum, max_points);
        let pick = |all: &[u64]| keep.iter().filter_map(|&i| all.get(i).copied()).collect();
        for (_, _, values) in &mut lines {
            *values = pick(values);
        }
        labels = keep.iter().map(|&i| labels[i].clone()).collect();
    }
    let max = lines
        .iter()
        .flat_map(|(_, _, values)| values.iter().copied())
        .chain(series.limit)
        .max()
        .unwrap_or(0);
    let unit = Unit::for_max(max);

    let footer = series
        .totals
        .iter()
        .map(|(label, bytes)| format!("{label}: {}", format_bytes(*bytes)))
        .collect::<Vec<_>>()
        .join("     ");
    let (tooltip, formatter) = style::tooltip(unit, palette);
    let mut chart = style::base(&series.title, &series.subtitle, &footer, palette)
        .tooltip(tooltip)
        .x_axis(
            style::category_axis(labels.clone(), palette)
                .boundary_gap(BoundaryGap::CategoryAxis(false)),
        )
        .y_axis(style::value_axis(unit, palette));
    for (name, colour, values) in lines {
        chart = chart.series(line(name, colour, &values, unit));
    }
    if let Some(limit) = series.limit {
        // A constant series rather than a mark line: it widens the axis to the limit and
        // gets a legend entry.
        let values = vec![limit; labels.len()];
        let limit_line = line("Limit", palette.limit, &values, unit).line_style(
            LineStyle::new()
                .color(palette.limit)
                .width(1.5)
                .type_(LineStyleType::Dashed),
        );
        chart = chart.series(limit_line);
    }
    Definition {
        chart,
        functions: vec![formatter],
    }
}

/// A line of `values` (bytes) drawn in `unit`. Large series are thinned by ECharts' LTTB
/// sampling to about one point per pixel, which keeps peaks and keeps big charts fast.
fn line(name: &str, colour: &str, values: &[u64], unit: Unit) -> Line {
    Line::new()
        .name(name)
        // A filled circle: the default hollow one is filled white in the legend, even on dark.
        .symbol(Symbol::Circle)
        .show_symbol(false)
        .sampling(Sampling::Lttb)
        .item_style(ItemStyle::new().color(colour))
        .line_style(LineStyle::new().color(colour).width(1.5))
        .data(values.iter().map(|&v| unit.scale(v)).collect())
}

/// Running sums of `values` (saturating: no real traffic reaches 16 EiB).
fn running_sums(values: &[u64]) -> Vec<u64> {
    values
        .iter()
        .scan(0u64, |sum, &v| {
            *sum = sum.saturating_add(v);
            Some(*sum)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{palette, Theme};

    #[test]
    fn long_series_are_thinned_alike_when_asked() {
        let series = TimeSeries {
            labels: (0..1000).map(|i| i.to_string()).collect(),
            rx: Some(
                (0..1000)
                    .map(|i| if i == 500 { 1 << 30 } else { 1 << 20 })
                    .collect(),
            ),
            tx: Some(vec![1 << 20; 1000]),
            limit: Some(2 << 30),
            ..TimeSeries::default()
        };
        let p = palette(Theme::Light);
        let thin = definition(&series, &p, Some(100)).chart;
        let json = serde_json::to_value(&thin).unwrap();
        assert_eq!(json["xAxis"]["data"].as_array().unwrap().len(), 100);
        for line in json["series"].as_array().unwrap() {
            assert_eq!(
                line["data"].as_array().unwrap().len(),
                100,
                "{}",
                line["name"]
            );
        }
        assert!(json["xAxis"]["data"]
            .as_array()
            .unwrap()
            .contains(&"500".into()));
        let whole = serde_json::to_value(definition(&series, &p, None).chart).unwrap();
        assert_eq!(whole["xAxis"]["data"].as_array().unwrap().len(), 1000);
    }

    #[test]
    fn running_sums_accumulate() {
        assert_eq!(running_sums(&[1, 2, 3]), vec![1, 3, 6]);
        assert_eq!(running_sums(&[u64::MAX, 1]), vec![u64::MAX, u64::MAX]);
    }

    #[test]
    fn values_are_scaled_to_the_unit_of_the_largest_and_the_limit_is_drawn() {
        let series = TimeSeries {
            labels: vec!["a".into(), "b".into()],
            rx: Some(vec![1 << 29, 1 << 30]),
            tx: None,
            total: None,
            limit: Some(2 << 30),
            totals: vec![("Download".into(), 3 << 29)],
            ..TimeSeries::default()
        };
        let js = definition(&series, &palette(Theme::Light), None).to_js();
        assert!(js.contains(r#""data":[0.5,1.0]"#), "{js}");
        assert!(js.contains(r#""data":[2.0,2.0]"#), "{js}");
        assert!(js.contains(r#""formatter":"{value} GiB""#), "{js}");
        assert!(js.contains("Download: 1.5 GiB"), "{js}");
        assert!(!js.contains("Upload"), "{js}");
    }
}
