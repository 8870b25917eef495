//! `pve-traffic-exporter cleanup`: delete a range of history, safely.
//!
//! What goes and what never goes is decided in `pve_traffic_store::history` (hour rows and
//! their 5-minute detail in the range, period accumulators whose window lies wholly inside
//! it; never lifetime totals or the enforcer's records). This command resolves the range in
//! `--tz`, lists the plan (rows and bytes per guest), asks for confirmation on a terminal
//! (or takes `--yes`), and deletes exactly the listed plan in one transaction: if the
//! exporter wrote into the range meanwhile, nothing is deleted and the operator is told to
//! run it again. `--dry-run` stops after the listing.

// The doc comments of the command-line types are clap's `--help` text, written for a
// terminal (`[,rate=MBPS]`, `<file>.bak`, bare URLs), not for rustdoc.
#![allow(
    rustdoc::broken_intra_doc_links,
    rustdoc::invalid_html_tags,
    rustdoc::bare_urls
)]

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use crate::report::range::{check_span, check_year, local_midnight, parse_date, parse_instant};
use clap::{Args, Subcommand};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use pve_traffic_core::config::Config;
use pve_traffic_core::units::format_bytes;
use pve_traffic_store::history::{CleanupPlan, CleanupScope};
use pve_traffic_store::{self as store, Access, HistoryStore};

use crate::tool::{report_zone, spinner, Failure};

/// `cleanup` flags.
#[derive(Args, Debug)]
pub struct CleanupArgs {
    /// What to delete.
    #[command(subcommand)]
    pub what: What,
    /// List what would be deleted (rows and bytes per guest) and delete nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Do not ask for confirmation (needed when not on a terminal).
    #[arg(long, short, global = true)]
    pub yes: bool,
    /// Time zone of the dates given (default: monitor.timezone).
    #[arg(long, global = true, value_name = "ZONE")]
    pub tz: Option<String>,
}

/// The history a cleanup deletes.
#[derive(Subcommand, Debug)]
pub enum What {
    /// Every guest's history from --start to --end.
    Range {
        /// Start: YYYY-MM-DD, YYYY-MM-DD HH:00 (in --tz) or RFC 3339; on a whole hour.
        #[arg(long, value_name = "TIME")]
        start: String,
        /// End (exclusive; a date alone includes that day); on a whole hour.
        #[arg(long, value_name = "TIME")]
        end: String,
    },
    /// One guest's history: all of it, one day (--date), or a range (--start/--end).
    Vm {
        /// The guest's VMID.
        #[arg(long)]
        vmid: u32,
        /// Only this day (YYYY-MM-DD, in --tz).
        #[arg(long, value_name = "YYYY-MM-DD", conflicts_with_all = ["start", "end"])]
        date: Option<String>,
        /// Start of the range (see `cleanup range`).
        #[arg(long, value_name = "TIME", requires = "end")]
        start: Option<String>,
        /// End of the range (see `cleanup range`).
        #[arg(long, value_name = "TIME", requires = "start")]
        end: Option<String>,
    },
    /// Every guest's history before a day (YYYY-MM-DD, local midnight in --tz) or time.
    Before {
        /// The first day (or instant) kept.
        #[arg(long, value_name = "TIME")]
        before: String,
    },
}

/// Resolves what the operator typed into a scope.
fn scope(what: &What, tz: &TimeZone, period_tz: &TimeZone) -> Result<CleanupScope, Failure> {
    let (vmid, from, to) = match what {
        What::Range { start, end } => (None, Some(start_of(start, tz)?), Some(end_of(end, tz)?)),
        What::Vm {
            vmid,
            date,
            start,
            end,
        } => match (date, start, end) {
            (Some(d), _, _) => {
                let day = parse_date("--date", d)?;
                let next = day
                    .tomorrow()
                    .map_err(|_| Failure::usage(format!("--date {d}: out of range")))?;
                (
                    Some(*vmid),
                    Some(local_midnight("--date", day, tz)?),
                    Some(local_midnight("--date", next, tz)?),
                )
            }
            (None, Some(s), Some(e)) => (Some(*vmid), Some(start_of(s, tz)?), Some(end_of(e, tz)?)),
            _ => (Some(*vmid), None, None),
        },
        What::Before { before } => (None, None, Some(start_of(before, tz)?)),
    };
    match (from, to) {
        (Some(f), Some(t)) => check_span(f, t, tz)?,
        (Some(t), None) | (None, Some(t)) => check_year(t, tz)?,
        (None, None) => {}
    }
    let ms = |t: Option<Timestamp>, none: i64| t.map_or(none, |t| t.as_millisecond());
    CleanupScope::new(
        vmid,
        ms(from, i64::MIN),
        ms(to, i64::MAX),
        period_tz.clone(),
    )
    .map_err(|e| {
        Failure::usage(format!(
            "{e}; give times on the hour (in a zone whose offset is not whole hours, use --tz UTC)"
        ))
    })
}

fn start_of(s: &str, tz: &TimeZone) -> Result<Timestamp, Failure> {
    Ok(parse_instant("--start", s, tz, false)?)
}

fn end_of(s: &str, tz: &TimeZone) -> Result<Timestamp, Failure> {
    Ok(parse_instant("--end", s, tz, true)?)
}

/// The plan as a table, one line per guest and a total, for people and for tests (the dry
/// run and the real run print the same lines).
fn describe(plan: &CleanupPlan) -> String {
    let mut out = String::from("vmid\thour_rows\trx_bytes\ttx_bytes\tperiod_rows\tsize\n");
    let (mut rows, mut bytes, mut periods) = (0u64, 0u128, 0u64);
    for (vmid, g) in plan {
        out += &format!(
            "{vmid}\t{}\t{}\t{}\t{}\t{}\n",
            g.hour_rows,
            g.rx,
            g.tx,
            g.period_rows,
            format_bytes(g.rx.saturating_add(g.tx))
        );
        rows += g.hour_rows;
        bytes += u128::from(g.rx) + u128::from(g.tx);
        periods += g.period_rows;
    }
    out += &format!(
        "total: {} guests, {rows} hour rows, {} ({bytes} bytes), {periods} period rows\n",
        plan.len(),
        format_bytes(u64::try_from(bytes).unwrap_or(u64::MAX)),
    );
    out
}

/// Runs `cleanup`.
pub fn run(args: &CleanupArgs, config: &Config) -> Result<(), Failure> {
    let tz = report_zone(args.tz.as_deref(), config)?;
    let scope = scope(&args.what, &tz, &config.monitor.timezone)?;
    let path = Path::new(&config.storage.dsn);
    if !path.exists() {
        return Err(Failure::runtime(format!(
            "no database at {} (storage.dsn); nothing to clean up",
            path.display()
        )));
    }
    if args.dry_run {
        let store = store::open(&config.storage.dsn, Access::ReadOnly)?;
        let bar = spinner("listing the history to delete");
        let plan = store.cleanup_plan(&scope);
        bar.finish_and_clear();
        print!("{}", describe(&plan?));
        println!("dry run: nothing deleted");
        return Ok(());
    }
    let mut store = store::open(&config.storage.dsn, Access::Accounting)?;
    let bar = spinner("listing the history to delete");
    let plan = store.cleanup_plan(&scope);
    bar.finish_and_clear();
    let plan = plan?;
    print!("{}", describe(&plan));
    if plan.is_empty() {
        println!("nothing to delete");
        return Ok(());
    }
    if !args.yes {
        confirm()?;
    }
    let bar = spinner("deleting");
    let done = store.cleanup(&scope, &plan);
    bar.finish_and_clear();
    let done = done?;
    println!(
        "deleted: {} guests, {} hour rows, {} period rows",
        done.len(),
        done.values().map(|g| g.hour_rows).sum::<u64>(),
        done.values().map(|g| g.period_rows).sum::<u64>()
    );
    Ok(())
}

/// Asks on the terminal; without one (and without `--yes`) refuses.
fn confirm() -> Result<(), Failure> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Failure::usage(
            "refusing to delete without confirmation: not on a terminal; check the list above \
             (or run with --dry-run) and add --yes",
        ));
    }
    print!("Delete this history? Lifetime totals are kept. [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::runtime(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(Failure::runtime("cancelled; nothing deleted"))
    }
}
