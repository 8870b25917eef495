//! `pve_traffic_render`: traffic charts as self-contained HTML, SVG and PNG, drawn offline.
//!
//! The report layer describes a chart in neutral terms ([`ChartSpec`]: titles, labels,
//! bytes); this crate draws it. One chart definition (an ECharts option built with
//! `charming`) serves every format:
//! - [`html`]: a page with ECharts inlined, which works without any network;
//! - [`svg`]: the same option drawn by ECharts' server-side SVG renderer in an embedded
//!   JavaScript engine (QuickJS);
//! - [`png`]: that SVG rasterised by resvg with an embedded font.
//!
//! Modules: [`spec`] (what to draw), [`palette`](mod@palette) (colours per theme), `chart` (the one
//! definition), `html`, `ssr` (SVG), `measure` (text widths for it), `png`, `assets` (the vendored ECharts and font).

#![warn(missing_docs)]

mod assets;
mod chart;
mod error;
mod html;
mod measure;
pub mod palette;
mod png;
pub mod spec;
mod ssr;

pub use error::RenderError;
pub use palette::{palette, Palette, Theme};
pub use spec::{ChartSpec, RankRow, Ranking, TimeSeries};

/// Smallest image side in pixels: below it titles and axes overlap.
pub const MIN_SIDE: u32 = 100;
/// Largest image side in pixels: a 8,000 x 8,000 PNG already needs 256 MB to draw.
pub const MAX_SIDE: u32 = 8_000;

/// A self-contained HTML page of `spec`: ECharts, the chart and its tables inlined; nothing
/// is fetched when it is viewed. A ranking's page lists every guest in a table.
pub fn html(spec: &ChartSpec, theme: Theme) -> String {
    html::page(spec, theme)
}

/// An SVG document of `spec`, `width` x `height` pixels. A time series longer than `width`
/// points is thinned to `width` points first (LTTB, as ECharts itself would), which keeps
/// its peaks and keeps long series fast.
pub fn svg(spec: &ChartSpec, theme: Theme, width: u32, height: u32) -> Result<String, RenderError> {
    check_size(width, height)?;
    let columns = usize::try_from(width).expect("checked above: at most MAX_SIDE");
    let definition = chart::definition(spec, theme, Some(columns));
    ssr::render_svg(&definition.to_js(), width, height)
}

/// A PNG image of `spec`, `width` x `height` pixels.
pub fn png(
    spec: &ChartSpec,
    theme: Theme,
    width: u32,
    height: u32,
) -> Result<Vec<u8>, RenderError> {
    let svg = svg(spec, theme, width, height)?;
    png::rasterise(&svg, width, height)
}

/// Rejects sizes outside [`MIN_SIDE`]..=[`MAX_SIDE`].
fn check_size(width: u32, height: u32) -> Result<(), RenderError> {
    let ok = |side: u32| (MIN_SIDE..=MAX_SIDE).contains(&side);
    if ok(width) && ok(height) {
        Ok(())
    } else {
        Err(RenderError::Size {
            width,
            height,
            min: MIN_SIDE,
            max: MAX_SIDE,
        })
    }
}
