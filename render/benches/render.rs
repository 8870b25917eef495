//! Benchmark of the chart renderer:
//! - one guest over 31 days at 5-minute resolution (8,928 points per series, download,
//!   upload and total) to HTML and to PNG 1200x600 (aim < 1 s each);
//! - a ranking of 10,000 guests (top 10 as bars, every guest in the HTML table) to HTML and to
//!   PNG 1200x600 (aim < 5 s).
//!
//! The first image of a process also loads ECharts into the embedded engine; that one-off cost
//! is measured apart, the medians are of warm calls (as in a process that draws several).
//!
//! Run: `cargo bench -p pve-traffic-render --bench render`. It prints a Markdown table and
//! rewrites its own section of `BENCHMARKS.md`.

#[path = "../tests/render/specs.rs"]
mod specs;

use std::time::{Duration, Instant};

use pve_traffic_render::{html, png, svg, ChartSpec, Theme};

const RUNS: usize = 7;
const POINTS: usize = 8_928;
const GUESTS: u32 = 10_000;
const TOP_N: usize = 10;
const WIDTH: u32 = 1200;
const HEIGHT: u32 = 600;

/// Median, min and max of `RUNS` timed calls of `f`, and the size of its last output.
fn time(mut f: impl FnMut() -> usize) -> ((Duration, Duration, Duration), usize) {
    let mut times = Vec::with_capacity(RUNS);
    let mut size = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        size = f();
        times.push(t.elapsed());
    }
    times.sort();
    ((times[RUNS / 2], times[0], times[RUNS - 1]), size)
}

fn html_of(spec: &ChartSpec) -> impl FnMut() -> usize + '_ {
    move || html(spec, Theme::Light).len()
}

fn svg_of(spec: &ChartSpec) -> impl FnMut() -> usize + '_ {
    move || svg(spec, Theme::Light, WIDTH, HEIGHT).unwrap().len()
}

fn png_of(spec: &ChartSpec) -> impl FnMut() -> usize + '_ {
    move || png(spec, Theme::Light, WIDTH, HEIGHT).unwrap().len()
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let series = specs::series(POINTS);
    let ranking = specs::ranking(GUESTS, TOP_N);
    let first = Instant::now();
    png(&series, Theme::Light, WIDTH, HEIGHT).unwrap();
    let first = first.elapsed();

    let rows = [
        (
            "time series, 8,928 points × 3 → HTML",
            time(html_of(&series)),
            "< 1000",
        ),
        ("time series → SVG 1200x600", time(svg_of(&series)), ""),
        (
            "time series → PNG 1200x600",
            time(png_of(&series)),
            "< 1000",
        ),
        (
            "ranking, 10,000 guests → HTML (chart + full table)",
            time(html_of(&ranking)),
            "< 5000",
        ),
        (
            "ranking → SVG 1200x600 (top 10)",
            time(svg_of(&ranking)),
            "",
        ),
        (
            "ranking → PNG 1200x600 (top 10)",
            time(png_of(&ranking)),
            "< 5000",
        ),
    ];

    let mut table = format!(
        "Warm calls in one process, median of {RUNS} runs. The first image of a process also \
         loads ECharts into QuickJS: the first time series PNG took {} ms.\n\n\
         | what | median ms | min ms | max ms | output | aim ms |\n|---|---|---|---|---|---|\n",
        ms(first)
    );
    for (name, ((med, min, max), size), aim) in rows {
        table.push_str(&format!(
            "| {name} | {} | {} | {} | {:.2} MB | {aim} |\n",
            ms(med),
            ms(min),
            ms(max),
            size as f64 / 1e6
        ));
    }
    println!("{table}");
    bench_record::write_section(
        env!("CARGO_MANIFEST_DIR"),
        "render: charts as HTML, SVG and PNG",
        "cargo bench -p pve-traffic-render --bench render",
        &table,
    );
}
