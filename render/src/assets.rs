//! The vendored files, embedded in the binary so nothing is fetched at build, run or view
//! time. Where they come from and their licences: `render/assets/README.md`;
//! `scripts/vendor-assets` fetches them again and checks their SHA-256 sums.

/// Apache ECharts 5.5.1 (`dist/echarts.min.js` of npm `echarts@5.5.1`), Apache-2.0.
pub(crate) const ECHARTS_JS: &str = include_str!("../assets/echarts/echarts.min.js");

/// DejaVu Sans and DejaVu Sans Bold (npm `dejavu-fonts-ttf@2.37.3`), the only fonts PNGs are
/// drawn with, so text looks the same on every machine and never goes missing.
pub(crate) const FONTS: [&[u8]; 2] = [
    include_bytes!("../assets/fonts/DejaVuSans.ttf"),
    include_bytes!("../assets/fonts/DejaVuSans-Bold.ttf"),
];

/// The family name of [`FONTS`].
pub(crate) const FONT_FAMILY: &str = "DejaVu Sans";
