//! The HTML page in headless Chromium (Debian's `chromium`) with the network disabled: the
//! chart is drawn and the console stays silent. A page without ECharts is the control: it
//! must show up as a console error and a blank chart, or these checks would prove nothing.
//!
//! Chromium is a test dependency (`scripts/install-test-deps` installs it). Without it these
//! tests fail with that advice; they never pass silently.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use pve_traffic_render::{html, palette, ChartSpec, Palette, Theme};

use crate::specs::{ranking, series};
use crate::support::{hex, Image};

/// One Chromium at a time: each is heavy, and the machine is small.
static CHROMIUM: Mutex<()> = Mutex::new(());

/// What Chromium made of a page.
struct Visit {
    screenshot: Image,
    /// Lines Chromium logged for the page's console (messages, uncaught exceptions).
    console: Vec<String>,
}

/// Opens `page` from a file in headless Chromium, offline, and takes a 1200x800 screenshot.
fn visit(page: &str) -> Visit {
    let _one = CHROMIUM.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chart.html");
    std::fs::write(&file, page).unwrap();
    let shot = dir.path().join("shot.png");
    let profile = dir.path().join("profile");
    let output = Command::new("timeout")
        .arg("120")
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // No network: every connection goes to a closed port, every name fails.
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,800",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("chromium runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && shot.exists(),
        "chromium failed ({}):\n{stderr}",
        output.status
    );
    Visit {
        screenshot: Image::decode(&std::fs::read(&shot).unwrap()),
        console: stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
            .map(str::to_string)
            .collect(),
    }
}

/// Debian's Chromium, or a failure that says how to get it.
fn chromium() -> &'static str {
    const PATH: &str = "/usr/bin/chromium";
    assert!(
        Path::new(PATH).exists(),
        "{PATH} is missing: these tests need Debian's chromium package; run \
         scripts/install-test-deps as root (it installs it) and run the tests again"
    );
    PATH
}

/// Pixels within a small tolerance of the download and upload colours.
fn series_pixels(image: &Image, p: &Palette) -> (usize, usize) {
    (
        image.count_near(hex(p.rx), 24),
        image.count_near(hex(p.tx), 24),
    )
}

/// Opens the page of `spec` in `theme` and checks that the console stayed silent, the page
/// has the theme's background and at least `min` pixels of each of the download and upload
/// colours were drawn.
fn assert_drawn_silently(spec: &ChartSpec, theme: Theme, min: (usize, usize)) {
    let visit = visit(&html(spec, theme));
    assert_eq!(visit.console, Vec::<String>::new(), "console output");
    let p = palette(theme);
    let (rx, tx) = series_pixels(&visit.screenshot, &p);
    assert!(
        rx > min.0 && tx > min.1,
        "chart drawn: {rx} rx, {tx} tx pixels"
    );
    assert_eq!(visit.screenshot.rgb(2, 2), hex(p.background));
}

#[test]
fn a_month_of_five_minute_points_draws_silently_offline() {
    assert_drawn_silently(&series(8_928), Theme::Light, (2_000, 2_000));
}

#[test]
fn a_dark_ranking_with_a_hostile_name_draws_silently_offline() {
    assert_drawn_silently(&ranking(2_000, 10), Theme::Dark, (20_000, 5_000));
}

#[test]
fn the_control_a_page_without_echarts_is_caught() {
    let page = html(&series(288), Theme::Light);
    let echarts = include_str!("../../assets/echarts/echarts.min.js");
    let broken = page.replace(echarts, "");
    assert_ne!(broken.len(), page.len());
    let visit = visit(&broken);
    assert!(
        visit
            .console
            .iter()
            .any(|l| l.contains("echarts is not defined")),
        "{:?}",
        visit.console
    );
    let (rx, tx) = series_pixels(&visit.screenshot, &palette(Theme::Light));
    assert!(rx < 50 && tx < 50, "no chart: {rx} rx, {tx} tx pixels");
}
