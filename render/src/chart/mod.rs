//! The one chart definition: a [`ChartSpec`] and a [`Palette`] become an ECharts option.
//!
//! HTML hands the option to ECharts in the browser; SVG and PNG hand the very same option to
//! ECharts in the embedded JavaScript engine. So a chart looks the same in every format, and
//! a change of layout or colour is made once, here.
//!
//! Data are scaled to one binary unit per chart (the unit of its largest value), so axes read
//! "0, 0.5, 1, 1.5 GiB" instead of raw byte counts; exact figures are printed with
//! `format_bytes` in the totals line and the HTML tables.

mod option;
mod ranking;
mod sampling;
mod style;
mod time_series;

use crate::palette::palette;
use crate::spec::ChartSpec;
use crate::Theme;

pub(crate) use option::Definition;

/// The chart definition of `spec` in `theme`, ready to hand to ECharts. An image passes its
/// width as `max_points`: a line never needs more points than the image has pixel columns
/// (see [`sampling`]); HTML passes `None` and gets every point.
pub(crate) fn definition(spec: &ChartSpec, theme: Theme, max_points: Option<usize>) -> Definition {
    let palette = palette(theme);
    match spec {
        ChartSpec::TimeSeries(series) => time_series::definition(series, &palette, max_points),
        ChartSpec::Ranking(ranking) => ranking::definition(ranking, &palette),
    }
}
