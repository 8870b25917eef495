//! `pve-traffic-exporter export`: one guest's traffic, a ranking of all guests, or a quota
//! statement, written as a file under `--output` (default `monitor.export_path`).
//!
//! The database is opened read-only (never blocking the running exporter); the reports
//! themselves are built in `crate::report`, turned into text here (JSON, CSV) or into a
//! chart (`chart`, drawn by the render crate: HTML, PNG, SVG).

// The doc comments of the command-line types are clap's `--help` text, written for a
// terminal (`[,rate=MBPS]`, `<file>.bak`, bare URLs), not for rustdoc.
#![allow(
    rustdoc::broken_intra_doc_links,
    rustdoc::invalid_html_tags,
    rustdoc::bare_urls
)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::report::range::{local_midnight, parse_date};
use crate::report::{
    self, csv, json, output, BucketSize, GuestReport, QuotaRequest, QuotaStatement, RangeRequest,
    Ranking,
};
use clap::{Args, ValueEnum};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use pve_traffic_core::config::Config;
use pve_traffic_core::rules::Direction;
use pve_traffic_render::{RenderError, Theme};
use pve_traffic_store::{self as store, Access, GuestInfo, HistoryStore, Store};

use crate::chart;
use crate::tool::{report_zone, spinner, Failure};

/// `export` flags.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The guest to report on (its VMID), or `all` for a ranking of every guest.
    #[arg(long, value_name = "VMID|all")]
    pub vm: String,
    /// Bucket size, which also picks the default range: 5m or hour → the day, day → the
    /// month, week → the last 12 weeks, month → the year (default: hour). Not with --rule.
    #[arg(long, value_name = "5m|hour|day|week|month", value_parser = BucketSize::parse)]
    pub period: Option<BucketSize>,
    /// The default range around this day instead of now (YYYY-MM-DD); with --rule, the rule's
    /// window containing this day.
    #[arg(long, value_name = "YYYY-MM-DD", conflicts_with_all = ["start", "end"])]
    pub date: Option<String>,
    /// Start of the range: YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] (in --tz) or RFC 3339.
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// End of the range (exclusive; a date alone includes that day). Default: now.
    #[arg(long, value_name = "TIME", requires = "start")]
    pub end: Option<String>,
    /// Which traffic: both, rx (download) or tx (upload). Sorts the `all` ranking and picks
    /// the chart's series; JSON and CSV always carry all three columns. Not with --rule.
    #[arg(long, value_enum, value_name = "both|rx|tx")]
    pub direction: Option<DirectionArg>,
    /// Output format.
    #[arg(long, value_enum, default_value = "html")]
    pub format: Format,
    /// Dark colours (charts only).
    #[arg(long)]
    pub dark: bool,
    /// Image width in pixels (png, svg).
    #[arg(long, default_value_t = 1200, value_name = "PIXELS")]
    pub width: u32,
    /// Image height in pixels (png, svg).
    #[arg(long, default_value_t = 600, value_name = "PIXELS")]
    pub height: u32,
    /// Directory the file is written to (default: monitor.export_path).
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Time zone of the report's dates and buckets (default: monitor.timezone).
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// A quota statement for this rule: usage against its limit in the rule's current
    /// window (or the one containing --date).
    #[arg(long, value_name = "NAME")]
    pub rule: Option<String>,
}

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A self-contained HTML page with a chart.
    Html,
    /// A PNG chart.
    Png,
    /// An SVG chart.
    Svg,
    /// JSON (schema in the README).
    Json,
    /// CSV (columns in the README).
    Csv,
}

impl Format {
    fn ext(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Png => "png",
            Format::Svg => "svg",
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }
}

/// `--direction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    /// Download plus upload.
    Both,
    /// Download (received by the guest).
    Rx,
    /// Upload (sent by the guest).
    Tx,
}

impl From<DirectionArg> for Direction {
    fn from(d: DirectionArg) -> Direction {
        match d {
            DirectionArg::Both => Direction::Both,
            DirectionArg::Rx => Direction::Rx,
            DirectionArg::Tx => Direction::Tx,
        }
    }
}

/// Which guests.
enum Vm {
    One(u32),
    All,
}

fn parse_vm(s: &str) -> Result<Vm, Failure> {
    if s == "all" {
        return Ok(Vm::All);
    }
    s.parse()
        .map(Vm::One)
        .map_err(|_| Failure::usage(format!("--vm {s:?}: expected a VMID (like 101) or `all`")))
}

/// Runs `export`; returns the path written.
pub fn run(args: &ExportArgs, config: &Config) -> Result<PathBuf, Failure> {
    let vm = parse_vm(&args.vm)?;
    let tz = report_zone(args.tz.as_deref(), config)?;
    let chart = matches!(args.format, Format::Html | Format::Png | Format::Svg);
    if args.dark && !chart {
        return Err(Failure::usage(
            "--dark applies to charts (html, png, svg) only; JSON and CSV have no colours",
        ));
    }
    if args.rule.is_some() && (args.period.is_some() || args.direction.is_some()) {
        return Err(Failure::usage(
            "--rule uses the rule's own period and direction: drop --period and --direction",
        ));
    }
    if args.rule.is_some() && args.start.is_some() {
        return Err(Failure::usage(
            "--rule reports one window of the rule: use --date to pick a past one, not \
             --start/--end",
        ));
    }
    let dir = args
        .output
        .clone()
        .unwrap_or_else(|| config.monitor.export_path.clone());
    let now = Timestamp::now();
    let store = store::open(&config.storage.dsn, Access::ReadOnly)?;
    let guests: BTreeMap<u32, GuestInfo> = store
        .load_state()?
        .guests
        .into_iter()
        .map(|(vmid, (info, _, _))| (vmid, info))
        .collect();
    let ctx = Context {
        args,
        config,
        store: &store,
        guests: &guests,
        now,
        tz: &tz,
    };
    let report = match &args.rule {
        Some(rule) => ctx.quota(rule, vm)?,
        None => ctx.history(vm)?,
    };
    let name = report.file_name(args.format.ext());
    let bytes = ctx.encode(&report)?;
    Ok(output::write_report(&dir, &name, &bytes)?)
}

/// A report, before it is written in the asked format.
enum Report {
    Guest(GuestReport),
    Ranking(Ranking),
    /// A statement, and the guest it was asked for (None: every guest of the rule).
    Quota(QuotaStatement, Option<u32>),
}

impl Report {
    fn file_name(&self, ext: &str) -> String {
        match self {
            Report::Guest(r) => output::guest_file_name(r, ext),
            Report::Ranking(r) => output::ranking_file_name(r, ext),
            Report::Quota(q, vmid) => output::quota_file_name(q, *vmid, ext),
        }
    }
}

/// What every kind of report needs, gathered once.
struct Context<'a, S: HistoryStore> {
    args: &'a ExportArgs,
    config: &'a Config,
    store: &'a S,
    guests: &'a BTreeMap<u32, GuestInfo>,
    now: Timestamp,
    tz: &'a TimeZone,
}

impl<S: HistoryStore> Context<'_, S> {
    fn json_time(&self) -> jiff::ZonedDateTime {
        self.now.to_zoned_datetime(self.tz.clone())
    }

    /// The report in the asked format.
    fn encode(&self, report: &Report) -> Result<Vec<u8>, Failure> {
        let now = self.json_time();
        let direction = self.args.direction.unwrap_or(DirectionArg::Both).into();
        let text = match (self.args.format, report) {
            (Format::Json, Report::Guest(r)) => json::guest(r, &now),
            (Format::Json, Report::Ranking(r)) => json::ranking(r, &now),
            (Format::Json, Report::Quota(q, _)) => json::quota(q, &now),
            (Format::Csv, Report::Guest(r)) => csv::guest(r),
            (Format::Csv, Report::Ranking(r)) => csv::ranking(r),
            (Format::Csv, Report::Quota(q, _)) => csv::quota(q),
            (format, report) => {
                let spec = match report {
                    Report::Guest(r) => chart::guest(r, direction),
                    Report::Ranking(r) => chart::ranking(r),
                    Report::Quota(q, _) => chart::quota(q),
                };
                let theme = if self.args.dark {
                    Theme::Dark
                } else {
                    Theme::Light
                };
                let (w, h) = (self.args.width, self.args.height);
                let drawn = match format {
                    Format::Svg => {
                        pve_traffic_render::svg(&spec, theme, w, h).map(String::into_bytes)
                    }
                    Format::Png => pve_traffic_render::png(&spec, theme, w, h),
                    _ => Ok(pve_traffic_render::html(&spec, theme).into_bytes()),
                };
                return drawn.map_err(|e| match e {
                    RenderError::Size { .. } => Failure::usage(format!("--width/--height: {e}")),
                    e => Failure::runtime(e.to_string()),
                });
            }
        };
        Ok(text.into_bytes())
    }

    /// A guest report or the ranking.
    fn history(&self, vm: Vm) -> Result<Report, Failure> {
        let args = self.args;
        let req = RangeRequest {
            date: args.date.clone(),
            start: args.start.clone(),
            end: args.end.clone(),
        };
        let bucket = args.period.unwrap_or(BucketSize::Hour);
        let range = report::resolve(&req, bucket, self.now, self.tz)?;
        Ok(match vm {
            Vm::One(vmid) => {
                let guest = self
                    .guests
                    .get(&vmid)
                    .cloned()
                    .ok_or(report::ReportError::NoGuest(vmid))?;
                Report::Guest(report::guest_report(self.store, guest, range)?)
            }
            Vm::All => {
                let direction = args.direction.unwrap_or(DirectionArg::Both).into();
                let bar = spinner(&format!(
                    "summing the traffic of {} guests",
                    self.guests.len()
                ));
                let r = report::ranking(self.store, self.guests, range, direction);
                bar.finish_and_clear();
                Report::Ranking(r?)
            }
        })
    }

    /// A quota statement for the rule named `rule_name`.
    fn quota(&self, rule_name: &str, vm: Vm) -> Result<Report, Failure> {
        let rules = &self.config.rules;
        let rule = rules.iter().find(|r| r.name == rule_name).ok_or_else(|| {
            let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
            let names = if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            };
            Failure::usage(format!(
                "--rule {rule_name:?}: no such rule in the config (rules: {names})"
            ))
        })?;
        let period_tz = &self.config.monitor.timezone;
        let at = match &self.args.date {
            Some(d) => local_midnight("--date", parse_date("--date", d)?, period_tz)?,
            None => self.now,
        };
        let vmid = match vm {
            Vm::One(v) => Some(v),
            Vm::All => None,
        };
        let req = QuotaRequest {
            rule,
            vmid,
            at,
            now: self.now,
            period_tz,
            report_tz: self.tz,
        };
        let q = report::quota_statement(self.store, self.guests, &req)?;
        Ok(Report::Quota(q, vmid))
    }
}
