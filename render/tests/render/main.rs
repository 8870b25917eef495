//! The render crate's integration tests, one binary (the crate is big to link):
//! - `svg`: the SVG parses, carries the title and the theme;
//! - `png`: the PNG decodes at the requested size with text drawn in the title area;
//! - `html`: the page is self-contained, inlines ECharts and keeps guest names inert;
//! - `browser`: the page drawn by headless Chromium with the network disabled.

mod browser;
mod html;
mod png;
mod specs;
mod support;
mod svg;
