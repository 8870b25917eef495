//! `pve-traffic-exporter export`: one guest's traffic, a ranking of all guests, or a quota
//! statement, written as a file under `--output` (default `monitor.export_path`).
//!
//! The database is opened read-only (never blocking the running exporter); the reports
//! themselves are built in `pve_traffic::report`. HTML, PNG and SVG charts come from the
//! render crate and are not wired into this build: asking for them is a clear error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use pve_traffic::config::Config;
use pve_traffic::report::range::{local_midnight, parse_date};
use pve_traffic::report::{self, csv, json, output, BucketSize, QuotaRequest, RangeRequest};
use pve_traffic::rules::Direction;
use pve_traffic::store::{GuestInfo, SqliteStore, Store};

use crate::cli::{report_zone, spinner, Failure};

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
    if matches!(args.format, Format::Html | Format::Png | Format::Svg) {
        return Err(Failure::usage(format!(
            "--format {}: charts are drawn by the render crate, which this build does not \
             include yet; use --format json or --format csv",
            args.format.ext()
        )));
    }
    if args.dark {
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
    let store = SqliteStore::open_read_only(Path::new(&config.storage.dsn))?;
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
    let (name, text) = match &args.rule {
        Some(rule) => ctx.quota(rule, vm)?,
        None => ctx.history(vm)?,
    };
    Ok(output::write_report(&dir, &name, text.as_bytes())?)
}

/// What every kind of report needs, gathered once.
struct Context<'a> {
    args: &'a ExportArgs,
    config: &'a Config,
    store: &'a SqliteStore,
    guests: &'a BTreeMap<u32, GuestInfo>,
    now: Timestamp,
    tz: &'a TimeZone,
}

impl Context<'_> {
    fn json_time(&self) -> jiff::ZonedDateTime {
        self.now.to_zoned_datetime(self.tz.clone())
    }

    /// A guest report or the ranking: returns the file name and contents.
    fn history(&self, vm: Vm) -> Result<(String, String), Failure> {
        let args = self.args;
        let req = RangeRequest {
            date: args.date.clone(),
            start: args.start.clone(),
            end: args.end.clone(),
        };
        let bucket = args.period.unwrap_or(BucketSize::Hour);
        let range = report::resolve(&req, bucket, self.now, self.tz)?;
        let ext = args.format.ext();
        Ok(match vm {
            Vm::One(vmid) => {
                let guest = self
                    .guests
                    .get(&vmid)
                    .cloned()
                    .ok_or(report::ReportError::NoGuest(vmid))?;
                let r = report::guest_report(self.store, guest, range)?;
                let text = match args.format {
                    Format::Csv => csv::guest(&r),
                    _ => json::guest(&r, &self.json_time()),
                };
                (output::guest_file_name(&r, ext), text)
            }
            Vm::All => {
                let direction = args.direction.unwrap_or(DirectionArg::Both).into();
                let bar = spinner(&format!(
                    "summing the traffic of {} guests",
                    self.guests.len()
                ));
                let r = report::ranking(self.store, self.guests, range, direction);
                bar.finish_and_clear();
                let r = r?;
                let text = match args.format {
                    Format::Csv => csv::ranking(&r),
                    _ => json::ranking(&r, &self.json_time()),
                };
                (output::ranking_file_name(&r, ext), text)
            }
        })
    }

    /// A quota statement for the rule named `rule_name`: returns the file name and contents.
    fn quota(&self, rule_name: &str, vm: Vm) -> Result<(String, String), Failure> {
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
        let text = match self.args.format {
            Format::Csv => csv::quota(&q),
            _ => json::quota(&q, &self.json_time()),
        };
        Ok((
            output::quota_file_name(&q, vmid, self.args.format.ext()),
            text,
        ))
    }
}
