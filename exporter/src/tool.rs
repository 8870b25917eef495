//! What the `export` and `cleanup` subcommands share: the failure type mapped to the exit
//! status, the report time zone, and the progress spinner.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use crate::report::ReportError;
use indicatif::{ProgressBar, ProgressDrawTarget};
use jiff::tz::TimeZone;
use pve_traffic_core::config::Config;
use pve_traffic_store::StoreError;

/// A failed subcommand: the message for stderr and the exit status (2: the operator's
/// request or config is wrong; 1: the system failed).
#[derive(Debug)]
pub struct Failure {
    /// Exit status.
    pub code: u8,
    /// What went wrong and what to do.
    pub message: String,
}

impl Failure {
    /// A bad request (exit status 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
        }
    }

    /// A system failure (exit status 1).
    pub fn runtime(message: impl Into<String>) -> Failure {
        Failure {
            code: 1,
            message: message.into(),
        }
    }

    /// Prints the message as `pve-traffic-exporter: …` and returns the exit status.
    pub fn exit(self) -> ExitCode {
        eprintln!("pve-traffic-exporter: {}", self.message);
        ExitCode::from(self.code)
    }
}

impl From<ReportError> for Failure {
    fn from(e: ReportError) -> Failure {
        let code = if e.is_usage() { 2 } else { 1 };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::runtime(e.to_string())
    }
}

/// The zone reports are shown in: `--tz`, else `monitor.timezone`.
pub fn report_zone(arg: Option<&str>, config: &Config) -> Result<TimeZone, Failure> {
    match arg {
        None => Ok(config.monitor.timezone.clone()),
        Some(name) => TimeZone::get(name).map_err(|_| {
            Failure::usage(format!(
                "--tz: unknown time zone {name:?}; use an IANA name like \"UTC\" or \
                 \"Europe/Berlin\" (`timedatectl list-timezones` lists them)"
            ))
        }),
    }
}

/// A spinner on stderr saying what a long step is doing; drawn only when stderr is a
/// terminal, so logs and pipes stay clean.
pub fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}
