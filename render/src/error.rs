//! Why a chart could not be drawn.

/// A failure to draw an SVG or PNG. HTML cannot fail: the browser draws it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The requested image size is unusable.
    #[error("image size {width}x{height} is not allowed: width and height must be between {min} and {max} pixels")]
    Size {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
        /// Smallest allowed side.
        min: u32,
        /// Largest allowed side.
        max: u32,
    },
    /// The embedded ECharts failed while drawing. This is a bug in this crate (the chart
    /// definition or the JavaScript glue), not in the input: please report it with the message.
    #[error("the embedded ECharts failed to draw the chart (a bug, please report it): {0}")]
    Script(String),
    /// The SVG that ECharts produced could not be read back for rasterising (a bug as well).
    #[error("the chart's SVG could not be rasterised (a bug, please report it): {0}")]
    Svg(String),
}
