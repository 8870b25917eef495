//! `pve-traffic-exporter`: parse arguments, load the config, set up logging, run.
//!
//! Exit status: 0 after a clean shutdown (SIGTERM/SIGINT) or a finished tool, 2 for a bad
//! config or command line (a bad range included), 1 when the exporter or a tool cannot run
//! (database, listener, output directory).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use pve_traffic_core::config::{self, SecretNeed};
use pve_traffic_core::daemon;
use pve_traffic_exporter::{cleanup, export, init};

/// Exact per-guest traffic of a Proxmox VE cluster, served as Prometheus metrics.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    global: daemon::GlobalArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Poll PVE, keep history, serve /metrics (the default).
    Serve,
    /// Validate the config and print it as it will be used, secrets masked.
    CheckConfig,
    /// Write a report (one guest, all guests, or a rule's quota statement) to a file.
    Export(export::ExportArgs),
    /// Delete a range of history (lifetime totals are kept); --dry-run lists it first.
    Cleanup(cleanup::CleanupArgs),
    /// Write a config file: a guided setup (or `--non-interactive` with flags).
    Init(init::InitArgs),
    /// Write man pages or shell completions (for packaging).
    #[command(hide = true)]
    Generate(pve_traffic_core::cli_docs::GenerateArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    daemon::init_logging(args.global.log_format);
    // These need no config: they write one, or write documentation.
    match args.command {
        Some(Command::Init(init)) => return init::run(init, args.global.config.as_deref()),
        Some(Command::Generate(g)) => return g.run(Args::command()),
        _ => {}
    }
    // The report tools only read the database: they run without the token secret.
    let need = match args.command {
        Some(Command::Export(_) | Command::Cleanup(_)) => SecretNeed::NotNeeded,
        _ => SecretNeed::Required,
    };
    let (path, config) =
        match daemon::load_config("pve-traffic-exporter", args.global.config.as_deref(), need) {
            Ok(loaded) => loaded,
            Err(code) => return code,
        };
    match args.command.unwrap_or(Command::Serve) {
        Command::CheckConfig => {
            print!("{}", config.to_masked_yaml());
            eprintln!("{}: OK", path.display());
            ExitCode::SUCCESS
        }
        Command::Serve => serve(path, config),
        Command::Export(args) => match export::run(&args, &config) {
            Ok(path) => {
                println!("{}", path.display());
                ExitCode::SUCCESS
            }
            Err(f) => f.exit(),
        },
        Command::Cleanup(args) => match cleanup::run(&args, &config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(f) => f.exit(),
        },
        Command::Init(_) | Command::Generate(_) => unreachable!("handled before loading"),
    }
}

/// Runs the daemon; SIGHUP re-reads the rules from `path`.
fn serve(path: PathBuf, config: config::Config) -> ExitCode {
    let runtime = match daemon::runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pve-traffic-exporter: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let run = async {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tokio::spawn(daemon::reload_on_sighup(path, tx));
        pve_traffic_exporter::run(config, daemon::shutdown_signal(), rx).await
    };
    match runtime.block_on(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pve-traffic-exporter: {e}");
            ExitCode::FAILURE
        }
    }
}
