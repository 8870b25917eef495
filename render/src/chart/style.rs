//! Layout and colours shared by both kinds of chart: titles, legend, axes, tooltip.

use charming::component::{Axis, Grid, Legend, Title};
use charming::element::{
    AxisLabel, AxisType, Formatter, JsFunction, LineStyle, SplitLine, TextStyle, Tooltip, Trigger,
};
use charming::Chart;
use pve_traffic_units::binary_unit;

use crate::Palette;

/// Space above the plot for the title, subtitle and legend, in pixels.
const TOP: f64 = 92.0;
/// Space below the plot for the footer line, in pixels.
const BOTTOM: f64 = 36.0;

/// The unit one chart's values are drawn in.
#[derive(Debug, Clone, Copy)]
pub(super) struct Unit {
    /// "B", "KiB", … "EiB".
    pub(super) name: &'static str,
    /// Bytes in one unit.
    pub(super) bytes: u64,
}

impl Unit {
    /// The unit of the largest value drawn.
    pub(super) fn for_max(max: u64) -> Unit {
        let (name, bytes) = binary_unit(max);
        Unit { name, bytes }
    }

    /// `bytes` in this unit, to three decimals (finer than a chart can show).
    pub(super) fn scale(self, bytes: u64) -> f64 {
        (bytes as f64 / self.bytes as f64 * 1000.0).round() / 1000.0
    }
}

/// A chart with the theme's background, no animation (a report is a document; and a big
/// series would not animate anyway) and the title, subtitle and footer.
pub(super) fn base(title: &str, subtitle: &str, footer: &str, palette: &Palette) -> Chart {
    Chart::new()
        .animation(false)
        .background_color(palette.background)
        .title(
            Title::new()
                .text(title)
                .subtext(subtitle)
                .left("center")
                .top(8)
                .text_style(TextStyle::new().color(palette.text).font_size(18))
                .subtext_style(TextStyle::new().color(palette.muted).font_size(13)),
        )
        .title(
            Title::new()
                .text(footer)
                .left("center")
                .bottom(8)
                .text_style(
                    TextStyle::new()
                        .color(palette.text)
                        .font_size(13)
                        .font_weight("normal"),
                ),
        )
        .legend(
            Legend::new()
                .top(62)
                .text_style(TextStyle::new().color(palette.text)),
        )
        .grid(
            Grid::new()
                .left(24)
                .right(32)
                .top(TOP)
                .bottom(BOTTOM)
                .contain_label(true),
        )
}

/// The tooltip, which shows values in `unit`, and the function it needs.
pub(super) fn tooltip(unit: Unit, palette: &Palette) -> (Tooltip, JsFunction) {
    // `unit.name` is one of our unit names: no quote or '<' can reach the function.
    let formatter =
        JsFunction::new_with_args("value", &format!("return value + ' {}';", unit.name));
    let tooltip = Tooltip::new()
        .trigger(Trigger::Axis)
        .background_color(palette.background)
        .border_color(palette.grid)
        .value_formatter(Formatter::Function(formatter.clone()));
    (tooltip, formatter)
}

/// An axis of byte values in `unit`, each label with the unit ("1.5 GiB").
pub(super) fn value_axis(unit: Unit, palette: &Palette) -> Axis {
    Axis::new()
        .type_(AxisType::Value)
        .axis_label(
            AxisLabel::new()
                .color(palette.muted)
                .formatter(Formatter::String(format!("{{value}} {}", unit.name))),
        )
        .split_line(SplitLine::new().line_style(LineStyle::new().color(palette.grid)))
}

/// An axis of text categories (times, guests).
pub(super) fn category_axis(labels: Vec<String>, palette: &Palette) -> Axis {
    Axis::new()
        .type_(AxisType::Category)
        .data(labels)
        .axis_label(AxisLabel::new().color(palette.muted))
}
