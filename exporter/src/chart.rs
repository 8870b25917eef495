//! Reports as charts: the bridge from `crate::report` to the render crate's neutral
//! [`ChartSpec`].
//!
//! The report layer knows zones, rules and guests; the render crate knows only titles, labels
//! and bytes. Everything a chart shows is decided here, once, so HTML, SVG and PNG of the
//! same report agree.

use crate::report::{self, GuestReport, QuotaStatement, Ranking};
use pve_traffic_core::rules::Direction;
use pve_traffic_core::units::format_bytes;
use pve_traffic_render::{ChartSpec, RankRow, TimeSeries};
use pve_traffic_store::GuestInfo;

/// Bars in a ranking chart; the HTML page's table lists every guest.
const TOP_N: usize = 20;

/// "2026-11-01 00:00 – 2026-12-01 00:00 (Europe/Berlin)".
fn span(start: &jiff::ZonedDateTime, end: &jiff::ZonedDateTime) -> String {
    format!(
        "{} – {} ({})",
        start.strftime("%Y-%m-%d %H:%M"),
        end.strftime("%Y-%m-%d %H:%M"),
        report::zone_name(start.time_zone())
    )
}

/// Which of download, upload and total a chart draws for `direction`.
fn series_of(direction: Direction) -> (bool, bool, bool) {
    match direction {
        Direction::Both => (true, true, true),
        Direction::Rx => (true, false, false),
        Direction::Tx => (false, true, false),
        Direction::Max => (true, true, false),
    }
}

fn guest_title(vmid: u32, name: &str) -> String {
    if name.is_empty() {
        format!("Guest {vmid}")
    } else {
        format!("Guest {vmid} ({name})")
    }
}

/// One guest's traffic per bucket, with the range's totals.
pub fn guest(r: &GuestReport, direction: Direction) -> ChartSpec {
    let (rx, tx, total) = series_of(direction);
    let column = |f: fn(&report::Bucket) -> u64| r.buckets.iter().map(f).collect::<Vec<_>>();
    ChartSpec::TimeSeries(TimeSeries {
        title: format!("{}: traffic", guest_title(r.guest.vmid, &r.guest.name)),
        subtitle: format!(
            "{}, {} buckets, from {} history",
            span(&r.range.start, &r.range.end),
            r.range.bucket.as_str(),
            r.resolution.as_str()
        ),
        labels: r.buckets.iter().map(|b| b.label.clone()).collect(),
        rx: rx.then(|| column(|b| b.rx)),
        tx: tx.then(|| column(|b| b.tx)),
        total: total.then(|| column(report::Bucket::total)),
        cumulative: false,
        limit: None,
        totals: vec![
            ("Download".into(), r.rx),
            ("Upload".into(), r.tx),
            ("Total".into(), r.total()),
        ],
    })
}

/// Every guest with traffic in the range, largest first.
pub fn ranking(r: &Ranking) -> ChartSpec {
    ChartSpec::Ranking(pve_traffic_render::Ranking {
        title: format!("Traffic ranking: {} guests", r.rows.len()),
        subtitle: format!(
            "{}, sorted by {}",
            span(&r.range.start, &r.range.end),
            direction_words(r.direction)
        ),
        rows: r
            .rows
            .iter()
            .map(|row| rank_row(&row.guest, row.rx, row.tx))
            .collect(),
        top_n: TOP_N,
    })
}

/// A quota statement: for one guest the window's running usage against the limit, for all
/// guests the ranking of their usage in the window.
pub fn quota(q: &QuotaStatement) -> ChartSpec {
    let rule = &q.rule;
    let title = format!(
        "Quota {:?}: {} per {} ({})",
        rule.name,
        format_bytes(rule.limit_bytes),
        rule.period.key(),
        direction_words(rule.direction)
    );
    let window = format!(
        "{}{}",
        span(&q.window_start, &q.window_end),
        if q.current { ", current window" } else { "" }
    );
    match (&q.series, q.rows.as_slice()) {
        (Some(series), [row]) => {
            let (rx, tx, total) = series_of(rule.direction);
            let column =
                |f: fn(&report::Bucket) -> u64| series.buckets.iter().map(f).collect::<Vec<_>>();
            ChartSpec::TimeSeries(TimeSeries {
                title: format!("{}: {title}", guest_title(row.guest.vmid, &row.guest.name)),
                subtitle: window,
                labels: series.buckets.iter().map(|b| b.label.clone()).collect(),
                rx: rx.then(|| column(|b| b.rx)),
                tx: tx.then(|| column(|b| b.tx)),
                total: total.then(|| column(report::Bucket::total)),
                cumulative: true,
                limit: Some(rule.limit_bytes),
                totals: vec![
                    ("Used".into(), row.used),
                    ("Limit".into(), rule.limit_bytes),
                    ("Remaining".into(), row.remaining(rule.limit_bytes)),
                ],
            })
        }
        _ => ChartSpec::Ranking(pve_traffic_render::Ranking {
            title,
            subtitle: format!("{window}, {} guests", q.rows.len()),
            rows: q
                .rows
                .iter()
                .map(|row| rank_row(&row.guest, row.rx, row.tx))
                .collect(),
            top_n: TOP_N,
        }),
    }
}

fn rank_row(guest: &GuestInfo, rx: u64, tx: u64) -> RankRow {
    RankRow {
        vmid: guest.vmid,
        name: guest.name.clone(),
        rx,
        tx,
    }
}

fn direction_words(d: Direction) -> &'static str {
    match d {
        Direction::Both => "download + upload",
        Direction::Rx => "download",
        Direction::Tx => "upload",
        Direction::Max => "the larger of download and upload",
    }
}
